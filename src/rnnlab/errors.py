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


class CheckpointError(RnnlabError):
    """A training checkpoint is corrupt, incomplete, or from another model or run."""


class TrainingInterrupted(RnnlabError):
    """Ctrl-C or SIGTERM stopped training after a checkpoint was saved.

    ``checkpoint_dir``, ``epoch`` and ``step`` say where; the message says how
    to resume (the same command with ``--resume``).
    """

    def __init__(self, message: str, checkpoint_dir=None, epoch: int = 0, step: int = 0) -> None:
        super().__init__(message)
        self.checkpoint_dir = checkpoint_dir
        self.epoch = epoch
        self.step = step


class TrainingDiverged(RnnlabError):
    """The training loss became NaN or infinite; nothing non-finite was saved."""
