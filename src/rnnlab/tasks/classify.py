"""Text classification end to end: train, save, load, predict, evaluate.

The guide's activity, as one function call::

    from rnnlab.tasks.classify import train
    result = train("imdb", out="models/imdb")     # Word2Vec + 2-layer BiLSTM
    model = rnnlab.load("models/imdb")
    model.predict(["A wonderful film.", "Dull and far too long."])
    # [{"label": "pos", "score": 0.97}, {"label": "neg", "score": 0.95}]

Steps: tokenize -> vocabulary (training texts only) -> Word2Vec on the
training texts -> ids truncated to ``maxlen`` -> length-bucketed batches ->
stacked RNN/LSTM/GRU classifier trained with early stopping on a validation
split carved from train -> model directory. The test split is never used to
fit anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.artifacts import json_writer
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.data import (
    TextDataset,
    dataset_sha256,
    load_dataset,
    load_test_data,
    load_training_data,
    train_val_split,
)
from rnnlab.errors import ArtifactError, RnnlabError
from rnnlab.tasks.base import (
    Built,
    Task,
    TrainResult,
    apply_threads,
    bundled_model_path,
    check_texts,
    load_state,
    open_model_dir,
    run,
)
from rnnlab.text import OOV, Vocab, tokenize
from rnnlab.text.sequences import truncate as truncate_ids
from rnnlab.text.tokenizers import TOKENIZER_FILE, make_tokenizer, restore_tokenizer
from rnnlab.training.batching import padded_batches

KIND = "classifier"
TOKENIZER = "rnnlab.tokenize/1"


def truncate(ids: list[int], text: TextConfig) -> list[int]:
    """Keep ``text.maxlen`` ids: the last ones ("pre", Keras' default) or the first."""
    return truncate_ids(ids, text.maxlen, text.truncating)


def encode(texts: Sequence[str], vocab: Vocab, text: TextConfig, tokenizer=None) -> list[list[int]]:
    """Tokenize, map to ids and truncate to ``text.maxlen``."""
    split = tokenize if tokenizer is None else tokenizer
    return [truncate(vocab.encode(split(t)), text) for t in check_texts(texts)]


def known_share(ids: Sequence[int]) -> float:
    """Share of ``ids`` that are not the out-of-vocabulary id (0.0 for no ids)."""
    return sum(i != OOV for i in ids) / len(ids) if len(ids) else 0.0


def classification_step(model, batch):
    """One batch of the many-to-one task: softmax cross-entropy and correct count."""
    import torch.nn.functional as F

    ids, lengths, y = batch
    logits = model(ids, lengths)  # (N, C)
    loss = F.cross_entropy(logits, y)
    correct = float((logits.argmax(dim=1) == y).sum())
    return loss, correct, float(len(y))


def _batches(
    seqs: list[list[int]],
    labels: Sequence[int],
    text: TextConfig,
    batch_size: int,
    shuffle: bool,
    seed: int,
):
    import torch

    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    return [
        (ids, lens, y[torch.from_numpy(idx)])
        for idx, ids, lens in padded_batches(seqs, text, batch_size, shuffle, seed)
    ]


class ClassifyTask(Task):
    """Many-to-one: tokenize -> vocabulary -> Word2Vec -> stacked RNN -> softmax."""

    kind = KIND

    def __init__(self, data, text, embedding, model, training, text_col, label_col,
                 test_data, cache_dir) -> None:  # fmt: skip
        super().__init__(training)
        self.source, self.test_source = data, test_data
        self.text, self.embedding, self.model = text, embedding, model
        self.columns, self.cache_dir = (text_col, label_col), cache_dir

    def read(self, log):
        if (
            self.embedding.source not in ("word2vec", "random")
            and not Path(self.embedding.source).exists()
        ):
            raise RnnlabError(
                f"embedding file not found: {self.embedding.source}; use --embedding word2vec, "
                "random, a folder written by `rnnlab embed train`, or a path to word2vec "
                "(text/binary) or GloVe vectors"
            )
        ds = load_training_data(self.source, *self.columns, self.cache_dir)
        test_ds = load_test_data(
            self.source, self.test_source, *self.columns, self.cache_dir, ds.label_names
        )
        train_ds, val_ds = train_val_split(ds, self.training.val_fraction, self.training.seed)
        log(
            f"data: {len(train_ds)} train / {len(val_ds)} validation texts, "
            f"classes {', '.join(ds.label_names)}"
        )
        return ds, train_ds, val_ds, test_ds

    def build(self, data, log) -> Built:
        import torch

        from rnnlab.models import SequenceClassifier

        ds, train_ds, val_ds, _ = data
        text, training = self.text, self.training
        tokenizer = make_tokenizer(text).fit(train_ds.texts)
        train_tokens = tokenizer.batch(train_ds.texts)
        vocab = Vocab.build(train_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
        log(f"vocabulary: {len(vocab)} entries (max {text.max_vocab}, min_freq {text.min_freq})")
        matrix, coverage, dim, seconds = embedding_step(
            self.embedding, train_tokens, vocab, training.seed, log
        )
        train_seqs = [truncate(vocab.encode(tokens), text) for tokens in train_tokens]
        del train_tokens
        val_seqs = encode(val_ds.texts, vocab, text, tokenizer)
        net = SequenceClassifier(
            self.model,
            len(vocab),
            dim,
            len(ds.label_names),
            embedding=None if matrix is None else torch.from_numpy(matrix),
            freeze_embedding=self.embedding.freeze,
        )
        config = {
            "tokenizer": TOKENIZER if text.tokenizer == "words" else text.tokenizer,
            "label_names": list(ds.label_names),
            "vocab_size": len(vocab),
            "embedding_dim": dim,
            "text": text.to_dict(),
            "embedding": self.embedding.to_dict(),
            "model": self.model.to_dict(),
            "data": {
                "source": str(ds.source),
                "sha256": dataset_sha256(ds),
                "n_train": len(train_ds),
                "n_validation": len(val_ds),
            },
            "embedding_coverage": None if coverage is None else coverage.to_dict(),
        }
        return Built(
            net,
            config,
            {"vocab.json": vocab.save, **tokenizer_file(tokenizer)},
            train_batches=lambda epoch: _batches(
                train_seqs, train_ds.labels, text, training.batch_size, True, training.seed + epoch
            ),
            val_batches=_batches(val_seqs, val_ds.labels, text, 256, shuffle=False, seed=0),
            timing={"word2vec_seconds": round(seconds, 1)},
            state={"vocab": vocab, "label_names": list(ds.label_names), "tokenizer": tokenizer},
        )

    step = staticmethod(classification_step)

    def predictor(self, built):
        return TextClassifier(
            built.net.eval(),
            built.state["vocab"],
            self.text,
            built.state["label_names"],
            path=None,
            backend="auto",
            threads=self.training.threads,
            tokenizer=built.state["tokenizer"],
        )

    def evaluate(self, model, data, log):
        _, _, val_ds, _ = data
        return {"validation": classify_metrics(model, val_ds)}

    def test(self, model, data, log):
        test_ds = data[3]
        if test_ds is None:
            return None
        log(f"evaluating on {len(test_ds)} held-out texts ({test_ds.source})")
        metrics = classify_metrics(model, test_ds)
        metrics["data_sha256"] = dataset_sha256(test_ds)
        return metrics

    def plots(self, history, metrics):
        return {**super().plots(history, metrics), **confusion_plot(metrics)}

    def extras(self, model, data, log):
        return examples_file(model, data[2], log)


def tokenizer_file(tokenizer) -> dict[str, Any]:
    """``{"tokenizer.json": writer}`` for a tokenizer learned from the texts (subword), else {}."""
    return {TOKENIZER_FILE: tokenizer.save} if tokenizer.needs_file else {}


def classify_metrics(model, ds: TextDataset) -> dict[str, Any]:
    """:func:`classification_metrics` of ``model`` on a labeled dataset, with its ROC and
    calibration curves (``"curves"``, what the training report draws)."""
    from rnnlab.training.metrics import classification_metrics, classifier_curves

    y, probs = np.asarray(ds.labels), model.predict_proba(ds.texts)
    metrics = classification_metrics(y, probs, model.label_names)
    metrics["curves"] = classifier_curves(y, probs, model.label_names)
    return metrics


def examples_file(model, ds: TextDataset, log) -> dict[str, Any]:
    """``{"examples.json": writer}``: the ten most confidently wrong texts of ``ds``
    (the validation split) with their explanations, for the training report."""
    from rnnlab.report import worst_examples

    log("explaining the most confidently wrong validation texts for the report")
    examples = worst_examples(model, ds.texts, ds.labels, k=10)
    return {"examples.json": json_writer(examples)}


def confusion_plot(metrics: dict[str, Any]) -> dict[str, Any]:
    """The ``confusion_matrix.png`` writer of a classifier (test split when measured)."""
    from rnnlab.training.metrics import plot_confusion

    split = "test" if "test" in metrics else "validation"
    return {"confusion_matrix.png": lambda path: plot_confusion(metrics[split], path)}


def embedding_step(embedding: EmbeddingConfig, train_tokens, vocab: Vocab, seed: int, log):
    """``(matrix or None, coverage or None, dim, seconds)`` of the embedding settings.

    ``word2vec``: trained on the training texts; ``random``: none (the network
    initialises its own); otherwise a vectors folder or file, loaded.
    """
    from rnnlab.embeddings import embedding_matrix

    t0 = time.perf_counter()
    if embedding.source == "random":
        return None, None, embedding.dim, 0.0
    if embedding.source == "word2vec":
        from rnnlab.embeddings import train_word2vec

        log(f"word2vec: training {embedding.algorithm} ({embedding.dim}-d) on the training texts")
        vectors = train_word2vec(
            train_tokens,
            dim=embedding.dim,
            algorithm=embedding.algorithm,
            window=embedding.window,
            min_count=embedding.min_count,
            epochs=embedding.epochs,
            seed=seed,
        )
        log(f"word2vec: {len(vectors.index_to_key)} words in {time.perf_counter() - t0:.1f} s")
    else:
        from rnnlab.embeddings.word2vec import load_word_vectors

        vectors = load_word_vectors(embedding.source)  # a vectors folder or file
    matrix, coverage = embedding_matrix(vocab, vectors, seed=seed)
    log(
        f"embedding coverage: {coverage.vocab_share:.1%} of vocabulary entries, "
        f"{coverage.token_share:.1%} of training tokens"
    )
    seconds = time.perf_counter() - t0 if embedding.source == "word2vec" else 0.0
    return matrix, coverage, vectors.vector_size, seconds


def train(
    data: str | Path | TextDataset = "imdb",
    out: str | Path = "model",
    text: TextConfig | None = None,
    embedding: EmbeddingConfig | None = None,
    model: ModelConfig | None = None,
    training: TrainConfig | None = None,
    text_col: str = "text",
    label_col: str = "label",
    test_data: str | Path | TextDataset | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    log=print,
    resume: bool = False,
) -> TrainResult:
    """Train a many-to-one text classifier and write its model directory.

    Parameters
    ----------
    data : "imdb", a path (IMDB archive/folder, CSV, TSV, JSONL) or a TextDataset
        Labeled training data; a validation split is carved from it.
    out : path
        Model directory to create (replaced atomically if it exists).
    text, embedding, model, training : configs
        Defaults: the config dataclasses' (vocabulary 20k, last 400 tokens,
        CBOW Word2Vec (100-d) trained on the training texts, 2-layer BiLSTM).
    test_data : optional
        Held-out data evaluated once after training (never used for fitting);
        for IMDB the test split is used when this is None.
    resume : bool
        Continue a killed or interrupted run from its newest valid checkpoint
        (``<out>.checkpoints``); the result is bit-identical to an uninterrupted run.
    log : callable
        Receives one-line progress messages (``print`` by default).
    """
    task = ClassifyTask(
        data,
        text or TextConfig(),
        embedding or EmbeddingConfig(),
        model or ModelConfig(),
        training or TrainConfig(),
        text_col,
        label_col,
        test_data,
        cache_dir,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


class TextClassifier:
    """A trained classifier: ``predict(texts) -> [{"label", "score", "known"}, ...]``.

    Obtain one with ``rnnlab.load(path)``. ``backend="onnx"`` runs the network
    with onnxruntime (exported from the torch weights on first load and checked
    against torch's outputs); ``"torch"`` runs it with torch; ``"auto"`` picks
    onnx when it is available and passes the check.
    """

    def __init__(
        self,
        net,
        vocab: Vocab,
        text: TextConfig,
        label_names: list[str],
        path: Path | None,
        backend: str = "torch",
        config: dict | None = None,
        batch_size: int = 64,
        threads: int = 0,
        tokenizer=None,
    ) -> None:
        self.net = net
        self.vocab = vocab
        self.text = text
        self.tokenizer = tokenizer if tokenizer is not None else make_tokenizer(text)
        self.label_names = label_names
        self.path = path
        self.config = config or {}
        self.batch_size = batch_size
        self._session = None
        self.backend = "torch"
        if backend in ("onnx", "auto"):
            from rnnlab.export import onnx_session

            self._session = onnx_session(net, required=backend == "onnx", threads=threads)
            if self._session is not None:
                self.backend = "onnx"
        elif backend != "torch":
            raise RnnlabError(f"backend must be auto, onnx or torch; got {backend!r}")

    def __repr__(self) -> str:
        return (
            f"TextClassifier(path={self.path}, labels={self.label_names}, backend={self.backend})"
        )

    def _logits(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return self._session.run(None, {"ids": ids, "lengths": lengths})[0]
        import torch

        with torch.inference_mode():
            return self.net(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) class probabilities, in input order."""
        return self._proba(encode(texts, self.vocab, self.text, self.tokenizer))

    def _proba(self, seqs: list[list[int]]) -> np.ndarray:
        probs = np.zeros((len(seqs), len(self.label_names)), dtype=np.float64)  # (N, C)
        for idx, ids, lens in padded_batches(seqs, self.text, self.batch_size):
            logits = self._logits(ids.numpy(), lens.numpy()).astype(np.float64)  # (B, C)
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            probs[idx] = e / e.sum(axis=1, keepdims=True)
        return probs

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Label and probability of the most likely class for each text.

        Always takes a list and returns a list (one dict per text). ``"known"``
        is the share of the tokens the network reads (after truncation) that
        are in its vocabulary: near 0 (Chinese or emoji for an English model),
        the score means little; 0.0 for a text with no tokens.
        """
        seqs = encode(texts, self.vocab, self.text, self.tokenizer)
        probs = self._proba(seqs)
        best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
        return [
            {
                "label": self.label_names[int(k)],
                "score": float(probs[i, k]),
                "known": known_share(seqs[i]),
            }
            for i, k in enumerate(best)
        ]

    def explain(self, texts: Sequence[str], method: str = "ig", steps: int = 16) -> list[dict]:
        """Why each prediction: per-token attributions, the running P(label), see
        :func:`rnnlab.explain.explain_classifier`."""
        from rnnlab.explain import explain_classifier

        return explain_classifier(self, texts, method=method, steps=steps)


def load(
    path: str | Path | None = None, backend: str = "auto", threads: int | None = None
) -> TextClassifier:
    """Load a recurrent classifier's model directory (default: the bundled IMDB model).

    ``backend``: "auto" (onnxruntime when it works, else torch), "onnx" or
    "torch". ``threads``: see :func:`rnnlab.tasks.base.resolve_threads`
    (default: half the cores). ``rnnlab.load`` dispatches here on kind
    "classifier".
    """
    from rnnlab.models import SequenceClassifier

    path, config = open_model_dir(path if path is not None else bundled_model_path(), KIND)
    try:
        text = TextConfig.from_dict(config["text"])
        model_cfg = ModelConfig.from_dict(config["model"])
        vocab = Vocab.load(path / "vocab.json")
        label_names = list(config["label_names"])
        if len(vocab) != config["vocab_size"]:
            raise ArtifactError(
                f"{path}: vocab.json has {len(vocab)} entries, config says "
                f"{config['vocab_size']}; the directory is inconsistent: retrain the model or "
                "restore its directory"
            )
        tokenizer = restore_tokenizer(config["text"], path)
        sizes = config["vocab_size"], config["embedding_dim"], len(label_names)
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"cannot load model from {path}: {str(exc).splitlines()[0]}") from None
    net = load_state(lambda: SequenceClassifier(model_cfg, *sizes), path)
    threads = apply_threads(threads)
    return TextClassifier(
        net, vocab, text, label_names, path, backend, config, threads=threads, tokenizer=tokenizer
    )


def evaluate(
    model: TextClassifier | str | Path,
    data: str | Path | TextDataset = "imdb",
    text_col: str = "text",
    label_col: str = "label",
    split: str = "test",
    out: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Metrics of a model on labeled data; optionally write JSON + confusion PNG to ``out``."""
    from rnnlab.training.metrics import classification_metrics, write_evaluation

    clf = model if hasattr(model, "predict_proba") else load(model)  # a loaded model or a path
    ds = (
        data
        if isinstance(data, TextDataset)
        else load_dataset(
            data,
            text_col=text_col,
            label_col=label_col,
            split=split,
            cache_dir=cache_dir,
            label_names=list(clf.label_names),
        )
    )
    if not ds.is_labeled:
        raise RnnlabError(f"{ds.source} has no labels to evaluate against; pass --label-col")
    if list(ds.label_names) != list(clf.label_names):
        raise RnnlabError(
            f"{ds.source} has labels {ds.label_names} but the model predicts {clf.label_names}"
        )
    t0 = time.perf_counter()
    probs = clf.predict_proba(ds.texts)
    seconds = time.perf_counter() - t0
    metrics = classification_metrics(np.asarray(ds.labels), probs, clf.label_names)
    metrics["data"] = {"source": str(ds.source), "sha256": dataset_sha256(ds)}
    metrics["reviews_per_second"] = round(len(ds) / max(seconds, 1e-9), 1)
    metrics["backend"] = clf.backend
    if out is not None:
        write_evaluation(metrics, out)
    return metrics
