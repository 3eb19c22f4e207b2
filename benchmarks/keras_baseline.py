"""The guide's network in Keras 3 + TensorFlow and in rnnlab, side by side, in one run.

Both frameworks get the same token ids and the same Word2Vec matrix, made
once by rnnlab: tokenize -> vocabulary (20k, training texts) -> CBOW
Word2Vec (100-d) on the training texts -> the last 200 ids, pre-padded with
0 to 200 (Keras-style) -> the guide's network: Embedding (Word2Vec, tuned) ->
LSTM(64) -> LSTM(64) -> softmax(h^N O + c), whose candidate c̃ has no bias
(in Keras: a bias constraint holds that block at 0), batch 128, 2 epochs,
Adam. Keras runs with its defaults (``lr=1e-3``, Glorot/orthogonal
initial weights, no clipping); rnnlab with ``rnnlab train --recipe guide``'s
settings (``rnnlab.recipes.RECIPES["guide"]``) and its one training loop.

Measured: training seconds per epoch (validation excluded), test accuracy
after the run (rnnlab keeps the epoch of lowest validation loss, Keras the
last), prediction throughput on the test ids (batch 512; rnnlab with torch
and with onnxruntime, its default prediction backend). Prints a table and
writes JSON.

    .venv/bin/pip install -e '.[keras]'
    .venv/bin/python benchmarks/keras_baseline.py                  # 25k/25k reviews, ~5 min
    .venv/bin/python benchmarks/keras_baseline.py --limit 2000     # a smoke run

Floors (issue 13): rnnlab's seconds per epoch <= Keras' in the same run, and
test accuracy no more than 1 point below Keras'. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
RESULTS = REPO / "benchmarks" / "results"
PREDICT_BATCH = 512


def pick(ds, n: int | None, seed: int):
    """A class-balanced random subset of n examples (IMDB is sorted: never take a prefix)."""
    if n is None or n >= len(ds):
        return ds
    rng = np.random.default_rng(seed)
    y = np.asarray(ds.labels)
    per = [n // 2, n - n // 2]
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == k), per[k], replace=False) for k in (0, 1)]
    )
    return ds.subset(sorted(idx.tolist()))


def prepare(args) -> dict[str, Any]:
    """Ids, labels and the Word2Vec matrix, made once with rnnlab for both frameworks."""
    from rnnlab.data import load_dataset, train_val_split
    from rnnlab.embeddings import embedding_matrix, train_word2vec
    from rnnlab.recipes import recipe_configs
    from rnnlab.tasks.classify import truncate
    from rnnlab.text import Vocab, pad_sequences, tokenize

    cfg = recipe_configs("guide")
    text, emb, train = cfg["text"], cfg["embedding"], cfg["train"]
    log(f"loading {args.data}")
    full = pick(load_dataset(args.data, split="train"), args.limit, args.seed)
    test = pick(load_dataset(args.data, split="test"), args.limit, args.seed + 1)
    tr, va = train_val_split(full, train.val_fraction, args.seed)
    tokens = [tokenize(t) for t in tr.texts]
    vocab = Vocab.build(tokens, max_size=text.max_vocab, min_freq=text.min_freq)
    t0 = time.perf_counter()
    vectors = train_word2vec(
        tokens,
        dim=emb.dim,
        algorithm=emb.algorithm,
        window=emb.window,
        min_count=emb.min_count,
        epochs=emb.epochs,
        seed=args.seed,
    )
    matrix, _ = embedding_matrix(vocab, vectors, seed=args.seed)
    log(f"word2vec: {time.perf_counter() - t0:.0f} s; vocabulary {len(vocab)}")

    def ids(texts, toks=None):
        toks = toks if toks is not None else [tokenize(t) for t in texts]
        seqs = [truncate(vocab.encode(t), text) for t in toks]
        return pad_sequences(seqs, maxlen=text.maxlen, padding=text.padding)  # (N, T)

    return {
        "x_train": ids(None, tokens),
        "y_train": np.asarray(tr.labels, dtype=np.int64),
        "x_val": ids(va.texts),
        "y_val": np.asarray(va.labels, dtype=np.int64),
        "x_test": ids(test.texts),
        "y_test": np.asarray(test.labels, dtype=np.int64),
        "matrix": matrix.astype(np.float32),
        "configs": cfg,
    }


def run_keras(data: dict[str, Any], args) -> dict[str, Any]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    model_cfg, train = data["configs"]["model"], data["configs"]["train"]
    h = model_cfg.hidden_size
    keras.utils.set_random_seed(args.seed)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)

    class NoCandidateBias(keras.constraints.Constraint):
        """Hold the candidate's block (gates i, f, c, o) of an LSTM bias at zero."""

        def __call__(self, bias):
            keep = np.ones(4 * h, np.float32)
            keep[2 * h : 3 * h] = 0.0
            return bias * keep

    matrix = data["matrix"]
    embedding = keras.layers.Embedding(*matrix.shape)
    layers = [keras.Input(shape=(data["x_train"].shape[1],), dtype="int32"), embedding]
    for k in range(model_cfg.num_layers):
        layers.append(
            keras.layers.LSTM(
                h,
                return_sequences=k < model_cfg.num_layers - 1,
                bias_constraint=None if model_cfg.candidate_bias else NoCandidateBias(),
            )
        )
    layers.append(keras.layers.Dense(2, activation="softmax"))
    model = keras.Sequential(layers)
    embedding.set_weights([matrix])  # the same Word2Vec matrix as rnnlab's
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    class Timer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()
            self.pending = True

        def on_test_begin(self, logs=None):  # validation starts: the epoch's training is over
            if getattr(self, "pending", False):
                self.seconds.append(round(time.perf_counter() - self.start, 2))
                self.pending = False

    timer = Timer()
    log(f"keras {keras.__version__} + tensorflow {tf.__version__}: training")
    history = model.fit(
        data["x_train"],
        data["y_train"],
        batch_size=train.batch_size,
        epochs=args.epochs,
        validation_data=(data["x_val"], data["y_val"]),
        callbacks=[timer],
        shuffle=True,
        verbose=0,
    )
    model.predict(data["x_test"][:PREDICT_BATCH], batch_size=PREDICT_BATCH, verbose=0)  # warm-up
    t0 = time.perf_counter()
    probs = model.predict(data["x_test"], batch_size=PREDICT_BATCH, verbose=0)
    predict_s = time.perf_counter() - t0
    return {
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
        "epoch_seconds": timer.seconds,
        "val_accuracy": [round(float(a), 4) for a in history.history["val_accuracy"]],
        "test_accuracy": float((probs.argmax(1) == data["y_test"]).mean()),
        "predict_reviews_per_s": round(len(probs) / predict_s, 1),
    }


def run_rnnlab(data: dict[str, Any], args) -> dict[str, Any]:
    import torch

    from rnnlab.export import onnx_session
    from rnnlab.models import SequenceClassifier
    from rnnlab.tasks.classify import classification_step
    from rnnlab.training import fit, seed_everything, set_threads

    model_cfg = data["configs"]["model"]
    train = data["configs"]["train"].replace(
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        patience=args.epochs,
        **({} if args.precision is None else {"precision": args.precision}),
    )
    seed_everything(args.seed)
    set_threads(train.threads)
    matrix = torch.from_numpy(data["matrix"])
    net = SequenceClassifier(model_cfg, *matrix.shape, 2, embedding=matrix)
    width = data["x_train"].shape[1]

    def batches(x, y, size, shuffle, seed):
        order = np.random.default_rng(seed).permutation(len(x)) if shuffle else np.arange(len(x))
        out = []
        for start in range(0, len(x), size):
            idx = order[start : start + size]
            lengths = torch.full((len(idx),), width, dtype=torch.int64)  # padding read as input
            out.append((torch.from_numpy(x[idx]), lengths, torch.from_numpy(y[idx])))
        return out

    val = batches(data["x_val"], data["y_val"], 256, False, 0)
    log(f"rnnlab (torch {torch.__version__}): training")
    history = fit(
        net,
        lambda epoch: batches(
            data["x_train"], data["y_train"], train.batch_size, True, args.seed + epoch
        ),
        val,
        classification_step,
        train,
        progress=False,
    )
    net.eval()
    x_test = data["x_test"]
    lengths = np.full(len(x_test), width, dtype=np.int64)
    session = onnx_session(net, required=False, threads=train.threads)

    def torch_logits(ids: np.ndarray, lens: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(ids), torch.from_numpy(lens)).numpy()

    runners = {"torch": torch_logits}
    if session is not None:  # rnnlab's default prediction backend
        runners["onnx"] = lambda ids, lens: session.run(None, {"ids": ids, "lengths": lens})[0]
    rates, preds = {}, None
    for name, run in runners.items():
        run(x_test[:PREDICT_BATCH], lengths[:PREDICT_BATCH])  # warm-up
        t0 = time.perf_counter()
        logits = [
            run(x_test[i : i + PREDICT_BATCH], lengths[i : i + PREDICT_BATCH])
            for i in range(0, len(x_test), PREDICT_BATCH)
        ]
        rates[name] = round(len(x_test) / (time.perf_counter() - t0), 1)
        if name == "torch":
            preds = np.concatenate(logits).argmax(1)
    return {
        "versions": {"torch": torch.__version__},
        "epoch_seconds": [round(e["epoch_seconds"], 2) for e in history.epochs],
        "val_accuracy": [round(e["val_accuracy"], 4) for e in history.epochs],
        "best_epoch": history.best_epoch,
        "test_accuracy": float((preds == data["y_test"]).mean()),
        "predict_reviews_per_s": rates,
    }


def table(result: dict[str, Any]) -> str:
    k, r = result["keras"], result["rnnlab"]
    rows = [
        ("", "Keras 3 + TF", "rnnlab"),
        (
            "seconds per epoch",
            " / ".join(f"{s:.1f}" for s in k["epoch_seconds"]),
            " / ".join(f"{s:.1f}" for s in r["epoch_seconds"]),
        ),
        (
            "validation accuracy",
            " / ".join(f"{a:.3f}" for a in k["val_accuracy"]),
            " / ".join(f"{a:.3f}" for a in r["val_accuracy"]) + f" (kept {r['best_epoch']})",
        ),
        ("test accuracy", f"{k['test_accuracy']:.4f}", f"{r['test_accuracy']:.4f}"),
        (
            f"predict reviews/s (batch {PREDICT_BATCH})",
            f"{k['predict_reviews_per_s']:,.0f}",
            ", ".join(f"{v:,.0f} {n}" for n, v in r["predict_reviews_per_s"].items()),
        ),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in width))
    ratio = result["figures"]["epoch_seconds_ratio_rnnlab_over_keras"]
    lines.append(
        f"\nrnnlab / Keras seconds per epoch: {ratio:.2f}; accuracy difference "
        f"{100 * result['figures']['accuracy_difference']:+.1f} points"
    )
    for floor in result["floors"]:
        lines.append(f"  {'PASS' if floor['passed'] else 'FAIL'}  {floor['name']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the IMDB archive")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke run)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's (2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    parser.add_argument(
        "--precision", default=None, help="rnnlab's train.precision (default: the recipe's)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON to write")
    args = parser.parse_args()
    try:
        import keras  # noqa: F401
    except ImportError:
        sys.exit("error: this benchmark needs Keras: pip install 'rnnlab[keras]'")
    from rnnlab.recipes import recipe_configs

    args.epochs = args.epochs or recipe_configs("guide")["train"].epochs
    out = args.out or RESULTS / (
        "keras_baseline.json" if args.limit is None else "keras_baseline_limit.json"
    )
    load_before = os.getloadavg()
    data = prepare(args)
    keras_result = run_keras(data, args)
    rnnlab_result = run_rnnlab(data, args)
    ratio = float(np.mean(rnnlab_result["epoch_seconds"]) / np.mean(keras_result["epoch_seconds"]))
    diff = rnnlab_result["test_accuracy"] - keras_result["test_accuracy"]
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "limit": args.limit,
            "epochs": args.epochs,
            "seed": args.seed,
            "threads": args.threads,
            "n_train": len(data["x_train"]),
            "n_validation": len(data["x_val"]),
            "n_test": len(data["x_test"]),
            "recipe": {k: v.to_dict() for k, v in data["configs"].items()},
        },
        "keras": keras_result,
        "rnnlab": rnnlab_result,
        "figures": {
            "epoch_seconds_ratio_rnnlab_over_keras": round(ratio, 3),
            "accuracy_difference": round(diff, 4),
        },
        "floors": [
            {"name": "rnnlab seconds per epoch <= Keras'", "passed": bool(ratio <= 1.0)},
            {
                "name": "test accuracy no more than 1 point below Keras'",
                "passed": bool(diff >= -0.01),
            },
        ],
    }
    write_json_atomic(out, result)
    print(table(result))
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
