"""Take a trained classifier out of rnnlab: a Keras 3 model, or an ONNX graph.

The guide's activity is written for Keras. ``export_keras`` turns a model
directory written by ``rnnlab train`` into a ``.keras`` file that
``keras.saving.load_model`` opens on a machine without rnnlab (only built-in
Keras layers and ``keras.ops``: no custom objects), plus a JSON file with the
vocabulary, the padding and the label names. ``export_onnx_file`` writes the
same network as an ONNX graph for onnxruntime. ``docs/keras.md`` has the
twenty lines of plain Python that turn raw texts into the model's input.

The Keras network, layer by layer (torch -> Keras)::

    Embedding (V, D)            -> Embedding(V, D), padding mask from the ids
    StackedRNN, each layer      -> LSTM / GRU / SimpleRNN (Bidirectional if K=2)
    pooling "last"              -> the last layer with return_sequences=False
    pooling max / mean          -> keras.ops max / mean over time (masked)
    linear head (O, c)          -> Dense(C, activation="softmax")

Weights. torch fuses the gates of one layer into ``weight_ih`` (G*H, D) and
``weight_hh`` (G*H, H); Keras stores the transposes, ``kernel`` (D, G*H) and
``recurrent_kernel`` (H, G*H). LSTM gates are in the same order in both
(i, f, g/c, o) and Keras' one bias is ``bias_ih + bias_hh``. GRU gates are
(r, z, n) in torch and (z, r, h) in Keras (``reset_after=True``, torch's
form), whose bias (2, 3H) keeps the input and the recurrent part apart.

Padding. A model trained with ``padding="bucket"`` masks its padding, so the
Keras model masks id 0: texts are post-padded to the longest one in the batch
and the answer does not depend on that length. A text without any token is
one <pad> step that rnnlab *reads* (length 1), so the mask, computed from the
ids with ``keras.ops`` and passed to every recurrent layer, keeps the first
step of an all-padding row. Models trained with ``padding="pre"``/``"post"``
(Keras-style, the guide's) read their padding: every text is padded to
``maxlen`` on that side, with no mask, exactly as in training.

Shape legend: N batch, T time, V vocabulary, D embedding size, H hidden
units, K directions, G gates, C classes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.artifacts import write_text_atomic
from rnnlab.errors import RnnlabError

FORMATS = ("keras", "onnx")
PREPROCESSING_FORMAT = "rnnlab-preprocessing/1"
TOLERANCE = 1e-4  # max |probability difference| allowed between the export and rnnlab
INSTALL_HINT = "pip install 'rnnlab[keras]'"


@dataclass
class ExportResult:
    """What an export wrote, and how far its predictions are from rnnlab's on a probe batch."""

    model: Path
    preprocessing: Path
    max_difference: float


def preprocessing_path(out_file: str | Path) -> Path:
    """The JSON file written beside an export: ``model.keras`` -> ``model.preprocessing.json``."""
    out_file = Path(out_file)
    return out_file.with_name(f"{out_file.stem}.preprocessing.json")


def import_keras():
    """Keras 3 with the TensorFlow backend (unless ``KERAS_BACKEND`` says otherwise)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no CPU-feature banner
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # no oneDNN banner (speed is moot here)
    try:
        import keras
    except ImportError:
        raise RnnlabError(f"the Keras export needs keras and tensorflow: {INSTALL_HINT}") from None
    if int(keras.__version__.split(".")[0]) < 3:
        raise RnnlabError(
            f"the Keras export needs Keras 3, found {keras.__version__}: {INSTALL_HINT}"
        )
    return keras


def export_model(
    model_dir: str | Path, out_file: str | Path, format: str = "keras"
) -> ExportResult:
    """Export a recurrent classifier's model directory as ``format`` ("keras" or "onnx")."""
    if format not in FORMATS:
        raise RnnlabError(f"export format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "keras":
        return export_keras(model_dir, out_file)
    return export_onnx_file(model_dir, out_file)


def _load(model_dir: str | Path):
    from rnnlab.tasks.classify import load

    clf = load(model_dir, backend="torch")
    if clf.wide is not None:
        raise RnnlabError(
            f"{model_dir} fuses an n-gram part (NBSVM) with its network; an export holds the "
            "network only and would predict differently: train with --wide-ngrams 0 to export "
            "(the guide recipe has no n-gram part)"
        )
    tokenizer = getattr(clf.text, "tokenizer", "words")
    if tokenizer != "words":
        raise RnnlabError(
            f"{model_dir} reads text with the {tokenizer!r} tokenizer; the export (and the "
            "snippet in docs/keras.md) reproduces rnnlab's word tokenizer only: train with "
            "text.tokenizer 'words'"
        )
    return clf


def _check_out(out_file: str | Path, suffix: str) -> Path:
    out_file = Path(out_file).expanduser()
    if out_file.suffix != suffix:
        raise RnnlabError(f"--out must end in {suffix} for this format, got {out_file}")
    if out_file.is_dir():
        raise RnnlabError(f"--out {out_file} is a folder; give a file name ending in {suffix}")
    if not out_file.parent.is_dir():
        raise RnnlabError(f"--out: folder {out_file.parent} does not exist")
    return out_file


def preprocessing(clf) -> dict[str, Any]:
    """Everything needed to turn raw texts into the exported model's input, as plain JSON.

    ``padding`` and ``width``: the side the ids are padded on and the row
    length (``None``: the longest text of the batch). The same for both
    formats, so a ``.keras`` and a ``.onnx`` export may share it.
    """
    text, vocab = clf.text, clf.vocab
    masked = text.padding == "bucket"
    return {
        "format": PREPROCESSING_FORMAT,
        "tokenizer": clf.config.get("tokenizer", "rnnlab.tokenize/1"),
        "lowercase": True,
        "label_names": list(clf.label_names),
        "maxlen": text.maxlen,
        "truncating": text.truncating,
        "padding": "post" if masked else text.padding,
        "width": None if masked else text.maxlen,
        "masked": masked,  # padding masked (bucket) or read as input (Keras-style)
        "pad_id": 0,
        "oov_id": 1,
        "vocabulary": list(vocab.itos),
    }


def encode_for_export(texts: list[str], prep: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """ids (N, W) and lengths (N,) as the documented snippet builds them, from rnnlab tokens.

    Used to check an export against rnnlab; the snippet in ``docs/keras.md``
    does the same with its own copy of the tokenizer.
    """
    from rnnlab.text import tokenize

    index = {tok: i for i, tok in enumerate(prep["vocabulary"])}
    rows = []
    for t in texts:
        ids = [index.get(tok, prep["oov_id"]) for tok in tokenize(t)]
        ids = ids[-prep["maxlen"] :] if prep["truncating"] == "pre" else ids[: prep["maxlen"]]
        rows.append(ids or [prep["pad_id"]])  # no token: one padding step, read
    width = prep["width"] or max(len(r) for r in rows)
    x = np.full((len(rows), width), prep["pad_id"], dtype=np.int64)  # (N, W)
    for r, ids in enumerate(rows):
        if prep["padding"] == "pre":
            x[r, width - len(ids) :] = ids
        else:
            x[r, : len(ids)] = ids
    lengths = np.array([len(r) if prep["width"] is None else width for r in rows], np.int64)
    return x, lengths


PROBE_TEXTS = [
    "A wonderful film, moving and funny.",
    "",  # no token at all
    "Dull. Dull, dull and far too long; I want those two hours back!!",
    "the the the",
]


def _probe_texts(clf) -> list[str]:
    """Short, empty and maxlen-exceeding texts made of the model's own vocabulary."""
    rng = np.random.default_rng(0)
    words = clf.vocab.itos[2:] or ["word"]
    long = " ".join(rng.choice(words, clf.text.maxlen + 7))
    return [*PROBE_TEXTS, long, " ".join(rng.choice(words, 5))]


def _cleanup(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


# ---------------------------------------------------------------- Keras


def _keras_rnn_weights(module, cell: str) -> list[np.ndarray]:
    """One torch RNN/LSTM/GRU layer's weights in Keras' layout (see the module docstring)."""
    w_ih = module.weight_ih_l0.detach().numpy()  # (G*H, D)
    w_hh = module.weight_hh_l0.detach().numpy()  # (G*H, H)
    b_ih = module.bias_ih_l0.detach().numpy()  # (G*H,)
    b_hh = module.bias_hh_l0.detach().numpy()
    if cell != "gru":
        return [w_ih.T, w_hh.T, b_ih + b_hh]  # (D, G*H), (H, G*H), (G*H,)
    h = module.hidden_size
    order = np.r_[h : 2 * h, 0:h, 2 * h : 3 * h]  # torch (r, z, n) -> Keras (z, r, h)
    bias = np.stack([b_ih[order], b_hh[order]])  # (2, 3H): input part, recurrent part
    return [w_ih[order].T, w_hh[order].T, bias]


def build_keras_model(clf):
    """A ``keras.Model`` computing ``clf``'s class probabilities from padded ids (N, T)."""
    net, cfg = clf.net, clf.net.config
    if getattr(net.rnn, "separate", False):
        raise RnnlabError(
            "this model's two directions are separate stacks (model.separate_directions, the "
            "pretrained 'best' recipe); Keras' Bidirectional layers mix them: export it to "
            "ONNX instead, or train with model.separate_directions false"
        )
    keras = import_keras()
    from keras import layers, ops

    emb = net.embedding.weight.detach().numpy()  # (V, D), row 0 (padding) zero
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    embedding = layers.Embedding(emb.shape[0], emb.shape[1], name="embedding")
    x = embedding(ids)  # (N, T, D)
    mask = keep = None
    if clf.text.padding == "bucket":  # True at the steps rnnlab reads
        real = ops.not_equal(ids, 0)  # (N, T)
        first = ops.equal(ops.cumsum(ops.ones_like(ids), axis=1), 1)  # (N, T): t == 0
        empty = ops.logical_not(ops.any(real, axis=1, keepdims=True))  # (N, 1): no token
        mask = ops.logical_or(real, ops.logical_and(first, empty))  # (N, T)
        keep = ops.expand_dims(mask, -1)  # (N, T, 1)
    weighted: list[tuple[Any, list[np.ndarray]]] = [(embedding, [emb])]

    def pool(seq, how: str):
        parts = []
        if how in ("max", "maxmean"):
            filled = seq if keep is None else ops.where(keep, seq, -1e30)
            parts.append(ops.max(filled, axis=1))  # (N, F)
        if how in ("mean", "maxmean"):
            if keep is None:
                parts.append(ops.mean(seq, axis=1))
            else:
                weight = ops.cast(keep, seq.dtype)  # (N, T, 1)
                parts.append(ops.sum(seq * weight, axis=1) / ops.sum(weight, axis=1))
        return parts[0] if len(parts) == 1 else layers.Concatenate(name="maxmean")(parts)

    if net.rnn is None:  # cell "none": pooled word vectors -> hidden ReLU layer
        hidden = layers.Dense(cfg.hidden_size, activation="relu", name="hidden")
        x = hidden(pool(x, cfg.pooling))
        linear = net.hidden[0]
        weighted.append((hidden, [linear.weight.detach().numpy().T, linear.bias.detach().numpy()]))
    else:
        rnn = net.rnn
        kind = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN}[rnn.cell]
        options = {"reset_after": True} if rnn.cell == "gru" else {}
        for k in range(rnn.num_layers):
            sequences = k < rnn.num_layers - 1 or cfg.pooling != "last"
            layer = kind(
                rnn.hidden_size, return_sequences=sequences, name=f"{rnn.cell}_{k}", **options
            )
            forward = _keras_rnn_weights(rnn.forward_layers[k], rnn.cell)
            if rnn.bidirectional:
                layer = layers.Bidirectional(layer, merge_mode="concat", name=f"bidirectional_{k}")
                backward = _keras_rnn_weights(rnn.backward_layers[k], rnn.cell)
                weighted.append((layer, forward + backward))
            else:
                weighted.append((layer, forward))
            x = layer(x, mask=mask)  # (N, T, K*H), or (N, K*H) for the last layer read "last"
        if cfg.pooling != "last":
            x = pool(x, cfg.pooling)  # (N, P)
    head = layers.Dense(len(clf.label_names), activation="softmax", name="softmax")
    probs = head(x)  # (N, C)
    weighted.append((head, [net.head.weight.detach().numpy().T, net.head.bias.detach().numpy()]))
    model = keras.Model(ids, probs, name="rnnlab_classifier")
    for layer, weights in weighted:
        layer.set_weights([w.astype(np.float32) for w in weights])
    return model


def _max_difference(clf, predict, prep: dict[str, Any]) -> float:
    texts = _probe_texts(clf)
    ids, lengths = encode_for_export(texts, prep)
    got = predict(ids, lengths)  # (N, C) probabilities
    return float(np.abs(got - clf.predict_proba(texts)).max())


def export_keras(model_dir: str | Path, out_file: str | Path) -> ExportResult:
    """Write ``out_file`` (a Keras 3 ``.keras`` model) and its ``.preprocessing.json``.

    The model takes int ids (N, T), built from raw texts as ``docs/keras.md``
    shows, and returns class probabilities (N, C). Before anything is kept,
    its predictions on a probe batch (short, empty and over-long texts) are
    compared with rnnlab's; a difference above ``TOLERANCE`` is an error.

    Raises
    ------
    RnnlabError
        Keras missing (install ``rnnlab[keras]``), a bad ``out_file``, a model
        directory that is not a recurrent classifier, or an export that does
        not reproduce rnnlab's predictions.
    """
    out_file = _check_out(out_file, ".keras")
    clf = _load(model_dir)  # before the slow TensorFlow import: a bad directory fails fast
    keras = import_keras()
    prep = preprocessing(clf)
    model = build_keras_model(clf)
    tmp = out_file.with_name(f".{out_file.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        reloaded = keras.saving.load_model(tmp)
        diff = _max_difference(
            clf, lambda ids, _lengths: np.asarray(reloaded.predict(ids, verbose=0)), prep
        )
        if not diff <= TOLERANCE:
            raise RnnlabError(
                f"the Keras export differs from rnnlab by {diff:.2e} (> {TOLERANCE}); "
                "nothing was written"
            )
        prep_file = preprocessing_path(out_file)
        write_text_atomic(prep_file, json.dumps(prep, ensure_ascii=False) + "\n")
        os.replace(tmp, out_file)
    finally:
        _cleanup(tmp)
    return ExportResult(out_file, prep_file, diff)


# ---------------------------------------------------------------- ONNX


def export_onnx_file(model_dir: str | Path, out_file: str | Path) -> ExportResult:
    """Write ``out_file`` (ONNX: ids (N, T), lengths (N,) -> logits (N, C)) and its JSON.

    The preprocessing JSON is also stored in the graph's metadata
    (``rnnlab_preprocessing``), so the ``.onnx`` file alone is enough.
    """
    import onnx
    import onnxruntime as ort

    from rnnlab.export import export_onnx

    out_file = _check_out(out_file, ".onnx")
    clf = _load(model_dir)
    prep = preprocessing(clf)
    graph = onnx.load_from_string(export_onnx(clf.net))
    entry = graph.metadata_props.add()
    entry.key, entry.value = "rnnlab_preprocessing", json.dumps(prep, ensure_ascii=False)
    data = graph.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])

    def predict(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        logits = session.run(None, {"ids": ids, "lengths": lengths})[0].astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    diff = _max_difference(clf, predict, prep)
    if not diff <= TOLERANCE:
        raise RnnlabError(
            f"the ONNX export differs from rnnlab by {diff:.2e} (> {TOLERANCE}); nothing was written"
        )
    tmp = out_file.with_name(f".{out_file.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        prep_file = preprocessing_path(out_file)
        write_text_atomic(prep_file, json.dumps(prep, ensure_ascii=False) + "\n")
        os.replace(tmp, out_file)
    finally:
        _cleanup(tmp)
    return ExportResult(out_file, prep_file, diff)
