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

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.artifacts import (
    base_config,
    check_output_dir,
    checkpoint_dir_for,
    json_writer,
    read_config,
    weights_writer,
    write_model_dir,
)
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.data import TextDataset, load_dataset, train_val_split
from rnnlab.errors import RnnlabError
from rnnlab.text import OOV, Vocab, tokenize

KIND = "classifier"
TOKENIZER = "rnnlab.tokenize/1"


def truncate(ids: list[int], text: TextConfig) -> list[int]:
    """Keep ``text.maxlen`` ids: the last ones ("pre", Keras' default) or the first."""
    if len(ids) <= text.maxlen:
        return ids
    return ids[-text.maxlen :] if text.truncating == "pre" else ids[: text.maxlen]


def encode(texts: Sequence[str], vocab: Vocab, text: TextConfig) -> list[list[int]]:
    """Tokenize, map to ids and truncate to ``text.maxlen``."""
    if isinstance(texts, str):
        raise RnnlabError("texts must be a list of strings, got a single str; wrap it in [...]")
    out = []
    for t in texts:
        if not isinstance(t, str):
            raise RnnlabError(f"texts must be strings, got {type(t).__name__}")
        out.append(truncate(vocab.encode(tokenize(t)), text))
    return out


def dataset_sha256(ds: TextDataset) -> str:
    """The dataset's source fingerprint, or a sha256 of its labeled texts when it has none."""
    if ds.sha256:
        return ds.sha256
    digest = hashlib.sha256()
    for text, label in zip(ds.texts, ds.labels, strict=False):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def classification_step(model, batch):
    """One batch of the many-to-one task: softmax cross-entropy and correct count."""
    import torch.nn.functional as F

    ids, lengths, y = batch
    logits = model(ids, lengths)  # (N, C)
    loss = F.cross_entropy(logits, y)
    correct = float((logits.argmax(dim=1) == y).sum())
    return loss, correct, float(len(y))


def padded_batches(
    seqs: list[list[int]], text: TextConfig, batch_size: int, shuffle: bool = False, seed: int = 0
):
    """Yield ``(indices, ids (B, T), lengths (B,))`` batches as ``text.padding`` says.

    ``"bucket"`` (the default): length-bucketed, post-padded to the batch's
    longest text, true lengths (the network masks the padding). ``"pre"`` /
    ``"post"``: Keras-style, every text padded to ``text.maxlen`` on that side and
    every length reported as ``maxlen``, so the network reads the padding as
    input -- the trap the guide's padding question is about.
    """
    import torch

    from rnnlab.text import pad_sequences
    from rnnlab.training import bucket_batches, collate

    if text.padding == "bucket":
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
            ids, lens = collate(seqs, idx)
            yield idx, ids, lens
        return
    order = np.random.default_rng(seed).permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    for start in range(0, len(seqs), batch_size):
        idx = order[start : start + batch_size]
        ids = pad_sequences([seqs[i] for i in idx], maxlen=text.maxlen, padding=text.padding)
        yield idx, torch.from_numpy(ids), torch.full((len(idx),), text.maxlen, dtype=torch.int64)


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


@dataclass
class TrainResult:
    """What ``train`` produced: the model directory and its headline figures."""

    out: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    seconds: float
    best_epoch: int


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
) -> TrainResult:
    """Train a many-to-one text classifier and write its model directory.

    Parameters
    ----------
    data : "imdb", a path (IMDB archive/folder, CSV, TSV, JSONL) or a TextDataset
        Labeled training data; a validation split is carved from it.
    out : path
        Model directory to create (replaced atomically if it exists).
    text, embedding, model, training : configs
        Defaults are the guide's recipe: vocabulary 20k, last 400 tokens,
        CBOW Word2Vec (100-d) trained on the training texts, 2-layer BiLSTM.
    test_data : optional
        Held-out data evaluated once after training (never used for fitting);
        for IMDB the test split is used when this is None.
    log : callable
        Receives one-line progress messages (``print`` by default).
    """
    import torch

    from rnnlab.models import SequenceClassifier
    from rnnlab.training import fit, seed_everything, set_threads
    from rnnlab.training.loop import History

    text = text or TextConfig()
    embedding = embedding or EmbeddingConfig()
    model_cfg = model or ModelConfig()
    training = training or TrainConfig()
    start = time.perf_counter()
    out = check_output_dir(out)
    if embedding.source not in ("word2vec", "random") and not Path(embedding.source).exists():
        raise RnnlabError(
            f"embedding file not found: {embedding.source}; use --embedding word2vec, "
            "random, a folder written by `rnnlab embed train`, or a path to word2vec "
            "(text/binary) or GloVe vectors"
        )
    seed_everything(training.seed)
    set_threads(training.threads)

    ds = load_training_data(data, text_col, label_col, cache_dir)
    test_ds = load_test_data(data, test_data, text_col, label_col, cache_dir, ds.label_names)
    train_ds, val_ds = train_val_split(ds, training.val_fraction, training.seed)
    log(
        f"data: {len(train_ds)} train / {len(val_ds)} validation texts, "
        f"classes {', '.join(ds.label_names)}"
    )

    train_tokens = [tokenize(t) for t in train_ds.texts]
    vocab = Vocab.build(train_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
    log(f"vocabulary: {len(vocab)} entries (max {text.max_vocab}, min_freq {text.min_freq})")

    matrix, coverage, dim, w2v_seconds = None, None, embedding.dim, 0.0
    if embedding.source == "word2vec":
        from rnnlab.embeddings import embedding_matrix, train_word2vec

        t0 = time.perf_counter()
        log(f"word2vec: training {embedding.algorithm} ({embedding.dim}-d) on the training texts")
        vectors = train_word2vec(
            train_tokens,
            dim=embedding.dim,
            algorithm=embedding.algorithm,
            window=embedding.window,
            min_count=embedding.min_count,
            epochs=embedding.epochs,
            seed=training.seed,
        )
        matrix, coverage = embedding_matrix(vocab, vectors, seed=training.seed)
        w2v_seconds = time.perf_counter() - t0
        log(f"word2vec: {len(vectors.index_to_key)} words in {w2v_seconds:.1f} s")
    elif embedding.source != "random":
        from rnnlab.embeddings import embedding_matrix
        from rnnlab.embeddings.quality import load_word_vectors

        vectors = load_word_vectors(embedding.source)  # a vectors folder or file
        matrix, coverage = embedding_matrix(vocab, vectors, seed=training.seed)
        dim = vectors.vector_size
    if coverage is not None:
        log(
            f"embedding coverage: {coverage.vocab_share:.1%} of vocabulary entries, "
            f"{coverage.token_share:.1%} of training tokens"
        )
    train_seqs = [truncate(vocab.encode(tokens), text) for tokens in train_tokens]
    del train_tokens
    val_seqs = encode(val_ds.texts, vocab, text)
    net = SequenceClassifier(
        model_cfg,
        len(vocab),
        dim,
        len(ds.label_names),
        embedding=None if matrix is None else torch.from_numpy(matrix),
        freeze_embedding=embedding.freeze,
    )
    val_batches = _batches(val_seqs, val_ds.labels, text, 256, shuffle=False, seed=0)
    checkpoint_dir = checkpoint_dir_for(out)
    t0 = time.perf_counter()
    history: History = fit(
        net,
        lambda epoch: _batches(
            train_seqs, train_ds.labels, text, training.batch_size, True, training.seed + epoch
        ),
        val_batches,
        classification_step,
        training,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        on_epoch=lambda r: log(
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} acc {r['train_accuracy']:.4f}"
            f" | val loss {r['val_loss']:.4f} acc {r['val_accuracy']:.4f}"
            f" ({r['epoch_seconds']:.0f} s)"
        ),
    )
    network_seconds = time.perf_counter() - t0
    log(f"kept epoch {history.best_epoch} (lowest validation loss)")

    classifier = TextClassifier(
        net.eval(),
        vocab,
        text,
        list(ds.label_names),
        path=None,
        backend="auto",
        threads=training.threads,
    )
    from rnnlab.training.metrics import classification_metrics

    metrics: dict[str, Any] = {
        "validation": classification_metrics(
            np.asarray(val_ds.labels), classifier.predict_proba(val_ds.texts), ds.label_names
        )
    }
    fit_seconds = time.perf_counter() - start
    if test_ds is not None:
        log(f"evaluating on {len(test_ds)} held-out texts ({test_ds.source})")
        metrics["test"] = classification_metrics(
            np.asarray(test_ds.labels), classifier.predict_proba(test_ds.texts), ds.label_names
        )
        metrics["test"]["data_sha256"] = dataset_sha256(test_ds)
    seconds = time.perf_counter() - start
    metrics["timing"] = {
        "total_seconds": round(seconds, 1),
        "fit_seconds": round(fit_seconds, 1),  # everything before the held-out evaluation
        "word2vec_seconds": round(w2v_seconds, 1),
        "network_seconds": round(network_seconds, 1),
        "epochs_run": len(history.epochs),
        "peak_rss_mb": peak_rss_mb(),  # of the whole process, up to now
    }

    config = {
        **base_config(KIND),
        "tokenizer": TOKENIZER,
        "label_names": list(ds.label_names),
        "vocab_size": len(vocab),
        "embedding_dim": dim,
        "text": text.to_dict(),
        "embedding": embedding.to_dict(),
        "model": model_cfg.to_dict(),
        "train": training.to_dict(),
        "data": {
            "source": str(ds.source),
            "sha256": dataset_sha256(ds),
            "n_train": len(train_ds),
            "n_validation": len(val_ds),
        },
        "embedding_coverage": None if coverage is None else coverage.to_dict(),
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
    }

    def write_plots(path: Path) -> None:
        from rnnlab.training.metrics import plot_confusion, plot_history

        plot_history(history.epochs, path, history.best_epoch)
        split = "test" if "test" in metrics else "validation"
        plot_confusion(metrics[split], path.with_name("confusion_matrix.png"))

    writers = {
        "vocab.json": vocab.save,
        "model.safetensors": weights_writer(net),
        "metrics.json": json_writer(metrics),
        "history.jsonl": history.write_jsonl,
        "learning_curve.png": write_plots,
    }
    write_model_dir(out, config, writers)
    log(f"saved {out}")
    return TrainResult(out, metrics, history.epochs, seconds, history.best_epoch)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where not POSIX)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def load_training_data(data, text_col="text", label_col="label", cache_dir=None) -> TextDataset:
    """Labeled training texts (a TextDataset, or read from a source), with two or more classes."""
    ds = (
        data
        if isinstance(data, TextDataset)
        else load_dataset(
            data, text_col=text_col, label_col=label_col, split="train", cache_dir=cache_dir
        )
    )
    if not ds.is_labeled:
        raise RnnlabError(f"{ds.source} has no labels; training needs --label-col")
    if len(ds.label_names) < 2:
        raise RnnlabError(f"{ds.source}: training needs at least two classes")
    return ds


def load_test_data(data, test_data, text_col, label_col, cache_dir, label_names):
    """Held-out data for a training run: ``test_data`` if given, else IMDB's test split."""
    from rnnlab.data import is_imdb_source

    if isinstance(test_data, TextDataset):
        return test_data
    if test_data is not None:
        return load_dataset(
            test_data,
            text_col=text_col,
            label_col=label_col,
            split="test",
            cache_dir=cache_dir,
            label_names=list(label_names),
        )
    if not isinstance(data, TextDataset) and is_imdb_source(data):
        return load_dataset(data, split="test", cache_dir=cache_dir)
    return None


class TextClassifier:
    """A trained classifier: ``predict(texts) -> [{"label", "score"}, ...]``.

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
    ) -> None:
        self.net = net
        self.vocab = vocab
        self.text = text
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
        seqs = encode(texts, self.vocab, self.text)
        probs = np.zeros((len(seqs), len(self.label_names)), dtype=np.float64)  # (N, C)
        for idx, ids, lens in padded_batches(seqs, self.text, self.batch_size):
            logits = self._logits(ids.numpy(), lens.numpy()).astype(np.float64)  # (B, C)
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            probs[idx] = e / e.sum(axis=1, keepdims=True)
        return probs

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Label and probability of the most likely class for each text.

        Always takes a list and returns a list (one dict per text).
        """
        probs = self.predict_proba(texts)
        best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
        return [
            {"label": self.label_names[int(k)], "score": float(probs[i, k])}
            for i, k in enumerate(best)
        ]


def load(path: str | Path | None = None, backend: str = "auto", threads: int = 0) -> TextClassifier:
    """Load a model directory (default: the bundled IMDB sentiment model).

    ``backend``: "auto" (onnxruntime when it works, else torch), "onnx" or
    "torch". ``threads``: CPU threads for prediction (0: all cores). A linear
    model directory (kind "linear-classifier", see :mod:`rnnlab.tasks.linear`) gives a
    ``LinearTextClassifier`` with the same interface (backend "numpy").
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from rnnlab.errors import ArtifactError
    from rnnlab.models import SequenceClassifier

    path = Path(path) if path is not None else bundled_model_path()
    config = read_config(path)
    if config.get("kind") == "linear-classifier":  # bag of words / TF-IDF / NBSVM
        from rnnlab.tasks.linear import load as load_linear

        if backend not in ("auto", "numpy"):
            raise RnnlabError(
                f"{path} is a linear model, which runs with numpy; got backend {backend!r}, "
                "use auto"
            )
        return load_linear(path, config)
    if config.get("kind") != KIND:
        raise ArtifactError(f"{path} holds a {config.get('kind')!r} model, expected {KIND!r}")
    try:
        text = TextConfig.from_dict(config["text"])
        model_cfg = ModelConfig.from_dict(config["model"])
        vocab = Vocab.load(path / "vocab.json")
        label_names = list(config["label_names"])
        net = SequenceClassifier(
            model_cfg, config["vocab_size"], config["embedding_dim"], len(label_names)
        )
        state = load_file(str(path / "model.safetensors"))
        net.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError, SafetensorError) as exc:
        raise ArtifactError(f"cannot load model from {path}: {str(exc).splitlines()[0]}") from None
    if len(vocab) != config["vocab_size"]:
        raise ArtifactError(
            f"{path}: vocab.json has {len(vocab)} entries, config says "
            f"{config['vocab_size']}; the directory is inconsistent"
        )
    if OOV != 1:  # pragma: no cover - guards a future change of the special ids
        raise ArtifactError("vocabulary special ids changed")
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return TextClassifier(
        net.eval(), vocab, text, label_names, path, backend, config, threads=threads
    )


def bundled_model_path() -> Path:
    """The IMDB sentiment model shipped inside the package."""
    path = Path(__file__).parent / "bundled" / "imdb-sentiment"
    if not (path / "config.json").is_file():
        raise RnnlabError(
            f"the bundled model is missing from this installation ({path}); "
            "pass a model directory trained with `rnnlab train`"
        )
    return path


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
    from rnnlab.training.metrics import classification_metrics, plot_confusion

    clf = model if hasattr(model, "predict_proba") else load(model)  # TextClassifier or linear
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
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        from rnnlab.training.loop import write_text_atomic

        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        plot_confusion(metrics, out / "confusion_matrix.png")
    return metrics
