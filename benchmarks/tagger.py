"""Benchmark the many-to-many aligned tagger on Universal Dependencies.

Trains ``rnnlab.tasks.tag.train_tagger`` (library defaults: word + character-CNN
embeddings, BiLSTM) on UD English EWT train, stops early on dev, and reports
on test: UPOS accuracy, accuracy on words outside the training vocabulary,
training time, tagging speed and model size. Prints a table and writes JSON.

    .venv/bin/python benchmarks/tagger.py                       # EWT, ~10 min on 1 thread
    .venv/bin/python benchmarks/tagger.py --limit 500 --epochs 1    # smoke
    .venv/bin/python benchmarks/tagger.py --runs en_ewt,es_gsd  # also Spanish GSD (see below)

Spanish GSD here has only dev and test: the ``es_gsd`` run trains on dev minus
its last 10% (kept for early stopping) and reports on test. Its model goes to
``benchmarks/results/tagger_es_model``; ``--json-out`` gets every run.

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

from common import log  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
DEFAULT_EWT = DATA / "ud_english_ewt_v2.15.tar.gz"
DEFAULT_GSD = DATA / "ud_spanish_gsd_v2.15_devtest.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "tagger.json"
DEFAULT_MODEL = REPO / "benchmarks" / "results" / "tagger_model"

# Floors from the issue: (key in "figures", comparison, threshold, description).
FLOORS = [
    ("test_accuracy", ">=", 0.930, "EWT test UPOS accuracy >= 93.0%"),
    ("train_seconds", "<=", 15 * 60, "training <= 15 min (wall clock)"),
    ("train_cpu_seconds", "<=", 15 * 60, "training <= 15 min (CPU time, busy machine)"),
]


def dir_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(name, train_tb, dev_tb, test_tb, out: Path, args) -> dict[str, Any]:
    """Train on one treebank, reload the saved model, measure it on test."""
    from rnnlab.models.tagger import TaggerConfig
    from rnnlab.tasks.tag import DEFAULT_TRAINING, evaluate_tagger, load, train_tagger

    model = TaggerConfig()
    changes = {
        k: v
        for k, v in {
            "hidden_size": args.hidden,
            "num_layers": args.layers,
            "char": args.char,
            "word_dropout": args.word_dropout,
        }.items()
        if v is not None
    }
    model = model.replace(**changes)
    training = DEFAULT_TRAINING.replace(threads=args.threads, seed=args.seed)
    if args.epochs is not None:
        training = training.replace(epochs=args.epochs)
    log(f"{name}: training {model} {training}")
    load0 = os.getloadavg()
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = train_tagger(
        train_tb,
        dev_tb,
        None,
        out=out,
        model=model,
        training=training,
        progress=False,
        log=lambda msg: log(f"{name}: {msg}"),
    )
    train_s = time.perf_counter() - t0
    train_cpu_s = time.process_time() - cpu0  # CPU time of this process: fairer on a busy machine
    load1 = os.getloadavg()
    tagger = load(out, threads=args.threads)
    tagger.tag([s.forms for s in test_tb.sentences[:200]])  # warm-up
    log(f"{name}: evaluating the saved model on {len(test_tb)} test sentences")
    m = evaluate_tagger(tagger, test_tb, out=out / "test_eval")
    weights = out / "model.safetensors"
    n_params = sum(p.numel() for p in tagger.net.parameters())
    return {
        "test_accuracy": m["accuracy"],
        "test_oov_accuracy": m["oov"]["accuracy"],
        "test_oov_share": m["oov"]["share"],
        "test_known_accuracy": m["known_accuracy"],
        "test_macro_f1": m["macro_f1"],
        "test_tokens": m["n_tokens"],
        "dev_accuracy": result.metrics["dev"]["accuracy"],
        "train_seconds": train_s,
        "train_cpu_seconds": train_cpu_s,
        "network_seconds": result.metrics["timing"]["network_seconds"],
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "seconds_per_epoch": sum(e["epoch_seconds"] for e in result.history)
        / max(len(result.history), 1),
        "tokens_per_second": m["tokens_per_second"],
        "model_dir_mb": dir_size_bytes(out) / 1e6,
        "weights_mb": weights.stat().st_size / 1e6,
        "parameters": n_params,
        "load_average_before": list(load0),
        "load_average_after": list(load1),
        "confused": m["confused"][:5],
        "history": result.history,
        "model": model.to_dict(),
        "train": training.to_dict(),
    }


def check_floors(fig: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, op, limit, desc in FLOORS:
        value = fig.get(key)
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        rows.append({"floor": desc, "key": key, "limit": limit, "value": value, "met": met})
    return rows


def print_table(report: dict[str, Any]) -> None:
    rows = []
    for name, f in report["runs"].items():
        rows += [
            (f"{name}: test UPOS accuracy", f"{f['test_accuracy']:.4f}"),
            (
                f"{name}: unknown-word accuracy (share)",
                f"{f['test_oov_accuracy']:.4f} ({f['test_oov_share']:.3f})",
            ),
            (f"{name}: known-word accuracy", f"{f['test_known_accuracy']:.4f}"),
            (f"{name}: dev accuracy", f"{f['dev_accuracy']:.4f}"),
            (f"{name}: best epoch / epochs run", f"{f['best_epoch']} / {f['epochs_run']}"),
            (
                f"{name}: train s wall / CPU (s per epoch)",
                f"{f['train_seconds']:.0f} / {f['train_cpu_seconds']:.0f} "
                f"({f['seconds_per_epoch']:.0f})",
            ),
            (f"{name}: tagging tokens/s", f"{f['tokens_per_second']:.0f}"),
            (
                f"{name}: model dir MB / weights MB / params",
                f"{f['model_dir_mb']:.2f} / {f['weights_mb']:.2f} / {f['parameters']:,}",
            ),
            (
                f"{name}: load avg before -> after",
                f"{f['load_average_before'][0]:.1f} -> {f['load_average_after'][0]:.1f}",
            ),
        ]
    w = max(len(k) for k, _ in rows)
    m = report["machine"]
    print(f"tagger benchmark, {m['date']}, {m['cpu_count']} CPUs, torch threads {m['threads']}")
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    print("floors:")
    for r in report["floors"]:
        verdict = "n/a" if r["met"] is None else ("PASS" if r["met"] else "FAIL")
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        print(f"  {verdict:<4}  {r['floor']:<36} {value:>10}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_EWT, help="UD English EWT archive")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model directory to write")
    p.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    p.add_argument("--limit", type=int, help="use only N train sentences (smoke run)")
    p.add_argument("--epochs", type=int, help="train.epochs (default: the library's)")
    p.add_argument("--hidden", type=int, help="model.hidden_size (default: the library's)")
    p.add_argument("--layers", type=int, help="model.num_layers (default: the library's)")
    p.add_argument("--word-dropout", type=float, help="model.word_dropout")
    p.add_argument(
        "--char", action=argparse.BooleanOptionalAction, default=None, help="character encoder"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--runs", default="en_ewt", help="comma-separated: en_ewt, es_gsd (default: en_ewt)"
    )
    p.add_argument("--gsd", type=Path, default=DEFAULT_GSD, help="UD Spanish GSD dev/test archive")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from rnnlab.data.conllu import Treebank, load_conllu

    torch.set_num_threads(args.threads)
    names = [r.strip() for r in args.runs.split(",") if r.strip()]
    if not names or set(names) - {"en_ewt", "es_gsd"}:
        raise SystemExit(f"error: --runs takes en_ewt and/or es_gsd, got {args.runs!r}")
    runs = {}
    if "en_ewt" in names:
        if not args.data.exists():
            raise SystemExit(f"error: treebank not found at {args.data}; pass --data PATH")
        log(f"reading {args.data}")
        tb = {split: load_conllu(args.data, split) for split in ("train", "dev", "test")}
        if args.limit:
            t = tb["train"]
            tb["train"] = Treebank(t.sentences[: args.limit], t.source, t.sha256)
        runs["en_ewt"] = run("en_ewt", tb["train"], tb["dev"], tb["test"], args.out, args)
    if "es_gsd" in names:
        dev = load_conllu(args.gsd, "dev")
        test = load_conllu(args.gsd, "test")
        cut = int(len(dev) * 0.9)
        fit_tb = Treebank(dev.sentences[:cut], dev.source + " [:90%]", dev.sha256)
        stop_tb = Treebank(dev.sentences[cut:], dev.source + " [90%:]", dev.sha256)
        out = args.out.with_name("tagger_es_model")
        runs["es_gsd"] = run("es_gsd", fit_tb, stop_tb, test, out, args)
    figures = runs.get("en_ewt", {})
    report = {
        "benchmark": "tagger",
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "args": {k: str(v) for k, v in vars(args).items()},
        "runs": runs,
        "floors": check_floors(figures),
    }
    if args.limit:
        report["note"] = f"smoke run: {args.limit} train sentences; floors do not apply"
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json_out.with_name(f".{args.json_out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.json_out)
    print_table(report)
    log(f"wrote {args.json_out}")
    return 0 if all(r["met"] is not False for r in report["floors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
