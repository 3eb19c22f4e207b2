"""Time the default recipe and the best recipe on a CUDA GPU, epoch by epoch.

Runs the real commands as child processes with ``--device cuda`` (issue 10, item 5):

    default:  rnnlab train --data D --out W/default --device cuda [--epochs E]
    best:     rnnlab pretrain --data D --out W/encoder --device cuda [--epochs P]
              rnnlab train --data D --out W/best --recipe best --encoder W/encoder
                    --device cuda [--epochs E]

and reads each directory's ``history.jsonl`` (``epoch_seconds``: the training pass of one
epoch; ``val_seconds``: its validation) and ``metrics.json`` (test accuracy). Each command's
wall seconds include what runs on the CPU (reading the archive, Word2Vec, the n-gram part,
the test evaluation, the report), so the epoch figures are the ones the GPU changes.
Prints a markdown table and writes JSON after every command.

    python benchmarks/gpu_epochs.py --data PATH [--epochs 1] [--pretrain-epochs 1]
    python benchmarks/gpu_epochs.py --data small.csv --device cpu --epochs 1 \
        --pretrain-epochs 1 --extra "--hidden 8 --threads 1"      # smoke run, no GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"


def gpu_info() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=props.name,
            gpu_memory_gb=round(props.total_memory / 2**30, 1),
            cudnn=torch.backends.cudnn.version(),
        )
    return info


def run(cmd: list[str], log_path: Path) -> tuple[int, float]:
    log(" ".join(cmd[2:]))
    t0 = time.perf_counter()
    with open(log_path, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    return rc, time.perf_counter() - t0


def read_dir(out: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    history = out / "history.jsonl"
    if history.is_file():
        epochs = [json.loads(line) for line in history.read_text().splitlines() if line]
        figures["epochs"] = [
            {k: e.get(k) for k in ("epoch", "epoch_seconds", "val_seconds", "val_loss")}
            for e in epochs
        ]
    metrics = out / "metrics.json"
    if metrics.is_file():
        m = json.loads(metrics.read_text())
        test = m.get("test") or {}
        figures["test_accuracy"] = test.get("accuracy")
        if "validation" in m and "loss" in m["validation"]:
            figures["validation_loss"] = m["validation"]["loss"]
    return figures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IMDB archive or folder")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/gpu_epochs"))
    p.add_argument("--json-out", type=Path, default=REPO / "benchmarks/results/gpu_epochs.json")
    p.add_argument("--device", default="cuda", help="cuda (the point), or cpu for a smoke run")
    p.add_argument("--epochs", type=int, help="train --epochs (default: the recipe's)")
    p.add_argument("--pretrain-epochs", type=int, help="pretrain --epochs (default: its own)")
    p.add_argument("--rows", default="default,best", help="default, best or both")
    p.add_argument("--extra", default="", help="extra arguments for every command (smoke runs)")
    args = p.parse_args(argv)

    argv0 = [sys.executable, "-m", "rnnlab"]
    data, work = ["--data", str(args.data)], args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    device = ["--device", args.device]
    extra = args.extra.split()
    epochs = [] if args.epochs is None else ["--epochs", str(args.epochs)]
    pre_epochs = [] if args.pretrain_epochs is None else ["--epochs", str(args.pretrain_epochs)]
    steps = {
        "default": [("train", ["train", *data, "--out", str(work / "default"), *epochs])],
        "best": [
            ("pretrain", ["pretrain", *data, "--out", str(work / "encoder"), *pre_epochs]),
            (
                "train",
                [
                    "train",
                    *data,
                    "--out",
                    str(work / "best"),
                    "--recipe",
                    "best",
                    "--encoder",
                    str(work / "encoder"),
                    *epochs,
                ],
            ),  # fmt: skip
        ],
    }
    report: dict[str, Any] = {
        "benchmark": "gpu_epochs",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            **gpu_info(),
        },  # fmt: skip
        "args": {k: str(v) for k, v in vars(args).items()},
        "rows": {},
    }
    for row in [r.strip() for r in args.rows.split(",") if r.strip()]:
        results = []
        for name, cmd in steps[row]:
            out = Path(cmd[cmd.index("--out") + 1])
            rc, seconds = run([*argv0, *cmd, *device, *extra], work / f"{row}_{name}.log")
            figures = {"command": " ".join(["rnnlab", *cmd, *device]), "rc": rc,
                       "seconds": round(seconds, 1), **read_dir(out)}  # fmt: skip
            if rc != 0:
                figures["log_tail"] = (work / f"{row}_{name}.log").read_text()[-2000:]
            results.append({"step": name, **figures})
            report["rows"][row] = results
            write_json_atomic(args.json_out, report)
            log(f"{row} {name}: rc {rc}, {seconds:.1f} s")
            if rc != 0:
                break

    print("| row | step | command seconds | epoch seconds (train pass) | test acc |")
    print("|---|---|---:|---|---:|")
    for row, results in report["rows"].items():
        for r in results:
            ep = ", ".join(f"{e['epoch_seconds']:.1f}" for e in r.get("epochs", []))
            acc = r.get("test_accuracy")
            acc_s = "" if acc is None else f"{acc:.4f}"
            print(f"| {row} | {r['step']} | {r['seconds']:.1f} | {ep} | {acc_s} |")
    print(f"wrote {args.json_out}")
    return 0 if all(r["rc"] == 0 for rs in report["rows"].values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
