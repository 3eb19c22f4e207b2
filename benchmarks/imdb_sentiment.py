"""Benchmark the guide's IMDB sentiment recipe end to end.

Trains the defaults of ``rnnlab.tasks.classify.train`` (Word2Vec trained on the train
reviews, 2-layer BiLSTM) on the labeled IMDB archive, then measures the saved
model on the 25,000 test reviews with both prediction backends (onnxruntime and
torch): accuracy, batch throughput, single-review latency, size on disk, and
the whole process's peak memory. Prints a table and writes JSON.

    .venv/bin/python benchmarks/imdb_sentiment.py                      # full run, ~15 min
    .venv/bin/python benchmarks/imdb_sentiment.py --limit 400 --epochs 1 --hidden 16  # smoke
    .venv/bin/python benchmarks/imdb_sentiment.py --model benchmarks/results/imdb_model

Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "imdb_sentiment.json"
DEFAULT_MODEL = REPO / "benchmarks" / "results" / "imdb_model"

# Floors from the issue: (key in "figures", comparison, threshold, description).
FLOORS = [
    ("test_accuracy", ">=", 0.905, "test accuracy >= 0.905"),
    ("train_total_seconds", "<=", 20 * 60, "total train time <= 20 min"),
    ("peak_rss_gb", "<=", 3.0, "peak RSS <= 3 GB"),
    ("onnx_reviews_per_second", ">=", 1000.0, "batch (onnx) >= 1000 reviews/s"),
    ("onnx_latency_p50_ms", "<=", 10.0, "single-review p50 (onnx) <= 10 ms"),
    ("onnx_accuracy_loss_points", "<=", 0.3, "onnx accuracy loss vs torch <= 0.3 points"),
]


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru if sys.platform == "darwin" else ru * 1024


def dir_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def pick(ds, n: int | None, seed: int):
    """A random subset of n examples (IMDB is sorted neg then pos, so never take a prefix)."""
    if n is None or n >= len(ds):
        return ds
    idx = np.random.default_rng(seed).permutation(len(ds))[:n]
    return ds.subset(np.sort(idx))


# --------------------------------------------------------------------------- training


def run_training(args, train_ds, test_ds) -> dict[str, Any]:
    from rnnlab.config import ModelConfig, TextConfig, TrainConfig
    from rnnlab.tasks.classify import train

    text = TextConfig() if args.maxlen is None else TextConfig(maxlen=args.maxlen)
    model = ModelConfig() if args.hidden is None else ModelConfig(hidden_size=args.hidden)
    training = TrainConfig() if args.epochs is None else TrainConfig(epochs=args.epochs)

    log(
        f"training on {len(train_ds)} reviews (test {len(test_ds)}): "
        f"maxlen {text.maxlen}, hidden {model.hidden_size}, epochs <= {training.epochs}"
    )
    t0 = time.perf_counter()
    result = train(
        train_ds,
        out=args.out,
        text=text,
        model=model,
        training=training,
        test_data=test_ds,
        progress=False,
        log=lambda msg: log(f"train: {msg}"),
    )
    total = time.perf_counter() - t0
    timing = result.metrics.get("timing", {})
    return {
        "source": "measured",
        "total_seconds": total,
        "total_seconds_before_test_eval": timing.get("fit_seconds"),
        "word2vec_seconds": timing.get("word2vec_seconds"),
        "network_seconds": timing.get("network_seconds"),
        "history": result.history,
        "peak_rss_bytes_after_train": peak_rss_bytes(),
    }


def recorded_training(model_dir: Path) -> dict[str, Any]:
    """Train-time figures recorded in an existing model directory (metrics.json, history.jsonl)."""
    out: dict[str, Any] = {"source": f"recorded in {model_dir}"}
    metrics_path = model_dir / "metrics.json"
    if metrics_path.is_file():
        timing = json.loads(metrics_path.read_text(encoding="utf-8")).get("timing", {})
        out["total_seconds"] = timing.get("total_seconds")
        out["total_seconds_before_test_eval"] = timing.get("fit_seconds")
        out["word2vec_seconds"] = timing.get("word2vec_seconds")
        out["network_seconds"] = timing.get("network_seconds")
    hist_path = model_dir / "history.jsonl"
    if hist_path.is_file():
        out["history"] = [
            json.loads(line) for line in hist_path.read_text(encoding="utf-8").splitlines() if line
        ]
    return out


# --------------------------------------------------------------------------- measuring


def measure_backend(model_dir: Path, backend: str, test_ds, n_latency: int, seed: int):
    import rnnlab
    from rnnlab.training.metrics import classification_metrics

    t0 = time.perf_counter()
    clf = rnnlab.load(model_dir, backend=backend)
    load_s = time.perf_counter() - t0
    if clf.backend != backend:
        raise SystemExit(f"asked for backend {backend!r} but got {clf.backend!r}")
    texts = test_ds.texts

    clf.predict_proba(texts[:256])  # warm-up (allocator, thread pools, onnx first run)
    log(f"{backend}: batch predict_proba over {len(texts)} test reviews")
    t0 = time.perf_counter()
    probs = clf.predict_proba(texts)
    batch_s = time.perf_counter() - t0
    m = classification_metrics(np.asarray(test_ds.labels), probs, clf.label_names)

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(texts), size=min(n_latency, len(texts)), replace=False)
    for i in picks[:20]:  # warm-up
        clf.predict([texts[int(i)]])
    log(f"{backend}: single-review latency over {len(picks)} reviews")
    times = np.empty(len(picks))
    for k, i in enumerate(picks):
        t = time.perf_counter_ns()
        clf.predict([texts[int(i)]])
        times[k] = (time.perf_counter_ns() - t) / 1e6

    return (
        clf,
        {
            "load_seconds": load_s,
            "batch_seconds": batch_s,
            "reviews_per_second": len(texts) / batch_s,
            "accuracy": m["accuracy"],
            "f1": m["f1"],
            "roc_auc": m["roc_auc"],
            "latency_n": len(picks),
            "latency_p50_ms": float(np.percentile(times, 50)),
            "latency_p95_ms": float(np.percentile(times, 95)),
            "latency_mean_ms": float(times.mean()),
        },
        probs,
    )


def machine_info() -> dict[str, Any]:
    import onnxruntime
    import torch

    import rnnlab

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        affinity = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "torch_threads": torch.get_num_threads(),
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rnnlab": rnnlab.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --------------------------------------------------------------------------- report


def check_floors(fig: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, op, limit, desc in FLOORS:
        value = fig.get(key)
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        rows.append(
            {"floor": desc, "key": key, "op": op, "limit": limit, "value": value, "met": met}
        )
    return rows


def fmt(v: Any, spec: str = ".4f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def table_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    f = report["figures"]
    t = report["training"]
    o, tq = report["backends"]["onnx"], report["backends"]["torch"]
    sec = "recorded" if report["mode"] == "model" else "measured"
    rows = [
        ("test reviews", fmt(f["n_test"])),
        ("test accuracy (torch)", fmt(f["test_accuracy"])),
        ("test F1 / ROC-AUC (torch)", f"{fmt(f['test_f1'])} / {fmt(f['test_roc_auc'])}"),
        ("validation accuracy", fmt(f.get("validation_accuracy"))),
        ("best epoch / epochs run", f"{fmt(f.get('best_epoch'))} / {fmt(f.get('epochs_run'))}"),
        (f"train() total s ({sec})", fmt(f.get("train_total_seconds"), ".1f")),
        ("  until test evaluation s", fmt(t.get("total_seconds_before_test_eval"), ".1f")),
        ("  word2vec s", fmt(t.get("word2vec_seconds"), ".1f")),
        ("  network (fit) s", fmt(t.get("network_seconds"), ".1f")),
        ("  s per epoch (mean)", fmt(f.get("seconds_per_epoch"), ".1f")),
        ("peak RSS GB (whole process)", fmt(f["peak_rss_gb"], ".2f")),
    ]
    if "peak_rss_gb_after_train" in f:
        rows.append(("  peak RSS GB after train()", fmt(f["peak_rss_gb_after_train"], ".2f")))
    rows += [
        ("tokenize+encode s (all test)", fmt(f["encode_seconds"], ".2f")),
        (
            "batch reviews/s onnx / torch",
            f"{o['reviews_per_second']:.0f} / {tq['reviews_per_second']:.0f}"
            f"  (x{o['reviews_per_second'] / tq['reviews_per_second']:.2f})",
        ),
        ("accuracy onnx / torch", f"{o['accuracy']:.4f} / {tq['accuracy']:.4f}"),
        ("onnx accuracy loss (points)", fmt(f["onnx_accuracy_loss_points"], ".3f")),
        ("prediction agreement", fmt(f["prediction_agreement"], ".5f")),
        (
            "latency p50 ms onnx / torch",
            f"{o['latency_p50_ms']:.2f} / {tq['latency_p50_ms']:.2f}",
        ),
        (
            "latency p95 ms onnx / torch",
            f"{o['latency_p95_ms']:.2f} / {tq['latency_p95_ms']:.2f}",
        ),
        ("load s onnx / torch", f"{o['load_seconds']:.2f} / {tq['load_seconds']:.2f}"),
        ("model dir MB", fmt(f["model_dir_mb"], ".2f")),
        ("  weights MB", fmt(f["weights_mb"], ".2f")),
        ("parameters", f"{f['parameters']:,}"),
    ]
    return rows


def print_report(report: dict[str, Any]) -> None:
    rows = table_rows(report)
    floors = report["floors"]
    m = report["machine"]
    header = (
        f"IMDB sentiment benchmark ({report['mode']}), {m['date']}, {m['cpu_count']} CPUs, "
        f"torch {m['torch']}, onnxruntime {m['onnxruntime']}"
    )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text
        print(header)
        w = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"  {k:<{w}}  {v}")
        print("floors:")
        for r in floors:
            met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
            print(f"  {r['floor']:<45} {fmt(r['value'], '.4g'):>10}  {met}")
        return
    console = Console(file=sys.stdout, width=100)
    table = Table(title=header, show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    ft = Table(title="floors from the issue", show_header=True)
    ft.add_column("floor")
    ft.add_column("value", justify="right")
    ft.add_column("met")
    for r in floors:
        met = "n/a" if r["met"] is None else ("[green]yes" if r["met"] else "[red]NO")
        ft.add_row(r["floor"], fmt(r["value"], ".4g"), met)
    console.print(ft)


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IMDB archive or folder")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model directory to train")
    p.add_argument("--model", type=Path, help="measure this existing model directory, no training")
    p.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    p.add_argument("--limit", type=int, help="use only N train and N test reviews (smoke run)")
    p.add_argument("--epochs", type=int, help="train.epochs (default: the library's)")
    p.add_argument("--hidden", type=int, help="model.hidden_size (default: the library's)")
    p.add_argument("--maxlen", type=int, help="text.maxlen (default: the library's)")
    p.add_argument("--latency-n", type=int, default=300, help="reviews timed one at a time")
    p.add_argument("--seed", type=int, default=0, help="seed for --limit and latency sampling")
    args = p.parse_args(argv)
    if args.model is not None and any(
        v is not None for v in (args.epochs, args.hidden, args.maxlen)
    ):
        p.error("--epochs/--hidden/--maxlen configure training; they do not apply with --model")
    if args.limit is not None and args.limit < 10:
        p.error("--limit must be >= 10")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from rnnlab.artifacts import read_config
    from rnnlab.data import load_imdb_splits
    from rnnlab.errors import RnnlabError
    from rnnlab.tasks.classify import encode

    mode = "model" if args.model is not None else "train"
    if mode == "model":
        try:
            read_config(args.model, kind="classifier")
        except RnnlabError as exc:
            raise SystemExit(f"error: {exc}") from None
    if not args.data.exists():
        raise SystemExit(f"error: IMDB data not found at {args.data}; pass --data PATH")
    splits = ("test",) if mode == "model" else ("train", "test")
    log(f"reading {args.data} ({', '.join(splits)})")
    t0 = time.perf_counter()
    data = load_imdb_splits(args.data, splits=splits)
    read_s = time.perf_counter() - t0
    test_ds = pick(data["test"], args.limit, args.seed + 1)
    log(f"read in {read_s:.1f} s")

    if mode == "train":
        train_ds = pick(data["train"], args.limit, args.seed)
        del data
        training = run_training(args, train_ds, test_ds)
        model_dir = args.out
    else:
        del data
        model_dir = args.model
        training = recorded_training(model_dir)

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    saved_metrics_path = model_dir / "metrics.json"
    saved = (
        json.loads(saved_metrics_path.read_text(encoding="utf-8"))
        if saved_metrics_path.is_file()
        else {}
    )

    backends: dict[str, Any] = {}
    probs: dict[str, np.ndarray] = {}
    clf = None
    for backend in ("onnx", "torch"):
        clf, backends[backend], probs[backend] = measure_backend(
            model_dir, backend, test_ds, args.latency_n, args.seed + 2
        )
        log(
            f"{backend}: {backends[backend]['reviews_per_second']:.0f} reviews/s, "
            f"acc {backends[backend]['accuracy']:.4f}, "
            f"p50 {backends[backend]['latency_p50_ms']:.2f} ms"
        )
    assert clf is not None
    t0 = time.perf_counter()
    encode(test_ds.texts, clf.vocab, clf.text)
    encode_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in clf.net.parameters())

    history = training.get("history") or []
    epoch_secs = [h["epoch_seconds"] for h in history if "epoch_seconds" in h]
    peak = peak_rss_bytes()
    o, tq = backends["onnx"], backends["torch"]
    figures: dict[str, Any] = {
        "n_train": config.get("data", {}).get("n_train"),
        "n_validation": config.get("data", {}).get("n_validation"),
        "n_test": len(test_ds),
        "test_accuracy": tq["accuracy"],
        "test_f1": tq["f1"],
        "test_roc_auc": tq["roc_auc"],
        "validation_accuracy": saved.get("validation", {}).get("accuracy"),
        "best_epoch": config.get("best_epoch"),
        "stopped_early": config.get("stopped_early"),
        "epochs_run": len(history) if history else saved.get("timing", {}).get("epochs_run"),
        "train_total_seconds": training.get("total_seconds"),
        "seconds_per_epoch": float(np.mean(epoch_secs)) if epoch_secs else None,
        "epoch_seconds": epoch_secs,
        "data_read_seconds": read_s,
        "peak_rss_gb": peak / 1e9,
        "encode_seconds": encode_s,
        "onnx_reviews_per_second": o["reviews_per_second"],
        "torch_reviews_per_second": tq["reviews_per_second"],
        "onnx_speedup": o["reviews_per_second"] / tq["reviews_per_second"],
        "onnx_latency_p50_ms": o["latency_p50_ms"],
        "onnx_latency_p95_ms": o["latency_p95_ms"],
        "torch_latency_p50_ms": tq["latency_p50_ms"],
        "torch_latency_p95_ms": tq["latency_p95_ms"],
        "onnx_accuracy_loss_points": (tq["accuracy"] - o["accuracy"]) * 100,
        "prediction_agreement": float(np.mean(probs["onnx"].argmax(1) == probs["torch"].argmax(1))),
        "max_abs_prob_diff": float(np.abs(probs["onnx"] - probs["torch"]).max()),
        "model_dir_mb": dir_size_bytes(model_dir) / 1e6,
        "weights_mb": (model_dir / "model.safetensors").stat().st_size / 1e6,
        "parameters": int(n_params),
        "saved_test_accuracy": saved.get("test", {}).get("accuracy"),
    }
    if "peak_rss_bytes_after_train" in training:
        figures["peak_rss_gb_after_train"] = training["peak_rss_bytes_after_train"] / 1e9

    report = {
        "benchmark": "imdb_sentiment",
        "mode": mode,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "model_dir": str(model_dir),
        "data": {"path": str(args.data), "sha256": test_ds.sha256, "limit": args.limit},
        "model_config": {k: config.get(k) for k in ("text", "embedding", "model", "train")},
        "figures": figures,
        "training": {k: v for k, v in training.items() if k != "history"} | {"history": history},
        "backends": backends,
        "floors": check_floors(figures),
        "notes": [
            "train_total_seconds is the whole train() call: Word2Vec, network, validation and "
            "test evaluation, writing the model directory (not reading the archive).",
            "peak RSS covers the whole process: archive read, "
            + ("training, " if mode == "train" else "(no training: --model), ")
            + "both backends.",
            "batch reviews/s times predict_proba over all test texts, tokenization included.",
            "latency is predict([text]) one review at a time after a 20-review warm-up.",
            "shared, noisy machines: compare ratios measured within one run.",
        ],
        "machine": machine_info(),
    }
    if args.limit is not None:
        report["notes"].insert(0, f"--limit {args.limit}: smoke run, figures not comparable.")
    write_json_atomic(args.json_out, report)
    log(f"wrote {args.json_out}")
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
