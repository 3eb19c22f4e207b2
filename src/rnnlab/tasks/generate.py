"""Conditional text generation (one-to-many): train, save, load, sample, evaluate.

A word-level LSTM language model whose initial state comes from a class label
(and optionally a 1-10 star rating) writes reviews of the requested sentiment::

    from rnnlab.tasks.generate import train_generator, load_generator
    train_generator("aclImdb_v1.tar.gz", out="models/gen", generator=GeneratorConfig(use_rating=True))
    gen = load_generator("models/gen")
    gen.generate(sentiment="positive", n=3, temperature=0.8, top_k=40, seed=0)

Steps: tokenize -> vocabulary from the training texts (plus ``<s>`` and
``</s>``) -> each review cut to its first ``maxlen`` tokens -> inputs
``<s> w_1 .. w_T`` and targets ``w_1 .. w_T </s>`` (``</s>`` only when the
review really ended within ``maxlen``; a cut review has no false end) ->
length-bucketed batches -> :func:`rnnlab.training.fit` with early stopping
on the validation loss (mean next-token cross-entropy, so ``exp`` of it is
the validation perplexity) -> model directory.

Perplexity is ``exp(total negative log-likelihood / number of target tokens)``
over the same truncation, ``</s>`` targets included.

The conditioning check (:func:`conditioning_check`) samples reviews for each
sentiment and asks the bundled IMDB sentiment classifier what it reads.
"""

from __future__ import annotations

import math
import re
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
from rnnlab.config import TextConfig, TrainConfig
from rnnlab.data import TextDataset, load_dataset, train_val_split
from rnnlab.errors import DataError, RnnlabError
from rnnlab.models.generator import (
    BOS_TOKEN,
    EOS_TOKEN,
    MAX_RATING,
    NO_RATING,
    ConditionalLM,
    GeneratorConfig,
)
from rnnlab.tasks.classify import TrainResult
from rnnlab.text import OOV, PAD, Vocab, tokenize

KIND = "generator"
TOKENIZER = "rnnlab.tokenize/1"
DEFAULT_GUIDANCE = 1.5  # contrastive guidance of two-label models, see Generator.generate
ALIASES = {"positive": "pos", "negative": "neg", "pos": "positive", "neg": "negative"}


def default_text_config() -> TextConfig:
    """The generator's text settings: 10k vocabulary, the *first* 100 tokens of a review."""
    return TextConfig(max_vocab=10_000, min_freq=2, maxlen=100, truncating="post")


def default_train_config() -> TrainConfig:
    """Two epochs of Adam, batch 64, 5% of train for validation, 1 thread."""
    return TrainConfig(
        epochs=2, batch_size=64, lr=2e-3, lr_decay=0.5, clip_norm=1.0, val_fraction=0.05, threads=1
    )


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
    import torch.nn.functional as F

    x, t, y, r = batch
    logits = model(x, y, r)  # (N, T, V)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1), ignore_index=PAD)
    mask = t != PAD  # (N, T)
    correct = float(((logits.argmax(dim=-1) == t) & mask).sum())
    return loss, correct, float(mask.sum())


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into readable text: no space before punctuation, sentences capitalised."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,!?;:%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{]) ", r"\1", text)
    text = re.sub(r"\$ (?=\d)", "$", text)
    text = re.sub(r"\b(i)\b", "I", text)
    text = re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text


class Generator:
    """A trained conditional generator: ``generate(sentiment=..., n=...) -> list[str]``.

    Obtain one with :func:`load_generator` (or from :func:`train_generator`).
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

    def generate_ids(
        self,
        sentiment: str | int,
        rating: int | None = None,
        n: int = 1,
        temperature: float = 0.8,
        top_k: int = 40,
        max_len: int = 80,
        seed: int = 0,
        guidance: float | None = None,
        max_run: int = 3,
    ) -> list[list[int]]:
        """Sampled token ids (without ``<s>``/``</s>``); see :meth:`generate`."""
        import torch

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise RnnlabError(f"n must be an integer >= 1, got {n!r}")
        if temperature < 0:
            raise RnnlabError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
        if top_k < 0:
            raise RnnlabError(f"top_k must be >= 0 (0 = all tokens), got {top_k}")
        if max_run < 0:
            raise RnnlabError(f"max_run must be >= 0 (0 = no limit), got {max_run}")
        if max_len < 1:
            raise RnnlabError(f"max_len must be >= 1, got {max_len}")
        if guidance is None:
            guidance = DEFAULT_GUIDANCE if len(self.label_names) == 2 else 0.0
        if guidance < 0:
            raise RnnlabError(f"guidance must be >= 0 (0 = plain sampling), got {guidance}")
        if guidance > 0 and len(self.label_names) != 2:
            raise RnnlabError(
                f"guidance contrasts the two labels; this model has {len(self.label_names)}"
            )
        label = self.label_index(sentiment)
        r = self.check_rating(rating)
        labels = torch.full((n,), label, dtype=torch.long)
        ratings = torch.full((n,), r, dtype=torch.long) if self.uses_rating else None
        contrast = None
        if guidance > 0:
            other = torch.full((n,), 1 - label, dtype=torch.long)
            contrast = (other, None if ratings is None else torch.full_like(ratings, NO_RATING))
        return self.net.sample(
            labels,
            ratings,
            self.bos,
            self.eos,
            max_len=max_len,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            banned=(PAD, OOV, self.bos),
            guidance=guidance,
            contrast=contrast,
            max_run=max_run,
        )

    def generate(
        self,
        sentiment: str | int,
        rating: int | None = None,
        n: int = 1,
        temperature: float = 0.8,
        top_k: int = 40,
        max_len: int = 80,
        seed: int = 0,
        guidance: float | None = None,
        max_run: int = 3,
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
        temperature : float
            Softmax temperature; lower is safer and more repetitive, 0 is greedy.
        top_k : int
            Sample among the ``top_k`` most likely words (0: all; 1: greedy).
        max_len : int
            Most tokens per text (a text also ends at ``</s>``).
        seed : int
            Same seed, same texts.
        guidance : float, optional
            Contrastive guidance towards the requested label and away from the
            other one (0: plain sampling from the model); see
            :meth:`ConditionalLM.sample`. Two labels only. Default
            ``DEFAULT_GUIDANCE`` (1.5) for a two-label model, else 0: on IMDB,
            plain sampling gave negative reviews that the sentiment classifier
            read as negative only 40% of the time (see docs/generation.md).
        max_run : int
            No token more than this many times in a row (0: no limit).

        Returns
        -------
        list of str
            Detokenised texts (``<unk>`` is never produced).
        """
        ids = self.generate_ids(
            sentiment, rating, n, temperature, top_k, max_len, seed, guidance, max_run
        )
        return [detokenize(self.vocab.decode(row)) for row in ids]

    def perplexity(self, data: TextDataset, batch_size: int = 128) -> dict[str, float]:
        """Perplexity on labeled texts, first ``maxlen`` tokens each (``</s>`` included).

        ``exp(sum of -log p(target) / number of target tokens)``; uses the
        dataset's ratings when the model was trained with them.
        """
        import torch
        import torch.nn.functional as F

        if not data.is_labeled:
            raise DataError(f"{data.source} has no labels; perplexity needs the condition")
        try:
            remap = [self.label_index(name) for name in data.label_names]
        except RnnlabError:
            raise DataError(
                f"{data.source} has labels {data.label_names}; the model knows {self.label_names}"
            ) from None
        labels = [remap[y] for y in data.labels]
        ratings = None
        if self.uses_rating:
            ratings = data.ratings if data.ratings is not None else [NO_RATING] * len(data)
        seqs = lm_sequences([tokenize(t) for t in data.texts], self.vocab, self.text.maxlen)
        nll = tokens = 0.0
        with torch.inference_mode():
            for x, t, y, r in lm_batches(seqs, labels, ratings, batch_size):
                logits = self.net(x, y, r)  # (N, T, V)
                nll += float(
                    F.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]).double(),
                        t.reshape(-1),
                        ignore_index=PAD,
                        reduction="sum",
                    )
                )
                tokens += float((t != PAD).sum())
        mean = nll / max(tokens, 1.0)
        return {"perplexity": math.exp(mean), "nll_per_token": mean, "tokens": int(tokens)}


@dataclass
class GeneratorTrainResult(TrainResult):
    """What :func:`train_generator` produced: ``TrainResult`` plus the loaded generator."""

    generator: Generator | None = None


def _load(data, split, text_col, label_col, cache_dir, label_names=None) -> TextDataset:
    if isinstance(data, TextDataset):
        return data
    return load_dataset(
        data,
        text_col=text_col,
        label_col=label_col,
        split=split,
        cache_dir=cache_dir,
        label_names=label_names,
    )


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
) -> GeneratorTrainResult:
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
        tokens of each text are kept); default :func:`default_text_config`.
    generator : GeneratorConfig, optional
        Model sizes; ``use_rating=True`` needs ratings (IMDB file names).
    training : TrainConfig, optional
        Default :func:`default_train_config`.
    test_data : optional
        Held-out labeled data for the test perplexity; IMDB's test split is
        used when this is None and ``data`` is IMDB.
    max_train : int, optional
        Keep only this many training texts (a quick run), picked with the seed.
    test_limit : int, optional
        Measure the test perplexity on this many held-out texts (a random
        subset picked with the seed; recorded in metrics.json) to save time.
    log : callable
        Receives one-line progress messages.
    """
    from rnnlab.tasks.classify import dataset_sha256, load_test_data, peak_rss_mb
    from rnnlab.training import fit, seed_everything, set_threads

    text = text or default_text_config()
    gen_cfg = generator or GeneratorConfig()
    training = training or default_train_config()
    start = time.perf_counter()
    out = check_output_dir(out)
    seed_everything(training.seed)
    set_threads(training.threads)

    ds = _load(data, "train", text_col, label_col, cache_dir)
    if not ds.is_labeled:
        raise DataError(f"{ds.source} has no labels; the generator is conditioned on --label-col")
    if gen_cfg.use_rating and ds.ratings is None:
        raise DataError(
            f"{ds.source} has no ratings (only IMDB file names carry them); drop --use-rating"
        )
    if max_train is not None and max_train < len(ds):
        if max_train < 10:
            raise RnnlabError(f"max_train must be >= 10, got {max_train}")
        keep = np.sort(np.random.default_rng(training.seed).permutation(len(ds))[:max_train])
        ds = ds.subset(keep.tolist())
    test_ds = load_test_data(data, test_data, text_col, label_col, cache_dir, ds.label_names)
    train_ds, val_ds = train_val_split(ds, training.val_fraction, training.seed)
    log(
        f"data: {len(train_ds)} train / {len(val_ds)} validation texts, "
        f"conditions {', '.join(ds.label_names)}" + (" + rating" if gen_cfg.use_rating else "")
    )
    train_tokens = [tokenize(t) for t in train_ds.texts]
    vocab = build_vocab(train_tokens, text)
    log(f"vocabulary: {len(vocab)} entries; first {text.maxlen} tokens of each text kept")
    train_seqs = lm_sequences(train_tokens, vocab, text.maxlen)
    del train_tokens
    val_seqs = lm_sequences([tokenize(t) for t in val_ds.texts], vocab, text.maxlen)
    net = ConditionalLM(gen_cfg, len(vocab), len(ds.label_names))
    log(f"model: {sum(p.numel() for p in net.parameters()):,} parameters")
    val_batches = lm_batches(
        val_seqs, val_ds.labels, val_ds.ratings if gen_cfg.use_rating else None, 128
    )
    checkpoint_dir = checkpoint_dir_for(out)
    t0 = time.perf_counter()
    history = fit(
        net,
        lambda epoch: lm_batches(
            train_seqs,
            train_ds.labels,
            train_ds.ratings if gen_cfg.use_rating else None,
            training.batch_size,
            shuffle=True,
            seed=training.seed + epoch,
            rating_dropout=gen_cfg.rating_dropout,
        ),
        val_batches,
        lm_step,
        training,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        on_epoch=lambda r: log(
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} "
            f"(ppl {math.exp(r['train_loss']):.1f}) | val loss {r['val_loss']:.4f} "
            f"(ppl {math.exp(r['val_loss']):.1f}) ({r['epoch_seconds']:.0f} s)"
        ),
    )
    train_seconds = time.perf_counter() - t0
    log(f"kept epoch {history.best_epoch} (lowest validation loss)")
    gen = Generator(net.eval(), vocab, text, list(ds.label_names))
    best = history.epochs[history.best_epoch - 1]
    metrics: dict[str, Any] = {
        "validation": {
            "perplexity": math.exp(best["val_loss"]),
            "next_word_accuracy": best["val_accuracy"],
        }
    }
    if test_ds is not None and test_limit is not None and test_limit < len(test_ds):
        pick = np.random.default_rng(training.seed).permutation(len(test_ds))[:test_limit]
        test_ds = test_ds.subset(np.sort(pick).tolist())
    if test_ds is not None:
        log(f"test perplexity on {len(test_ds)} held-out texts ({test_ds.source})")
        t1 = time.perf_counter()
        metrics["test"] = gen.perplexity(test_ds)
        metrics["test"]["data_sha256"] = dataset_sha256(test_ds)
        metrics["test"]["n_texts"] = len(test_ds)
        metrics["test"]["maxlen"] = text.maxlen
        metrics["test"]["seconds"] = round(time.perf_counter() - t1, 1)
        log(f"test perplexity {metrics['test']['perplexity']:.1f}")
    seconds = time.perf_counter() - start
    metrics["timing"] = {
        "total_seconds": round(seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "epochs_run": len(history.epochs),
        "peak_rss_mb": peak_rss_mb(),
    }
    config = {
        **base_config(KIND),
        "tokenizer": TOKENIZER,
        "label_names": list(ds.label_names),
        "vocab_size": len(vocab),
        "text": text.to_dict(),
        "generator": gen_cfg.to_dict(),
        "train": training.to_dict(),
        "data": {
            "source": str(ds.source),
            "sha256": dataset_sha256(ds),
            "n_train": len(train_ds),
            "n_validation": len(val_ds),
        },
        "ratings_seen": _ratings_seen(train_ds) if gen_cfg.use_rating else None,
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
    }

    def write_plot(path: Path) -> None:
        from rnnlab.training.metrics import plot_history

        plot_history(history.epochs, path, history.best_epoch)

    writers = {
        "vocab.json": vocab.save,
        "model.safetensors": weights_writer(net),
        "metrics.json": json_writer(metrics),
        "history.jsonl": history.write_jsonl,
        "learning_curve.png": write_plot,
    }
    write_model_dir(out, config, writers)
    gen.path = out
    gen.config = config
    log(f"saved {out}")
    return GeneratorTrainResult(out, metrics, history.epochs, seconds, history.best_epoch, gen)


def _ratings_seen(ds: TextDataset) -> dict[str, str]:
    """Each rating seen in training -> the label it came with most often."""
    counts: dict[int, list[int]] = {}
    for y, r in zip(ds.labels, ds.ratings or [], strict=True):
        counts.setdefault(int(r), [0] * len(ds.label_names))[y] += 1
    return {str(r): ds.label_names[int(np.argmax(c))] for r, c in sorted(counts.items())}


def load_generator(path: str | Path) -> Generator:
    """Load a generator model directory written by :func:`train_generator`."""
    from rnnlab.errors import ArtifactError

    path = Path(path)
    config = read_config(path, kind=KIND)
    try:
        text = TextConfig.from_dict(config["text"])
        gen_cfg = GeneratorConfig.from_dict(config["generator"])
        label_names = list(config["label_names"])
        vocab = Vocab.load(path / "vocab.json")
        net = ConditionalLM(gen_cfg, int(config["vocab_size"]), len(label_names))
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"cannot load generator from {path}: {exc}") from None
    if len(vocab) != config["vocab_size"] or BOS_TOKEN not in vocab or EOS_TOKEN not in vocab:
        raise ArtifactError(
            f"{path}: vocab.json does not match config.json (size or <s>/</s> entries); retrain"
        )
    load_weights(net, path / "model.safetensors")
    return Generator(net.eval(), vocab, text, label_names, path, config)


def _as_generator(model: Generator | str | Path) -> Generator:
    return model if isinstance(model, Generator) else load_generator(model)


def _sentiment_label(gen: Generator, want: str) -> str:
    """The generator's label name for ``want`` ("pos"/"neg"), or an error if it has none."""
    try:
        return gen.label_names[gen.label_index(want)]
    except RnnlabError:
        raise RnnlabError(
            f"the conditioning check needs a model conditioned on neg/pos sentiment; "
            f"this one has labels {gen.label_names}"
        ) from None


def conditioning_check(
    model: Generator | str | Path,
    n: int = 200,
    classifier=None,
    temperature: float = 0.8,
    top_k: int = 40,
    max_len: int = 80,
    seed: int = 0,
    ratings: bool = True,
    n_per_rating: int = 50,
    guidance: float | None = None,
) -> dict[str, Any]:
    """Does the generated text follow the condition? Ask a sentiment classifier.

    ``n`` reviews are sampled for each of positive and negative and classified
    with ``classifier`` (default: the bundled IMDB model, ``rnnlab.tasks.classify.load()``).
    The share classified as requested is reported per sentiment (the issue's
    floors: >= 0.8 each). For a model trained with ratings, ``n_per_rating``
    reviews are sampled for each rating 1..10 (with the sentiment that rating
    had in training: 1-4 neg, 7-10 pos on IMDB; ratings never seen in
    training are skipped) and the classifier's mean P(pos) is reported.
    """
    gen = _as_generator(model)
    if classifier is None:
        from rnnlab.tasks.classify import load

        classifier = load(threads=1)
    clf_names = [str(x).lower() for x in classifier.label_names]
    if "pos" not in clf_names:
        raise RnnlabError(f"the classifier must predict pos/neg, it predicts {clf_names}")
    pos_col = clf_names.index("pos")
    result: dict[str, Any] = {
        "n": n,
        "temperature": temperature,
        "top_k": top_k,
        "max_len": max_len,
        "seed": seed,
        "guidance": DEFAULT_GUIDANCE if guidance is None else guidance,
        "shares": {},
        "examples": {},
    }
    for i, want in enumerate(("pos", "neg")):
        name = _sentiment_label(gen, want)
        texts = gen.generate(name, None, n, temperature, top_k, max_len, seed + i, guidance)
        predicted = [p["label"].lower() for p in classifier.predict(texts)]
        result["shares"][ALIASES[want]] = sum(p == want for p in predicted) / max(n, 1)
        result["examples"][ALIASES[want]] = texts[:3]
    if ratings and gen.uses_rating:
        seen = gen.config.get("ratings_seen") or {}
        per_rating = {}
        for r in range(1, MAX_RATING + 1):
            label = seen.get(str(r))
            if label is None:
                continue
            texts = gen.generate(
                label, r, n_per_rating, temperature, top_k, max_len, seed + 10 + r, guidance
            )
            p_pos = classifier.predict_proba(texts)[:, pos_col]
            per_rating[str(r)] = {"label": label, "mean_p_pos": float(np.mean(p_pos))}
        result["rating_p_pos"] = per_rating
    return result


def evaluate_generator(
    model: Generator | str | Path,
    data: str | Path | TextDataset | None = None,
    split: str = "test",
    text_col: str = "text",
    label_col: str = "label",
    n: int = 200,
    seed: int = 0,
    check: bool = True,
    temperature: float = 0.8,
    top_k: int = 40,
    max_len: int = 80,
    guidance: float | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Perplexity on ``data`` (when given) and the conditioning check (when ``check``)."""
    gen = _as_generator(model)
    out: dict[str, Any] = {"model": str(gen.path) if gen.path else None}
    if data is not None:
        ds = _load(data, split, text_col, label_col, cache_dir, gen.label_names)
        out["perplexity"] = gen.perplexity(ds)
        out["perplexity"]["data"] = str(ds.source)
    if check:
        out["conditioning"] = conditioning_check(
            gen,
            n=n,
            seed=seed,
            temperature=temperature,
            top_k=top_k,
            max_len=max_len,
            guidance=guidance,
        )
    return out
