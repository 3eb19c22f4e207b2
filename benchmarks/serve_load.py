"""Load on `rnnlab serve`: many concurrent clients, then the same texts one at a time.

    .venv/bin/python benchmarks/serve_load.py            # 64 clients x 20 requests

Starts `rnnlab serve` (the bundled model unless --model) as a separate process on a free
loopback port, then:

1. load: ``--clients`` threads, each with its own HTTP connection, send ``--requests``
   ``POST /predict`` requests of ``--texts-per-request`` reviews, all starting together;
   meanwhile another thread asks ``GET /health`` every 50 ms (a blocked event loop would
   show there);
2. sequential: every review of the load phase again, one request at a time, and compares
   labels and scores with what the concurrent requests got (they must be identical);
3. a few refusals the server must answer fast: a body over the limit, too many texts;
4. SIGINT, and the time the server takes to shut down gracefully.

Prints a table and writes JSON (``--json-out``, default
``benchmarks/results/serve_load.json``, written atomically). Reviews come from the IMDB test
split when ``--data`` (default ``../shared/data/aclImdb_v1_labeled.tar.gz``) exists, else
from a seeded generator of review-like texts. The machine is shared: the JSON records the
load average before and after; compare figures only within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import write_json_atomic  # noqa: E402  (benchmarks/common.py)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"

WORDS = {
    "pos": "wonderful great moving funny superb brilliant touching beautiful".split(),
    "neg": "awful boring dull terrible predictable mess waste stupid".split(),
    "filler": (
        "the film movie plot actors story scene director was is a and of it this that "
        "with but not very really one character ending music time script"
    ).split(),
}


def synthetic_reviews(n: int, seed: int) -> list[str]:
    """Review-like texts of 120-300 words, half leaning positive, half negative."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cue = WORDS["pos" if i % 2 else "neg"]
        words = [rng.choice(WORDS["filler"]) for _ in range(rng.randint(120, 300))]
        for _ in range(rng.randint(3, 8)):
            words.insert(rng.randrange(len(words)), rng.choice(cue))
        out.append(" ".join(words).capitalize() + ".")
    return out


def imdb_reviews(path: Path, n: int, seed: int) -> list[str]:
    from rnnlab.data.imdb import load_imdb

    texts = load_imdb(path, split="test").texts
    return random.Random(seed).sample(list(texts), n)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def start_server(args) -> tuple[subprocess.Popen, str]:
    """`rnnlab serve --port 0` in its own process; returns it and its base URL."""
    cmd = [sys.executable, "-m", "rnnlab", "serve", "--port", "0", "--backend", args.backend]
    if args.model:
        cmd.insert(4, str(args.model))
    if args.concurrency:
        cmd += ["--concurrency", str(args.concurrency)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit(f"the server exited before serving (code {proc.wait()})")
        print(line.rstrip(), file=sys.stderr)
        match = re.search(r"on (http://[\d.]+:\d+)/", line)
        if match:
            url = match.group(1)
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain
            while httpx.get(url + "/health").status_code != 200:
                time.sleep(0.1)
            return proc, url
    proc.kill()
    raise SystemExit("the server did not start in 180 s")


def load_phase(url: str, texts: list[str], args) -> dict[str, Any]:
    per = args.texts_per_request
    barrier = threading.Barrier(args.clients + 1)
    latencies: list[float] = []
    errors: list[str] = []
    answers: dict[int, list[dict]] = {}
    lock = threading.Lock()

    def client(c: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            barrier.wait()
            for r in range(args.requests):
                first = ((c * args.requests + r) * per) % len(texts)
                idx = [(first + k) % len(texts) for k in range(per)]
                start = time.perf_counter()
                try:
                    response = http.post("/predict", json={"texts": [texts[i] for i in idx]})
                    ok = response.status_code == 200
                    body = response.json() if ok else None
                    detail = "" if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, body, detail = False, None, type(exc).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(detail)
                        continue
                    for i, p in zip(idx, body["predictions"], strict=True):
                        answers.setdefault(i, []).append(p)

    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                start = time.perf_counter()
                http.get("/health")
                health.append(time.perf_counter() - start)
                stop.wait(0.05)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()
    prober = threading.Thread(target=probe)
    barrier.wait()
    prober.start()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    stop.set()
    prober.join()
    n = args.clients * args.requests
    return {
        "requests": n,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "wall_s": round(wall, 3),
        "requests_per_s": round(n / wall, 1),
        "texts_per_s": round(n * per / wall, 1),
        "latency_ms": {
            "p50": round(1000 * percentile(latencies, 0.50), 1),
            "p95": round(1000 * percentile(latencies, 0.95), 1),
            "p99": round(1000 * percentile(latencies, 0.99), 1),
            "max": round(1000 * max(latencies), 1),
            "mean": round(1000 * statistics.fmean(latencies), 1),
        },
        "health_during_load_ms": {
            "n": len(health),
            "p50": round(1000 * percentile(health, 0.50), 1) if health else None,
            "max": round(1000 * max(health), 1) if health else None,
        },
        "_answers": answers,
    }


def sequential_phase(url: str, texts: list[str], answers: dict[int, list[dict]]) -> dict:
    """Each text of the load phase alone, one request at a time; compare."""
    mismatches = 0
    max_diff = 0.0
    latencies = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for i in sorted(answers):
            start = time.perf_counter()
            alone = http.post("/predict", json={"texts": [texts[i]]}).json()["predictions"][0]
            latencies.append(time.perf_counter() - start)
            for got in answers[i]:
                max_diff = max(max_diff, abs(got["score"] - alone["score"]))
                mismatches += got != alone
    return {
        "texts": len(answers),
        "mismatches": mismatches,
        "identical": mismatches == 0,
        "max_abs_score_diff": max_diff,
        "latency_ms_p50": round(1000 * percentile(latencies, 0.5), 1),
    }


def refusals(url: str, limits: dict) -> dict:
    """Hostile requests: each must be refused with a short JSON answer."""
    out = {}
    with httpx.Client(base_url=url, timeout=120) as http:
        cases = {
            "body_100MB": lambda: http.post(
                "/predict",
                content=b"x" * 100_000_000,
                headers={"content-type": "application/json"},
            ),
            "million_items": lambda: http.post(
                "/predict", content=b'{"texts": [' + b"1," * 1_000_000 + b"1]}"
            ),
            "string_5MB": lambda: http.post("/predict", json={"texts": "x" * 5_000_000}),
            "too_many_texts": lambda: http.post(
                "/predict", json={"texts": ["x"] * (limits["max_texts"] + 1)}
            ),
        }
        for name, send in cases.items():
            start = time.perf_counter()
            try:
                response = send()
                status, size = response.status_code, len(response.content)
            except httpx.HTTPError as exc:  # the server may close before the body is sent
                status, size = type(exc).__name__, 0
            out[name] = {
                "status": status,
                "ms": round(1000 * (time.perf_counter() - start), 1),
                "answer_bytes": size,
            }
    return out


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux; None elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return round(kb / 1024, 1)


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    import rnnlab

    return {
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "rnnlab": rnnlab.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="model directory (default: bundled)")
    parser.add_argument("--backend", default="auto", help="auto, onnx or torch")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--concurrency", type=int, help="the server's --concurrency")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IMDB archive")
    parser.add_argument("--distinct", type=int, default=256, help="distinct reviews")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json-out", type=Path, default=ROOT / "benchmarks" / "results" / "serve_load.json"
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    if args.data.exists():
        texts, source = (
            imdb_reviews(args.data, args.distinct, args.seed),
            f"IMDB test ({args.data.name})",
        )
    else:
        texts, source = synthetic_reviews(args.distinct, args.seed), "synthetic"
    print(f"{len(texts)} distinct reviews from {source}", file=sys.stderr)

    proc, url = start_server(args)
    try:
        info = httpx.get(url + "/model").json()
        rss = {"after_start": rss_mb(proc.pid)}
        with httpx.Client(base_url=url) as http:  # warm-up
            for text in texts[:8]:
                http.post("/predict", json={"texts": [text]})
        load = load_phase(url, texts, args)
        answers = load.pop("_answers")
        rss["after_load"] = rss_mb(proc.pid)
        sequential = sequential_phase(url, texts, answers)
        refused = refusals(url, info["limits"])
        rss["after_refusals"] = rss_mb(proc.pid)
        health_after = httpx.get(url + "/health").status_code
    finally:
        start = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed after 60 s"
        shutdown_s = time.perf_counter() - start

    report = {
        "what": "rnnlab serve under concurrent POST /predict, then the same texts sequentially",
        "model": info["name"],
        "backend": info["backend"],
        "limits": info["limits"],
        "texts_source": source,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "texts_per_request": args.texts_per_request,
        "load": load,
        "sequential": sequential,
        "refusals": refused,
        "health_after_refusals": health_after,
        "server_rss_mb": rss,
        "shutdown": {"signal": "SIGINT", "exit_code": code, "seconds": round(shutdown_s, 2)},
        "machine": machine(load_before),
    }
    write_json_atomic(args.json_out, report)

    lat = load["latency_ms"]
    rows = [
        ("requests", f"{load['requests']:,} ({args.clients} clients x {args.requests})"),
        ("errors", f"{load['errors']}"),
        ("latency p50 / p95 / max", f"{lat['p50']} / {lat['p95']} / {lat['max']} ms"),
        ("throughput", f"{load['requests_per_s']} req/s ({load['texts_per_s']} texts/s)"),
        (
            "/health during load p50 / max",
            f"{load['health_during_load_ms']['p50']} / {load['health_during_load_ms']['max']} ms",
        ),
        (
            "same as sequential calls",
            f"{sequential['identical']} ({sequential['texts']} texts, "
            f"max score diff {sequential['max_abs_score_diff']:.1e})",
        ),
        *(
            (f"refused: {name}", f"HTTP {r['status']} in {r['ms']} ms, {r['answer_bytes']} B")
            for name, r in refused.items()
        ),
        ("server RSS start / load / refusals", " / ".join(f"{v} MB" for v in rss.values())),
        ("graceful shutdown", f"exit {code} in {shutdown_s:.2f} s"),
        ("load average before / after", f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"rnnlab serve load: {info['name']} ({info['backend']}), reviews: {source}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(f"JSON: {args.json_out}")
    if load["errors"] or not sequential["identical"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
