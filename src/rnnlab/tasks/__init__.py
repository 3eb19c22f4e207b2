"""The end-to-end tasks, one module per input/output configuration.

- :mod:`rnnlab.tasks.classify`: many-to-one, a recurrent text classifier.
- :mod:`rnnlab.tasks.linear`: the bag-of-n-grams baselines (BoW, TF-IDF, NBSVM).
- :mod:`rnnlab.tasks.tag`: many-to-many aligned, a token tagger.
- :mod:`rnnlab.tasks.seq2seq`: N -> M, an encoder-decoder.
- :mod:`rnnlab.tasks.generate`: one-to-many, a conditional review generator.

Each is written over the shared template in :mod:`rnnlab.tasks.base`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

# config.json "kind" -> (task module, its loader). Filled here, above the
# tasks, so that the shared template never imports a task.
LOADERS: dict[str, tuple[str, str]] = {
    "classifier": ("rnnlab.tasks.classify", "load"),
    "linear-classifier": ("rnnlab.tasks.linear", "load"),
    "tagger": ("rnnlab.tasks.tag", "load"),
    "seq2seq": ("rnnlab.tasks.seq2seq", "load"),
    "generator": ("rnnlab.tasks.generate", "load"),
    "encoder": ("rnnlab.tasks.pretrain", "load"),
}


def load(
    path: str | Path | None = None,
    backend: str = "auto",
    threads: int | None = None,
    device: str = "cpu",
) -> Any:
    """Load any rnnlab model directory (default: the bundled IMDB sentiment model).

    Dispatches on ``kind`` in its config.json: a recurrent classifier
    (``predict``, ``explain``), a linear one (the same interface), a tagger
    (``tag_texts``), an encoder-decoder (``translate``) or a generator
    (``generate``). ``backend`` ("auto", "onnx", "torch") applies to the
    recurrent classifier; linear models run with numpy ("auto" or "numpy").
    ``threads``: see :func:`rnnlab.tasks.base.resolve_threads` (default: half
    the cores; 0: all). ``device`` ("cpu", "auto", "cuda", "cuda:N"): where the
    recurrent classifier and the tagger predict (the other kinds run on the CPU).
    """
    from rnnlab.artifacts import read_config
    from rnnlab.errors import ArtifactError, RnnlabError
    from rnnlab.tasks.base import bundled_model_path

    path = Path(path) if path is not None else bundled_model_path()
    kind = read_config(path).get("kind")
    if kind not in LOADERS:
        raise ArtifactError(
            f"{path} holds a model of unknown kind {kind!r}; this rnnlab loads "
            f"{', '.join(LOADERS)} (upgrade rnnlab, or retrain the model)"
        )
    module, name = LOADERS[kind]
    loader = getattr(import_module(module), name)
    if kind == "classifier":
        return loader(path, backend=backend, threads=threads, device=device)
    if device not in ("cpu", "auto") and kind not in ("classifier", "tagger"):
        from rnnlab.training.distributed import resolve_device

        if resolve_device(device).type != "cpu":
            raise RnnlabError(f"{path} holds a {kind} model, which predicts on the CPU only; "
                              "use --device cpu")  # fmt: skip
    if kind == "tagger":
        if backend not in ("auto", "torch"):
            raise RnnlabError(
                f"{path} holds a {kind} model, which runs with torch; use auto or torch"
            )
        return loader(path, threads=threads, device=device)
    if kind == "linear-classifier" and backend not in ("auto", "numpy"):
        raise RnnlabError(
            f"{path} is a linear model, which runs with numpy; got backend {backend!r}, use auto"
        )
    if kind != "linear-classifier" and backend not in ("auto", "torch"):
        raise RnnlabError(f"{path} holds a {kind} model, which runs with torch; use auto or torch")
    return loader(path, threads=threads)


__all__ = ["LOADERS", "load"]
