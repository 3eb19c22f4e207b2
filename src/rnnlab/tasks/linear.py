"""Linear baselines end to end: fit, measure, save, load.

The same steps as :mod:`rnnlab.tasks.classify` with a bag-of-words model in place of
the recurrent network (no embeddings, no epochs)::

    from rnnlab.tasks.linear import train, train_linear
    result = train("imdb", out="models/nbsvm", kind="nbsvm")   # model directory
    rnnlab.load("models/nbsvm").predict(["A wonderful film."])

    # in memory, e.g. for a benchmark: figures and timings, nothing written
    res = train_linear("tfidf-logreg", train_ds, test_dataset=test_ds)
    res.metrics["test"]["accuracy"], res.timings["fit_seconds"]

A stratified validation split is carved from the training data (as for the
recurrent models) and only measured; the test data is never used to fit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.config import TrainConfig
from rnnlab.data import (
    TextDataset,
    dataset_sha256,
    load_test_data,
    load_training_data,
    train_val_split,
)
from rnnlab.errors import RnnlabError
from rnnlab.models.linear import KINDS, LinearConfig, LinearTextClassifier, check_kind
from rnnlab.tasks.base import Built, Task, TrainResult, open_model_dir, run
from rnnlab.tasks.classify import (
    TOKENIZER,
    classify_metrics,
    confusion_plot,
    examples_file,
    jsonable,
    tokenizer_file,
)

KIND = "linear-classifier"  # config.json "kind"; the recipe is in "model_type"

__all__ = ["KIND", "KINDS", "LinearResult", "load", "train", "train_linear"]


@dataclass
class LinearResult:
    """What :func:`train_linear` produced.

    ``metrics`` has "validation" and, when test data was given, "test"
    (:func:`rnnlab.training.metrics.classification_metrics`). ``timings``:
    ``fit_seconds`` (vectorizer + linear model, the training texts only),
    ``validation_seconds``, ``test_seconds`` and ``test_reviews_per_second``
    (prediction from raw text). ``n_train``/``n_validation`` count texts.
    """

    classifier: LinearTextClassifier
    metrics: dict[str, Any]
    timings: dict[str, float]
    n_train: int
    n_validation: int
    config: LinearConfig
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_parameters(self) -> int:
        return self.classifier.n_parameters

    @property
    def n_features(self) -> int:
        return self.classifier.n_features


def train_linear(
    kind: str,
    train_dataset: TextDataset,
    config: LinearConfig | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    test_dataset: TextDataset | None = None,
    log=print,
) -> LinearResult:
    """Fit a linear classifier on a validation-split training set and measure it.

    Parameters
    ----------
    kind : {"bow-logreg", "tfidf-logreg", "nbsvm"}
    train_dataset : TextDataset
        Labeled texts; ``val_fraction`` of them (stratified, seeded) are held
        out for validation metrics, the rest fit the model.
    config : LinearConfig, optional
        ``None`` fields take the kind's defaults (see ``LinearConfig``).
    test_dataset : TextDataset, optional
        Measured once after fitting; its label names must match.
    log : callable
        Receives one-line progress messages.
    """
    from rnnlab.training.metrics import classification_metrics

    check_kind(kind)
    cfg = (config or LinearConfig()).resolve(kind)
    ds = train_dataset
    if not ds.is_labeled:
        raise RnnlabError(f"{ds.source} has no labels; training needs --label-col")
    if len(ds.label_names) < 2:
        raise RnnlabError(f"{ds.source}: training needs at least two classes")
    if test_dataset is not None and list(test_dataset.label_names) != list(ds.label_names):
        raise RnnlabError(
            f"test data {test_dataset.source} has labels {test_dataset.label_names}, "
            f"training data has {ds.label_names}; use the same label set"
        )
    train_ds, val_ds = train_val_split(ds, val_fraction, seed)
    log(
        f"data: {len(train_ds)} train / {len(val_ds)} validation texts, "
        f"classes {', '.join(ds.label_names)}"
    )
    t0 = time.perf_counter()
    clf = LinearClassifier.fit(
        kind, train_ds.texts, train_ds.labels, ds.label_names, cfg, seed=seed
    )
    fit_seconds = time.perf_counter() - t0
    log(f"{kind}: {clf.n_features} features, fitted in {fit_seconds:.1f} s")

    timings: dict[str, float] = {"fit_seconds": round(fit_seconds, 2)}
    t0 = time.perf_counter()
    metrics: dict[str, Any] = {
        "validation": classification_metrics(
            np.asarray(val_ds.labels), clf.predict_proba(val_ds.texts), ds.label_names
        )
    }
    timings["validation_seconds"] = round(time.perf_counter() - t0, 2)
    if test_dataset is not None:
        log(f"evaluating on {len(test_dataset)} held-out texts ({test_dataset.source})")
        t0 = time.perf_counter()
        probs = clf.predict_proba(test_dataset.texts)
        seconds = time.perf_counter() - t0
        metrics["test"] = classification_metrics(
            np.asarray(test_dataset.labels), probs, ds.label_names
        )
        timings["test_seconds"] = round(seconds, 2)
        timings["test_reviews_per_second"] = round(len(test_dataset) / max(seconds, 1e-9), 1)
    return LinearResult(
        clf, metrics, timings, len(train_ds), len(val_ds), cfg, {"validation": val_ds}
    )


class LinearClassifier(LinearTextClassifier):
    """The linear model as users get it: :class:`LinearTextClassifier` (the math,
    in :mod:`rnnlab.models.linear`) plus ``explain``, which lives above the models."""

    def explain(
        self, texts: Sequence[str], method: str | None = None, steps: int | None = None
    ) -> list[dict[str, Any]]:
        """Why each prediction, exactly: each n-gram's ``x_j W_tj`` split over its tokens.

        See :func:`rnnlab.explain.explain_linear`. ``method`` (None or "exact")
        and ``steps`` (ignored) keep the recurrent classifier's signature.
        """
        from rnnlab.explain import explain_model

        return explain_model(self, texts, method=method)


class LinearTask(Task):
    """Bag of n-grams + a linear model: the template with a closed-form ``fit``."""

    kind = KIND

    def __init__(self, data, model_type, linear, training, text_col, label_col, test_data,
                 cache_dir) -> None:  # fmt: skip
        super().__init__(training)
        check_kind(model_type)
        self.source, self.test_source = data, test_data
        self.model_type, self.linear = model_type, linear
        self.columns, self.cache_dir = (text_col, label_col), cache_dir
        self.timings: dict[str, float] = {}

    def read(self, log):
        ds = load_training_data(self.source, *self.columns, self.cache_dir)
        test_ds = load_test_data(
            self.source, self.test_source, *self.columns, self.cache_dir, ds.label_names
        )
        return ds, test_ds

    def build(self, data, log) -> Built:
        ds, _ = data
        built = Built(None, {}, {}, timing=self.timings)
        built.files = {"vocab.json": lambda path: built.net.write_vocab(path)}
        built.state["data"] = ds
        return built

    def fit(self, built, checkpoint_dir, progress, log, resume=False):  # seconds: no checkpoints
        from rnnlab.training.loop import History

        ds, training = built.state["data"], self.training
        res = train_linear(self.model_type, ds, self.linear, training.val_fraction,
                           training.seed, log=log)  # fmt: skip
        built.net, built.state["result"] = res.classifier, res
        # tokenizer.json (sha256-checked) when the tokenizer learned from the texts (subword)
        built.files.update(tokenizer_file(res.classifier.tokenizer))
        self.timings.update(res.timings)
        name = res.config.tokenizer
        built.config.update(
            {
                "model_type": self.model_type,
                "tokenizer": TOKENIZER if name == "words" else name,
                "label_names": list(ds.label_names),
                "n_features": res.classifier.n_features,
                "n_parameters": res.classifier.n_parameters,
                "linear": jsonable(res.config.to_dict()),
                "vectorizer": res.classifier.vectorizer_params(),
                "data": {
                    "source": str(ds.source),
                    "sha256": dataset_sha256(ds),
                    "n_train": res.n_train,
                    "n_validation": res.n_validation,
                },
            }
        )
        return History()

    def predictor(self, built):
        self.result = built.state["result"]
        return built.net

    def evaluate(self, model, data, log):
        return {"validation": classify_metrics(model, self.result.extra["validation"])}

    def test(self, model, data, log):
        test_ds = data[1]
        if test_ds is None:
            return None
        log(f"evaluating on {len(test_ds)} held-out texts ({test_ds.source})")
        t0 = time.perf_counter()
        metrics = classify_metrics(model, test_ds)
        seconds = time.perf_counter() - t0
        self.timings["test_seconds"] = round(seconds, 2)
        self.timings["test_reviews_per_second"] = round(len(test_ds) / max(seconds, 1e-9), 1)
        metrics["data_sha256"] = dataset_sha256(test_ds)
        return metrics

    def plots(self, history, metrics):
        return confusion_plot(metrics)

    def extras(self, model, data, log):
        return examples_file(model, self.result.extra["validation"], log)

    def settings(self):
        return {"val_fraction": self.training.val_fraction, "seed": self.training.seed}

    def weights(self, built):
        return lambda path: built.net.write_weights(path)


def train(
    data: str | Path | TextDataset = "imdb",
    out: str | Path = "model",
    kind: str = "nbsvm",
    linear: LinearConfig | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    text_col: str = "text",
    label_col: str = "label",
    test_data: str | Path | TextDataset | None = None,
    cache_dir: str | Path | None = None,
    log=print,
) -> TrainResult:
    """Train a linear classifier and write its model directory.

    Same data handling and directory layout as :func:`rnnlab.tasks.classify.train`
    (config.json, vocab.json, model.safetensors, metrics.json,
    confusion_matrix.png); ``config["kind"]`` is ``"linear-classifier"`` and
    ``config["model_type"]`` the recipe. Returns a
    :class:`rnnlab.tasks.base.TrainResult` (history empty, best_epoch 0).
    """
    training = TrainConfig(val_fraction=val_fraction, seed=seed)
    task = LinearTask(data, kind, linear, training, text_col, label_col, test_data, cache_dir)
    return run(task, out, progress=False, log=log)


def load(path: str | Path, threads: int | None = None) -> LinearTextClassifier:
    """Load a linear model directory (``rnnlab.load`` calls this for kind "linear-classifier").

    ``threads`` is accepted for the common ``load`` shape; numpy prediction
    does not use it.
    """
    path, config = open_model_dir(path, KIND)
    return LinearClassifier.load(path, config)
