"""Benchmark the one-to-many conditional review generator on IMDB.

Trains ``rnnlab.tasks.generate.train_generator`` on the 25,000 labeled IMDB train
reviews (label + 1-10 star rating as the condition, first 100 tokens of each
review), measures the test perplexity (same truncation), then runs the
conditioning check: 200 samples per sentiment classified by the bundled
sentiment model (floor: >= 80% classified as requested, each), and the
classifier's mean P(pos) per requested rating. Samples are drawn with
contrastive guidance 1.5 (the library default); the shares of plain samples
(guidance 0) are reported beside them. Prints a table, writes JSON.

    nice -n 5 .venv/bin/python benchmarks/generator.py                 # full run, ~30 min
    nice -n 5 .venv/bin/python benchmarks/generator.py --no-every-step \
        --out benchmarks/results/generator_model_init_only \
        --json benchmarks/results/generator_init_only.json             # the ablation
    .venv/bin/python benchmarks/generator.py --max-train 500 --test-limit 200 --n 40 \\
        --out /tmp/gen_smoke --json /tmp/gen_smoke.json               # smoke, ~1 min
    .venv/bin/python benchmarks/generator.py --model benchmarks/results/generator_model

Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from common import log, write_json_atomic  # noqa: E402  (benchmarks/common.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "generator.json"
DEFAULT_MODEL = REPO / "benchmarks" / "results" / "generator_model"

# Floors from the issue: (key in "figures", comparison, threshold, description).
FLOORS = [
    ("positive_share", ">=", 0.80, "positive samples classified positive >= 80%"),
    ("negative_share", ">=", 0.80, "negative samples classified negative >= 80%"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labeled IMDB archive")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model directory to write")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="JSON result file")
    p.add_argument("--model", type=Path, help="measure this model directory, do not train")
    p.add_argument("--max-train", type=int, help="train on this many reviews (smoke runs)")
    p.add_argument(
        "--test-limit",
        type=int,
        default=5000,
        help="test reviews for the perplexity (random subset; 0 = all 25,000)",
    )
    p.add_argument("--max-vocab", type=int, default=8000)
    p.add_argument("--maxlen", type=int, default=100, help="first tokens kept per review")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument(
        "--every-step",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also feed the condition at every input step (--no-every-step: initial state only)",
    )
    p.add_argument(
        "--rating", action=argparse.BooleanOptionalAction, default=True, help="condition on rating"
    )
    p.add_argument("--n", type=int, default=200, help="samples per sentiment for the check")
    p.add_argument("--n-per-rating", type=int, default=50)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--max-len", type=int, default=80)
    p.add_argument(
        "--guidance", type=float, default=1.5, help="contrastive guidance of the checked samples"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def train(args) -> dict[str, Any]:
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import DEFAULT_TEXT, DEFAULT_TRAIN, train_generator

    text = DEFAULT_TEXT.replace(max_vocab=args.max_vocab, maxlen=args.maxlen)
    gen_cfg = GeneratorConfig(
        embed_dim=args.embed_dim,
        hidden_size=args.hidden,
        num_layers=args.layers,
        use_rating=args.rating,
        condition_every_step=args.every_step,
    )
    training = DEFAULT_TRAIN.replace(  # lr_decay 0.5, clip_norm 1, val_fraction 0.05
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
    )
    log(f"training: {gen_cfg.to_dict()}")
    result = train_generator(
        args.data,
        args.out,
        text=text,
        generator=gen_cfg,
        training=training,
        max_train=args.max_train,
        test_limit=args.test_limit or None,
        progress=False,
        log=lambda msg: log(f"train: {msg}"),
    )
    return result.metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from rnnlab.tasks.classify import load as load_classifier
    from rnnlab.tasks.generate import conditioning_check, load

    torch.set_num_threads(args.threads)
    if args.model is None:
        metrics = train(args)
        model_dir = args.out
    else:
        model_dir = args.model
        metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    gen = load(model_dir, threads=args.threads)
    classifier = load_classifier(threads=args.threads)  # the bundled IMDB sentiment model
    log(f"conditioning check: {args.n} samples per sentiment")
    t0 = time.perf_counter()
    check = conditioning_check(
        gen,
        n=args.n,
        classifier=classifier,
        temperature=args.temperature,
        top_k=args.top_k,
        max_len=args.max_len,
        seed=args.seed,
        n_per_rating=args.n_per_rating,
        guidance=args.guidance,
    )
    check_seconds = time.perf_counter() - t0
    log("conditioning check without guidance (plain samples from the model)")
    plain = conditioning_check(
        gen,
        n=args.n,
        classifier=classifier,
        temperature=args.temperature,
        top_k=args.top_k,
        max_len=args.max_len,
        seed=args.seed,
        ratings=False,
        guidance=0.0,
    )
    timing = metrics["timing"]
    figures = {
        "test_perplexity": metrics.get("test", {}).get("perplexity"),
        "test_texts": metrics.get("test", {}).get("n_texts"),
        "validation_perplexity": metrics["validation"]["perplexity"],
        # the network's training time ("train_seconds" in model directories written
        # before the shared task template, "network_seconds" since)
        "train_seconds": timing.get("network_seconds", timing.get("train_seconds")),
        "total_train_seconds": timing["total_seconds"],
        "positive_share": check["shares"]["positive"],
        "negative_share": check["shares"]["negative"],
        "guidance": args.guidance,
        "check_seconds": round(check_seconds, 1),
        "unguided_positive_share": plain["shares"]["positive"],
        "unguided_negative_share": plain["shares"]["negative"],
    }
    floors = []
    for key, op, threshold, desc in FLOORS:
        value = figures[key]
        ok = value is not None and (value >= threshold if op == ">=" else value <= threshold)
        floors.append({"floor": desc, "value": value, "pass": bool(ok)})
    config = gen.config
    result = {
        "benchmark": "generator",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": platform.python_version(), "torch": torch.__version__},
        "threads": args.threads,
        "model_dir": str(model_dir),
        "settings": {
            "text": config.get("text"),
            "generator": config.get("generator"),
            "train": config.get("train"),
        },
        "figures": figures,
        "rating_p_pos": check.get("rating_p_pos"),
        "floors": floors,
        "samples": check["examples"],
        "unguided_samples": plain["examples"],
        "metrics": metrics,
    }
    write_json_atomic(args.json, result)

    print(f"{'figure':<28} {'value':>12}")
    for key, value in figures.items():
        shown = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:<28} {shown:>12}")
    if check.get("rating_p_pos"):
        print("\nrating  label  mean P(pos)")
        for r, row in check["rating_p_pos"].items():
            print(f"{r:>6}  {row['label']:>5}  {row['mean_p_pos']:.3f}")
    print("\nsamples")
    for label, texts in check["examples"].items():
        for t in texts:
            print(f"  [{label}] {t}")
    print()
    for f in floors:
        print(f"{'PASS' if f['pass'] else 'FAIL'}  {f['floor']}  ({f['value']})")
    print(f"wrote {args.json}")
    return 0 if all(f["pass"] for f in floors) else 1


if __name__ == "__main__":
    sys.exit(main())
