"""One place for the errors rnnlab raises at its users.

`RnnlabError` is a `ValueError`: library callers may catch either. The CLI
turns it into one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations


class RnnlabError(ValueError):
    """A user mistake or bad input: the message names the problem and the fix."""


class DataError(RnnlabError):
    """The data given cannot be read or used (missing file/column, one class, ...)."""


class ArtifactError(RnnlabError):
    """A model directory is incomplete, corrupted or from an incompatible version."""
