"""rnnlab: recurrent neural networks on text, from the guide's equations to a served model.

import rnnlab
model = rnnlab.load()            # the bundled IMDB sentiment model
model.predict(["What a wonderful film!"])
# [{'label': 'pos', 'score': 0.98}]

The end-to-end tasks live in :mod:`rnnlab.tasks` (``classify``, ``linear``,
``tag``, ``seq2seq``, ``generate``); this module re-exports the two calls most
users need.
"""

from __future__ import annotations

from rnnlab.version import __version__


def load(path=None, backend: str = "auto", threads: int | None = None):
    """Load any model directory (default: the bundled IMDB sentiment model).

    Dispatches on the directory's ``kind``; see :func:`rnnlab.tasks.load`.
    A classifier's ``predict(texts)`` gives ``[{"label": ..., "score": ...}, ...]``.
    """
    from rnnlab.tasks import load as _load

    return _load(path, backend=backend, threads=threads)


def train(*args, **kwargs):
    """Train a recurrent text classifier; see :func:`rnnlab.tasks.classify.train`."""
    from rnnlab.tasks.classify import train as _train

    return _train(*args, **kwargs)


__all__ = ["__version__", "load", "train"]
