"""Placeholder: filled in by the embed work."""
