"""Sequence to sequence end to end: train, save, load, translate, evaluate.

The guide's N != M configuration as one function call::

    from rnnlab.tasks.seq2seq import train_seq2seq, load_seq2seq
    train_seq2seq("dates:20000", out="models/dates", test_data="dates:2000")
    model = load_seq2seq("models/dates")
    model.translate(["veintiocho de noviembre de dos mil veintiséis"])
    # ['2026-11-28']

Steps: pairs -> tokens (characters or words) -> a source and a target
vocabulary (training pairs only; the target one starts ``<s>``, ``</s>``) ->
length-bucketed batches -> :class:`~rnnlab.models.seq2seq.Seq2Seq` trained by
:func:`~rnnlab.training.fit` (teacher forcing, token cross-entropy, early
stopping on a validation split) -> model directory. The test data is decoded
once at the end and never used to fit anything.

Data specs accepted wherever pairs are asked for:

- ``"dates"`` / ``"dates:N"``: N generated Spanish dates in words -> ISO dates
  (:mod:`rnnlab.data.dates`, seeded; a test set never repeats a training source);
- ``"lemmas:PATH"`` / ``"lemmas:PATH:SPLIT"``: (form, lemma) pairs from a
  CoNLL-U file or UD archive; training and validation read one pair per
  distinct form (its most frequent lemma), evaluation reads every token;
- any other string: a parallel TSV file (``source<TAB>target[<TAB>...]``);
- or a list of (source, target) pairs.

Metrics: exact match, character error rate (edit distance / reference length,
summed over the corpus) and, for word-level models, corpus BLEU (sacrebleu).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.artifacts import (
    base_config,
    check_output_dir,
    checkpoint_dir_for,
    json_writer,
    load_weights,
    read_config,
    weights_writer,
    write_model_dir,
)
from rnnlab.config import TrainConfig, _check, _Config
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.seq2seq import BOS, BOS_TOKEN, EOS, EOS_TOKEN, Seq2Seq, Seq2SeqConfig
from rnnlab.tasks.classify import TrainResult
from rnnlab.text import Vocab, tokenize

KIND = "seq2seq"
Pair = tuple[str, str]

# Defaults for seq2seq training: more, gentler epochs than the classifier's.
DEFAULT_TRAIN = TrainConfig(epochs=20, batch_size=64, lr=3e-3, lr_decay=0.9, patience=2)
DEFAULT_DATES = 20000  # "dates" without ":N"


@dataclass(frozen=True)
class Seq2SeqTextConfig(_Config):
    level: str = "char"  # "char": characters are tokens; "word": rnnlab.tokenize words
    lowercase: bool = False  # word level: lowercase tokens (char level keeps text as is)
    max_vocab: int = 20000  # per vocabulary, specials included
    min_freq: int = 1  # a token must occur this often in the training pairs
    max_source_len: int = 200  # source tokens kept (the rest is cut off)

    def __post_init__(self) -> None:
        _check(self.level in ("char", "word"), "text.level", "'char' or 'word'", self.level)
        _check(self.max_vocab >= 5, "text.max_vocab", "an integer >= 5", self.max_vocab)
        _check(self.min_freq >= 1, "text.min_freq", "an integer >= 1", self.min_freq)
        _check(
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
    import torch.nn.functional as F

    ids, lens, y_in, y_out = batch
    logits = model(ids, lens, y_in)  # (N, M, V)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_out.reshape(-1), ignore_index=0)
    mask = y_out != 0  # (N, M)
    correct = float(((logits.argmax(dim=-1) == y_out) & mask).sum())
    return loss, correct, float(mask.sum())


# ---------------------------------------------------------------------------- training


def train_seq2seq(
    data: str | Path | Sequence[Pair],
    out: str | Path,
    test_data: str | Path | Sequence[Pair] | None = None,
    val_data: str | Path | Sequence[Pair] | None = None,
    text: Seq2SeqTextConfig | None = None,
    model: Seq2SeqConfig | None = None,
    training: TrainConfig | None = None,
    beam_size: int = 1,
    progress: bool = True,
    log=print,
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
        Defaults: characters, a bidirectional GRU encoder with Bahdanau
        attention, :data:`DEFAULT_TRAIN`.
    beam_size : int
        Beam used for the final validation/test decoding (1: greedy).
    log : callable
        Receives one-line progress messages.
    """
    from rnnlab.training import fit, seed_everything, set_threads

    text = text or Seq2SeqTextConfig()
    model_cfg = model or Seq2SeqConfig()
    training = training or DEFAULT_TRAIN
    start = time.perf_counter()
    out = check_output_dir(out)
    seed_everything(training.seed)
    set_threads(training.threads)

    pairs = load_pairs(data, "train", training.seed)
    if val_data is not None:
        val_pairs = load_pairs(val_data, "dev", training.seed, exclude={s for s, _ in pairs})
        train_pairs = pairs
    else:
        if len(pairs) < 4:
            raise DataError(
                f"need at least 4 training pairs to carve a validation split, got {len(pairs)}"
            )
        order = np.random.default_rng(training.seed).permutation(len(pairs))
        n_val = max(1, round(len(pairs) * training.val_fraction))
        val_pairs = [pairs[i] for i in order[:n_val]]
        train_pairs = [pairs[i] for i in order[n_val:]]
    test_pairs = None
    if test_data is not None:
        seen = {s for s, _ in pairs} | {s for s, _ in val_pairs}
        test_pairs = load_pairs(test_data, "test", training.seed, exclude=seen)
    log(
        f"data: {len(train_pairs)} train / {len(val_pairs)} validation pairs"
        + (f" / {len(test_pairs)} test" if test_pairs is not None else "")
    )
    src_vocab, tgt_vocab = build_vocabs(train_pairs, text)
    log(f"vocabulary ({text.level}): source {len(src_vocab)}, target {len(tgt_vocab)} entries")
    enc = lambda p: _encode_pairs(p, src_vocab, tgt_vocab, text, model_cfg.max_output_len)  # noqa: E731
    train_src, train_tgt = enc(train_pairs)
    val_src, val_tgt = enc(val_pairs)

    net = Seq2Seq(model_cfg, len(src_vocab), len(tgt_vocab))
    val_batches = _batches(val_src, val_tgt, 256, False, 0)
    checkpoint_dir = checkpoint_dir_for(out)
    t0 = time.perf_counter()
    history = fit(
        net,
        lambda epoch: _batches(
            train_src, train_tgt, training.batch_size, True, training.seed + epoch
        ),
        val_batches,
        seq2seq_step,
        training,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        on_epoch=lambda r: log(
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} token acc "
            f"{r['train_accuracy']:.4f} | val loss {r['val_loss']:.4f} token acc "
            f"{r['val_accuracy']:.4f} ({r['epoch_seconds']:.0f} s)"
        ),
    )
    network_seconds = time.perf_counter() - t0
    log(f"kept epoch {history.best_epoch} (lowest validation loss)")

    translator = Translator(net.eval(), src_vocab, tgt_vocab, text, model_cfg)
    metrics: dict[str, Any] = {"validation": evaluate(translator, val_pairs, beam_size=beam_size)}
    fit_seconds = time.perf_counter() - start
    if test_pairs is not None:
        log(f"decoding {len(test_pairs)} test pairs (beam {beam_size})")
        metrics["test"] = evaluate(translator, test_pairs, beam_size=beam_size)
    seconds = time.perf_counter() - start
    metrics["timing"] = {
        "total_seconds": round(seconds, 1),
        "fit_seconds": round(fit_seconds, 1),
        "network_seconds": round(network_seconds, 1),
        "epochs_run": len(history.epochs),
    }
    config = {
        **base_config(KIND),
        "source_vocab_size": len(src_vocab),
        "target_vocab_size": len(tgt_vocab),
        "text": text.to_dict(),
        "model": model_cfg.to_dict(),
        "train": training.to_dict(),
        "data": {
            "source": data if isinstance(data, str | Path) else "<pairs>",
            "n_train": len(train_pairs),
            "n_validation": len(val_pairs),
        },
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
    }
    config["data"]["source"] = str(config["data"]["source"])

    def write_vocabs(path: Path) -> None:
        doc = {"source": src_vocab.to_dict(), "target": tgt_vocab.to_dict()}
        path.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")

    def write_plot(path: Path) -> None:
        from rnnlab.training.metrics import plot_history

        plot_history(history.epochs, path, history.best_epoch)

    write_model_dir(
        out,
        config,
        {
            "vocab.json": write_vocabs,
            "model.safetensors": weights_writer(net),
            "metrics.json": json_writer(metrics),
            "history.jsonl": history.write_jsonl,
            "learning_curve.png": write_plot,
        },
    )
    log(f"saved {out}")
    return TrainResult(out, metrics, history.epochs, seconds, history.best_epoch)


# ---------------------------------------------------------------------------- inference


class Translator:
    """A trained encoder-decoder: ``translate(texts) -> list of str``.

    Obtain one with :func:`load_seq2seq`.
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

    def _check_texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise RnnlabError("texts must be a list of strings, got a single str; wrap it in [...]")
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise RnnlabError(f"texts must be strings, got {type(t).__name__}")
        return texts

    def predict(
        self, texts: Sequence[str], beam_size: int = 1, max_len: int | None = None
    ) -> list[dict[str, Any]]:
        """``[{"translation": str, "score": model log-probability}]``, one per text, in order.

        ``beam_size=1`` decodes greedily; ``max_len`` defaults to the model's
        ``max_output_len``.
        """
        import torch

        from rnnlab.training import bucket_batches, collate

        texts = self._check_texts(texts)
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


def load_seq2seq(path: str | Path, threads: int = 0) -> Translator:
    """Load a model directory written by :func:`train_seq2seq` (``threads`` 0: all cores)."""
    from rnnlab.training import set_threads

    path = Path(path)
    config = read_config(path, kind=KIND)
    try:
        text = Seq2SeqTextConfig.from_dict(config["text"])
        model_cfg = Seq2SeqConfig.from_dict(config["model"])
        doc = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        src_vocab = Vocab.from_dict(doc["source"])
        tgt_vocab = Vocab.from_dict(doc["target"])
        net = Seq2Seq(model_cfg, config["source_vocab_size"], config["target_vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"cannot load model from {path}: {str(exc).splitlines()[0]}") from None
    if (len(src_vocab), len(tgt_vocab)) != (
        config["source_vocab_size"],
        config["target_vocab_size"],
    ):
        raise ArtifactError(f"{path}: vocab.json does not match config.json; retrain the model")
    load_weights(net, path / "model.safetensors")
    set_threads(threads)
    return Translator(net.eval(), src_vocab, tgt_vocab, text, model_cfg, path, config)


# ---------------------------------------------------------------------------- metrics


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (insertions, deletions, substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def score_outputs(
    hypotheses: Sequence[str], references: Sequence[str], level: str
) -> dict[str, Any]:
    """Exact match, CER (sum of edit distances / sum of reference lengths), BLEU (word level)."""
    if len(hypotheses) != len(references):
        raise RnnlabError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    n = len(references)
    exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    edits = sum(edit_distance(h, r) for h, r in zip(hypotheses, references, strict=True))
    chars = sum(len(r) for r in references)
    bleu = None
    if level == "word":
        import sacrebleu

        bleu = round(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score, 2)
    return {
        "n": n,
        "exact_match": exact / max(n, 1),
        "cer": edits / max(chars, 1),
        "bleu": bleu,
    }


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
    translator = model if isinstance(model, Translator) else load_seq2seq(model)
    exclude = None
    trained_on = str(translator.config.get("data", {}).get("source", ""))
    seed = translator.config.get("train", {}).get("seed", 0)
    if isinstance(data, str) and data.startswith("dates") and trained_on.startswith("dates"):
        # regenerate the training dates so that the test set shares no source with them
        exclude = {s for s, _ in load_pairs(trained_on, "train", seed)}
    pairs = load_pairs(data, "test", seed, exclude=exclude)
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
