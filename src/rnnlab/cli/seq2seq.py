"""Placeholder: filled in by the seq2seq work."""
