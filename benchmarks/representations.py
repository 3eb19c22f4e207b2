"""Text as vectors, measured: one table comparing representations and models.

Two sections, each one table (stdout), one JSON file and one PNG chart:

``imdb``   the 25,000 IMDB test reviews, models fitted on the 25,000 train
           reviews (recurrent models carve their validation split from them):
           bag of words / TF-IDF / NBSVM + linear models; averaged Word2Vec +
           a fully connected layer (order-blind); RNN, LSTM, GRU with 1 and 2
           layers and a 2-layer BiLSTM, each with random and Word2Vec-initialised
           embeddings; and a 1-layer LSTM reading Keras-style fixed-length batches
           with pre- vs post-padding and no mask (the padding-side trap).
``order``  the generated order-sensitive reviews (``rnnlab.data.synthetic``),
           where a bag of words is at chance by construction.

Every row is trained by the library's own code: linear rows by
``rnnlab.tasks.linear.train_linear`` (what ``rnnlab train --model nbsvm`` runs),
the others by ``rnnlab.tasks.classify.train`` (what ``rnnlab train`` runs) with the
settings in the row's ``config``. One Word2Vec (CBOW, 100-d, 10 epochs) is
trained on the train reviews and shared by the rows that use it.

    .venv/bin/python benchmarks/representations.py                     # everything
    .venv/bin/python benchmarks/representations.py --section order     # ~1 min
    .venv/bin/python benchmarks/representations.py --rows nbsvm-uni+bi,lstm-1-w2v
    .venv/bin/python benchmarks/representations.py --limit 2000 --epochs 1   # smoke

Rows already in the JSON file are kept unless they are rerun, so the table can
be built in parts. Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import log  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
RESULTS = REPO / "benchmarks" / "results"

# Floors from the issue (IMDB 25k test): (row, threshold accuracy, max fit seconds).
FLOORS = [("nbsvm-uni+bi", 0.910, 180.0), ("tfidf-logreg-uni+bi", 0.895, 180.0)]


def linear_rows() -> dict[str, dict[str, Any]]:
    return {
        "bow-logreg-uni": {"kind": "bow-logreg", "ngram_range": [1, 1]},
        "tfidf-logreg-uni": {"kind": "tfidf-logreg", "ngram_range": [1, 1]},
        "tfidf-logreg-uni+bi": {"kind": "tfidf-logreg", "ngram_range": [1, 2]},
        "nbsvm-uni+bi": {"kind": "nbsvm", "ngram_range": [1, 2]},
    }


def neural_rows(section: str) -> dict[str, dict[str, Any]]:
    """Row name -> settings for ``pipeline.train`` (model, embedding, text sections)."""
    rows: dict[str, dict[str, Any]] = {}
    if section == "order":
        rows["avg-embedding-mlp"] = {
            "model": {"cell": "none", "pooling": "mean", "hidden_size": 32},
            "embedding": "random",
        }
        for cell in ("rnn", "lstm", "gru"):
            rows[f"{cell}-1"] = {
                "model": {"cell": cell, "num_layers": 1, "bidirectional": False, "pooling": "last"},
                "embedding": "random",
            }
        return rows
    rows["avg-w2v-mlp"] = {
        "model": {"cell": "none", "pooling": "mean", "hidden_size": 64},
        "embedding": "word2vec",
        "freeze": True,
        # an epoch takes seconds: give it as many as it can use
        "train": {"epochs": 30, "lr": 5e-3, "lr_decay": 0.9, "patience": 2},
    }
    for emb in ("random", "word2vec"):
        short = "w2v" if emb == "word2vec" else "rand"
        for cell in ("rnn", "lstm", "gru"):
            for layers in (1, 2):
                rows[f"{cell}-{layers}-{short}"] = {
                    "model": {"cell": cell, "num_layers": layers, "bidirectional": False},
                    "embedding": emb,
                }
        rows[f"bilstm-2-{short}"] = {
            "model": {"cell": "lstm", "num_layers": 2, "bidirectional": True},
            "embedding": emb,
        }
    for side in ("pre", "post"):
        rows[f"lstm-1-last-{side}pad"] = {
            "model": {"cell": "lstm", "num_layers": 1, "bidirectional": False, "pooling": "last"},
            "embedding": "word2vec",
            "padding": side,
        }
    return rows


def run_linear(name, spec, train_ds, test_ds, args) -> dict[str, Any]:
    from rnnlab.models.linear import LinearConfig
    from rnnlab.tasks.linear import train_linear

    result = train_linear(
        spec["kind"],
        train_ds,
        LinearConfig(ngram_range=tuple(spec["ngram_range"])),
        seed=args.seed,
        test_dataset=test_ds,
        log=lambda m: log(f"{name}: {m}"),
    )
    test = result.metrics["test"]
    return {
        "representation": {
            "bow-logreg": "bag of words (counts)",
            "tfidf-logreg": "TF-IDF (guide's IDF, L2)",
        }.get(spec["kind"], "binary n-grams x NB log-count ratios"),
        "model": f"{spec['kind']}, n-grams {tuple(spec['ngram_range'])}",
        "test_accuracy": test["accuracy"],
        "test_f1": test["f1"],
        "fit_seconds": result.timings["fit_seconds"],
        "reviews_per_second": _speed(result.classifier, test_ds.texts),
        "parameters": int(result.n_parameters),
        "config": {**spec, "linear": result.config.to_dict()},
    }


def run_neural(name, spec, train_ds, test_ds, w2v_path, args) -> dict[str, Any]:
    from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
    from rnnlab.tasks.classify import train

    model = {"hidden_size": args.hidden, "dropout": 0.3, **spec["model"]}
    text = {"maxlen": args.maxlen, "padding": spec.get("padding", "bucket")}
    if args.section == "order":
        text.update(min_freq=1, maxlen=50)
    emb_source = str(w2v_path) if spec["embedding"] == "word2vec" else "random"
    embedding = {"source": emb_source, "dim": 100 if args.section == "imdb" else 32}
    embedding["freeze"] = spec.get("freeze", False)
    training = {"epochs": args.epochs, "threads": args.threads, "seed": args.seed}
    if args.section == "order":
        training.update(epochs=12, lr=5e-3, lr_decay=0.9, patience=2)
    training.update(spec.get("train", {}))
    config = {"text": text, "embedding": embedding, "model": model, "train": training}
    with tempfile.TemporaryDirectory() as tmp:
        result = train(
            train_ds,
            Path(tmp) / "model",
            TextConfig(**text),
            EmbeddingConfig(**embedding),
            ModelConfig(**model),
            TrainConfig(**training),
            test_data=test_ds,
            progress=False,
            log=lambda m: log(f"{name}: {m}"),
        )
        clf = _load(Path(tmp) / "model", args.threads)
        speed = _speed(clf, test_ds.texts)
        params = sum(p.numel() for p in clf.net.parameters())
    test = result.metrics["test"]
    if emb_source != "random":
        config["embedding"]["source"] = "word2vec (cbow, trained once on the train reviews)"
    return {
        "representation": (
            "averaged word vectors" if model["cell"] == "none" else "word ids -> embedding"
        )
        + (" (word2vec init)" if spec["embedding"] == "word2vec" else " (random init)"),
        "model": _describe(model, text),
        "test_accuracy": test["accuracy"],
        "test_f1": test["f1"],
        "fit_seconds": result.metrics["timing"]["fit_seconds"],
        "best_epoch": result.best_epoch,
        "reviews_per_second": speed,
        "parameters": int(params),
        "config": config,
    }


def _describe(model: dict, text: dict) -> str:
    if model["cell"] == "none":
        return f"{model['pooling']}-pooled embeddings -> FC({model['hidden_size']}) -> linear"
    bi = "Bi" if model.get("bidirectional", True) else ""
    layers = model.get("num_layers", 2)
    pooling = model.get("pooling", "maxmean")
    pad = text.get("padding", "bucket")
    pad = "masked buckets" if pad == "bucket" else f"{pad}-padded to maxlen, unmasked"
    return f"{layers}x {bi}{model['cell'].upper()}({model['hidden_size']}), {pooling}; {pad}"


def _load(path: Path, threads: int = 0):
    from rnnlab.tasks.classify import load

    return load(path, backend="torch", threads=threads)


def _speed(clf, texts: list[str], limit: int = 5000) -> float:
    sample = texts[:limit]
    t0 = time.perf_counter()
    clf.predict_proba(sample)
    return round(len(sample) / (time.perf_counter() - t0), 1)


def load_data(args):
    if args.section == "order":
        from rnnlab.data.synthetic import order_sensitive_reviews

        return order_sensitive_reviews(4000, seed=0), order_sensitive_reviews(2000, seed=1)
    from rnnlab.data import load_dataset
    from rnnlab.data.dataset import TextDataset

    train_ds = load_dataset(args.data, split="train")
    test_ds = load_dataset(args.data, split="test")
    if args.limit:
        rng = np.random.default_rng(0)

        def cut(ds):
            idx = np.sort(rng.choice(len(ds), size=min(args.limit, len(ds)), replace=False))
            return TextDataset(
                [ds.texts[i] for i in idx],
                [ds.labels[i] for i in idx],
                ds.label_names,
                f"{ds.source} (random {len(idx)})",
            )

        train_ds, test_ds = cut(train_ds), cut(test_ds)
    return train_ds, test_ds


def train_shared_word2vec(train_ds, folder: Path, args) -> tuple[Path, float]:
    from rnnlab.embeddings import train_word2vec
    from rnnlab.text import tokenize

    t0 = time.perf_counter()
    vectors = train_word2vec([tokenize(t) for t in train_ds.texts], dim=100, seed=args.seed)
    path = folder / "word2vec.bin"
    vectors.save_word2vec_format(str(path), binary=True)
    return path, time.perf_counter() - t0


def plot(rows: dict[str, dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    acc = [rows[n]["test_accuracy"] for n in names]
    secs = [rows[n]["fit_seconds"] for n in names]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 0.35 * len(names) + 1.5), sharey=True)
    y = np.arange(len(names))
    a1.barh(y, acc, color="tab:blue")
    a1.set_xlim(min(0.45, min(acc) - 0.02), 1.0)
    a1.axvline(0.5, color="grey", lw=0.8, ls=":")
    a1.set_xlabel("test accuracy")
    a1.set_yticks(y, names)
    a1.invert_yaxis()
    for yi, v in zip(y, acc, strict=True):
        a1.text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    a2.barh(y, secs, color="tab:orange")
    a2.set_xscale("log")
    a2.set_xlabel("fit seconds (log)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", choices=("imdb", "order"), default="imdb")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="IMDB archive or folder")
    parser.add_argument("--rows", default="all", help="comma-separated row names, or 'all'")
    parser.add_argument("--limit", type=int, default=0, help="random train/test subset (smoke)")
    parser.add_argument("--maxlen", type=int, default=400, help="tokens kept per review")
    parser.add_argument("--hidden", type=int, default=48, help="hidden units per direction")
    parser.add_argument("--epochs", type=int, default=5, help="max epochs (early stopping)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fresh", action="store_true", help="drop rows already in the JSON")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    json_path = args.json or RESULTS / f"representations_{args.section}.json"

    lin, neu = linear_rows(), neural_rows(args.section)
    wanted = list(lin) + list(neu) if args.rows == "all" else args.rows.split(",")
    unknown = [r for r in wanted if r not in lin and r not in neu]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(list(lin) + list(neu))}")

    previous: dict[str, Any] = {}
    if json_path.exists() and not args.fresh:
        previous = json.loads(json_path.read_text())
    rows: dict[str, dict] = previous.get("rows", {})

    log(f"loading {args.section} data")
    train_ds, test_ds = load_data(args)
    log(f"{len(train_ds)} train / {len(test_ds)} test texts")
    w2v_seconds = previous.get("word2vec_seconds")
    with tempfile.TemporaryDirectory() as tmp:
        w2v_path = None
        if any(neu.get(r, {}).get("embedding") == "word2vec" for r in wanted):
            log("word2vec: training CBOW 100-d on the train texts (shared by the w2v rows)")
            w2v_path, w2v_seconds = train_shared_word2vec(train_ds, Path(tmp), args)
            log(f"word2vec: {w2v_seconds:.0f} s")
        for name in wanted:
            log(f"row {name}")
            if name in lin:
                rows[name] = run_linear(name, lin[name], train_ds, test_ds, args)
            else:
                rows[name] = run_neural(name, neu[name], train_ds, test_ds, w2v_path, args)
            r = rows[name]
            log(f"row {name}: accuracy {r['test_accuracy']:.4f} in {r['fit_seconds']:.0f} s")
            _write(json_path, args, rows, w2v_seconds, len(train_ds), len(test_ds))

    order = [n for n in list(lin) + list(neu) if n in rows]
    rows = {n: rows[n] for n in order}
    print(f"\n{args.section}: {len(train_ds)} train / {len(test_ds)} test texts")
    print(f"{'row':<22} {'test acc':>8} {'fit s':>7} {'texts/s':>8} {'params':>10}  model")
    for name, r in rows.items():
        print(
            f"{name:<22} {r['test_accuracy']:>8.4f} {r['fit_seconds']:>7.1f} "
            f"{r['reviews_per_second']:>8.0f} {r['parameters']:>10,}  {r['model']}"
        )
    if w2v_seconds:
        print(f"(shared Word2Vec training: {w2v_seconds:.0f} s, not included in fit s)")
    png = json_path.with_suffix(".png")
    plot(rows, png, f"{args.section}: test accuracy and fit time")
    print(f"wrote {json_path} and {png}")
    failed = False
    if args.section == "imdb" and not args.limit:
        for name, acc, secs in FLOORS:
            if name not in rows:
                continue
            ok = rows[name]["test_accuracy"] >= acc and rows[name]["fit_seconds"] < secs
            failed |= not ok
            print(
                f"{'PASS' if ok else 'FAIL'}  {name}: accuracy {rows[name]['test_accuracy']:.4f}"
                f" (floor {acc}), fit {rows[name]['fit_seconds']:.0f} s (< {secs:.0f})"
            )
    return 1 if failed else 0


def _write(path: Path, args, rows, w2v_seconds, n_train, n_test) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": "representations",
        "section": args.section,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "shared 2-core machine; compare rows measured in one run",
        },
        "n_train": n_train,
        "n_test": n_test,
        "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
        "word2vec_seconds": None if w2v_seconds is None else round(w2v_seconds, 1),
        "rows": rows,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
