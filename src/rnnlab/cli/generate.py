"""Placeholder: filled in by the generate work."""
