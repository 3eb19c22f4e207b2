"""Benchmark rnnlab's IMDB sentiment models the way a user runs them: one row per CLI command.

Each row is the real command line (``rnnlab train ...``, ``rnnlab pretrain ...``) run as a
child process on the labeled IMDB archive (25,000 train / 25,000 test reviews), timed as a
whole: wall seconds and the child's peak RSS (``os.wait4``), so the figures are what a user
sees, archive reading, Word2Vec, the network, the test evaluation and writing the model
directory included. Test accuracy comes from the row's ``<out>/metrics.json``. Every model is
then measured in a fresh process (``rnnlab.load(DIR, threads=2)``, so no row inherits another's
thread pools or allocator): batch ``predict_proba`` over the test reviews (tokenizing included,
best of 2), single-review ``predict`` p50 latency on 300 reviews, and the model directory's
size. The ``bundled`` row trains nothing and measures the model ``rnnlab.load()`` ships.

Rows, the commands they run and their extra arguments are the ``ROWS`` table below, so a
command can change without code surgery; ``CHECKS`` holds issue 10's floors. Prints a markdown
table, writes JSON (after every row, so a run that dies keeps what it measured) and a PNG with
two panels: test accuracy against train minutes, and batch reviews/s per row.

    .venv/bin/python benchmarks/imdb_sentiment.py                                # all rows
    .venv/bin/python benchmarks/imdb_sentiment.py --rows default,bundled         # some rows
    .venv/bin/python benchmarks/imdb_sentiment.py --extra default="--epochs 1"   # per-row args
    .venv/bin/python benchmarks/imdb_sentiment.py --model DIR                    # measure DIR
    .venv/bin/python benchmarks/imdb_sentiment.py --limit 600 --rows nbsvm,default \\
        --threads 1 --predict-threads 1 --extra default="--epochs 1 --hidden 16"  # smoke

Progress goes to stderr, each child's output to ``<work-dir>/<row>.log``, the table to stdout.
These machines are shared and noisy: compare rows of one run, and read the load averages and
the busiest other processes recorded at the start and end of the run and around each row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"

# The rows. "steps": one list per CLI command, its subcommand first. The script adds
# `--data D` (and `--test-data T` to `train` under --limit) and `--out <work-dir>/<row>`
# unless the step names its own --out; "{encoder}" becomes <work-dir>/<row>_encoder and
# "{work}" the work dir. `--threads N` (this script's option) is appended to every step but
# the linear models' (which run numpy and refuse it), and
# `--extra ROW=ARGS` to the row's last step. A row without steps trains nothing: it measures
# "model" (None: the bundled model, as rnnlab.load() picks it).
ROWS: dict[str, dict[str, Any]] = {
    "nbsvm": {
        "label": "NBSVM uni+bigrams (defaults)",
        "steps": [["train", "--model", "nbsvm"]],
    },
    "nbsvm13": {
        "label": "NBSVM 1-3 grams, all features",
        "steps": [["train", "--model", "nbsvm", "--ngrams", "1-3", "--max-features", "0"]],
    },
    "ngrams_only": {  # the default's n-gram part alone: the recurrent part removed
        "label": "default, recurrent part removed (its NBSVM 1-3, 1M n-grams)",
        "steps": [["train", "--model", "nbsvm", "--ngrams", "1-3", "--max-features", "1000000"]],
    },
    "network": {  # the default's network alone: the n-gram part removed
        "label": "default, n-gram part removed (Word2Vec + BiLSTM)",
        "steps": [["train", "--wide-ngrams", "0"]],
    },
    "default": {
        "label": "rnnlab train defaults",
        "steps": [["train"]],
    },
    "pretrained": {
        "label": "pretrain + --recipe best",
        "steps": [
            ["pretrain", "--out", "{work}/encoder"],
            ["train", "--recipe", "best", "--encoder", "{work}/encoder"],
        ],
    },
    "pretrained_network": {  # needs the "pretrained" row's encoder (run it first)
        "label": "pretrained network alone (best, n-gram part removed)",
        "steps": [
            ["train", "--recipe", "best", "--encoder", "{work}/encoder", "--wide-ngrams", "0"]
        ],
    },
    "best_scratch": {  # the best recipe without its pretraining: the same network from scratch
        "label": "best recipe without pretraining (Word2Vec + separate 2 x BiLSTM(96))",
        "steps": [["train", "--hidden", "96", "--separate-directions"]],
    },
    "best_scratch_network": {
        "label": "best recipe without pretraining, n-gram part removed",
        "steps": [["train", "--hidden", "96", "--separate-directions", "--wide-ngrams", "0"]],
    },
    "bundled": {
        "label": "bundled model (no training)",
        "steps": [],
        "model": None,
    },
}

# Issue 10's floors: (row, figure, op, limit, description). A limit "row:NAME" compares with
# that row's same figure in this run ("row:NAME+0.005": that figure plus 0.005). Checks whose rows did not run (or failed) read n/a.
CHECKS: list[tuple[str, str, str, Any, str]] = [
    ("default", "test_accuracy", ">=", 0.920, "default >= 0.920 test accuracy"),
    ("default", "test_accuracy", ">", "row:nbsvm13", "default above NBSVM 1-3 (same run)"),
    (
        "default",
        "test_accuracy",
        ">",
        "row:ngrams_only",
        "default above its no-recurrent ablation",
    ),
    ("default", "train_seconds", "<=", 1200, "default trains in <= 1,200 s"),
    ("default", "peak_rss_gb", "<=", 3.0, "default peak RSS <= 3 GB"),
    ("pretrained", "test_accuracy", ">=", 0.927, "pretrained >= 0.927 test accuracy"),
    ("pretrained", "train_seconds", "<=", 3600, "pretrain + train <= 3,600 s"),
    (
        "pretrained",
        "test_accuracy",
        ">=",
        "row:best_scratch+0.005",
        "pretraining worth >= 0.5 points (best vs the same recipe without it)",
    ),
    (
        "pretrained_network",
        "test_accuracy",
        ">=",
        "row:best_scratch_network+0.005",
        "pretraining worth >= 0.5 points (network alone)",
    ),
    ("bundled", "reviews_per_second", ">=", 2000, "bundled >= 2,000 reviews/s batch"),
    ("bundled", "latency_p50_ms", "<=", 2.0, "bundled single-review p50 <= 2 ms"),
    ("bundled", "test_accuracy", ">=", 0.9091, "bundled >= 0.9091 test accuracy"),
    ("bundled", "model_dir_mb", "<=", 10.0, "bundled model <= 10 MB"),
]


# --------------------------------------------------------------------------- machine


def _cpu_model_and_flags() -> tuple[str | None, list[str]]:
    """The CPU's model name and the SIMD flags that decide bfloat16 (Linux /proc/cpuinfo)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, []
    model, flags = None, set()
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model is None:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return model, [f for f in wanted if f in flags]


def busiest_processes(n: int = 8) -> list[dict[str, Any]] | None:
    """The n processes using the most CPU right now: program and script (not the rest of
    the command line), %CPU averaged over each one's life, RSS MB. What else was running."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid=,pcpu=,rss=,args=", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and int(parts[0]) != os.getpid():
            words = parts[3].split()
            name = " ".join([Path(words[0]).name, *words[1:2]])  # e.g. python benchmarks/x.py
            rows.append(
                {"pid": int(parts[0]), "cpu_percent": float(parts[1]),
                 "rss_mb": round(int(parts[2]) / 1024, 1), "name": name}
            )  # fmt: skip
        if len(rows) == n:
            break
    return rows


def load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    import onnxruntime
    import torch

    import rnnlab

    model, flags = _cpu_model_and_flags()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        affinity = None
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages * page / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {
        "cpu_model": model,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_gb": mem_gb,
        "cuda": torch.cuda.is_available(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rnnlab": rnnlab.__version__,
    }


def snapshot() -> dict[str, Any]:
    """When, the load average and the busiest processes: taken at start and end of the run."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_1_5_15": load_average(),
        "busiest_processes": busiest_processes(),
    }


# --------------------------------------------------------------------------- running


def dir_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def rnnlab_argv0() -> list[str]:
    """The `rnnlab` console script of this interpreter's environment (as a user types it)."""
    script = Path(sys.executable).with_name("rnnlab")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rnnlab"]


# A tiny launcher between this script and each command. Linux carries a process's peak RSS
# across fork and exec, so a child forked straight from this script (which holds the test
# reviews, and torch) reported this script's ~0.5 GB as its own floor: a command that only
# printed a usage error "peaked" at 0.45 GB. The launcher starts small (python -I -S), forks
# the command, and reports the command's own os.wait4 figures: argv[1] the result file.
_LAUNCHER = r"""
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(sys.argv[1], "w") as fh:
    json.dump({"seconds": seconds, "maxrss": usage.ru_maxrss}, fh)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_timed(cmd: list[str], log_path: Path) -> tuple[int, float, int | None]:
    """Run ``cmd`` with its output appended to ``log_path``.

    Returns (exit code, wall seconds, the command's peak RSS in bytes), from ``os.wait4`` on
    the command itself (see ``_LAUNCHER``), not a RUSAGE_CHILDREN maximum, which would
    carry over the largest earlier row.
    """
    fd, result = tempfile.mkstemp(prefix="imdb_bench_rusage_", suffix=".json")
    os.close(fd)
    result = Path(result)
    with log_path.open("ab") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n".encode())
        fh.flush()
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(result)]
        proc = subprocess.Popen(
            launcher + cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: on Ctrl-C we stop exactly these two
        )
        try:
            rc = proc.wait()
        except BaseException:  # Ctrl-C: do not leave a training running behind us
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    try:
        usage = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # the launcher itself died
        return rc, float("nan"), None
    finally:
        result.unlink(missing_ok=True)
    kib = usage["maxrss"]  # KiB on Linux, bytes on macOS
    peak = kib if sys.platform == "darwin" else kib * 1024
    return rc, usage["seconds"], peak if peak > 0 else None


def log_tail(path: Path, n: int = 12) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def build_steps(name: str, spec: dict[str, Any], ctx: dict[str, Any]) -> list[list[str]]:
    """The row's full argument lists (without argv0), placeholders filled in."""
    fill = {"encoder": str(ctx["work"] / f"{name}_encoder"), "work": str(ctx["work"])}
    steps = []
    for k, step in enumerate(spec["steps"]):
        sub, rest = step[0], [a.format(**fill) for a in step[1:]]
        args = [sub, "--data", str(ctx["data"])]
        if sub == "train" and ctx["test_data"] is not None:
            args += ["--test-data", str(ctx["test_data"])]
        if "--out" not in rest and "-o" not in rest:
            args += ["--out", str(ctx["work"] / name)]
        args += rest
        model = rest[rest.index("--model") + 1] if "--model" in rest[:-1] else "recurrent"
        if ctx["threads"] is not None and model == "recurrent":  # the CLI refuses it for linear
            args += ["--threads", str(ctx["threads"])]
        if k == len(spec["steps"]) - 1:
            args += shlex.split(ctx["extra"].get(name, ""))
        steps.append(args)
    return steps


def out_of(args: list[str]) -> Path:
    i = max(i for i, a in enumerate(args) if a in ("--out", "-o"))
    return Path(args[i + 1])


def read_metrics(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def measure_in_child(model: Path | None, ctx: dict[str, Any], log_path: Path) -> dict[str, Any]:
    """Run this script's --measure mode in a fresh process; its figures plus its peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json", dir=ctx["tmp"], delete=False) as fh:
        result = Path(fh.name)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure",
        "bundled" if model is None else str(model),
        "--texts",
        str(ctx["texts"]),
        "--measure-out",
        str(result),
        "--predict-threads",
        str(ctx["predict_threads"]),
        "--backend",
        ctx["backend"],
        "--latency-n",
        str(ctx["latency_n"]),
        "--seed",
        str(ctx["seed"]),
    ]
    rc, wall, peak = run_timed(cmd, log_path)
    if rc != 0:
        raise RuntimeError(f"measuring failed (exit {rc}):\n{log_tail(log_path)}")
    out = json.loads(result.read_text(encoding="utf-8"))
    result.unlink()
    out["process_seconds"] = wall
    out["process_peak_rss_gb"] = None if peak is None else peak / 1e9
    return out


def run_row(name: str, spec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Train (if the row has steps), then measure; a failure is recorded, never raised."""
    log_path = ctx["work"] / f"{name}.log"
    log_path.unlink(missing_ok=True)
    steps = build_steps(name, spec, ctx)
    rec: dict[str, Any] = {
        "row": name,
        "label": spec["label"],
        "commands": [shlex.join(["rnnlab", *s]) for s in steps],
        "log": str(log_path),
        "load_average_before": load_average(),
        "steps": [],
    }
    for args in steps:
        log(f"{name}: {shlex.join(['rnnlab', *args])}")
        rc, wall, peak = run_timed(rnnlab_argv0() + args, log_path)
        rec["steps"].append(
            {"command": shlex.join(["rnnlab", *args]), "exit_code": rc, "seconds": wall,
             "peak_rss_gb": None if peak is None else peak / 1e9}
        )  # fmt: skip
        log(f"{name}: exit {rc} after {wall:.1f} s, peak RSS {fmt_gb(peak)}")
        if rc != 0:
            rec["status"] = "failed"
            rec["error"] = log_tail(log_path)
            rec["load_average_after"] = load_average()
            return rec

    if steps:
        model: Path | None = out_of(steps[-1])
        rec["train_seconds"] = sum(s["seconds"] for s in rec["steps"])
        peaks = [s["peak_rss_gb"] for s in rec["steps"] if s["peak_rss_gb"] is not None]
        rec["peak_rss_gb"] = max(peaks) if peaks else None
    else:
        model = spec.get("model")
        rec["train_seconds"] = None  # nothing trained in this run
        rec["peak_rss_gb"] = None
    rec["load_average_after_train"] = load_average()

    log(f"{name}: measuring {'the bundled model' if model is None else model}")
    try:
        pred = measure_in_child(model, ctx, log_path)
    except RuntimeError as exc:
        rec["status"] = "failed"
        rec["error"] = str(exc)
        rec["load_average_after"] = load_average()
        return rec
    model_dir = Path(pred["model_dir"])
    metrics = read_metrics(model_dir)
    rec["model_dir"] = str(model_dir)
    rec["model_dir_mb"] = dir_size_bytes(model_dir) / 1e6
    weights = model_dir / "model.safetensors"
    rec["weights_mb"] = weights.stat().st_size / 1e6 if weights.is_file() else None
    for args in steps[:-1]:  # e.g. the encoder a pretrain step wrote
        rec.setdefault("other_dirs_mb", {})[str(out_of(args))] = (
            dir_size_bytes(out_of(args)) / 1e6 if out_of(args).is_dir() else None
        )
    saved_test = metrics.get("test", {}).get("accuracy")
    if steps and saved_test is not None:
        rec["test_accuracy"], rec["test_accuracy_source"] = saved_test, "metrics.json"
    else:  # nothing trained here (or no test split recorded): this run's prediction
        rec["test_accuracy"], rec["test_accuracy_source"] = pred["accuracy"], "measured"
    rec["validation_accuracy"] = metrics.get("validation", {}).get("accuracy")
    rec["recorded_timing"] = metrics.get("timing")
    if not steps:
        rec["recorded_test_accuracy"] = saved_test
        rec["recorded_train_seconds"] = (metrics.get("timing") or {}).get("total_seconds")
    rec["reviews_per_second"] = pred["reviews_per_second"]
    rec["latency_p50_ms"] = pred["latency_p50_ms"]
    rec["prediction"] = pred
    rec["status"] = "ok"
    rec["load_average_after"] = load_average()
    log(
        f"{name}: test acc {rec['test_accuracy']:.4f}, {rec['reviews_per_second']:.0f} "
        f"reviews/s, p50 {rec['latency_p50_ms']:.2f} ms, {rec['model_dir_mb']:.1f} MB"
    )
    return rec


def fmt_gb(peak: int | None) -> str:
    return "?" if peak is None else f"{peak / 1e9:.2f} GB"


# --------------------------------------------------------------------------- measuring


def measure(args) -> int:
    """--measure: load one model, time batch and single-review prediction, write JSON."""
    import rnnlab
    from rnnlab.artifacts import read_config
    from rnnlab.tasks.base import bundled_model_path

    model_dir = bundled_model_path() if args.measure == "bundled" else Path(args.measure)
    records = [
        json.loads(line) for line in args.texts.read_text(encoding="utf-8").splitlines() if line
    ]
    texts = [r["text"] for r in records]
    labels = np.array([r["label"] for r in records])
    backend = args.backend if read_config(model_dir).get("kind") == "classifier" else "auto"

    t0 = time.perf_counter()
    clf = rnnlab.load(model_dir, backend=backend, threads=args.predict_threads)
    load_s = time.perf_counter() - t0
    clf.predict_proba(texts[:256])  # warm-up: allocator, thread pools, onnx first run
    batch = []
    for _ in range(2):
        t0 = time.perf_counter()
        probs = clf.predict_proba(texts)  # (N, classes)
        batch.append(time.perf_counter() - t0)
    names = np.array(clf.label_names)
    accuracy = float(np.mean(names[probs.argmax(1)] == labels))

    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(texts), size=min(args.latency_n, len(texts)), replace=False)
    for i in picks[:20]:  # warm-up
        clf.predict([texts[int(i)]])
    times = np.empty(len(picks))
    for k, i in enumerate(picks):
        t = time.perf_counter_ns()
        clf.predict([texts[int(i)]])
        times[k] = (time.perf_counter_ns() - t) / 1e6
    write_json_atomic(
        args.measure_out,
        {
            "model_dir": str(model_dir),
            "backend": clf.backend,
            "threads": args.predict_threads,
            "n_texts": len(texts),
            "load_seconds": load_s,
            "batch_seconds": batch,
            "reviews_per_second": len(texts) / min(batch),
            "accuracy": accuracy,
            "latency_n": len(picks),
            "latency_p50_ms": float(np.percentile(times, 50)),
            "latency_p95_ms": float(np.percentile(times, 95)),
            "latency_mean_ms": float(times.mean()),
        },
    )
    return 0


# --------------------------------------------------------------------------- report


def fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per row: accuracy, seconds, memory, size and prediction speed."""
    head = (
        "| row | test accuracy | train s | peak RSS GB | model MB | reviews/s | p50 ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['row']} | {r.get('status', '?')} | | | | | |")
            continue
        acc = fmt(r["test_accuracy"], ".4f")
        if r.get("test_accuracy_source") == "measured":
            acc += "*"
        lines.append(
            f"| {r['row']} | {acc} | {fmt(r['train_seconds'], ',.0f')} | "
            f"{fmt(r['peak_rss_gb'], '.2f')} | {fmt(r['model_dir_mb'], '.1f')} | "
            f"{fmt(r['reviews_per_second'], ',.0f')} | {fmt(r['latency_p50_ms'], '.2f')} |"
        )
    return "\n".join(lines)


def check_floors(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row, key, op, limit, desc in CHECKS:
        value = rows.get(row, {}).get(key) if rows.get(row, {}).get("status") == "ok" else None
        if isinstance(limit, str) and limit.startswith("row:"):  # "row:NAME" or "row:NAME+0.005"
            name, _, plus = limit[4:].partition("+")
            other = rows.get(name, {})
            limit = other.get(key) if other.get("status") == "ok" else None
            if limit is not None and plus:
                limit = round(limit + float(plus), 6)
        met = None
        if value is not None and limit is not None:
            met = {">=": value >= limit, ">": value > limit, "<=": value <= limit}[op]
        out.append({"check": desc, "row": row, "figure": key, "op": op, "limit": limit,
                    "value": value, "met": met})  # fmt: skip
    return out


def error_line(text: str) -> str:
    """The last line of a failed command's output that says something (Typer boxes stripped)."""
    for line in reversed(text.splitlines()):
        said = line.strip().strip("│╭╮╰╯─ ").strip()
        if said:
            return said
    return "?"


def print_report(report: dict[str, Any]) -> None:
    rows = list(report["rows"].values())
    m, s = report["machine"], report["start"]
    print(
        f"IMDB sentiment, {s['date']}, {m['cpu_model']} ({m['cpus_usable']} usable CPUs), "
        f"load {s['load_average_1_5_15']} -> {report['end']['load_average_1_5_15']}"
        + (f", --limit {report['limit']} (smoke: figures mean nothing)" if report["limit"] else "")
    )
    print()
    print(markdown_table(rows))
    print()
    print("\\* measured by predicting this run's test reviews (nothing trained in this run)")
    print()
    for r in rows:
        for c in r["commands"]:
            print(f"- {r['row']}: `{c}`")
        if r.get("status") == "failed":
            print(f"  failed: {error_line(r.get('error', ''))}")
    print()
    print("| check | value | limit | met |\n|---|---:|---:|---|")
    for c in report["checks"]:
        met = "n/a" if c["met"] is None else ("yes" if c["met"] else "NO")
        lim = c["limit"]
        print(f"| {c['check']} | {fmt(c['value'], '.4g')} | {fmt(lim, '.4g')} | {met} |")


def plot(report: dict[str, Any], path: Path) -> None:
    """Left: test accuracy against train minutes, one labelled point per row (the bundled
    model at its recorded training time, hollow). Right: batch reviews/s per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["rows"].values() if r.get("status") == "ok"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in rows:
        secs, hollow = r["train_seconds"], False
        if secs is None:
            secs, hollow = r.get("recorded_train_seconds"), True
        if secs is None:
            continue
        x, y = secs / 60, r["test_accuracy"]
        a1.scatter(
            [x], [y], s=50, facecolors="none" if hollow else "tab:blue", edgecolors="tab:blue"
        )
        a1.annotate(
            r["row"] + (" (recorded)" if hollow else ""), (x, y),
            textcoords="offset points", xytext=(5, 4), fontsize=8,
        )  # fmt: skip
    a1.set_xlabel("train minutes (whole command)")
    a1.set_ylabel("test accuracy")
    a1.grid(alpha=0.3)
    names = [r["row"] for r in rows]
    speed = [r["reviews_per_second"] for r in rows]
    y = np.arange(len(rows))
    a2.barh(y, speed, color="tab:orange")
    a2.axvline(2000, color="grey", lw=0.8, ls="--")
    a2.set_yticks(y, names)
    a2.invert_yaxis()
    for yi, v in zip(y, speed, strict=True):
        a2.text(v, yi, f" {v:,.0f}", va="center", fontsize=8)
    threads = report["args"]["predict_threads"]
    a2.set_xlabel(f"batch reviews/s (tokenizing included, threads={threads}; dashed: 2,000)")
    title = f"IMDB sentiment, {report['start']['date'][:10]}"
    if report["limit"]:
        title += f" (--limit {report['limit']}: smoke run, figures mean nothing)"
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def pick(ds, n: int | None, seed: int):
    """A random subset of n examples (IMDB is sorted neg then pos, so never take a prefix)."""
    if n is None or n >= len(ds):
        return ds
    idx = np.random.default_rng(seed).permutation(len(ds))[:n]
    return ds.subset(np.sort(idx))


def write_jsonl(ds, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for text, label in zip(ds.texts, ds.labels, strict=True):
            fh.write(json.dumps({"text": text, "label": ds.label_names[label]}) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IMDB archive or folder")
    p.add_argument("--rows", help=f"comma-separated rows (default: all): {', '.join(ROWS)}")
    p.add_argument("--model", type=Path, help="also measure this existing model directory")
    p.add_argument(
        "--extra", action="append", default=[], metavar="ROW=ARGS",
        help="extra arguments for ROW's last command, e.g. default=\"--epochs 1\"",
    )  # fmt: skip
    p.add_argument("--limit", type=int, help="N random train and N test reviews (smoke run)")
    p.add_argument("--threads", type=int, help="pass --threads N to every command")
    p.add_argument("--predict-threads", type=int, default=2, help="rnnlab.load(threads=)")
    p.add_argument("--backend", default="auto", help="recurrent models: auto, onnx or torch")
    p.add_argument("--latency-n", type=int, default=300, help="reviews timed one at a time")
    p.add_argument("--seed", type=int, default=0, help="seed for --limit and latency sampling")
    p.add_argument("--work-dir", type=Path, help="model directories and logs")
    p.add_argument("--json-out", type=Path)
    p.add_argument("--png-out", type=Path, help="default: the JSON path with .png")
    # internal: the fresh process that measures one model
    p.add_argument("--measure", help=argparse.SUPPRESS)
    p.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--measure-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure is not None:
        return args
    names = list(ROWS) if args.rows is None and args.model is None else []
    if args.rows:
        names = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in names if r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    args.row_names = list(dict.fromkeys(names)) + (["model"] if args.model else [])
    extra = {}
    for item in args.extra:
        row, sep, value = item.partition("=")
        if not sep or row not in [*ROWS, "model"]:
            p.error(f"--extra wants ROW=ARGS with ROW one of {', '.join(ROWS)}; got {item!r}")
        extra[row] = value
    args.extra_by_row = extra
    if args.limit is not None and args.limit < 10:
        p.error("--limit must be >= 10")
    suffix = "" if args.limit is None else "_limit"
    args.work_dir = args.work_dir or RESULTS / f"imdb_sentiment_models{suffix}"
    args.json_out = args.json_out or RESULTS / f"imdb_sentiment{suffix}.json"
    args.png_out = args.png_out or args.json_out.with_suffix(".png")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.measure is not None:
        return measure(args)
    from rnnlab.data import load_imdb_splits

    if args.model is not None and not (args.model / "config.json").is_file():
        raise SystemExit(f"error: {args.model} is not a model directory (no config.json)")
    if not args.data.exists():
        raise SystemExit(f"error: IMDB data not found at {args.data}; pass --data PATH")
    specs = {n: ROWS[n] for n in args.row_names if n in ROWS}
    if args.model is not None:
        specs["model"] = {"label": f"existing model {args.model}", "steps": [],
                          "model": args.model.resolve()}  # fmt: skip
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "imdb_sentiment",
        "args": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("measure", "texts", "measure_out")
        },  # fmt: skip
        "limit": args.limit,
        "machine": machine_info(),
        "start": snapshot(),
        "rows": {},
        "notes": [
            "train_seconds: wall time of the whole CLI command(s) as a child process "
            "(reading the archive, training, test evaluation, writing the model directory); "
            "pretrained: pretrain + train.",
            "peak_rss_gb: the training child's maximum resident set (os.wait4), the largest "
            "of a row's commands; the measuring process's is under prediction.",
            "reviews_per_second: predict_proba over all test reviews, tokenizing included, "
            "best of 2, in a fresh process per model; latency: predict([text]) on random "
            "test reviews after a 20-review warm-up.",
            "test_accuracy: <out>/metrics.json's test split; rows that train nothing "
            "(bundled, --model) give the accuracy of this run's prediction instead.",
            "shared, noisy machine: compare rows of one run, see the load averages.",
        ],
    }
    if args.limit is not None:
        report["notes"].insert(0, f"--limit {args.limit}: smoke run, figures not comparable.")

    with tempfile.TemporaryDirectory(prefix="imdb_bench_") as tmp:
        tmp = Path(tmp)
        splits = ("test",) if args.limit is None else ("train", "test")
        log(f"reading {args.data} ({', '.join(splits)})")
        data = load_imdb_splits(args.data, splits=splits)
        test_ds = pick(data["test"], args.limit, args.seed + 1)
        write_jsonl(test_ds, tmp / "test.jsonl")
        ctx: dict[str, Any] = {
            "work": args.work_dir.resolve(),
            "tmp": tmp,
            "texts": tmp / "test.jsonl",
            "data": args.data.resolve(),
            "test_data": None,
            "threads": args.threads,
            "predict_threads": args.predict_threads,
            "backend": args.backend,
            "latency_n": args.latency_n,
            "seed": args.seed + 2,
            "extra": args.extra_by_row,
        }
        if args.limit is not None:  # the CLI has no --limit: a JSONL subset instead
            write_jsonl(pick(data["train"], args.limit, args.seed), tmp / "train.jsonl")
            ctx["data"], ctx["test_data"] = tmp / "train.jsonl", tmp / "test.jsonl"
        report["data"] = {"path": str(args.data.resolve()), "sha256": test_ds.sha256,
                          "n_test": len(test_ds)}  # fmt: skip
        del data
        for name, spec in specs.items():
            report["rows"][name] = run_row(name, spec, ctx)
            report["checks"] = check_floors(report["rows"])
            write_json_atomic(args.json_out, report)  # a run that dies keeps its rows

    report["end"] = snapshot()
    report["checks"] = check_floors(report["rows"])
    write_json_atomic(args.json_out, report)
    log(f"wrote {args.json_out}")
    if any(r.get("status") == "ok" for r in report["rows"].values()):
        plot(report, args.png_out)
        log(f"wrote {args.png_out}")
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
