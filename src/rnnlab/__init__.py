"""rnnlab: recurrent neural networks on text, from the guide's equations to a served model.

import rnnlab
model = rnnlab.load()            # the bundled IMDB sentiment model
model.predict(["What a wonderful film!"])
# [{'label': 'pos', 'score': 0.98}]
"""

from __future__ import annotations

__version__ = "0.1.0"


def load(path=None, backend: str = "auto", threads: int = 0):
    """Load a model directory (default: the bundled IMDB sentiment model).

    Returns a ``TextClassifier`` whose ``predict(texts)`` gives
    ``[{"label": ..., "score": ...}, ...]``; see ``rnnlab.tasks.classify.load``.
    """
    from rnnlab.tasks.classify import load as _load

    return _load(path, backend=backend, threads=threads)


def train(*args, **kwargs):
    """Train a text classifier; see ``rnnlab.tasks.classify.train``."""
    from rnnlab.tasks.classify import train as _train

    return _train(*args, **kwargs)


__all__ = ["__version__", "load", "train"]
