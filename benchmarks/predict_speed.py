"""Prediction speed of a recurrent classifier: where the time goes, and what each lever buys.

    .venv/bin/python benchmarks/predict_speed.py                   # bundled model, 25k test reviews
    .venv/bin/python benchmarks/predict_speed.py --limit 2000      # a quick look (figures noisier)
    .venv/bin/python benchmarks/predict_speed.py --model DIR --threads 2 --repeats 3

Issue 10, item 4: the bundled model (2-layer BiLSTM(48)) must predict the 25,000 IMDB
test reviews at >= 2,000 reviews/s in batch (tokenizing included, 2 threads) and one
review at p50 <= 2 ms, without losing accuracy. Four parts, all on the same texts:

1. **tokenizer**: ``rnnlab.text.tokenize`` against the first release's expression
   (kept verbatim below, as in ``tests/text/test_tokenizers.py``): identical tokens on
   every review (the count is recorded), and the microseconds per review of each.
2. **breakdown** (one thread, one pass over all texts): tokenizing, vocabulary lookup
   + truncation, and the network alone for each lever (torch float32, torch bfloat16
   where the CPU has AVX512_BF16/AMX, torch with denormals flushed, onnxruntime), at
   several batch sizes, with each lever's test accuracy, the predictions that differ
   from torch float32 at batch 64 ("flips") and the largest probability difference.
3. **pipeline** (``--threads`` cores, texts in, probabilities out): the prediction path
   before this benchmark ("sequential": tokenize everything, then the network on
   ``--threads`` intra-op threads, onnxruntime spinning) against
   ``TextClassifier.predict_proba`` now (worker threads each tokenizing a chunk and
   running the network on one thread), per backend, precision, batch and chunk size.
   Rows are interleaved, each run ``--repeats`` times; the best run counts.
4. **single review**: one text at a time through the same variants (``predict_proba``
   of a one-text list) on ``--single`` random reviews after a warm-up, p50 and p95 in
   ms; one variant after another (see ``single_section``).

The machine is shared (other agents train on the same 2 cores): every section records
the load average before and after; compare rows of one run, not figures across runs.
Progress goes to stderr, the tables to stdout, the JSON to ``--json-out`` (default
``benchmarks/results/predict_speed.json``, written atomically).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import platform
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from common import log, write_json_atomic

import rnnlab
from rnnlab.data import load_dataset
from rnnlab.export import cache_path, one_torch_thread, session_options
from rnnlab.tasks.classify import load as load_classifier
from rnnlab.tasks.prepare import encode
from rnnlab.text import tokenize
from rnnlab.training.batching import padded_batches
from rnnlab.training.loop import bf16_supported

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"

# ---------------------------------------------------------------- the first release's tokenizer
_OLD_TAG_RE = re.compile(r"<[A-Za-z/][^<>]*>")
_OLD_WORD = r"[\w\u0300-\u036f]+"
_OLD_TOKEN_RE = re.compile(rf"{_OLD_WORD}(?:(?:'|(?<=\d)[.,](?=\d)){_OLD_WORD})*|\S")


def old_tokenize(text: str) -> list[str]:
    """``tokenize`` as first released (the bundled model was trained on its tokens)."""
    text = _OLD_TAG_RE.sub(" ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = unicodedata.normalize("NFC", text.lower())
    if "\u2019" in text or "\u2018" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    if "_" in text:
        text = text.replace("_", " _ ")
    return _OLD_TOKEN_RE.findall(text)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """(fastest wall seconds, the last result) of ``repeats`` calls."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def machine_info() -> dict[str, Any]:
    flags = ""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "avx512_bf16": " avx512_bf16" in flags,
        "amx_bf16": " amx_bf16" in flags,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "rnnlab": rnnlab.__version__,
    }


# ---------------------------------------------------------------- 1. tokenizer
def tokenizer_section(texts: list[str], repeats: int) -> dict[str, Any]:
    la = loadavg()
    old = [old_tokenize(t) for t in texts]
    new = [tokenize(t) for t in texts]
    same = sum(a == b for a, b in zip(old, new, strict=True))
    t_old = t_new = float("inf")
    for _ in range(repeats + 2):  # interleaved, cheap: two more rounds than the rest
        t_old = min(t_old, best_of(lambda: [old_tokenize(t) for t in texts], 1)[0])
        t_new = min(t_new, best_of(lambda: [tokenize(t) for t in texts], 1)[0])
    return {
        "texts": len(texts),
        "identical": same,
        "first_release_us": round(t_old / len(texts) * 1e6, 1),
        "now_us": round(t_new / len(texts) * 1e6, 1),
        "load_before": la,
        "load_after": loadavg(),
    }


# ---------------------------------------------------------------- 2. breakdown
def network_pass(clf, seqs, batch_size: int, run) -> tuple[float, np.ndarray]:
    """Seconds and (N, C) probabilities of ``run(ids, lengths) -> logits`` over ``seqs``."""
    probs = np.zeros((len(seqs), len(clf.label_names)))
    t0 = time.perf_counter()
    for idx, ids, lens in padded_batches(seqs, clf.text, batch_size):
        logits = np.asarray(run(ids, lens), dtype=np.float64)  # (B, C)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs[idx] = e / e.sum(axis=1, keepdims=True)
    return time.perf_counter() - t0, probs


def torch_runner(net, bf16: bool = False):
    def run(ids, lens):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return net(ids, lens).float().numpy()

    return run


def onnx_runner(net, threads: int, spinning: bool):
    session = ort.InferenceSession(
        cache_path(net).read_bytes(),
        session_options(threads, spinning=spinning),
        providers=["CPUExecutionProvider"],
    )
    return lambda ids, lens: session.run(None, {"ids": ids.numpy(), "lengths": lens.numpy()})[0]


def breakdown_section(model_dir, texts, labels, batch_sizes) -> dict[str, Any]:
    la = loadavg()
    clf = load_classifier(model_dir, backend="onnx", threads=1)  # builds the onnx cache
    n = len(texts)
    t0 = time.perf_counter()
    tokens = [clf.tokenizer(t) for t in texts]
    t_tok = time.perf_counter() - t0
    maxlen, pre = clf.text.maxlen, clf.text.truncating == "pre"
    t0 = time.perf_counter()
    seqs = [clf.vocab.encode(t[-maxlen:] if pre else t[:maxlen]) for t in tokens]
    t_enc = time.perf_counter() - t0
    levers: dict[str, Callable] = {"torch float32": torch_runner(clf.net)}
    if bf16_supported():
        levers["torch bfloat16"] = torch_runner(clf.net, bf16=True)
    levers["onnx"] = onnx_runner(clf.net, 1, spinning=False)
    levers["torch float32, jit frozen"] = torch_runner(frozen(clf.net, seqs, clf.text))
    rows, reference = [], None
    y = np.asarray(labels)
    with one_torch_thread():
        for bs in batch_sizes:
            for name, run in levers.items():
                if "jit" in name and bs != batch_sizes[0]:
                    continue
                seconds, probs = network_pass(clf, seqs, bs, run)
                if reference is None:
                    reference = probs  # torch float32 at the first batch size
                rows.append(lever_row(name, bs, seconds, probs, reference, y))
                log(f"network {name:<16} batch {bs:>3}: {rows[-1]['network_us']:7.1f} us/review")
        torch.set_flush_denormal(True)
        seconds, probs = network_pass(clf, seqs, batch_sizes[0], levers["torch float32"])
        torch.set_flush_denormal(False)
        rows.append(lever_row("torch float32, denormals flushed", batch_sizes[0], seconds,
                              probs, reference, y))  # fmt: skip
    return reference, {
        "texts": n,
        "tokens_per_review": round(sum(map(len, tokens)) / n, 1),
        "ids_per_review": round(sum(map(len, seqs)) / n, 1),
        "tokenize_us": round(t_tok / n * 1e6, 1),
        "encode_truncate_us": round(t_enc / n * 1e6, 1),
        "network": rows,
        "load_before": la,
        "load_after": loadavg(),
    }


def frozen(net, seqs, text):
    """``net`` traced on one batch, frozen and optimised for inference (TorchScript)."""
    import warnings

    _, ids, lens = next(iter(padded_batches(seqs[:64], text, 64)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, (ids, lens))))


def lever_row(name, bs, seconds, probs, reference, y) -> dict[str, Any]:
    pred, ref = probs.argmax(axis=1), reference.argmax(axis=1)
    return {
        "lever": name,
        "batch_size": bs,
        "network_us": round(seconds / len(y) * 1e6, 1),
        "accuracy": round(float((pred == y).mean()), 5),
        "flips": int((pred != ref).sum()),
        "flips_right_to_wrong": int(((ref == y) & (pred != y)).sum()),
        "flips_wrong_to_right": int(((ref != y) & (pred == y)).sum()),
        "max_abs_prob_diff": float(np.abs(probs - reference).max()),
    }


# ---------------------------------------------------------------- 3. pipeline
def sequential_proba(clf, texts, threads: int) -> np.ndarray:
    """The path before this benchmark: encode every text, then the network batch by
    batch, torch on ``threads`` intra-op threads (onnxruntime: as its session says)."""
    seqs = encode(texts, clf.vocab, clf.text, clf.tokenizer)
    torch.set_num_threads(threads)
    clf.batch_size = 64  # the default then, for both backends
    return clf._proba(seqs)


def pipeline_variants(model_dir, threads: int, single: bool = False) -> dict[str, Callable]:
    """name -> (texts -> probabilities); ``single``: the rows of the latency test."""
    torch_clf = load_classifier(model_dir, backend="torch", threads=threads)
    old_torch = load_classifier(model_dir, backend="torch", threads=threads)
    onnx_clf = load_classifier(model_dir, backend="onnx", threads=threads)
    old_onnx = load_classifier(model_dir, backend="onnx", threads=threads)
    old_onnx._session = ort.InferenceSession(  # as it was: `threads` intra-op, spinning
        cache_path(old_onnx.net).read_bytes(),
        session_options(threads, spinning=True),
        providers=["CPUExecutionProvider"],
    )
    variants = {
        "before: torch, sequential": lambda t: sequential_proba(old_torch, t, threads),
        "before: onnx, sequential": lambda t: sequential_proba(old_onnx, t, threads),
    }

    def now(clf, batch_size=None, chunk_size=512):
        batch_size = batch_size or clf.batch_size  # default: the classifier's own

        def run(t):
            clf.batch_size, clf.chunk_size = batch_size, chunk_size
            torch.set_num_threads(threads)  # as load() leaves it
            return clf.predict_proba(t)

        return run

    variants["now: onnx"] = now(onnx_clf)
    variants["now: torch float32"] = now(torch_clf)
    if bf16_supported():
        bf16_clf = load_classifier(
            model_dir, backend="torch", threads=threads, precision="bfloat16"
        )
        variants["now: torch bfloat16"] = now(bf16_clf)
    if single:
        return variants
    variants["now: onnx, batch 32"] = now(onnx_clf, batch_size=32)
    variants["now: onnx, batch 64"] = now(onnx_clf, batch_size=64)
    variants["now: onnx, chunk 1024"] = now(onnx_clf, chunk_size=1024)
    return variants


def pipeline_section(
    model_dir, texts, labels, reference, threads: int, repeats: int, before_limit: int
) -> dict[str, Any]:
    """Reviews/s of each variant (best of ``repeats`` interleaved rounds) and its CPU
    seconds: reviews per CPU-second is what the rate would be on one core of its own,
    less sensitive to the other jobs than the wall rate. ``reference``: torch float32
    probabilities of one pass (the path before), against which flips are counted. The
    "before" rows read about ``before_limit`` texts only (on a busy machine the
    intra-op threads of that path can slow it 10-100x, see rnnlab.export): every k-th
    text, so their lengths are those of the whole set."""
    la = loadavg()
    variants = pipeline_variants(model_dir, threads)
    step = max(1, -(-len(texts) // before_limit))
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    results = {}
    for rep in range(repeats):  # interleaved: each round runs every variant once
        for name, fn in variants.items():
            part = texts[::step] if name.startswith("before") else texts
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = fn(part)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            log(f"round {rep + 1}: {name:<30} {len(part) / wall[name][-1]:8.0f} reviews/s "
                f"(load {os.getloadavg()[0]:.2f})")  # fmt: skip
    y = np.asarray(labels)
    rows = []
    for name in variants:
        probs = results[name]
        n = len(probs)
        rows_of = slice(None, None, step if name.startswith("before") else 1)
        ref_probs, y_part = reference[rows_of], y[rows_of]
        pred, ref = probs.argmax(axis=1), ref_probs.argmax(axis=1)
        best = int(np.argmin(wall[name]))
        rows.append(
            {
                "variant": name,
                "texts": n,
                "reviews_per_second": round(n / wall[name][best], 1),
                "reviews_per_cpu_second": round(n / cpu[name][best], 1),
                "seconds": [round(s, 2) for s in wall[name]],
                "cpu_seconds": [round(s, 2) for s in cpu[name]],
                "accuracy": round(float((pred == y_part).mean()), 5),
                "flips_vs_before": int((pred != ref).sum()),
                "max_abs_prob_diff_vs_before": float(np.abs(probs - ref_probs).max()),
            }
        )
    return {"threads": threads, "rows": rows, "load_before": la, "load_after": loadavg()}


# ---------------------------------------------------------------- 4. single review
def single_section(model_dir, texts, n: int, threads: int, seed: int) -> dict[str, Any]:
    la = loadavg()
    rng = np.random.default_rng(seed)
    chosen = [texts[i] for i in rng.choice(len(texts), min(n, len(texts)), replace=False)]
    variants = pipeline_variants(model_dir, threads, single=True)
    # One variant after another, not interleaved: the "before" ones leave threads
    # spinning after each call (OpenMP's, onnxruntime's), which would take a core from
    # whatever runs next. The "now" ones go first.
    lat = {name: [] for name in variants}
    for name in sorted(variants, key=lambda v: v.startswith("before")):
        fn = variants[name]
        for t in chosen[:20]:
            fn([t])  # warm-up
        for t in chosen:
            t0 = time.perf_counter()
            fn([t])
            lat[name].append(time.perf_counter() - t0)
    rows = [
        {
            "variant": name,
            "p50_ms": round(float(np.percentile(v, 50)) * 1e3, 3),
            "p95_ms": round(float(np.percentile(v, 95)) * 1e3, 3),
        }
        for name, v in lat.items()
    ]
    return {"reviews": len(chosen), "rows": rows, "load_before": la, "load_after": loadavg()}


# ---------------------------------------------------------------- report
def print_tables(result: dict[str, Any]) -> None:
    tok = result["tokenizer"]
    print(f"\ntokenizer: {tok['identical']:,} / {tok['texts']:,} reviews identical to the first "
          f"release; {tok['first_release_us']} -> {tok['now_us']} us/review")  # fmt: skip
    b = result["breakdown"]
    print(f"\nper review, one thread ({b['texts']:,} reviews, {b['tokens_per_review']} tokens, "
          f"{b['ids_per_review']} ids read): tokenize {b['tokenize_us']} us, vocabulary + "
          f"truncation {b['encode_truncate_us']} us")  # fmt: skip
    print(f"{'network lever':<34}{'batch':>6}{'us/review':>11}{'accuracy':>10}{'flips':>7}"
          f"{'max |dp|':>10}")  # fmt: skip
    for r in b["network"]:
        print(f"{r['lever']:<34}{r['batch_size']:>6}{r['network_us']:>11.1f}"
              f"{r['accuracy']:>10.4f}{r['flips']:>7}{r['max_abs_prob_diff']:>10.2e}")  # fmt: skip
    p = result["pipeline"]
    print(f"\nwhole pipeline, {p['threads']} threads, best of {result['repeats']} "
          f"(load {p['load_before'][0]} -> {p['load_after'][0]})")  # fmt: skip
    print(f"{'variant':<32}{'texts':>7}{'reviews/s':>10}{'per CPU-s':>10}{'accuracy':>10}"
          f"{'flips':>7}")  # fmt: skip
    for r in p["rows"]:
        print(f"{r['variant']:<32}{r['texts']:>7}{r['reviews_per_second']:>10.0f}"
              f"{r['reviews_per_cpu_second']:>10.0f}{r['accuracy']:>10.4f}"
              f"{r['flips_vs_before']:>7}")  # fmt: skip
    s = result["single"]
    print(f"\nsingle review ({s['reviews']} reviews): "
          + ", ".join(f"{r['variant']} p50 {r['p50_ms']} ms / p95 {r['p95_ms']} ms"
                      for r in s["rows"]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="IMDB archive or folder.")
    parser.add_argument("--model", default=None, help="Classifier directory (default: bundled).")
    parser.add_argument("--limit", type=int, default=None, help="First N test reviews only.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--single", type=int, default=300, help="Reviews for the latency test.")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 16, 32, 128])
    parser.add_argument(
        "--before-limit", type=int, default=2500, help="Texts of the 'before' pipeline rows."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json-out", type=Path, default=ROOT / "benchmarks" / "results" / "predict_speed.json"
    )
    args = parser.parse_args()
    log(f"reading {args.data}")
    ds = load_dataset(args.data, split="test")
    texts, labels = list(ds.texts), list(ds.labels)
    if args.limit:
        rng = np.random.default_rng(args.seed)  # a sample across both labels
        keep = sorted(rng.choice(len(texts), min(args.limit, len(texts)), replace=False))
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    result: dict[str, Any] = {
        "benchmark": "predict_speed",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "model": args.model or "bundled (imdb-sentiment)",
        "data": str(args.data),
        "texts": len(texts),
        "repeats": args.repeats,
    }
    log("tokenizer: identity and speed")
    result["tokenizer"] = tokenizer_section(texts, args.repeats)
    log("breakdown: one thread per part")
    reference, result["breakdown"] = breakdown_section(args.model, texts, labels, args.batch_sizes)
    log(f"pipeline: {args.threads} threads, {args.repeats} interleaved rounds")
    result["pipeline"] = pipeline_section(
        args.model, texts, labels, reference, args.threads, args.repeats, args.before_limit
    )
    log("single review latency")
    result["single"] = single_section(args.model, texts, args.single, args.threads, args.seed)
    print_tables(result)
    write_json_atomic(args.json_out, result)
    print(f"\nwrote {args.json_out}")


if __name__ == "__main__":
    main()
