"""Benchmark the encoder-decoder (N != M) on dates and on lemmatisation.

(a) dates: Spanish dates in words -> ISO dates, generated (``rnnlab.data.dates``);
    train on ``--dates-train`` pairs (15,000), exact match on ``--dates-test`` held-out
    pairs whose source strings never occur in training. Floor: >= 99%.
(b) lemmas: character-level form -> lemma on UD English EWT: trained on the
    distinct forms of train (each with its most frequent lemma), early
    stopping on dev, exact match on every *token* of test. Floor: >= 90%.
    Also Spanish GSD (train on dev, test on test; no train split here), and
    the trivial baselines (identity copy, lowercased copy), and a lexicon
    (most frequent training lemma of a seen form) in front of the model.

    .venv/bin/python benchmarks/seq2seq.py                       # everything
    .venv/bin/python benchmarks/seq2seq.py --part dates
    .venv/bin/python benchmarks/seq2seq.py --part lemmas --epochs 1 --limit 2000   # smoke

Each part merges its figures into benchmarks/results/seq2seq.json, so parts
can be run one at a time. Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
DEFAULT_EWT = DATA / "ud_english_ewt_v2.15.tar.gz"
DEFAULT_GSD = DATA / "ud_spanish_gsd_v2.15_devtest.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "seq2seq.json"
RESULTS = REPO / "benchmarks" / "results"

# Floors from the issue: (key in "figures", comparison, threshold, description).
FLOORS = [
    ("dates_test_exact_match", ">=", 0.99, "dates: held-out exact match >= 99%"),
    ("ewt_test_token_exact_match_model", ">=", 0.90, "EWT lemmas (model alone): exact >= 90%"),
]


def train_config(args, **defaults):
    from rnnlab.tasks.seq2seq import DEFAULT_TRAIN

    changes = {"threads": args.threads, "seed": args.seed, **defaults}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    return DEFAULT_TRAIN.replace(**changes)


def model_config(args, **defaults):
    from rnnlab.models.seq2seq import Seq2SeqConfig

    if args.hidden is not None:
        defaults["hidden_size"] = args.hidden
    if args.attention is not None:
        defaults["attention"] = args.attention
    return Seq2SeqConfig(**defaults)


# --------------------------------------------------------------------------- dates


def run_dates(args) -> dict[str, Any]:
    from rnnlab.data.dates import date_splits
    from rnnlab.tasks.seq2seq import evaluate, train_seq2seq

    train, test = date_splits(args.dates_train, args.dates_test, args.seed)
    overlap = len({s for s, _ in train} & {s for s, _ in test})
    log(f"dates: {len(train)} train / {len(test)} held-out pairs (overlap {overlap})")
    t0, c0 = time.perf_counter(), time.process_time()
    result = train_seq2seq(
        train,
        RESULTS / "seq2seq_dates_model",
        test_data=test,
        model=model_config(args, embedding_dim=32, hidden_size=64, max_output_len=12),
        training=train_config(args, batch_size=128, epochs=4, lr=4e-3, lr_decay=0.85),
        progress=False,
        log=lambda m: log(f"dates: {m}"),
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    test_m = result.metrics["test"]
    beam = evaluate(result.out, test, beam_size=4, max_examples=5)
    return {
        "dates_n_train": len(train),
        "dates_n_test": len(test),
        "dates_source_overlap": overlap,
        "dates_train_seconds": round(result.metrics["timing"]["fit_seconds"], 1),
        "dates_total_seconds": round(seconds, 1),
        "dates_total_cpu_seconds": round(cpu, 1),  # this process only: the machine is shared
        "dates_epochs_run": len(result.history),
        "dates_test_exact_match": test_m["exact_match"],
        "dates_test_cer": test_m["cer"],
        "dates_test_exact_match_beam4": beam["exact_match"],
        "dates_errors": test_m["errors"][:5],
    }


# --------------------------------------------------------------------------- lemmas


def lexicon(pairs) -> dict[str, str]:
    counts: dict[str, Counter] = {}
    for form, lemma in pairs:
        counts.setdefault(form, Counter())[lemma] += 1
    return {f: min(c.items(), key=lambda it: (-it[1], it[0]))[0] for f, c in counts.items()}


def exact(outputs, tokens) -> float:
    return sum(o == lemma for o, (_, lemma) in zip(outputs, tokens, strict=True)) / len(tokens)


def run_lemmas(args, name: str, archive: Path, train_split: str, val_split: str | None):
    from rnnlab.data.conllu import load_conllu
    from rnnlab.data.parallel import lemma_pairs
    from rnnlab.tasks.seq2seq import load, train_seq2seq

    train_tokens = lemma_pairs(load_conllu(archive, train_split))
    test_tokens = lemma_pairs(load_conllu(archive, "test"))
    train = lemma_pairs(load_conllu(archive, train_split), unique=True)
    val = lemma_pairs(load_conllu(archive, val_split), unique=True) if val_split else None
    if args.limit:
        train = train[: args.limit]
    log(
        f"{name}: {len(train_tokens)} train tokens -> {len(train)} distinct forms; "
        f"{len(test_tokens)} test tokens"
    )
    out = RESULTS / f"seq2seq_lemma_model{'' if name == 'ewt' else '_' + name}"
    t0, c0 = time.perf_counter(), time.process_time()
    result = train_seq2seq(
        train,
        out,
        val_data=val,
        model=model_config(args, embedding_dim=48, hidden_size=128, max_output_len=40),
        training=train_config(args, batch_size=64, epochs=15, lr=3e-3, lr_decay=0.85),
        progress=False,
        log=lambda m: log(f"{name}: {m}"),
    )
    train_seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    model = load(out, threads=args.threads)
    forms = sorted({f for f, _ in test_tokens})
    t1 = time.perf_counter()
    lemma_of = dict(zip(forms, model.translate(forms), strict=True))
    decode_seconds = time.perf_counter() - t1
    model_out = [lemma_of[f] for f, _ in test_tokens]
    lex = lexicon(train_tokens)
    seen = [f in lex for f, _ in test_tokens]
    combo = [lex.get(f, m) for (f, _), m in zip(test_tokens, model_out, strict=True)]
    lex_lower = [lex.get(f, f.lower()) for f, _ in test_tokens]
    unseen = [(t, m) for t, m, s in zip(test_tokens, model_out, seen, strict=True) if not s]
    errors = [
        {"form": f, "lemma": lemma, "output": m}
        for (f, lemma), m in zip(test_tokens, model_out, strict=True)
        if m != lemma
    ]
    return {
        f"{name}_n_train_forms": len(train),
        f"{name}_n_test_tokens": len(test_tokens),
        f"{name}_train_seconds": round(result.metrics["timing"]["fit_seconds"], 1),
        f"{name}_total_seconds": round(train_seconds, 1),
        f"{name}_total_cpu_seconds": round(cpu, 1),  # this process only: the machine is shared
        f"{name}_epochs_run": len(result.history),
        f"{name}_test_token_exact_match_model": exact(model_out, test_tokens),
        f"{name}_test_token_exact_match_lexicon_then_model": exact(combo, test_tokens),
        f"{name}_test_token_exact_match_identity": exact([f for f, _ in test_tokens], test_tokens),
        f"{name}_test_token_exact_match_lowercase": exact(
            [f.lower() for f, _ in test_tokens], test_tokens
        ),
        f"{name}_test_token_exact_match_lexicon_then_lowercase": exact(lex_lower, test_tokens),
        f"{name}_test_unseen_token_share": 1 - sum(seen) / len(seen),
        f"{name}_test_unseen_token_exact_match_model": (
            sum(m == t[1] for t, m in unseen) / len(unseen) if unseen else None
        ),
        f"{name}_decode_forms_per_second": round(len(forms) / max(decode_seconds, 1e-9), 1),
        f"{name}_errors": Counter((e["form"], e["lemma"], e["output"]) for e in errors).most_common(
            8
        ),
    }


# --------------------------------------------------------------------------- report


def check_floors(figures: dict[str, Any]) -> list[tuple[str, Any, str]]:
    rows = []
    for key, op, threshold, desc in FLOORS:
        value = figures.get(key)
        if value is None:
            rows.append((desc, None, "NOT RUN"))
            continue
        ok = value >= threshold if op == ">=" else value <= threshold
        rows.append((desc, value, "PASS" if ok else "FAIL"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--part",
        choices=["all", "dates", "lemmas", "spanish", "report"],
        default="all",
        help="what to run; report only re-prints the JSON's figures and floors",
    )
    p.add_argument("--dates-train", type=int, default=15000)
    p.add_argument("--dates-test", type=int, default=2000)
    p.add_argument("--ewt", type=Path, default=DEFAULT_EWT)
    p.add_argument("--gsd", type=Path, default=DEFAULT_GSD)
    p.add_argument("--epochs", type=int, default=None, help="override the maximum epochs")
    p.add_argument("--hidden", type=int, default=None, help="override the hidden size")
    p.add_argument("--attention", default=None, help="none, bahdanau or luong")
    p.add_argument("--limit", type=int, default=None, help="training forms kept (smoke runs)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    figures: dict[str, Any] = {}
    if args.part in ("all", "dates"):
        figures.update(run_dates(args))
    if args.part in ("all", "lemmas"):
        figures.update(run_lemmas(args, "ewt", args.ewt, "train", "dev"))
    if args.part in ("all", "spanish"):
        figures.update(run_lemmas(args, "gsd", args.gsd, "dev", None))
    if args.json.is_file():  # merge with the figures of parts run before (read now, not at start)
        earlier = json.loads(args.json.read_text(encoding="utf-8")).get("figures", {})
        figures = {**earlier, **figures}
    floors = check_floors(figures)
    doc = {
        "benchmark": "seq2seq",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": args.threads,
            "cpu_count": os.cpu_count(),
        },
        "args": {k: str(v) for k, v in vars(args).items()},
        "figures": figures,
        "floors": [{"floor": d, "value": v, "result": r} for d, v, r in floors],
    }
    write_json_atomic(args.json, doc)

    print(f"{'figure':<58} {'value':>10}")
    for key, value in figures.items():
        if isinstance(value, float):
            print(f"{key:<58} {value:>10.4f}")
        elif isinstance(value, int):
            print(f"{key:<58} {value:>10}")
    print()
    for desc, value, res in floors:
        shown = "-" if value is None else f"{value:.4f}"
        print(f"{res:<8} {desc:<50} {shown}")
    print(f"wrote {args.json}")
    return 0 if all(r != "FAIL" for _, _, r in floors) else 1


if __name__ == "__main__":
    sys.exit(main())
