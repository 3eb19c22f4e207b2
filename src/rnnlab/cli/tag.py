"""Placeholder: filled in by the tag work."""
