"""Memory of streaming prediction: peak RSS of `rnnlab predict --file` vs input size.

    .venv/bin/python benchmarks/stream_predict.py                      # 1,000 and 200,000 lines
    .venv/bin/python benchmarks/stream_predict.py --lines 1000 1000000

For each size, writes a file of short review-like lines (5-25 words, seeded), runs
``/usr/bin/time -v rnnlab predict --file FILE --json --no-progress`` (the bundled model
unless ``--model``) with stdout to a file, and reads "Maximum resident set size". Checks
that every input line got one output line. ``seconds`` is the wall time of the
whole command (startup and model load included, ~6 s here), so the rate of a
small file understates the streaming rate. The requirement (issue 12): the peak RSS of
the largest file within 200 MB of the smallest's, i.e. memory independent of input size.

Prints a table and writes JSON (``--json-out``, default
``benchmarks/results/stream_predict.json``, written atomically). The machine is shared:
the JSON records the load average before and after each run; rates vary with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RNNLAB = Path(sys.executable).with_name("rnnlab")
LIMIT_MB = 200.0  # allowed growth of peak RSS from the smallest to the largest input

WORDS = {
    "pos": "wonderful great moving funny superb brilliant touching beautiful".split(),
    "neg": "awful boring dull terrible predictable mess waste stupid".split(),
    "filler": (
        "the film movie plot actors story scene director was is a and of it this that "
        "with but not very really one character ending music time script"
    ).split(),
}


def write_reviews(path: Path, n: int, seed: int) -> None:
    """``n`` lines of 5-25 words, half leaning positive, half negative."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            cue = WORDS["pos" if i % 2 else "neg"]
            words = [rng.choice(WORDS["filler"]) for _ in range(rng.randint(4, 22))]
            for _ in range(rng.randint(1, 3)):
                words.insert(rng.randint(0, len(words)), rng.choice(cue))
            fh.write(" ".join(words) + "\n")


def measure(path: Path, n: int, model: str | None, threads: int) -> dict[str, Any]:
    out = path.with_suffix(".out")
    cmd = ["/usr/bin/time", "-v", str(RNNLAB), "predict", "--file", str(path), "--json"]
    cmd += ["--no-progress", *(["--model", model] if model else [])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, env=env, check=False)
    seconds = time.perf_counter() - t0
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"rnnlab predict failed ({proc.returncode}):\n{err[-2000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    with open(out, "rb") as fh:
        answered = sum(1 for _ in fh)
    with open(out, "rb") as fh:
        last = json.loads(fh.readlines()[-1]) if n <= 10_000 else None
    if answered != n:
        raise SystemExit(f"{n} input lines but {answered} output lines")
    if last is not None and last["line"] != n:
        raise SystemExit(f"last output answers line {last['line']}, expected {n}")
    out.unlink()
    return {
        "lines": n,
        "bytes": path.stat().st_size,
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "seconds": round(seconds, 1),
        "lines_per_second": round(n / seconds, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1000, 200_000])
    parser.add_argument("--model", default=None, help="Model directory (default: bundled).")
    parser.add_argument("--threads", type=int, default=1, help="OMP/MKL threads of the run.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json-out", type=Path, default=ROOT / "benchmarks" / "results" / "stream_predict.json"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-stream-") as tmp:
        for n in sorted(args.lines):
            path = Path(tmp) / f"reviews_{n}.txt"
            write_reviews(path, n, args.seed)
            rows.append(measure(path, n, args.model, args.threads))
            r = rows[-1]
            print(
                f"{r['lines']:>10,} lines {r['bytes'] / 1e6:>8.1f} MB  peak RSS "
                f"{r['peak_rss_mb']:>7.1f} MB  {r['seconds']:>7.1f} s  "
                f"{r['lines_per_second']:>8.0f} lines/s",
                flush=True,
            )
            path.unlink()
    growth = rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]
    verdict = "PASS" if growth <= LIMIT_MB else "FAIL"
    print(
        f"peak RSS growth {rows[0]['lines']:,} -> {rows[-1]['lines']:,} lines: "
        f"{growth:+.1f} MB (limit {LIMIT_MB:.0f} MB): {verdict}"
    )
    result = {
        "benchmark": "stream_predict",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "model": args.model or "bundled (imdb-sentiment)",
        "threads": args.threads,
        "runs": rows,
        "peak_rss_growth_mb": round(growth, 1),
        "limit_mb": LIMIT_MB,
        "pass": growth <= LIMIT_MB,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.json_out.with_name(f".{args.json_out.name}.tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_out, args.json_out)
    print(f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
