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
    load_state,
    open_model_dir,
    run,
)
from rnnlab.tasks.prepare import (  # noqa: F401  (encode, truncate: also imported from here)
    TOKENIZER,
    embedding_step,
    encode,
    tokenizer_file,
    truncate,
)
from rnnlab.text import OOV, Vocab
from rnnlab.text.tokenizers import make_tokenizer, restore_tokenizer
from rnnlab.training.batching import padded_batches

KIND = "classifier"


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
                 test_data, cache_dir, encoder=None) -> None:  # fmt: skip
        super().__init__(training)
        self.source, self.test_source = data, test_data
        self.text, self.embedding, self.model = text, embedding, model
        self.columns, self.cache_dir = (text_col, label_col), cache_dir
        self.encoder = None if encoder is None else Path(encoder)

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

    def _encoder(self, log):
        """The pretrained encoder (``rnnlab pretrain``) this classifier starts from.

        Its tokenizer and vocabulary replace the classifier's (``text.tokenizer``,
        ``max_vocab``, ``min_freq``), its network settings the recurrent ones
        (cell, sizes, directions); ``maxlen``, padding, pooling, dropout and the
        n-gram part stay the classifier's. ``self.text`` / ``self.model`` are
        updated, so config.json records what was really trained.
        """
        from rnnlab.tasks.pretrain import encoder_state

        if not self.encoder.is_dir():
            raise RnnlabError(
                f"encoder not found: {self.encoder}; give a directory written by "
                "`rnnlab pretrain --out DIR`"
            )
        enc = encoder_state(self.encoder)
        etext, emodel = enc.config["text"], enc.config["model"]
        self.text = self.text.replace(
            **{k: etext[k] for k in ("tokenizer", "max_vocab", "min_freq")}
        )
        shared = ("cell", "hidden_size", "num_layers", "bidirectional", "separate_directions",
                  "candidate_bias", "init", "learn_padding")  # fmt: skip
        self.model = self.model.replace(**{k: emodel[k] for k in shared if k in emodel})
        self.embedding = self.embedding.replace(source="encoder", dim=enc.config["embedding_dim"])
        log(f"encoder: {self.encoder} ({len(enc.vocab)} tokens, {self.model.num_layers} x "
            f"{self.model.cell.upper()}({self.model.hidden_size}))")  # fmt: skip
        return enc

    def build(self, data, log) -> Built:
        import torch

        from rnnlab.models import SequenceClassifier
        from rnnlab.training.distributed import current_context

        ds, train_ds, val_ds, _ = data
        training = self.training
        encoder = self._encoder(log) if self.encoder is not None else None
        text = self.text  # with an encoder: its tokenizer and vocabulary settings
        wide = None
        if self.model.wide_ngrams and current_context().is_main:  # first: see fit_ngrams
            wide, wide_linear, wide_seconds = fit_ngrams(
                self.model, train_ds, list(ds.label_names), text, training.seed, log
            )
        if encoder is None:
            tokenizer = make_tokenizer(text).fit(train_ds.texts)
            train_tokens = tokenizer.batch(train_ds.texts)
            vocab = Vocab.build(train_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
            log(f"vocabulary: {len(vocab)} entries (max {text.max_vocab}, "
                f"min_freq {text.min_freq})")  # fmt: skip
            matrix, coverage, dim, seconds = embedding_step(
                self.embedding, train_tokens, vocab, training.seed, log
            )
        else:
            tokenizer, vocab = encoder.tokenizer, encoder.vocab
            train_tokens = tokenizer.batch(train_ds.texts)
            matrix, coverage, seconds = None, None, 0.0
            dim = encoder.config["embedding_dim"]
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
        if encoder is not None:
            missing, unexpected = net.load_state_dict(encoder.state, strict=False)
            if unexpected or any(not k.startswith("head.") for k in missing):
                raise ArtifactError(
                    f"encoder {self.encoder} does not fit this classifier (missing "
                    f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}); "
                    "pretrain it again with this rnnlab"
                )
            log(f"encoder: embedding and recurrent layers from {self.encoder}")
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
        if encoder is not None:
            config["encoder"] = {
                "path": str(self.encoder),
                "sha256": encoder.config.get("files", {}).get("model.safetensors"),
                "pretrain": encoder.config.get("pretrain"),
                "data": encoder.config.get("data"),
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
            state={
                "vocab": vocab,
                "label_names": list(ds.label_names),
                "tokenizer": tokenizer,
                "train": train_ds,
                "validation": val_ds,
                "val_seqs": val_seqs,
                **(
                    {"wide": wide, "wide_linear": wide_linear, "wide_seconds": wide_seconds}
                    if wide is not None
                    else {}
                ),
            },
        )

    step = staticmethod(classification_step)

    def fit(self, built, checkpoint_dir, progress, log, resume=False):
        """The network (the template's loop), then the fusion weights.

        With ``model.wide_ngrams`` > 0 the n-gram part was fitted in ``build``
        (closed form, deterministic, so a resumed run simply refits it); the
        fusion weights are fitted here, on the validation split
        (:mod:`rnnlab.models.fusion`).
        """
        from rnnlab.training.distributed import current_context

        history = super().fit(built, checkpoint_dir, progress, log, resume)
        if built.state.get("wide") is not None and current_context().is_main:
            built.state["fusion"] = fit_wide_fusion(built, self.text, log)
            wide, fusion = built.state["wide"], built.state["fusion"]
            built.files.update(wide_files(wide))
            built.config["wide"] = wide_config(
                wide, built.state["wide_linear"], fusion, built.state["fusion_scores"]
            )
            built.timing["wide_seconds"] = built.state["wide_seconds"]
        return history

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
            wide=built.state.get("wide"),
            fusion=built.state.get("fusion"),
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


WIDE_WEIGHTS, WIDE_TERMS = "wide.safetensors", "wide_terms.json"


def fit_ngrams(model_cfg: ModelConfig, train_ds, label_names, text: TextConfig, seed: int, log):
    """``(NBSVM, its LinearConfig as a dict, seconds)``: the n-gram part, fitted on the
    training split.

    Run before the network is built: counting every n-gram of the training
    texts is the run's largest transient allocation (~1.5 GB for IMDB's 1-3-grams,
    before the 1M most frequent are kept), and it is freed before the network's
    data and Word2Vec take their share, so the run's peak is the larger of the
    two phases, not their sum.
    """
    import gc

    from rnnlab.models.linear import LinearConfig, LinearTextClassifier

    t0 = time.perf_counter()
    cfg = LinearConfig(
        ngram_range=(1, model_cfg.wide_ngrams),
        max_features=model_cfg.wide_max_features,
        tokenizer=text.tokenizer,
    ).resolve("nbsvm")
    log(f"n-gram part: NBSVM over word 1-{model_cfg.wide_ngrams}-grams on the training split")
    wide = LinearTextClassifier.fit(
        "nbsvm", train_ds.texts, train_ds.labels, label_names, cfg, seed=seed
    )
    gc.collect()
    release_free_memory()
    return wide, cfg.to_dict(), time.perf_counter() - t0


def release_free_memory() -> None:
    """Hand the C heap's freed pages back to the system (glibc ``malloc_trim``; a no-op
    elsewhere), so the network's phase reuses pages instead of adding to the peak."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        trim = None
    if trim is not None:
        trim(0)


def fit_wide_fusion(built, text: TextConfig, log):
    """The :class:`~rnnlab.models.fusion.Fusion` of the trained network and the n-gram
    part, fitted on the validation split; records timing and validation accuracies in
    ``built.state``."""
    from rnnlab.models.fusion import fit_fusion, fuse

    t0 = time.perf_counter()
    wide, val_ds = built.state["wide"], built.state["validation"]
    net = built.net.eval()
    deep = TextClassifier(net, built.state["vocab"], text, built.state["label_names"], None,
                          backend="torch", tokenizer=built.state["tokenizer"])  # fmt: skip
    y = np.asarray(val_ds.labels)
    p_deep = deep._proba(built.state["val_seqs"])  # (N, C)
    p_wide = wide.predict_proba(val_ds.texts)  # (N, C)
    fusion = fit_fusion(p_deep, p_wide, y)
    scores = {
        name: float((p.argmax(axis=1) == y).mean())
        for name, p in (("recurrent", p_deep), ("ngrams", p_wide),
                        ("fused", fuse(fusion, p_deep, p_wide)))
    }  # fmt: skip
    built.state["fusion_scores"] = scores
    built.state["wide_seconds"] = round(built.state["wide_seconds"] + time.perf_counter() - t0, 1)
    log(
        f"n-gram part: {wide.n_features} n-grams; fusion alpha {fusion.alpha:.3f} (network), "
        f"beta {fusion.beta:.3f} (n-grams); validation accuracy: network "
        f"{scores['recurrent']:.4f}, n-grams {scores['ngrams']:.4f}, fused {scores['fused']:.4f}"
    )
    return fusion


def wide_files(wide) -> dict[str, Any]:
    """The n-gram part's checksummed files: its weights and its terms."""
    return {WIDE_WEIGHTS: wide.write_weights, WIDE_TERMS: wide.write_vocab}


def wide_config(wide, linear: dict[str, Any], fusion, scores) -> dict[str, Any]:
    """config.json's "wide": what rebuilds the n-gram part and the fusion weights."""
    return {
        "model_type": wide.kind,
        "linear": jsonable(linear),
        "vectorizer": wide.vectorizer_params(),
        "n_features": wide.n_features,
        "fusion": fusion.to_dict(),
        "validation_accuracy": scores,
    }


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with its tuples as lists (a config section as config.json holds it)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def load_wide(path: Path, config: dict[str, Any]):
    """``(NBSVM, Fusion)`` of a fused model directory, or ``(None, None)`` without one."""
    from rnnlab.models.fusion import Fusion
    from rnnlab.models.linear import LinearTextClassifier

    section = config.get("wide")
    if section is None:
        return None, None
    try:
        fusion = Fusion.from_dict(section["fusion"])
        wide_cfg = {**section, "label_names": config["label_names"]}
        wide = LinearTextClassifier.load(
            path, wide_cfg, weights_file=WIDE_WEIGHTS, vocab_file=WIDE_TERMS
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            f"cannot load the n-gram part of {path}: {str(exc).splitlines()[0]}; "
            "retrain the model or restore its directory"
        ) from None
    return wide, fusion


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
    encoder: str | Path | None = None,
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
    encoder : path, optional
        An encoder directory from ``rnnlab pretrain``: the classifier starts from its
        tokenizer, vocabulary, embedding and recurrent layers (no Word2Vec step) and
        fine-tunes them (see ``ClassifyTask._encoder`` for which settings it fixes).
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
        encoder,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


class TextClassifier:
    """A trained classifier: ``predict(texts) -> [{"label", "score", "known"}, ...]``.

    Obtain one with ``rnnlab.load(path)``. ``backend="onnx"`` runs the network
    with onnxruntime (exported from the torch weights on first load and checked
    against torch's outputs); ``"torch"`` runs it with torch; ``"auto"`` picks
    onnx when it is available and passes the check. ``device`` ("cpu" by
    default; "cuda", "cuda:N", "auto") is where the torch network runs: on a
    GPU that is the torch backend, and ``explain`` needs the CPU.

    Batch prediction on the CPU uses ``threads`` cores (0: all): the texts are
    cut into chunks of ``chunk_size``, and each of ``threads`` worker threads
    tokenizes a chunk, buckets it by length and runs the network on it, one
    intra-op thread per call (see :mod:`rnnlab.export`), so one worker's
    tokenizing overlaps another's network. ``precision="bfloat16"`` runs the
    torch network under ``torch.autocast`` in bfloat16 (CPUs with AVX512_BF16
    or AMX, or a GPU; ``"auto"``: there when available, else float32); it
    implies the torch backend. Measured on the bundled model and the 25,000
    IMDB test reviews (``benchmarks/predict_speed.py``): the network 1.37x
    faster, batch prediction 1.35x, the same accuracy (2 predictions of
    25,000 changed, one each way), scores moved by up to 0.005. float32 stays
    the default: the default backend, onnxruntime, is float32 only and 4x
    faster than torch on one review, and scores then do not depend on the
    machine.
    """

    chunk_size = 512  # texts per unit of work of a batch-prediction worker
    # texts per n-gram count matrix: counting 25,000 reviews' 1-3-grams at once took ~0.5 GB
    WIDE_CHUNK = 2048

    def __init__(
        self,
        net,
        vocab: Vocab,
        text: TextConfig,
        label_names: list[str],
        path: Path | None,
        backend: str = "torch",
        config: dict | None = None,
        batch_size: int | None = None,
        threads: int = 0,
        tokenizer=None,
        wide=None,
        fusion=None,
        device: str = "cpu",
        precision: str = "float32",
    ) -> None:
        from rnnlab.tasks.base import resolve_threads
        from rnnlab.training.distributed import resolve_device

        # Where the torch network runs ("auto", "cpu", "cuda", "cuda:N"). onnxruntime runs
        # on the CPU here, so a GPU means the torch backend.
        self.device = resolve_device(device)
        if self.device.type != "cpu":
            if backend == "onnx":
                raise RnnlabError(
                    f"backend onnx runs on the CPU; with device {device!r} use backend "
                    "torch or auto (or device cpu)"
                )
            backend = "torch" if backend == "auto" else backend
            net = net.to(self.device)
        self.net = net
        # The n-gram part (an NBSVM) and the weights fusing it with the network, or None.
        self.wide, self.fusion = wide, fusion
        self.vocab = vocab
        self.text = text
        self.tokenizer = tokenizer if tokenizer is not None else make_tokenizer(text)
        self.label_names = label_names
        self.path = path
        self.config = config or {}
        self.threads = resolve_threads(threads)  # workers of batch prediction (0: every core)
        self.precision = self._resolve_precision(precision, backend)
        self._session = None
        self.backend = "torch"
        if backend in ("onnx", "auto") and self.precision == "float32":
            from rnnlab.export import onnx_session

            self._session = onnx_session(net, required=backend == "onnx", threads=1)
            if self._session is not None:
                self.backend = "onnx"
        elif backend not in ("onnx", "auto", "torch"):
            raise RnnlabError(f"backend must be auto, onnx or torch; got {backend!r}")
        # texts per network call: one onnxruntime thread was measured fastest at 16 (its
        # LSTM ~25% faster per text than at 64), torch at 64 (benchmarks/predict_speed.py)
        self.batch_size = batch_size or (16 if self.backend == "onnx" else 64)

    def _resolve_precision(self, precision: str, backend: str) -> str:
        """``"float32"`` or ``"bfloat16"`` for ``precision`` on this device and backend."""
        from rnnlab.training.loop import bf16_supported

        if precision not in ("float32", "bfloat16", "auto"):
            raise RnnlabError(f"precision must be float32, bfloat16 or auto; got {precision!r}")
        if precision == "float32" or (precision == "auto" and backend == "onnx"):
            return "float32"
        if not bf16_supported(self.device):
            if precision == "auto":
                return "float32"
            raise RnnlabError(
                "precision bfloat16 needs a CPU with AVX512_BF16 or AMX (or a GPU); this "
                "one has neither: use precision float32 or auto"
            )
        if backend == "onnx":
            raise RnnlabError(
                "precision bfloat16 runs the network with torch; use backend torch or auto"
            )
        return "bfloat16"

    def __repr__(self) -> str:
        return (
            f"TextClassifier(path={self.path}, labels={self.label_names}, backend={self.backend})"
        )

    def _logits(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return self._session.run(None, {"ids": ids, "lengths": lengths})[0]
        import torch

        bf16 = self.precision == "bfloat16"
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16),
        ):
            ids_t = torch.from_numpy(ids).to(self.device)  # (B, T); no copy on the CPU
            lengths_t = torch.from_numpy(lengths).to(self.device)  # (B,)
            return self.net(ids_t, lengths_t).float().cpu().numpy()  # (B, C)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) class probabilities, in input order (the fused ones for a model with an
        n-gram part; :meth:`network_proba` gives the network's alone)."""
        probs, _, texts = self._network(texts)
        return self._with_wide(probs, texts)

    def network_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) class probabilities of the recurrent network alone."""
        return self._network(texts)[0]

    def _encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids cut to ``text.maxlen``, as :func:`encode` gives them; the tokens are
        cut before the vocabulary lookup, so the ids of dropped tokens are never looked up."""
        maxlen, pre, lookup = self.text.maxlen, self.text.truncating == "pre", self.vocab.encode
        seqs = []
        for t in texts:
            tokens = self.tokenizer(t)
            if len(tokens) > maxlen:
                tokens = tokens[-maxlen:] if pre else tokens[:maxlen]
            seqs.append(lookup(tokens))
        return seqs

    def _encode_and_run(self, texts: list[str]) -> tuple[np.ndarray, list[list[int]]]:
        seqs = self._encode(texts)
        return self._proba(seqs), seqs

    def _network(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[int]], list[str]]:
        """The network's (N, C) probabilities, the ids it read and the texts (checked, as
        a list: a generator is read once).

        On the CPU, chunks of up to ``chunk_size`` texts go to ``threads``
        workers (each tokenizes its chunk, then runs the network on it, one
        intra-op thread per call); one chunk, or one worker, runs in the
        calling thread.
        Length buckets are formed within a chunk, so a text's batch can differ
        from a one-pass run: its probabilities agree to float rounding.
        """
        from concurrent.futures import ThreadPoolExecutor

        from rnnlab.export import one_torch_thread
        from rnnlab.tasks.base import check_texts

        texts = check_texts(texts)
        if self.device.type != "cpu":
            return (*self._encode_and_run(texts), texts)
        # chunk_size texts a chunk, fewer where that leaves a worker idle; at least a batch
        size = max(self.batch_size, min(self.chunk_size, -(-len(texts) // self.threads)))
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        workers = min(self.threads, len(chunks))
        with one_torch_thread():
            if workers <= 1:
                return (*self._encode_and_run(texts), texts)
            with ThreadPoolExecutor(workers, thread_name_prefix="rnnlab-predict") as pool:
                parts = list(pool.map(self._encode_and_run, chunks))
        probs = np.concatenate([p for p, _ in parts])  # (N, C)
        return probs, [ids for _, part in parts for ids in part], texts

    def _with_wide(self, probs: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The network's (N, C) probabilities fused with the n-gram part's, when there is one."""
        if self.wide is None or not len(probs):
            return probs
        from rnnlab.models.fusion import fuse

        texts, step = list(texts), self.WIDE_CHUNK
        parts = [self.wide.predict_proba(texts[i : i + step]) for i in range(0, len(texts), step)]
        return fuse(self.fusion, probs, np.concatenate(parts))  # (N, C)

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
        probs, seqs, texts = self._network(texts)
        probs = self._with_wide(probs, texts)
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

        if self.device.type != "cpu":
            raise RnnlabError("explain runs on the CPU: load the model with device='cpu'")
        return explain_classifier(self, texts, method=method, steps=steps)


def load(
    path: str | Path | None = None,
    backend: str = "auto",
    threads: int | None = None,
    device: str = "cpu",
    precision: str = "float32",
) -> TextClassifier:
    """Load a recurrent classifier's model directory (default: the bundled IMDB model).

    ``backend``: "auto" (onnxruntime when it works, else torch), "onnx" or
    "torch". ``threads``: see :func:`rnnlab.tasks.base.resolve_threads`
    (default: half the cores). ``device``: "cpu" (default), "cuda", "cuda:N"
    or "auto" (a GPU when torch sees one); on a GPU the network runs with
    torch. ``precision``: "float32" (default), "bfloat16" or "auto" (bfloat16
    where the CPU has AVX512_BF16/AMX, or on a GPU): see :class:`TextClassifier`.
    ``rnnlab.load`` dispatches here on kind "classifier".
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
        if "wide_ngrams" not in config["model"]:  # written before the n-gram part existed
            model_cfg = model_cfg.replace(wide_ngrams=0)
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"cannot load model from {path}: {str(exc).splitlines()[0]}") from None
    net = load_state(lambda: SequenceClassifier(model_cfg, *sizes), path)
    wide, fusion = load_wide(path, config)
    threads = apply_threads(threads)
    return TextClassifier(
        net, vocab, text, label_names, path, backend, config, threads=threads,
        tokenizer=tokenizer, wide=wide, fusion=fusion, device=device, precision=precision,
    )  # fmt: skip


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
