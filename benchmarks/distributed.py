"""Benchmark data-parallel training: 1 process vs 2 processes (torchrun, gloo) on this machine.

The workload is the classifier network of ``rnnlab train`` (library defaults:
2-layer BiLSTM, H=48, max+mean pooling, 100-d embeddings, random here) on the
first ``--limit`` IMDB training reviews (tokenized, 20,000-word vocabulary,
truncated to ``--maxlen`` tokens), one epoch of global batch 32 through
:func:`rnnlab.training.fit`. Three layouts train the same global batches:

* ``1 proc x 1 thread``   the baseline
* ``1 proc x 2 threads``  what intra-op threads give on the same cores
* ``2 procs x 1 thread``  torchrun --nproc-per-node 2 (DistributedDataParallel, gloo)

It reports the epoch's training seconds (from the history, start-up excluded),
the wall time of the whole command, the validation loss (2 processes must match
1 up to float rounding) and the load average before each run. Prints a table
and writes ``benchmarks/results/distributed.json`` (``--json-out``).

    .venv/bin/python benchmarks/distributed.py               # ~3-6 min on 2 busy cores
    .venv/bin/python benchmarks/distributed.py --limit 400   # smoke; figures mean nothing
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "distributed.json"
LAYOUTS = [("1 proc x 1 thread", 1, 1), ("1 proc x 2 threads", 1, 2), ("2 procs x 1 thread", 2, 1)]


def prepare(data: Path, limit: int, maxlen: int, folder: Path) -> dict[str, Any]:
    """Tokenize and encode the reviews once; workers read ``encoded.json``."""
    import random

    from rnnlab.data.imdb import load_imdb
    from rnnlab.text import Vocab, tokenize

    ds = load_imdb(data, split="train")
    order = list(range(len(ds.texts)))
    random.Random(0).shuffle(order)  # the archive is sorted by label
    order = order[:limit]
    tokens = [tokenize(ds.texts[i]) for i in order]
    labels = [int(ds.labels[i]) for i in order]
    vocab = Vocab.build(tokens, max_size=20000, min_freq=2)
    seqs = [vocab.encode(t)[-maxlen:] for t in tokens]  # keep the last maxlen ("pre")
    payload = {"seqs": seqs, "labels": labels, "vocab_size": len(vocab)}
    (folder / "encoded.json").write_text(json.dumps(payload))
    return {
        "reviews": len(seqs),
        "vocab_size": len(vocab),
        "mean_tokens": sum(map(len, seqs)) / len(seqs),
    }


def worker(folder: Path, threads: int, batch_size: int, out: Path) -> None:
    """One training run (under torchrun: one rank of it)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from rnnlab.config import ModelConfig, TrainConfig
    from rnnlab.models import SequenceClassifier
    from rnnlab.training import (
        bucket_batches,
        collate,
        fit,
        init_distributed,
        seed_everything,
        shutdown_distributed,
    )

    torch.set_num_threads(threads)
    ctx = init_distributed()
    seed_everything(0)
    data = json.loads((folder / "encoded.json").read_text())
    seqs, labels = data["seqs"], np.array(data["labels"])
    n_val = len(seqs) // 10
    train_seqs, train_y = seqs[n_val:], labels[n_val:]
    val_seqs, val_y = seqs[:n_val], labels[:n_val]
    lengths = np.array([max(len(s), 1) for s in train_seqs])

    def make(idx_batches, s, y):
        return [(*collate(s, idx), torch.from_numpy(y[idx])) for idx in idx_batches]

    val = make(bucket_batches(np.array([len(s) for s in val_seqs]), 256), val_seqs, val_y)

    def step(model, batch):
        ids, lens, y = batch
        logits = model(ids, lens)
        return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))

    net = SequenceClassifier(ModelConfig(dropout=0.0), data["vocab_size"], 100, 2)
    training = TrainConfig(epochs=1, batch_size=batch_size, seed=0, threads=threads)
    history = fit(
        net,
        lambda e: make(bucket_batches(lengths, batch_size, True, e), train_seqs, train_y),
        val,
        step,
        training,
        progress=False,
    )
    if ctx.is_main:
        out.write_text(json.dumps({"epochs": history.epochs, "world_size": history.world_size}))
    shutdown_distributed()


def run_layout(folder: Path, procs: int, threads: int, batch_size: int) -> dict[str, Any]:
    out = folder / f"result-{procs}x{threads}.json"
    args = [str(Path(__file__).resolve()), "--worker", str(folder), "--threads", str(threads)]
    args += ["--batch-size", str(batch_size), "--result", str(out)]
    if procs == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc-per-node", str(procs), *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    result = json.loads(out.read_text())
    epoch = result["epochs"][0]
    return {
        "processes": procs,
        "threads_per_process": threads,
        "world_size": result["world_size"],
        "train_seconds": epoch["epoch_seconds"],
        "wall_seconds": round(wall, 1),
        "val_loss": epoch["val_loss"],
        "load_average_before": round(load, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=3000, help="IMDB training reviews used")
    ap.add_argument("--maxlen", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32, help="the global batch")
    ap.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.threads, args.batch_size, args.result)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"preparing {args.limit} reviews ...", file=sys.stderr)
        data = prepare(args.data, args.limit, args.maxlen, folder)
        rows = []
        for name, procs, threads in LAYOUTS:
            print(f"running {name} ...", file=sys.stderr)
            rows.append({"layout": name, **run_layout(folder, procs, threads, args.batch_size)})
    base = rows[0]["train_seconds"]
    for row in rows:
        row["speedup_vs_1x1"] = round(base / row["train_seconds"], 2)
    print(
        f"\n{'layout':22} {'train s':>8} {'wall s':>7} {'speed-up':>8} {'val loss':>10} {'load':>5}"
    )
    for r in rows:
        print(
            f"{r['layout']:22} {r['train_seconds']:8.1f} {r['wall_seconds']:7.1f} "
            f"{r['speedup_vs_1x1']:8.2f} {r['val_loss']:10.6f} {r['load_average_before']:5.2f}"
        )
    import torch

    report = {
        "benchmark": "distributed",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workload": {
            **data,
            "maxlen": args.maxlen,
            "global_batch": args.batch_size,
            "epochs": 1,
            "model": "rnnlab ModelConfig defaults (2-layer BiLSTM, H=48, maxmean), dropout 0",
        },
        "rows": rows,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = args.json_out.with_name(f".{args.json_out.name}.tmp")
    tmp_json.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp_json, args.json_out)
    print(f"wrote {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
