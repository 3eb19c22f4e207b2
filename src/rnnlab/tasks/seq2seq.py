"""Sequence to sequence end to end: train, save, load, translate, evaluate.

The guide's N != M configuration as one function call::

    from rnnlab.tasks.seq2seq import load, train_seq2seq
    train_seq2seq("dates:20000", out="models/dates", test_data="dates:2000")
    model = load("models/dates")                  # or rnnlab.load("models/dates")
    model.translate(["veintiocho de noviembre de dos mil veintiséis"])
    # ['2026-11-28']

Steps: pairs -> tokens (characters or words) -> a source and a target
vocabulary (training pairs only; the target one starts ``<s>``, ``</s>``) ->
length-bucketed batches -> :class:`~rnnlab.models.seq2seq.Seq2Seq` trained by
:func:`~rnnlab.training.fit` (teacher forcing, token cross-entropy, early
stopping on a validation split) -> model directory. The test data is decoded
once at the end and never used to fit anything. :class:`Seq2SeqTask`
supplies these pieces to the shared template (:mod:`rnnlab.tasks.base`).

Data specs accepted wherever pairs are asked for:

- ``"dates"`` / ``"dates:N"``: N generated Spanish dates in words -> ISO dates
  (:mod:`rnnlab.data.dates`, seeded; a test set never repeats a training source);
- ``"lemmas:PATH"`` / ``"lemmas:PATH:SPLIT"``: (form, lemma) pairs from a
  CoNLL-U file or UD archive; training and validation read one pair per
  distinct form (its most frequent lemma), evaluation reads every token;
- any other string: a parallel TSV file (``source<TAB>target[<TAB>...]``);
- or a list of (source, target) pairs.

Metrics (:func:`rnnlab.training.metrics.score_outputs`): exact match,
character error rate (edit distance / reference length, summed over the
corpus) and, for word-level models, corpus BLEU (sacrebleu).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnlab.config import Config, TrainConfig, check_value
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.losses import masked_token_loss
from rnnlab.models.seq2seq import BOS, BOS_TOKEN, EOS, EOS_TOKEN, Seq2Seq, Seq2SeqConfig
from rnnlab.tasks.base import (
    Built,
    Task,
    TrainResult,
    apply_threads,
    check_texts,
    load_state,
    open_model_dir,
    run,
)
from rnnlab.text import PAD, Vocab, tokenize

KIND = "seq2seq"
Pair = tuple[str, str]
PairSource = str | Path | Sequence[Pair]

# Defaults for seq2seq training: more, gentler epochs than the classifier's.
DEFAULT_TRAIN = TrainConfig(epochs=20, batch_size=64, lr=3e-3, lr_decay=0.9, patience=2)
DEFAULT_DATES = 20000  # "dates" without ":N"


@dataclass(frozen=True)
class Seq2SeqTextConfig(Config):
    level: str = "char"  # "char": characters are tokens; "word": rnnlab.tokenize words
    lowercase: bool = False  # word level: lowercase tokens (char level keeps text as is)
    max_vocab: int = 20000  # per vocabulary, specials included
    min_freq: int = 1  # a token must occur this often in the training pairs
    max_source_len: int = 200  # source tokens kept (the rest is cut off)

    def __post_init__(self) -> None:
        check_value(self.level in ("char", "word"), "text.level", "'char' or 'word'", self.level)
        check_value(self.max_vocab >= 5, "text.max_vocab", "an integer >= 5", self.max_vocab)
        check_value(self.min_freq >= 1, "text.min_freq", "an integer >= 1", self.min_freq)
        check_value(
            self.max_source_len >= 1, "text.max_source_len", "an integer >= 1", self.max_source_len
        )


def split_tokens(text: str, level: str, lowercase: bool = False) -> list[str]:
    """Characters of ``text`` (char level) or its rnnlab.tokenize words (word level)."""
    if level == "char":
        return list(text)
    return tokenize(text, lowercase=lowercase)


def join_tokens(tokens: Sequence[str], level: str) -> str:
    """Inverse of :func:`split_tokens` up to spacing: words are joined by one space."""
    return "".join(tokens) if level == "char" else " ".join(tokens)


def build_vocabs(pairs: Sequence[Pair], text: Seq2SeqTextConfig) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies from training pairs; target ids 2, 3 are <s>, </s>."""
    src = Vocab.build(
        (split_tokens(s, text.level, text.lowercase) for s, _ in pairs),
        max_size=text.max_vocab,
        min_freq=text.min_freq,
    )
    built = Vocab.build(
        (split_tokens(t, text.level, text.lowercase) for _, t in pairs),
        max_size=text.max_vocab - 2,
        min_freq=text.min_freq,
    )
    regular = [t for t in built.itos[2:] if t not in (BOS_TOKEN, EOS_TOKEN)]
    tgt = Vocab(
        [BOS_TOKEN, EOS_TOKEN, *regular],
        built.counts,
        min_freq=text.min_freq,
        max_size=text.max_vocab,
    )
    assert tgt.stoi[BOS_TOKEN] == BOS and tgt.stoi[EOS_TOKEN] == EOS
    return src, tgt


# ---------------------------------------------------------------------------- data


def _split_spec(spec: str) -> tuple[str, str | None]:
    """``lemmas:PATH[:SPLIT]`` -> (PATH, SPLIT or None)."""
    body = spec[len("lemmas:") :]
    head, _, tail = body.rpartition(":")
    if head and tail in ("train", "dev", "test"):
        return head, tail
    return body, None


def load_pairs(
    data: str | Path | Sequence[Pair],
    role: str = "train",
    seed: int = 0,
    exclude: set[str] | None = None,
) -> list[Pair]:
    """Pairs from a spec (see the module docstring) for ``role`` train, dev or test.

    ``exclude``: for ``dates``, source strings the generated set must avoid.
    """
    if not isinstance(data, str | Path):
        pairs = list(data)
        for i, p in enumerate(pairs):
            if not (
                isinstance(p, tuple | list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            ):
                raise DataError(f"pair {i} must be a (source, target) tuple of str, got {p!r}")
        if not pairs:
            raise DataError("no pairs given; pass at least one (source, target) pair")
        return [(s, t) for s, t in pairs]
    spec = str(data)
    if spec == "dates" or spec.startswith("dates:"):
        from rnnlab.data.dates import generate_dates

        count = spec.partition(":")[2] or str(DEFAULT_DATES)
        if not count.isdigit() or int(count) < 1:
            raise DataError(f"--data {spec}: expected dates:N with N a positive integer")
        offset = {"train": 0, "dev": 1, "test": 2}[role]  # a different stream per role
        return generate_dates(int(count), seed + 1_000_003 * offset, exclude or set())
    if spec.startswith("lemmas:"):
        from rnnlab.data.conllu import load_conllu
        from rnnlab.data.parallel import lemma_pairs

        path, split = _split_spec(spec)
        if not path:
            raise DataError("--data lemmas: needs a path, e.g. lemmas:ud_english_ewt.tar.gz")
        treebank = load_conllu(path, split or role)
        return lemma_pairs(treebank, unique=role != "test")
    from rnnlab.data.parallel import read_parallel_tsv

    return read_parallel_tsv(spec)


def _encode_pairs(pairs, src_vocab, tgt_vocab, text, max_output_len):
    src, tgt = [], []
    for s, t in pairs:
        src.append(
            src_vocab.encode(split_tokens(s, text.level, text.lowercase))[: text.max_source_len]
        )
        tgt.append(tgt_vocab.encode(split_tokens(t, text.level, text.lowercase))[:max_output_len])
    return src, tgt


def _batches(src, tgt, batch_size, shuffle, seed):
    from rnnlab.training import bucket_batches, collate

    lengths = np.fromiter((len(s) for s in src), dtype=np.int64, count=len(src))
    tgt_out = [[*t, EOS] for t in tgt]  # y_1 .. y_M </s>
    tgt_in = [[BOS, *t] for t in tgt]  # <s> y_1 .. y_M
    out = []
    for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
        ids, lens = collate(src, idx)  # (N, S), (N,)
        y_in, _ = collate(tgt_in, idx)  # (N, M+1)
        y_out, _ = collate(tgt_out, idx)  # (N, M+1)
        out.append((ids, lens, y_in, y_out))
    return out


def seq2seq_step(model, batch):
    """Teacher-forced token cross-entropy (padding ignored) and correct-token count."""
    ids, lens, y_in, y_out = batch
    logits = model(ids, lens, y_in)  # (N, M, V)
    return masked_token_loss(logits, y_out, PAD)


def split_pairs(pairs: list[Pair], val_fraction: float, seed: int) -> tuple[list, list]:
    """``(train, validation)``: a seeded ``val_fraction`` share of ``pairs`` (at least 1)."""
    if len(pairs) < 4:
        raise DataError(
            f"need at least 4 training pairs to carve a validation split, got {len(pairs)}"
        )
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_val = max(1, round(len(pairs) * val_fraction))
    return [pairs[i] for i in order[n_val:]], [pairs[i] for i in order[:n_val]]


class PairSplits(NamedTuple):
    """What :meth:`Seq2SeqTask.read` reads (test may be None)."""

    train: list[Pair]
    val: list[Pair]
    test: list[Pair] | None


class Seq2SeqTask(Task):
    """N -> M: source tokens -> encoder -> attention decoder -> target tokens."""

    kind = KIND
    accuracy_name = "token acc"

    def __init__(self, data, val_data, test_data, text, model, training, beam_size) -> None:
        super().__init__(training)
        self.source, self.val_source, self.test_source = data, val_data, test_data
        self.text, self.model, self.beam_size = text, model, beam_size

    def read(self, log) -> PairSplits:
        seed = self.training.seed
        pairs = load_pairs(self.source, "train", seed)
        if self.val_source is not None:
            val = load_pairs(self.val_source, "dev", seed, exclude={s for s, _ in pairs})
            train = pairs
        else:
            train, val = split_pairs(pairs, self.training.val_fraction, seed)
        test = None
        if self.test_source is not None:
            seen = {s for s, _ in pairs} | {s for s, _ in val}
            test = load_pairs(self.test_source, "test", seed, exclude=seen)
        log(
            f"data: {len(train)} train / {len(val)} validation pairs"
            + (f" / {len(test)} test" if test is not None else "")
        )
        return PairSplits(train, val, test)

    def build(self, data: PairSplits, log) -> Built:
        text, model, training = self.text, self.model, self.training
        src_vocab, tgt_vocab = build_vocabs(data.train, text)
        log(f"vocabulary ({text.level}): source {len(src_vocab)}, target {len(tgt_vocab)} entries")
        train_src, train_tgt = _encode_pairs(
            data.train, src_vocab, tgt_vocab, text, model.max_output_len
        )
        val_src, val_tgt = _encode_pairs(data.val, src_vocab, tgt_vocab, text, model.max_output_len)
        net = Seq2Seq(model, len(src_vocab), len(tgt_vocab))
        source = self.source if isinstance(self.source, str | Path) else "<pairs>"
        config = {
            "source_vocab_size": len(src_vocab),
            "target_vocab_size": len(tgt_vocab),
            "text": text.to_dict(),
            "model": model.to_dict(),
            "data": {
                "source": str(source),
                "n_train": len(data.train),
                "n_validation": len(data.val),
            },
        }

        def write_vocabs(path: Path) -> None:
            doc = {"source": src_vocab.to_dict(), "target": tgt_vocab.to_dict()}
            path.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")

        return Built(
            net,
            config,
            {"vocab.json": write_vocabs},
            train_batches=lambda epoch: _batches(
                train_src, train_tgt, training.batch_size, True, training.seed + epoch
            ),
            val_batches=_batches(val_src, val_tgt, 256, False, 0),
            state={"vocabs": (src_vocab, tgt_vocab)},
        )

    step = staticmethod(seq2seq_step)

    def predictor(self, built: Built) -> Translator:
        return Translator(built.net.eval(), *built.state["vocabs"], self.text, self.model)

    def evaluate(self, model: Translator, data: PairSplits, log) -> dict[str, Any]:
        return {"validation": evaluate(model, data.val, beam_size=self.beam_size)}

    def test(self, model: Translator, data: PairSplits, log) -> dict[str, Any] | None:
        if data.test is None:
            return None
        log(f"decoding {len(data.test)} test pairs (beam {self.beam_size})")
        return evaluate(model, data.test, beam_size=self.beam_size)


def train_seq2seq(
    data: PairSource,
    out: str | Path,
    test_data: PairSource | None = None,
    val_data: PairSource | None = None,
    text: Seq2SeqTextConfig | None = None,
    model: Seq2SeqConfig | None = None,
    training: TrainConfig | None = None,
    beam_size: int = 1,
    progress: bool = True,
    log=print,
    resume: bool = False,
) -> TrainResult:
    """Train an encoder-decoder and write its model directory.

    Parameters
    ----------
    data : spec or list of pairs
        Training pairs (see the module docstring for specs).
    out : path
        Model directory to create (an existing model directory is replaced).
    test_data : spec or list of pairs, optional
        Decoded once after training; exact match, CER (and BLEU) go to metrics.json.
    val_data : spec or list of pairs, optional
        Pairs for early stopping; default: ``training.val_fraction`` of ``data``.
    text, model, training : configs
        Defaults: ``Seq2SeqTextConfig()`` (characters), ``Seq2SeqConfig()`` (a
        bidirectional GRU encoder with Bahdanau attention), :data:`DEFAULT_TRAIN`.
    beam_size : int
        Beam used for the final validation/test decoding (1: greedy).
    resume : bool
        Continue a killed or interrupted run from its newest valid checkpoint
        (``<out>.checkpoints``); the result is bit-identical to an uninterrupted run.
    log : callable
        Receives one-line progress messages.

    Returns
    -------
    TrainResult
        ``metrics`` holds "validation", "test" (when given) and "timing";
        ``model`` is the trained :class:`Translator`.
    """
    task = Seq2SeqTask(
        data,
        val_data,
        test_data,
        text or Seq2SeqTextConfig(),
        model or Seq2SeqConfig(),
        training or DEFAULT_TRAIN,
        beam_size,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


# ---------------------------------------------------------------------------- inference


class Translator:
    """A trained encoder-decoder: ``translate(texts) -> list of str``.

    Obtain one with :func:`load` (or as ``train_seq2seq(...).model``).
    """

    def __init__(
        self,
        net: Seq2Seq,
        source_vocab: Vocab,
        target_vocab: Vocab,
        text: Seq2SeqTextConfig,
        model: Seq2SeqConfig,
        path: Path | None = None,
        config: dict | None = None,
        batch_size: int = 256,
    ) -> None:
        self.net = net
        self.source_vocab = source_vocab
        self.target_vocab = target_vocab
        self.text = text
        self.model = model
        self.path = path
        self.config = config or {}
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return (
            f"Translator(path={self.path}, level={self.text.level}, "
            f"attention={self.model.attention})"
        )

    def predict(
        self, texts: Sequence[str], beam_size: int = 1, max_len: int | None = None
    ) -> list[dict[str, Any]]:
        """``[{"translation": str, "score": model log-probability}]``, one per text, in order.

        ``beam_size=1`` decodes greedily; ``max_len`` defaults to the model's
        ``max_output_len``.
        """
        import torch

        from rnnlab.training import bucket_batches, collate

        texts = check_texts(texts)
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise RnnlabError(f"beam_size must be an integer >= 1, got {beam_size!r}")
        t = self.text
        seqs = [
            self.source_vocab.encode(split_tokens(x, t.level, t.lowercase))[: t.max_source_len]
            for x in texts
        ]
        results: list[dict[str, Any]] = [{}] * len(seqs)
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        self.net.eval()
        with torch.inference_mode():
            for idx in bucket_batches(lengths, self.batch_size):
                ids, lens = collate(seqs, idx)  # (B, S), (B,)
                if beam_size == 1:
                    outs, scores = self.net.greedy(ids, lens, max_len)
                else:
                    outs, scores = self.net.beam_search(ids, lens, beam_size, max_len)
                for row, i in enumerate(idx):
                    tokens = self.target_vocab.decode(outs[row])
                    results[int(i)] = {
                        "translation": join_tokens(tokens, t.level),
                        "score": float(scores[row]),
                    }
        return results

    def translate(
        self, texts: Sequence[str], beam_size: int = 1, max_len: int | None = None
    ) -> list[str]:
        """Output text for each input text (greedy when ``beam_size=1``)."""
        return [r["translation"] for r in self.predict(texts, beam_size, max_len)]


def load(path: str | Path, threads: int | None = None) -> Translator:
    """Load a model directory written by :func:`train_seq2seq`.

    ``threads``: see :func:`rnnlab.tasks.base.resolve_threads` (default: half
    the cores; 0: all). ``rnnlab.load`` dispatches here on kind "seq2seq".
    """
    path, config = open_model_dir(path, KIND)
    try:
        text = Seq2SeqTextConfig.from_dict(config["text"])
        model_cfg = Seq2SeqConfig.from_dict(config["model"])
        doc = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        src_vocab = Vocab.from_dict(doc["source"])
        tgt_vocab = Vocab.from_dict(doc["target"])
        sizes = config["source_vocab_size"], config["target_vocab_size"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"cannot load model from {path}: {str(exc).splitlines()[0]}") from None
    if (len(src_vocab), len(tgt_vocab)) != sizes:
        raise ArtifactError(f"{path}: vocab.json does not match config.json; retrain the model")
    net = load_state(lambda: Seq2Seq(model_cfg, *sizes), path)
    apply_threads(threads)
    return Translator(net, src_vocab, tgt_vocab, text, model_cfg, path, config)


# ---------------------------------------------------------------------------- evaluation


def evaluate(
    model: Translator | str | Path,
    data: str | Path | Sequence[Pair],
    beam_size: int = 1,
    max_examples: int = 10,
) -> dict[str, Any]:
    """Decode ``data``'s sources and compare with its targets.

    References are normalised like the model's outputs (word level: tokens
    joined by single spaces). Returns exact match, CER, BLEU (word level,
    else None), throughput and up to ``max_examples`` mistakes.
    """
    translator = model if isinstance(model, Translator) else load(model)
    exclude = None
    trained_on = str(translator.config.get("data", {}).get("source", ""))
    seed = translator.config.get("train", {}).get("seed", 0)
    if isinstance(data, str) and data.startswith("dates") and trained_on.startswith("dates"):
        # regenerate the training dates so that the test set shares no source with them
        exclude = {s for s, _ in load_pairs(trained_on, "train", seed)}
    pairs = load_pairs(data, "test", seed, exclude=exclude)
    from rnnlab.training.metrics import score_outputs

    t = translator.text
    refs = [join_tokens(split_tokens(r, t.level, t.lowercase), t.level) for _, r in pairs]
    t0 = time.perf_counter()
    hyps = translator.translate([s for s, _ in pairs], beam_size=beam_size)
    seconds = time.perf_counter() - t0
    metrics = score_outputs(hyps, refs, t.level)
    metrics["beam_size"] = beam_size
    metrics["pairs_per_second"] = round(len(pairs) / max(seconds, 1e-9), 1)
    metrics["errors"] = [
        {"source": s, "reference": r, "output": h}
        for (s, _), r, h in zip(pairs, refs, hyps, strict=True)
        if h != r
    ][:max_examples]
    if isinstance(data, str | Path):
        metrics["data"] = str(data)
    return metrics
