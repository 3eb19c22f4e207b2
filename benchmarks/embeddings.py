"""Benchmark Word2Vec (CBOW and skip-gram) trained on the IMDB train reviews.

Trains both algorithms with the settings of ``rnnlab embed train`` (100-d,
window 5, min_count 2, 10 epochs, seed 0, one worker thread) on the 25,000
IMDB *train* reviews (never the test split), saves each as a vectors folder,
then measures: training seconds, vocabulary size, WordSim353 and SimLex-999
Spearman correlation, Google analogy accuracy (semantic / syntactic / overall,
answered among the 30,000 most frequent words, with OOV counts), the 5 nearest
neighbours of a few words and a few analogies. Prints a table and writes JSON.

    nice -n 5 .venv/bin/python benchmarks/embeddings.py            # full run, ~10 min
    .venv/bin/python benchmarks/embeddings.py --limit 2000 --epochs 2  # smoke
    .venv/bin/python benchmarks/embeddings.py --reuse                  # evaluate saved vectors

The vectors folders go to benchmarks/results/w2v_cbow/ and w2v_skipgram/.
Progress goes to stderr; the table to stdout. The issue sets no numeric
floors for this benchmark, so none are checked.
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

from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz").resolve()
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_JSON = RESULTS / "embeddings.json"

WORDS = ["good", "awful", "actor", "movie", "boring"]
# (a, b, c, expected): a - b + c ~ expected
ANALOGIES = [
    ("king", "man", "woman", "queen"),
    ("actor", "man", "woman", "actress"),
    ("better", "good", "bad", "worse"),
]


def peak_rss_gb() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (ru if sys.platform == "darwin" else ru * 1024) / 1e9


def measure(algorithm: str, args, train_ds) -> dict[str, Any]:
    from rnnlab.embeddings.quality import (
        analogy,
        evaluate,
        neighbors,
    )
    from rnnlab.embeddings.word2vec import Word2VecConfig, load_word_vectors, train_vectors
    from rnnlab.errors import RnnlabError

    out = RESULTS / f"w2v_{algorithm}"
    if args.reuse:
        meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
        log(f"{algorithm}: reusing {out}")
    else:
        epochs = args.sg_epochs if algorithm == "skipgram" and args.sg_epochs else args.epochs
        config = Word2VecConfig(algorithm=algorithm, epochs=epochs, seed=args.seed)
        data = train_ds if args.limit is not None else args.data  # a path: split "train" recorded
        meta = train_vectors(data, out, config, log=lambda m: log(f"{algorithm}: {m}"))
    kv = load_word_vectors(out)
    log(f"{algorithm}: evaluating ({len(kv.index_to_key)} words)")
    t0 = time.perf_counter()
    scores = evaluate(kv, restrict_vocab=args.restrict_vocab)
    log(f"{algorithm}: evaluated in {time.perf_counter() - t0:.1f} s")
    near = {}
    for w in WORDS:
        try:
            near[w] = [r["word"] for r in neighbors(kv, w, k=5)]
        except RnnlabError as exc:
            near[w] = [f"({exc})"]
    analogies = []
    for a, b, c, expected in ANALOGIES:
        try:
            found = [r["word"] for r in analogy(kv, a, b, c, k=5)]
        except RnnlabError as exc:
            found = [f"({exc})"]
        rank = found.index(expected) + 1 if expected in found else None
        analogies.append(
            {"a": a, "b": b, "c": c, "expected": expected, "top5": found, "rank": rank}
        )
    return {
        "out": str(out),
        "config": meta.get("word2vec"),
        "data": meta.get("data"),
        "train_seconds": meta.get("train_seconds"),
        "vocab_size": meta.get("vocab_size"),
        "similarity": scores["similarity"],
        "analogy": scores["analogy"],
        "notes": scores["notes"],
        "neighbors": near,
        "analogies": analogies,
    }


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    rows: list[tuple[str, list[str]]] = [
        ("train seconds", [f"{results[n]['train_seconds']:.1f}" for n in names]),
        ("epochs", [str(results[n]["config"]["epochs"]) for n in names]),
        ("vocabulary size", [str(results[n]["vocab_size"]) for n in names]),
    ]
    for key, label in (("wordsim353", "WordSim353"), ("simlex999", "SimLex-999")):
        cells = []
        for n in names:
            s = results[n]["similarity"].get(key)
            cells.append(
                "n/a" if s is None else f"{num(s['spearman'])} (OOV {s['oov_pairs']}/{s['pairs']})"
            )
        rows.append((f"{label} Spearman", cells))
    for part in ("semantic", "syntactic", "overall"):
        cells = []
        for n in names:
            a = results[n]["analogy"]
            if a is None:
                cells.append("n/a")
                continue
            t = a[part]
            cells.append(
                f"{pct(t['accuracy'])} of {t['answered']} (OOV {t['oov']}/{t['questions']})"
            )
        rows.append((f"analogy {part}", cells))
    for w in WORDS:
        rows.append((f"neighbours '{w}'", [", ".join(results[n]["neighbors"][w]) for n in names]))
    for i, (a, b, c, e) in enumerate(ANALOGIES):
        cells = []
        for n in names:
            r = results[n]["analogies"][i]
            cells.append(f"{', '.join(r['top5'][:3])} (rank of {e}: {r['rank'] or '>5'})")
        rows.append((f"{a} - {b} + {c}", cells))
    width0 = max(len(r[0]) for r in rows)
    widths = [max(len(n), *(len(r[1][i]) for r in rows)) for i, n in enumerate(names)]
    print(f"{'':<{width0}}  " + "  ".join(f"{n:<{w}}" for n, w in zip(names, widths, strict=True)))
    for label, cells in rows:
        print(
            f"{label:<{width0}}  "
            + "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="IMDB archive (train split used)")
    p.add_argument("--epochs", type=int, default=10, help="Word2Vec epochs (default 10)")
    p.add_argument(
        "--sg-epochs", type=int, default=None, help="skip-gram epochs if different from --epochs"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--restrict-vocab", type=int, default=30000)
    p.add_argument("--limit", type=int, default=None, help="use only N train reviews (smoke)")
    p.add_argument("--algorithms", default="cbow,skipgram", help="comma-separated: cbow, skipgram")
    p.add_argument("--reuse", action="store_true", help="evaluate the saved vectors folders")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = p.parse_args(argv)

    from rnnlab.data import load_dataset

    train_ds = None
    source, sha = args.data, None
    if not args.reuse:
        log(f"loading IMDB train reviews from {args.data}")
        train_ds = load_dataset(args.data, label_col=None, split="train")
        if args.limit is not None and args.limit < len(train_ds):
            import numpy as np

            idx = np.random.default_rng(args.seed).permutation(len(train_ds))[: args.limit]
            train_ds = train_ds.subset(np.sort(idx))
        sha = train_ds.sha256
        log(f"{len(train_ds)} reviews")

    results = {}
    for algorithm in [a.strip() for a in args.algorithms.split(",") if a.strip()]:
        results[algorithm] = measure(algorithm, args, train_ds)

    print_table(results)
    print("floors: none set by the issue for this benchmark (figures are reported only)")
    report = {
        "benchmark": "embeddings",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "data": {"source": source, "sha256": sha, "split": "train", "limit": args.limit},
        "restrict_vocab": args.restrict_vocab,
        "peak_rss_gb": round(peak_rss_gb(), 3),
        "results": results,
        "floors": [],
    }
    write_json_atomic(args.json, report)
    log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
