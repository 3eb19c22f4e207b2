"""Benchmark ``rnnlab explain``: latency on one 230-token review, completeness on IMDB test.

Two figures from the issue:

- explaining one 230-token review with the bundled model (integrated
  gradients + trajectory) takes <= 100 ms on 2 cores;
- integrated gradients is complete within 5% on 100 IMDB test reviews
  (the worst relative error is reported).

    .venv/bin/python benchmarks/explain_speed.py                       # both, ~1 min
    .venv/bin/python benchmarks/explain_speed.py --data /path/aclImdb_v1_labeled.tar.gz
    .venv/bin/python benchmarks/explain_speed.py --n 0                 # latency only

Without the IMDB archive the latency is measured on a synthetic 230-token
review and the completeness part is skipped. The load average is recorded:
other processes on the machine slow the figures down. Progress goes to
stderr; the table to stdout; JSON to benchmarks/results/explain_speed.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from common import log  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "explain_speed.json"
LATENCY_FLOOR_MS = 100.0
COMPLETENESS_FLOOR = 0.05


def timed(fn, repeats: int) -> dict[str, float]:
    """Milliseconds per call over ``repeats`` calls (after 3 warm-up calls).

    Wall time (p50, p90, min) and this process's CPU time (p50): on a busy
    machine the wall time grows with the other processes' load, the CPU time
    much less (with one torch thread it is what the wall time would be alone).
    """
    for _ in range(3):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 1),
        "min_ms": round(times[0], 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
    }


def parts_timed(model, text: str, steps: int, repeats: int) -> dict[str, dict[str, float]]:
    """The two halves of an explanation timed alone: the attributions and the trajectory."""
    import torch

    from rnnlab.explain.attributions import integrated_gradients
    from rnnlab.explain.inputs import encode_text, model_input
    from rnnlab.explain.trajectory import classifier_trajectory

    net = model.net
    enc = encode_text(model, text)
    ids, _, _ = model_input(enc.read_ids, model.text)
    with torch.no_grad():
        emb = net.embedding(ids)
    base = net.embedding.weight[0].detach().expand_as(emb)
    return {
        "attributions_only": timed(
            lambda: integrated_gradients(net.forward_embedded, emb, base, 1, steps), repeats
        ),
        "trajectory_only": timed(
            lambda: classifier_trajectory(model, enc.read_ids, emb, 1), repeats
        ),
    }


def fixed_steps_error(model, text: str, target: str, steps: int) -> float:
    """Completeness error of integrated gradients with exactly ``steps`` intervals (no doubling)."""
    from rnnlab.explain.attributions import integrated_gradients
    from rnnlab.explain.inputs import encode_text, model_input

    net = model.net
    enc = encode_text(model, text)
    ids, lengths, _ = model_input(enc.read_ids, model.text)
    emb = net.embedding(ids).detach()
    base = net.embedding.weight[0].detach().expand_as(emb)
    attr = integrated_gradients(
        lambda x: net.forward_embedded(x, lengths.expand(len(x))),
        emb,
        base,
        model.label_names.index(target),
        steps,
        max_steps=steps,
    )
    return attr.completeness()["relative_error"]


def review_of_length(texts: list[str] | None, length: int) -> str:
    """A test review with exactly ``length`` tokens if there is one (else the closest), or a synthetic one."""
    from rnnlab.text import tokenize

    if texts:
        best = min(texts[:5000], key=lambda t: abs(len(tokenize(t)) - length))
        if len(tokenize(best)) == length:
            return best
        tokens = tokenize(best)
        return " ".join((tokens * (length // max(len(tokens), 1) + 1))[:length])
    base = tokenize(
        "I did not expect much from this film, but the acting is wonderful and the story "
        "kept me watching until the very end. The music is dull in places, though."
    )
    return " ".join((base * (length // len(base) + 1))[:length])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="Model directory (default: bundled).")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IMDB archive or folder.")
    ap.add_argument("--n", type=int, default=100, help="Test reviews for completeness (0: skip).")
    ap.add_argument("--length", type=int, default=230, help="Tokens of the timed review.")
    ap.add_argument(
        "--steps",
        type=int,
        default=16,
        help="Integrated-gradients intervals to start with (the library default).",
    )
    ap.add_argument("--repeats", type=int, default=20, help="Timed calls per figure.")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads per op (default: rnnlab's, half the cores; explain then runs "
        "the trajectory beside the attributions on the other half).",
    )
    ap.add_argument("--seed", type=int, default=0, help="Seed of the review sample.")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="Where to write the results.")
    args = ap.parse_args()

    import torch

    import rnnlab
    from rnnlab.explain import explain_model, memory_view
    from rnnlab.text import tokenize

    load_before = os.getloadavg()
    model = rnnlab.load(args.model, backend="torch", threads=args.threads)
    threads = torch.get_num_threads()
    test = None
    if args.data.exists():
        from rnnlab.data import load_dataset

        log(f"reading IMDB test reviews from {args.data}")
        test = load_dataset(args.data, split="test")
    else:
        log(f"{args.data} not found: synthetic review for the latency, no completeness figure")
    text = review_of_length(None if test is None else test.texts, args.length)
    n_tokens = len(tokenize(text))
    log(f"timing one {n_tokens}-token review, {args.repeats} calls each")
    latency = {
        "explain_ig": timed(lambda: explain_model(model, [text], steps=args.steps), args.repeats),
        "explain_ig_32_steps": timed(lambda: explain_model(model, [text], steps=32), args.repeats),
        "explain_occlusion": timed(
            lambda: explain_model(model, [text], method="occlusion"), args.repeats
        ),
        **parts_timed(model, text, args.steps, args.repeats),
        "predict": timed(lambda: model.predict([text]), args.repeats),
        "memory_view_layer0": timed(lambda: memory_view(model, text, layer=0), args.repeats),
    }
    [e] = explain_model(model, [text], steps=args.steps)
    figures = {
        "tokens": n_tokens,
        "steps_used": e["completeness"].get("steps"),
        "trajectory_kind": e["trajectory_kind"],
        "latency": latency,
    }

    if test is not None and args.n > 0:
        rng = np.random.default_rng(args.seed)
        pick = rng.choice(len(test), size=min(args.n, len(test)), replace=False)
        log(f"completeness on {len(pick)} test reviews (seed {args.seed})")
        errors, steps_used, lengths, fixed = [], [], [], []
        seconds = 0.0
        for k, i in enumerate(pick):
            t0 = time.perf_counter()
            [ex] = explain_model(model, [test.texts[int(i)]], steps=args.steps)
            seconds += time.perf_counter() - t0
            fixed.append(fixed_steps_error(model, test.texts[int(i)], ex["target"], args.steps))
            c = ex["completeness"]
            errors.append(c["relative_error"])
            steps_used.append(c.get("steps", 0))
            lengths.append(sum(t["read"] for t in ex["tokens"]))
            if (k + 1) % 25 == 0:
                log(f"  {k + 1}/{len(pick)}")
        worst = int(np.argmax(errors))
        figures["completeness"] = {
            "reviews": len(pick),
            "worst_relative_error": max(errors),
            "median_relative_error": float(np.median(errors)),
            "share_within_5pct": float(np.mean(np.asarray(errors) <= COMPLETENESS_FLOOR)),
            "worst_review_index": int(pick[worst]),
            "worst_review_tokens_read": lengths[worst],
            "steps_used": {str(s): steps_used.count(s) for s in sorted(set(steps_used))},
            f"worst_relative_error_fixed_{args.steps}_steps": max(fixed),
            f"median_relative_error_fixed_{args.steps}_steps": float(np.median(fixed)),
            "mean_seconds_per_review": round(seconds / len(pick), 3),
            "mean_tokens_read": float(np.mean(lengths)),
        }

    result = {
        "benchmark": "explain_speed",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "model": str(model.path),
        "settings": {"steps": args.steps, "length": args.length, "repeats": args.repeats},
        "figures": figures,
        "floors": {
            "explain_230_tokens_p50_ms <= 100": latency["explain_ig"]["p50_ms"] <= LATENCY_FLOOR_MS,
        },
    }
    if "completeness" in figures:
        result["floors"]["worst completeness error <= 5%"] = (
            figures["completeness"]["worst_relative_error"] <= COMPLETENESS_FLOOR
        )

    print(
        f"\nexplain, bundled model, one {n_tokens}-token review, {os.cpu_count()} cores, "
        f"{threads} torch thread(s) per op"
    )
    print(f"{'what':<28}{'p50 ms':>9}{'p90 ms':>9}{'min ms':>9}{'cpu p50 ms':>12}")
    for name, t in latency.items():
        print(
            f"{name:<28}{t['p50_ms']:>9.1f}{t['p90_ms']:>9.1f}{t['min_ms']:>9.1f}"
            f"{t['cpu_p50_ms']:>12.1f}"
        )
    if "completeness" in figures:
        c = figures["completeness"]
        print(
            f"\ncompleteness over {c['reviews']} IMDB test reviews: worst "
            f"{c['worst_relative_error']:.2%}, median {c['median_relative_error']:.2%}, "
            f"{c['share_within_5pct']:.0%} within 5%; steps used {c['steps_used']}"
        )
        key = f"worst_relative_error_fixed_{args.steps}_steps"
        print(f"without raising the steps ({args.steps} intervals): worst {c[key]:.2%}")
    print(f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    for name, ok in result["floors"].items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.json)
    log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
