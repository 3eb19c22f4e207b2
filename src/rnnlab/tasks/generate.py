"""Conditional text generation (one-to-many): train, save, load, sample, evaluate.

A word-level LSTM language model whose initial state comes from a class label
(and optionally a 1-10 star rating) writes reviews of the requested sentiment::

    import rnnlab
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import conditioning_check, load, train_generator
    result = train_generator("aclImdb_v1.tar.gz", "models/gen", generator=GeneratorConfig(use_rating=True))
    gen = load("models/gen")              # or rnnlab.load("models/gen")
    gen.generate(sentiment="positive", n=3, temperature=0.8, top_k=40, seed=0)
    conditioning_check(gen, rnnlab.load())  # the bundled sentiment model reads the samples

Steps: tokenize -> vocabulary from the training texts (plus ``<s>`` and
``</s>``) -> each review cut to its first ``maxlen`` tokens -> inputs
``<s> w_1 .. w_T`` and targets ``w_1 .. w_T </s>`` (``</s>`` only when the
review really ended within ``maxlen``; a cut review has no false end) ->
length-bucketed batches -> the shared template (:mod:`rnnlab.tasks.base`:
early stopping on the validation loss, the mean next-token cross-entropy, so
``exp`` of it is the validation perplexity) -> model directory.

Perplexity is ``exp(total negative log-likelihood / number of target tokens)``
over the same truncation, ``</s>`` targets included.

Defaults live in one place each: :data:`DEFAULT_TEXT` and :data:`DEFAULT_TRAIN`
(the generator's own text and training settings), ``GeneratorConfig``'s field
defaults (the network) and :data:`DEFAULT_SAMPLE` (sampling); the CLI reads
them from here.

The conditioning check (:func:`conditioning_check`) samples reviews for each
sentiment and asks a sentiment classifier that the caller passes (e.g. the
bundled IMDB model, ``rnnlab.load()``) what it reads.

Shape legend: N batch, T time (padded length), V vocabulary.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnlab.config import Config, TextConfig, TrainConfig, check_value
from rnnlab.data import TextDataset, dataset_sha256, load_test_data, read_split, train_val_split
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.generator import (
    BOS_TOKEN,
    EOS_TOKEN,
    MAX_RATING,
    NO_RATING,
    ConditionalLM,
    GeneratorConfig,
)
from rnnlab.models.losses import masked_token_loss
from rnnlab.tasks.base import (
    Built,
    Task,
    TrainResult,
    apply_threads,
    load_state,
    open_model_dir,
    run,
)
from rnnlab.text import OOV, PAD, Vocab, tokenize

KIND = "generator"
TOKENIZER = "rnnlab.tokenize/1"
DEFAULT_GUIDANCE = 1.5  # contrastive guidance of two-label models, see Generator.generate
ALIASES = {"positive": "pos", "negative": "neg", "pos": "positive", "neg": "negative"}
EVAL_BATCH = 128  # texts per batch when measuring (validation loss, perplexity)
CHECK_SAMPLES = 200  # texts sampled per sentiment by the conditioning check

# The generator's text settings: 10k vocabulary, the *first* 100 tokens of a review.
DEFAULT_TEXT = TextConfig(max_vocab=10_000, min_freq=2, maxlen=100, truncating="post")
# Two epochs of Adam, batch 64, 5% of train for validation, 1 thread.
DEFAULT_TRAIN = TrainConfig(
    epochs=2, batch_size=64, lr=2e-3, lr_decay=0.5, clip_norm=1.0, val_fraction=0.05, threads=1
)


def _int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True)
class SampleConfig(Config):
    """How :meth:`Generator.generate` samples (the one place of its defaults)."""

    temperature: float = 0.8  # softmax temperature: lower is safer and more repetitive, 0 greedy
    top_k: int = 40  # sample among the k most likely tokens (0: all; 1: greedy)
    max_len: int = 80  # most tokens per text (a text also ends at </s>)
    # contrastive guidance towards the requested label (0: plain sampling);
    # None: DEFAULT_GUIDANCE for a two-label model, else 0
    guidance: float | None = None
    max_run: int = 3  # no token more than this many times in a row (0: no limit)

    def __post_init__(self) -> None:
        t, k = self.temperature, self.top_k
        check_value(_real(t) and t >= 0, "temperature", ">= 0 (0 = greedy)", t)
        check_value(_int(k) and k >= 0, "top_k", "an integer >= 0 (0 = all tokens)", k)
        check_value(_int(self.max_len) and self.max_len >= 1, "max_len", ">= 1", self.max_len)
        g = self.guidance
        check_value(g is None or (_real(g) and g >= 0), "guidance", ">= 0 (0 = plain sampling)", g)
        r = self.max_run
        check_value(_int(r) and r >= 0, "max_run", "an integer >= 0 (0 = no limit)", r)


DEFAULT_SAMPLE = SampleConfig()


def build_vocab(token_lists: Sequence[Sequence[str]], text: TextConfig) -> Vocab:
    """Vocabulary with ids 0 ``<pad>``, 1 ``<unk>``, 2 ``<s>``, 3 ``</s>``, then words."""
    words = Vocab.build(token_lists, max_size=max(text.max_vocab - 2, 3), min_freq=text.min_freq)
    tokens = [t for t in words.itos[2:] if t not in (BOS_TOKEN, EOS_TOKEN)]
    return Vocab(
        [BOS_TOKEN, EOS_TOKEN, *tokens],
        words.counts,
        min_freq=text.min_freq,
        max_size=text.max_vocab,
    )


def lm_sequences(
    token_lists: Sequence[Sequence[str]], vocab: Vocab, maxlen: int
) -> list[list[int]]:
    """``<s> w_1 .. w_T [</s>]`` per text: first ``maxlen`` tokens, ``</s>`` if it ended there."""
    bos, eos = vocab.stoi[BOS_TOKEN], vocab.stoi[EOS_TOKEN]
    out = []
    for tokens in token_lists:
        ids = vocab.encode(tokens[:maxlen])
        out.append([bos, *ids] + ([eos] if len(tokens) <= maxlen else []))
    return out


def lm_batches(
    seqs: list[list[int]],
    labels: Sequence[int],
    ratings: Sequence[int] | None,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    rating_dropout: float = 0.0,
) -> list[tuple]:
    """Batches ``(inputs (N,T), targets (N,T), labels (N,), ratings (N,) or None)``.

    Inputs are a sequence without its last id, targets without its first;
    both post-padded with ``<pad>`` (targets equal to ``<pad>`` are ignored by
    the loss). With ``rating_dropout`` that share of ratings (drawn from
    ``seed``) is replaced by "not given" so the model also learns without one.
    """
    import torch

    from rnnlab.training import bucket_batches, collate

    inputs = [s[:-1] for s in seqs]
    targets = [s[1:] for s in seqs]
    lengths = np.fromiter((len(s) for s in inputs), dtype=np.int64, count=len(inputs))
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    r = None
    if ratings is not None:
        r_np = np.asarray(ratings, dtype=np.int64).copy()
        if rating_dropout > 0:
            hide = np.random.default_rng(seed).random(len(r_np)) < rating_dropout
            r_np[hide] = NO_RATING
        r = torch.from_numpy(r_np)
    out = []
    for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
        x, _ = collate(inputs, idx)  # (N, T)
        t, _ = collate(targets, idx)  # (N, T)
        sel = torch.from_numpy(idx)
        out.append((x, t, y[sel], None if r is None else r[sel]))
    return out


def lm_step(model, batch):
    """Next-token cross-entropy (mean over real tokens), correct predictions, token count."""
    x, t, y, r = batch
    logits = model(x, y, r)  # (N, T, V)
    return masked_token_loss(logits, t, ignore_index=PAD)


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into readable text: no space before punctuation, sentences capitalised."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,!?;:%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{]) ", r"\1", text)
    text = re.sub(r"\$ (?=\d)", "$", text)
    text = re.sub(r"\b(i)\b", "I", text)
    text = re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text


def perplexity_of(loss: float) -> float:
    """``exp(loss)`` of a mean next-token cross-entropy (inf where that overflows)."""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf


class Generator:
    """A trained conditional generator: ``generate(sentiment=..., n=...) -> list[str]``.

    Obtain one with :func:`load` (``rnnlab.load(path)``) or from
    :func:`train_generator` (``result.model``).
    """

    def __init__(
        self,
        net: ConditionalLM,
        vocab: Vocab,
        text: TextConfig,
        label_names: list[str],
        path: Path | None = None,
        config: dict | None = None,
    ) -> None:
        self.net = net.eval()
        self.vocab = vocab
        self.text = text
        self.label_names = list(label_names)
        self.path = path
        self.config = config or {}
        self.bos = vocab.stoi[BOS_TOKEN]
        self.eos = vocab.stoi[EOS_TOKEN]

    def __repr__(self) -> str:
        return (
            f"Generator(path={self.path}, labels={self.label_names}, "
            f"rating={self.uses_rating}, vocab={len(self.vocab)})"
        )

    @property
    def uses_rating(self) -> bool:
        return self.net.config.use_rating

    def label_index(self, sentiment: str | int) -> int:
        """Index of a label given by name, by its long/short alias (positive/pos) or by index."""
        if isinstance(sentiment, int) and not isinstance(sentiment, bool):
            if 0 <= sentiment < len(self.label_names):
                return sentiment
        elif isinstance(sentiment, str):
            key = sentiment.strip().lower()
            names = [n.lower() for n in self.label_names]
            if key in names:
                return names.index(key)
            if ALIASES.get(key) in names:
                return names.index(ALIASES[key])
        known = ", ".join(f"{n} ({ALIASES[n]})" if n in ALIASES else n for n in self.label_names)
        raise RnnlabError(f"unknown sentiment {sentiment!r}; this model knows: {known}")

    def check_rating(self, rating: int | None) -> int:
        if rating is None:
            return NO_RATING
        if isinstance(rating, bool) or not isinstance(rating, int | np.integer):
            raise RnnlabError(f"rating must be an integer from 1 to 10, got {rating!r}")
        if not 1 <= rating <= MAX_RATING:
            raise RnnlabError(f"rating must be from 1 to 10, got {rating}")
        if not self.uses_rating:
            raise RnnlabError(
                "this model was trained without ratings; drop --rating or retrain with --use-rating"
            )
        return int(rating)

    def check_guidance(self, guidance: float | None) -> float:
        """The guidance to sample with: ``None`` is DEFAULT_GUIDANCE with two labels, else 0."""
        two = len(self.label_names) == 2
        if guidance is None:
            return DEFAULT_GUIDANCE if two else 0.0
        if guidance > 0 and not two:
            raise RnnlabError(
                f"guidance contrasts the two labels; this model has {len(self.label_names)}"
            )
        return float(guidance)

    def generate_ids(
        self,
        sentiment: str | int,
        rating: int | None = None,
        n: int = 1,
        temperature: float = DEFAULT_SAMPLE.temperature,
        top_k: int = DEFAULT_SAMPLE.top_k,
        max_len: int = DEFAULT_SAMPLE.max_len,
        seed: int = 0,
        guidance: float | None = DEFAULT_SAMPLE.guidance,
        max_run: int = DEFAULT_SAMPLE.max_run,
    ) -> list[list[int]]:
        """Sampled token ids (without ``<s>``/``</s>``); see :meth:`generate`."""
        import torch

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise RnnlabError(f"n must be an integer >= 1, got {n!r}")
        s = SampleConfig(temperature, top_k, max_len, guidance, max_run)
        guidance = self.check_guidance(s.guidance)
        label = self.label_index(sentiment)
        r = self.check_rating(rating)
        labels = torch.full((n,), label, dtype=torch.long)  # (N,)
        ratings = torch.full((n,), r, dtype=torch.long) if self.uses_rating else None  # (N,)
        contrast = None
        if guidance > 0:
            other = torch.full((n,), 1 - label, dtype=torch.long)
            contrast = (other, None if ratings is None else torch.full_like(ratings, NO_RATING))
        return self.net.sample(
            labels,
            ratings,
            self.bos,
            self.eos,
            max_len=s.max_len,
            temperature=s.temperature,
            top_k=s.top_k,
            seed=seed,
            banned=(PAD, OOV, self.bos),
            guidance=guidance,
            contrast=contrast,
            max_run=s.max_run,
        )

    def generate(
        self,
        sentiment: str | int,
        rating: int | None = None,
        n: int = 1,
        temperature: float = DEFAULT_SAMPLE.temperature,
        top_k: int = DEFAULT_SAMPLE.top_k,
        max_len: int = DEFAULT_SAMPLE.max_len,
        seed: int = 0,
        guidance: float | None = DEFAULT_SAMPLE.guidance,
        max_run: int = DEFAULT_SAMPLE.max_run,
    ) -> list[str]:
        """Sample ``n`` texts of the requested sentiment (and rating).

        Parameters
        ----------
        sentiment : str or int
            A label name of the training data (``"pos"``), its long form
            (``"positive"``), or a label index.
        rating : int, optional
            1-10 stars; only for models trained with ``use_rating``.
        n : int
            Number of texts.
        temperature, top_k, max_len, max_run
            How to sample; see :class:`SampleConfig` (defaults 0.8, 40, 80, 3).
        seed : int
            Same seed, same texts.
        guidance : float, optional
            Contrastive guidance towards the requested label and away from the
            other one (0: plain sampling from the model); see
            :meth:`ConditionalLM.sample`. Two labels only. Default
            ``DEFAULT_GUIDANCE`` (1.5) for a two-label model, else 0: on IMDB,
            plain sampling gave negative reviews that the sentiment classifier
            read as negative only 40% of the time (see docs/generation.md).

        Returns
        -------
        list of str
            Detokenised texts (``<unk>`` is never produced).
        """
        ids = self.generate_ids(
            sentiment, rating, n, temperature, top_k, max_len, seed, guidance, max_run
        )
        return [detokenize(self.vocab.decode(row)) for row in ids]

    def condition_of(self, data: TextDataset) -> tuple[list[int], Sequence[int] | None]:
        """``(label indices, ratings or None)`` of a labeled dataset, in this model's terms."""
        if not data.is_labeled:
            raise DataError(f"{data.source} has no labels; perplexity needs the condition")
        try:
            remap = [self.label_index(name) for name in data.label_names]
        except RnnlabError:
            raise DataError(
                f"{data.source} has labels {data.label_names}; the model knows {self.label_names}"
            ) from None
        ratings = None
        if self.uses_rating:
            ratings = data.ratings if data.ratings is not None else [NO_RATING] * len(data)
        return [remap[y] for y in data.labels], ratings

    def perplexity(self, data: TextDataset, batch_size: int = EVAL_BATCH) -> dict[str, float]:
        """Perplexity on labeled texts, first ``maxlen`` tokens each (``</s>`` included).

        ``exp(sum of -log p(target) / number of target tokens)``; uses the
        dataset's ratings when the model was trained with them.
        """
        import torch
        import torch.nn.functional as F

        labels, ratings = self.condition_of(data)
        seqs = lm_sequences([tokenize(t) for t in data.texts], self.vocab, self.text.maxlen)
        nll = tokens = 0.0
        with torch.inference_mode():
            for x, t, y, r in lm_batches(seqs, labels, ratings, batch_size):
                logits = self.net(x, y, r)  # (N, T, V)
                nll += float(
                    F.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]).double(),  # (N*T, V)
                        t.reshape(-1),  # (N*T,)
                        ignore_index=PAD,
                        reduction="sum",
                    )
                )
                tokens += float((t != PAD).sum())
        mean = nll / max(tokens, 1.0)
        return {"perplexity": math.exp(mean), "nll_per_token": mean, "tokens": int(tokens)}


# --------------------------------------------------------------------------- training


class Splits(NamedTuple):
    """What :meth:`GenerateTask.read` gives the other hooks."""

    full: TextDataset  # the training data before the validation split
    train: TextDataset
    val: TextDataset
    test: TextDataset | None


def subset(ds: TextDataset, limit: int | None, seed: int) -> TextDataset:
    """``limit`` texts of ``ds`` picked with ``seed`` (in their order), or ``ds`` if it is smaller."""
    if limit is None or limit >= len(ds):
        return ds
    pick = np.random.default_rng(seed).permutation(len(ds))[:limit]
    return ds.subset(np.sort(pick).tolist())


def _ratings_seen(ds: TextDataset) -> dict[str, str]:
    """Each rating seen in training -> the label it came with most often."""
    counts: dict[int, list[int]] = {}
    for y, r in zip(ds.labels, ds.ratings or [], strict=True):
        counts.setdefault(int(r), [0] * len(ds.label_names))[y] += 1
    return {str(r): ds.label_names[int(np.argmax(c))] for r, c in sorted(counts.items())}


class GenerateTask(Task):
    """One-to-many: vocabulary with ``<s>``/``</s>`` -> conditional LSTM LM -> next-token loss.

    Overrides, beyond the hooks every task supplies: ``describe_epoch`` (the
    epoch log shows perplexities) and ``fit`` (it keeps the History, whose
    best epoch gives the validation perplexity without another pass).
    """

    kind = KIND
    val_name = "validation"

    def __init__(self, data, text, generator, training, text_col, label_col, test_data,
                 max_train, test_limit, cache_dir) -> None:  # fmt: skip
        super().__init__(training)
        if text.tokenizer != "words":
            raise RnnlabError(
                f"the generator is a word-level model; got text.tokenizer {text.tokenizer!r}, "
                "use 'words'"
            )
        self.source, self.test_source = data, test_data
        self.text, self.generator = text, generator
        self.columns, self.cache_dir = (text_col, label_col), cache_dir
        self.max_train, self.test_limit = max_train, test_limit

    def read(self, log) -> Splits:
        seed = self.training.seed
        ds = read_split(self.source, "train", *self.columns, self.cache_dir)
        if not ds.is_labeled:
            raise DataError(
                f"{ds.source} has no labels; the generator is conditioned on --label-col"
            )
        if self.generator.use_rating and ds.ratings is None:
            raise DataError(
                f"{ds.source} has no ratings (only IMDB file names carry them); drop --use-rating"
            )
        if self.max_train is not None and self.max_train < len(ds) and self.max_train < 10:
            raise RnnlabError(f"max_train must be >= 10, got {self.max_train}")
        ds = subset(ds, self.max_train, seed)
        test_ds = load_test_data(
            self.source, self.test_source, *self.columns, self.cache_dir, ds.label_names
        )
        test_ds = None if test_ds is None else subset(test_ds, self.test_limit, seed)
        train_ds, val_ds = train_val_split(ds, self.training.val_fraction, seed)
        log(
            f"data: {len(train_ds)} train / {len(val_ds)} validation texts, conditions "
            f"{', '.join(ds.label_names)}" + (" + rating" if self.generator.use_rating else "")
        )
        return Splits(ds, train_ds, val_ds, test_ds)

    def build(self, data: Splits, log) -> Built:
        text, gen_cfg, training = self.text, self.generator, self.training
        train_tokens = [tokenize(t) for t in data.train.texts]
        vocab = build_vocab(train_tokens, text)
        log(f"vocabulary: {len(vocab)} entries; first {text.maxlen} tokens of each text kept")
        train_seqs = lm_sequences(train_tokens, vocab, text.maxlen)
        del train_tokens
        val_seqs = lm_sequences([tokenize(t) for t in data.val.texts], vocab, text.maxlen)
        label_names = list(data.full.label_names)
        net = ConditionalLM(gen_cfg, len(vocab), len(label_names))
        log(f"model: {sum(p.numel() for p in net.parameters()):,} parameters")
        train_r, val_r = (
            (data.train.ratings, data.val.ratings) if gen_cfg.use_rating else (None, None)
        )
        return Built(
            net,
            self.config_entries(data, vocab),
            {"vocab.json": vocab.save},
            train_batches=lambda epoch: lm_batches(
                train_seqs,
                data.train.labels,
                train_r,
                training.batch_size,
                shuffle=True,
                seed=training.seed + epoch,
                rating_dropout=gen_cfg.rating_dropout,
            ),
            val_batches=lm_batches(val_seqs, data.val.labels, val_r, EVAL_BATCH),
            state={"vocab": vocab, "label_names": label_names},
        )

    def config_entries(self, data: Splits, vocab: Vocab) -> dict[str, Any]:
        """The generator's own config.json entries."""
        return {
            "tokenizer": TOKENIZER,
            "label_names": list(data.full.label_names),
            "vocab_size": len(vocab),
            "text": self.text.to_dict(),
            "generator": self.generator.to_dict(),
            "data": {
                "source": str(data.full.source),
                "sha256": dataset_sha256(data.full),
                "n_train": len(data.train),
                "n_validation": len(data.val),
            },
            "ratings_seen": _ratings_seen(data.train) if self.generator.use_rating else None,
        }

    step = staticmethod(lm_step)

    def describe_epoch(self, r: dict[str, float]) -> str:
        return (
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} "
            f"(ppl {perplexity_of(r['train_loss']):.1f}) | val loss {r['val_loss']:.4f} "
            f"(ppl {perplexity_of(r['val_loss']):.1f}) ({r['epoch_seconds']:.0f} s)"
        )

    def predictor(self, built: Built) -> Generator:
        return Generator(built.net, built.state["vocab"], self.text, built.state["label_names"])

    def evaluate(self, model, data, log) -> dict[str, Any]:
        best = self.history.epochs[self.history.best_epoch - 1]
        return {
            "validation": {
                "perplexity": perplexity_of(best["val_loss"]),
                "next_word_accuracy": best["val_accuracy"],
            }
        }

    def test(self, model: Generator, data: Splits, log) -> dict[str, Any] | None:
        if data.test is None:
            return None
        log(f"test perplexity on {len(data.test)} held-out texts ({data.test.source})")
        t0 = time.perf_counter()
        metrics: dict[str, Any] = model.perplexity(data.test)
        metrics["data_sha256"] = dataset_sha256(data.test)
        metrics["n_texts"] = len(data.test)
        metrics["maxlen"] = self.text.maxlen
        metrics["seconds"] = round(time.perf_counter() - t0, 1)
        log(f"test perplexity {metrics['perplexity']:.1f}")
        return metrics


def train_generator(
    data: str | Path | TextDataset,
    out: str | Path,
    text: TextConfig | None = None,
    generator: GeneratorConfig | None = None,
    training: TrainConfig | None = None,
    text_col: str = "text",
    label_col: str = "label",
    test_data: str | Path | TextDataset | None = None,
    max_train: int | None = None,
    test_limit: int | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    log=print,
    resume: bool = False,
) -> TrainResult:
    """Train a conditional LSTM language model and write its model directory.

    Parameters
    ----------
    data : path or TextDataset
        IMDB archive/folder (``"imdb"`` too) or a labeled CSV/TSV/JSONL file;
        the label is the condition. A validation split is carved from it.
    out : path
        Model directory (kind ``"generator"``) to create or replace.
    text : TextConfig, optional
        Vocabulary size, ``min_freq`` and ``maxlen`` (the first ``maxlen``
        tokens of each text are kept); default :data:`DEFAULT_TEXT`.
    generator : GeneratorConfig, optional
        Model sizes (default: its field defaults); ``use_rating=True`` needs
        ratings (IMDB file names).
    training : TrainConfig, optional
        Default :data:`DEFAULT_TRAIN`.
    test_data : optional
        Held-out labeled data for the test perplexity; IMDB's test split is
        used when this is None and ``data`` is IMDB.
    max_train : int, optional
        Keep only this many training texts (a quick run), picked with the seed.
    test_limit : int, optional
        Measure the test perplexity on this many held-out texts (a random
        subset picked with the seed; recorded in metrics.json) to save time.
    resume : bool
        Continue a killed or interrupted run from its newest valid checkpoint
        (``<out>.checkpoints``); the result is bit-identical to an uninterrupted run.
    log : callable
        Receives one-line progress messages.

    Returns
    -------
    TrainResult
        ``result.model`` is the trained :class:`Generator`.
    """
    task = GenerateTask(
        data,
        text or DEFAULT_TEXT,
        generator or GeneratorConfig(),
        training or DEFAULT_TRAIN,
        text_col,
        label_col,
        test_data,
        max_train,
        test_limit,
        cache_dir,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


# ---------------------------------------------------------------------------- loading


def load(path: str | Path, threads: int | None = None) -> Generator:
    """Load a generator model directory written by :func:`train_generator`.

    ``threads``: see :func:`rnnlab.tasks.base.resolve_threads` (default: half
    the cores; 0: all). ``rnnlab.load`` dispatches here on kind "generator".
    """
    path, config = open_model_dir(path, KIND)
    try:
        text = TextConfig.from_dict(config["text"])
        gen_cfg = GeneratorConfig.from_dict(config["generator"])
        label_names = list(config["label_names"])
        vocab = Vocab.load(path / "vocab.json")
        vocab_size = int(config["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"cannot load generator from {path}: {exc}") from None
    if len(vocab) != config["vocab_size"] or BOS_TOKEN not in vocab or EOS_TOKEN not in vocab:
        raise ArtifactError(
            f"{path}: vocab.json does not match config.json (size or <s>/</s> entries); retrain"
        )
    net = load_state(lambda: ConditionalLM(gen_cfg, vocab_size, len(label_names)), path)
    apply_threads(threads)
    return Generator(net, vocab, text, label_names, path, config)


def _as_generator(model: Generator | str | Path) -> Generator:
    return model if isinstance(model, Generator) else load(model)


# ------------------------------------------------------------------------- evaluation


def _sentiment_label(gen: Generator, want: str) -> str:
    """The generator's label name for ``want`` ("pos"/"neg"), or an error if it has none."""
    try:
        return gen.label_names[gen.label_index(want)]
    except RnnlabError:
        raise RnnlabError(
            f"the conditioning check needs a model conditioned on neg/pos sentiment; "
            f"this one has labels {gen.label_names}"
        ) from None


def _pos_column(classifier) -> int:
    """Column of "pos" in the classifier's ``predict_proba``, or a one-line error."""
    if classifier is None:
        raise RnnlabError(
            "the conditioning check needs a sentiment classifier: pass "
            "classifier=rnnlab.load() (the bundled IMDB model), or skip the check"
        )
    names = [str(x).lower() for x in classifier.label_names]
    if "pos" not in names:
        raise RnnlabError(f"the classifier must predict pos/neg, it predicts {names}")
    return names.index("pos")


def conditioning_check(
    model: Generator | str | Path,
    classifier,
    n: int = CHECK_SAMPLES,
    temperature: float = DEFAULT_SAMPLE.temperature,
    top_k: int = DEFAULT_SAMPLE.top_k,
    max_len: int = DEFAULT_SAMPLE.max_len,
    seed: int = 0,
    ratings: bool = True,
    n_per_rating: int = 50,
    guidance: float | None = DEFAULT_SAMPLE.guidance,
) -> dict[str, Any]:
    """Does the generated text follow the condition? Ask a sentiment classifier.

    ``n`` reviews are sampled for each of positive and negative and classified
    with ``classifier`` (labels including "pos", ``predict`` and
    ``predict_proba``, e.g. the bundled IMDB model ``rnnlab.load()``). The
    share classified as requested is reported per sentiment (the issue's
    floors: >= 0.8 each). For a model trained with ratings, ``n_per_rating``
    reviews are sampled for each rating 1..10 (with the sentiment that rating
    had in training: 1-4 neg, 7-10 pos on IMDB; ratings never seen in
    training are skipped) and the classifier's mean P(pos) is reported.
    """
    gen = _as_generator(model)
    pos_col = _pos_column(classifier)
    sample = (temperature, top_k, max_len)
    result: dict[str, Any] = {
        "n": n,
        "temperature": temperature,
        "top_k": top_k,
        "max_len": max_len,
        "seed": seed,
        "guidance": gen.check_guidance(guidance),
        "shares": {},
        "examples": {},
    }
    for i, want in enumerate(("pos", "neg")):
        texts = gen.generate(_sentiment_label(gen, want), None, n, *sample, seed + i, guidance)
        predicted = [p["label"].lower() for p in classifier.predict(texts)]
        result["shares"][ALIASES[want]] = sum(p == want for p in predicted) / max(n, 1)
        result["examples"][ALIASES[want]] = texts[:3]
    if ratings and gen.uses_rating:
        per_rating = {}
        for r, label in sorted((gen.config.get("ratings_seen") or {}).items(), key=_rating_key):
            texts = gen.generate(label, int(r), n_per_rating, *sample, seed + 10 + int(r), guidance)
            p_pos = classifier.predict_proba(texts)[:, pos_col]
            per_rating[r] = {"label": label, "mean_p_pos": float(np.mean(p_pos))}
        result["rating_p_pos"] = per_rating
    return result


def _rating_key(item: tuple[str, str]) -> int:
    return int(item[0])


def evaluate_generator(
    model: Generator | str | Path,
    data: str | Path | TextDataset | None = None,
    split: str = "test",
    text_col: str = "text",
    label_col: str = "label",
    n: int = CHECK_SAMPLES,
    seed: int = 0,
    check: bool = True,
    temperature: float = DEFAULT_SAMPLE.temperature,
    top_k: int = DEFAULT_SAMPLE.top_k,
    max_len: int = DEFAULT_SAMPLE.max_len,
    guidance: float | None = DEFAULT_SAMPLE.guidance,
    cache_dir: str | Path | None = None,
    classifier=None,
) -> dict[str, Any]:
    """Perplexity on ``data`` (when given) and the conditioning check (when ``check``).

    ``classifier``: the sentiment model of the check (needed when ``check``),
    e.g. ``rnnlab.load()``; see :func:`conditioning_check`.
    """
    gen = _as_generator(model)
    if check:
        _pos_column(classifier)  # fail before the perplexity pass, not after
    out: dict[str, Any] = {"model": str(gen.path) if gen.path else None}
    if data is not None:
        ds = read_split(data, split, text_col, label_col, cache_dir, gen.label_names)
        out["perplexity"] = gen.perplexity(ds)
        out["perplexity"]["data"] = str(ds.source)
    if check:
        out["conditioning"] = conditioning_check(
            gen, classifier, n, temperature, top_k, max_len, seed, guidance=guidance
        )
    return out
