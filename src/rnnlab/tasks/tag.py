"""Sequence tagging end to end: one tag per token (many-to-many aligned).

The guide's third input/output configuration, on part-of-speech tagging::

    from rnnlab.tasks.tag import train_tagger, load_tagger, evaluate_tagger
    ud = "ud_english_ewt_v2.15.tar.gz"
    train_tagger((ud, "train"), (ud, "dev"), (ud, "test"), out="models/pos")
    tagger = load_tagger("models/pos")
    tagger.tag([["I", "want", "to", "book", "a", "flight"]])
    # [['PRON', 'VERB', 'PART', 'VERB', 'DET', 'NOUN']]
    tagger.tag_texts(["Book the flight."])
    # [[('Book', 'VERB'), ('the', 'DET'), ('flight', 'NOUN'), ('.', 'PUNCT')]]
    evaluate_tagger(tagger, ud, split="test")["accuracy"]

Steps: CoNLL-U treebank (:func:`rnnlab.data.conllu.load_conllu`) -> lowercased
word vocabulary and a character vocabulary (training sentences only) ->
length-bucketed batches of sentences -> :class:`~rnnlab.models.tagger.SequenceTagger`
trained by :func:`rnnlab.training.fit` with early stopping on the dev
treebank -> model directory. The test treebank is evaluated once, at the end.

A treebank source is a ``.conllu`` file, a ``(path, split)`` pair for a UD
archive (``("ud_english_ewt_v2.15.tar.gz", "dev")``), or a loaded
:class:`~rnnlab.data.conllu.Treebank`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
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
from rnnlab.config import TrainConfig
from rnnlab.data.conllu import Sentence, Treebank, load_conllu
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.tagger import IGNORE, TaggerConfig
from rnnlab.text import OOV, PAD, Vocab, tokenize

KIND = "tagger"
COLUMNS = ("upos",)  # the per-token label columns a Sentence holds
BOW, EOW = "<w>", "</w>"  # begin/end-of-word characters around each word's characters

# Tagging trains on short sentences: more epochs than the classifier, a gentler
# learning-rate decay, and two epochs of patience. (The dev treebank is the
# validation set, so ``val_fraction`` is not used.)
DEFAULT_TRAINING = TrainConfig(epochs=10, batch_size=64, lr=3e-3, lr_decay=0.85, patience=2)

Source = str | Path | Treebank | tuple[str | Path, str]


def read_treebank(source: Source, split: str | None = None) -> Treebank:
    """A Treebank from a ``.conllu`` path, an ``(archive, split)`` pair or a Treebank."""
    if isinstance(source, Treebank):
        return source
    if isinstance(source, tuple):
        if len(source) != 2:
            raise RnnlabError(f"a treebank source pair must be (path, split), got {source!r}")
        source, split = source
    if not isinstance(source, str | Path):
        raise RnnlabError(
            f"a treebank source must be a path, (archive, split) or Treebank, "
            f"got {type(source).__name__}"
        )
    return load_conllu(source, split)


def _labels(sentence: Sentence, column: str) -> list[str]:
    return list(getattr(sentence, column))


def _check_column(column: str) -> None:
    if column not in COLUMNS:
        raise RnnlabError(f"column must be one of {', '.join(COLUMNS)}; got {column!r}")


def word_key(form: str) -> str:
    """The word vocabulary's key for a form: lowercased (the characters keep the case)."""
    return form.lower()


def char_tokens(form: str, max_len: int) -> list[str]:
    """``<w>`` + the form's characters + ``</w>``; a long word keeps its two ends."""
    if len(form) > max_len:
        half = max_len // 2
        form = form[:half] + form[len(form) - (max_len - half) :]
    return [BOW, *form, EOW]


class Encoder:
    """Forms -> word ids and character ids, with the vocabularies of one tagger."""

    def __init__(self, vocab: Vocab, chars: Vocab | None, max_word_len: int) -> None:
        self.vocab = vocab
        self.chars = chars
        self.max_word_len = max_word_len

    def words(self, forms: Sequence[str]) -> list[int]:
        return self.vocab.encode([word_key(f) for f in forms])

    def char_ids(self, forms: Sequence[str]) -> list[list[int]] | None:
        if self.chars is None:
            return None
        return [self.chars.encode(char_tokens(f, self.max_word_len)) for f in forms]


def make_batches(
    words: list[list[int]],
    chars: list[list[list[int]]] | None,
    tags: list[list[int]] | None,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
) -> list[tuple]:
    """Length-bucketed batches ``(words (N, T), lengths (N,), chars (N, T, L) | None, tags)``.

    ``tags`` is (N, T) with ``IGNORE`` at padded positions, or None for
    prediction; each batch also carries its sentence indices as a 5th item.
    """
    import torch

    from rnnlab.training import bucket_batches, collate

    lengths = np.fromiter((len(s) for s in words), dtype=np.int64, count=len(words))
    out = []
    for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
        ids, lens = collate(words, idx)  # (N, T), (N,)
        n, t = ids.shape
        char_t = None
        if chars is not None:
            width = max(len(w) for i in idx for w in chars[i])
            arr = np.full((n, t, width), PAD, dtype=np.int64)  # (N, T, L)
            for row, i in enumerate(idx):
                for col, w in enumerate(chars[i]):
                    arr[row, col, : len(w)] = w
            char_t = torch.from_numpy(arr)
        tag_t = None
        if tags is not None:
            tarr = np.full((n, t), IGNORE, dtype=np.int64)  # (N, T)
            for row, i in enumerate(idx):
                tarr[row, : len(tags[i])] = tags[i]
            tag_t = torch.from_numpy(tarr)
        out.append((ids, lens, char_t, tag_t, idx))
    return out


def _step(model, batch):
    from rnnlab.models.tagger import tagging_step

    return tagging_step(model, batch[:4])


class Tagger:
    """A trained tagger: ``tag(sentences)`` and ``tag_texts(texts)``.

    Obtain one with :func:`load_tagger` (or from :func:`train_tagger`'s result).
    ``tag_names`` come from the saved config.
    """

    def __init__(
        self,
        net,
        encoder: Encoder,
        tag_names: list[str],
        path: Path | None = None,
        config: dict | None = None,
        batch_size: int = 128,
    ) -> None:
        self.net = net.eval()
        self.encoder = encoder
        self.tag_names = list(tag_names)
        self.path = path
        self.config = config or {}
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"Tagger(path={self.path}, tags={len(self.tag_names)})"

    def tag_ids(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Best tag index per token, one int array per sentence, in input order."""
        import torch

        if isinstance(sentences, str):
            raise RnnlabError(
                "sentences must be a list of token lists, got a single str; "
                "use tag_texts([...]) for raw text"
            )
        sentences = list(sentences)
        for i, s in enumerate(sentences):
            if isinstance(s, str) or not all(isinstance(tok, str) for tok in s):
                raise RnnlabError(
                    f"sentence {i} must be a list of str tokens, got {s!r:.60}; "
                    "use tag_texts([...]) for raw text"
                )
        result: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in sentences]
        keep = [i for i, s in enumerate(sentences) if len(s)]
        forms = [sentences[i] for i in keep]
        words = [self.encoder.words(f) for f in forms]
        chars = None if self.net.chars is None else [self.encoder.char_ids(f) for f in forms]
        with torch.inference_mode():
            for ids, lens, ch, _, idx in make_batches(words, chars, None, self.batch_size):
                best = self.net(ids, lens, ch).argmax(dim=-1).numpy()  # (N, T)
                for row, i in enumerate(idx):
                    result[keep[i]] = best[row, : int(lens[row])]
        return result

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags of tokenized sentences: ``[["The", "cat"]] -> [["DET", "NOUN"]]``."""
        names = self.tag_names
        return [[names[k] for k in best] for best in self.tag_ids(sentences)]

    def tag_texts(self, texts: Sequence[str]) -> list[list[tuple[str, str]]]:
        """Tokenize raw texts (:func:`rnnlab.text.tokenize`, case kept) and tag them.

        Returns one list of ``(token, tag)`` pairs per text. The tokenizer is
        rnnlab's, not the treebank's: e.g. UD splits "didn't" into "did" +
        "n't" while rnnlab keeps one token, which the tagger has rarely seen.
        """
        if isinstance(texts, str):
            raise RnnlabError("texts must be a list of strings, got a single str; wrap it in [...]")
        for t in texts:
            if not isinstance(t, str):
                raise RnnlabError(f"texts must be strings, got {type(t).__name__}")
        tokens = [tokenize(t, lowercase=False) for t in texts]
        return [
            list(zip(s, tags, strict=True))
            for s, tags in zip(tokens, self.tag(tokens), strict=True)
        ]


@dataclass
class TagTrainResult:
    """What :func:`train_tagger` produced: the model directory and its figures."""

    out: Path
    tagger: Tagger
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    seconds: float
    best_epoch: int


def train_tagger(
    train_source: Source,
    dev_source: Source,
    test_source: Source | None = None,
    out: str | Path = "tagger",
    model: TaggerConfig | None = None,
    training: TrainConfig | None = None,
    column: str = "upos",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TagTrainResult:
    """Train a sequence tagger on a CoNLL-U treebank and write its model directory.

    Parameters
    ----------
    train_source, dev_source : treebank source
        A ``.conllu`` file, an ``(archive, split)`` pair or a Treebank. Train
        fits the weights; dev chooses the epoch (early stopping).
    test_source : treebank source, optional
        Evaluated once after training, never used for fitting.
    out : path
        Model directory to create (an existing model directory is replaced).
    model : TaggerConfig, optional
        Network and vocabulary settings (default: 1-layer BiLSTM, 128 units
        per direction, 100-d words, character CNN).
    training : TrainConfig, optional
        Default :data:`DEFAULT_TRAINING`; ``val_fraction`` is unused (dev is
        the validation set).
    column : str
        The CoNLL-U column to predict: ``"upos"``.
    log : callable
        Receives one-line progress messages.
    """
    from rnnlab.models.tagger import SequenceTagger
    from rnnlab.training import fit, seed_everything, set_threads
    from rnnlab.training.metrics import plot_confusion, plot_history

    cfg = model or TaggerConfig()
    training = training or DEFAULT_TRAINING
    _check_column(column)
    start = time.perf_counter()
    out = check_output_dir(out)
    seed_everything(training.seed)
    set_threads(training.threads)

    train_tb = read_treebank(train_source, "train")
    dev_tb = read_treebank(dev_source, "dev")
    test_tb = None if test_source is None else read_treebank(test_source, "test")
    log(
        f"data: {len(train_tb)} train sentences ({train_tb.n_words} words), "
        f"{len(dev_tb)} dev ({dev_tb.n_words} words)"
        + ("" if test_tb is None else f", {len(test_tb)} test ({test_tb.n_words} words)")
    )
    tag_counts = Counter(t for s in train_tb.sentences for t in _labels(s, column))
    tag_names = sorted(tag_counts)
    if len(tag_names) < 2:
        raise DataError(f"{train_tb.source}: tagging needs at least two tags, got {tag_names}")
    vocab = Vocab.build(
        ([word_key(f) for f in s.forms] for s in train_tb.sentences),
        max_size=cfg.max_vocab,
        min_freq=cfg.min_freq,
    )
    chars = Vocab.build(
        char_tokens(f, cfg.max_word_len) for s in train_tb.sentences for f in s.forms
    )
    enc = Encoder(vocab, chars if cfg.char else None, cfg.max_word_len)
    log(f"vocabulary: {len(vocab)} words, {len(chars)} characters, {len(tag_names)} tags")

    tag_index = {t: i for i, t in enumerate(tag_names)}

    def encode(tb: Treebank, name: str):
        unknown = Counter(t for s in tb.sentences for t in _labels(s, column) if t not in tag_index)
        if unknown:
            log(f"note: {name} has tags unseen in train (counted as errors): {dict(unknown)}")
        words = [enc.words(s.forms) for s in tb.sentences]
        ch = None if enc.chars is None else [enc.char_ids(s.forms) for s in tb.sentences]
        tags = [[tag_index.get(t, IGNORE) for t in _labels(s, column)] for s in tb.sentences]
        return words, ch, tags

    train_data = encode(train_tb, "train")
    dev_data = encode(dev_tb, "dev")
    net = SequenceTagger(cfg, len(vocab), len(chars), len(tag_names))
    val_batches = make_batches(*dev_data, batch_size=256)
    checkpoint_dir = checkpoint_dir_for(out)
    t0 = time.perf_counter()
    history = fit(
        net,
        lambda epoch: make_batches(
            *train_data, training.batch_size, shuffle=True, seed=training.seed + epoch
        ),
        val_batches,
        _step,
        training,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        on_epoch=lambda r: log(
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} acc {r['train_accuracy']:.4f}"
            f" | dev loss {r['val_loss']:.4f} acc {r['val_accuracy']:.4f}"
            f" ({r['epoch_seconds']:.0f} s)"
        ),
    )
    network_seconds = time.perf_counter() - t0
    log(f"kept epoch {history.best_epoch} (lowest dev loss)")
    tagger = Tagger(net.eval(), enc, tag_names)
    metrics: dict[str, Any] = {"dev": evaluate_tagger(tagger, dev_tb, column=column)}
    fit_seconds = time.perf_counter() - start
    if test_tb is not None:
        metrics["test"] = evaluate_tagger(tagger, test_tb, column=column)
        log(
            f"test: accuracy {metrics['test']['accuracy']:.4f}, "
            f"unknown words {metrics['test']['oov']['accuracy']:.4f}"
        )
    seconds = time.perf_counter() - start
    metrics["timing"] = {
        "total_seconds": round(seconds, 1),
        "fit_seconds": round(fit_seconds, 1),  # everything before the test evaluation
        "network_seconds": round(network_seconds, 1),
        "epochs_run": len(history.epochs),
    }
    config = {
        **base_config(KIND),
        "column": column,
        "tag_names": tag_names,
        "vocab_size": len(vocab),
        "n_chars": len(chars),
        "word_key": "lowercase",
        "model": cfg.to_dict(),
        "train": training.to_dict(),
        "data": {
            name: {
                "source": str(tb.source),
                "sha256": tb.sha256,
                "sentences": len(tb),
                "words": tb.n_words,
            }
            for name, tb in (("train", train_tb), ("dev", dev_tb), ("test", test_tb))
            if tb is not None
        },
        "tag_counts": dict(sorted(tag_counts.items())),
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
    }
    report = metrics["test" if test_tb is not None else "dev"]

    def write_plots(path: Path) -> None:
        plot_history(history.epochs, path, history.best_epoch)
        plot_confusion(report, path.with_name("confusion_matrix.png"))

    writers = {
        "vocab.json": vocab.save,
        "chars.json": chars.save,
        "model.safetensors": weights_writer(net),
        "metrics.json": json_writer(metrics),
        "history.jsonl": history.write_jsonl,
        "learning_curve.png": write_plots,
    }
    write_model_dir(out, config, writers, checked=("vocab.json", "chars.json", "model.safetensors"))
    log(f"saved {out}")
    tagger.path, tagger.config = out, config
    return TagTrainResult(out, tagger, metrics, history.epochs, seconds, history.best_epoch)


def load_tagger(path: str | Path, threads: int = 0) -> Tagger:
    """Load a tagger model directory written by :func:`train_tagger`.

    ``threads``: torch CPU threads for tagging (0: leave torch's setting).
    Raises ArtifactError if the directory is not a tagger or is damaged.
    """
    import torch

    from rnnlab.models.tagger import SequenceTagger

    path = Path(path)
    config = read_config(path, kind=KIND)
    try:
        cfg = TaggerConfig.from_dict(config["model"])
        vocab = Vocab.load(path / "vocab.json")
        chars = Vocab.load(path / "chars.json")
        tag_names = list(config["tag_names"])
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"cannot load tagger from {path}: missing {exc}") from None
    if len(vocab) != config["vocab_size"] or len(chars) != config["n_chars"]:
        raise ArtifactError(
            f"{path}: vocabulary sizes differ from config.json; the directory is inconsistent"
        )
    if OOV != 1:  # pragma: no cover - guards a future change of the special ids
        raise ArtifactError("vocabulary special ids changed")
    net = SequenceTagger(cfg, len(vocab), len(chars), len(tag_names))
    load_weights(net, path / "model.safetensors")
    if threads:
        torch.set_num_threads(threads)
    enc = Encoder(vocab, chars if cfg.char else None, cfg.max_word_len)
    return Tagger(net, enc, tag_names, path, config)


def evaluate_tagger(
    model: Tagger | str | Path,
    source: Source,
    split: str | None = None,
    out: str | Path | None = None,
    column: str | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Token accuracy, per-tag precision/recall/F1, unknown-word accuracy, confusions.

    Parameters
    ----------
    model : Tagger or path to a tagger model directory
    source : treebank source
        A ``.conllu`` file, a UD archive (with ``split``), a pair or a Treebank.
    split : {"train", "dev", "test"}, optional
        Which part of an archive to read.
    out : path, optional
        Folder that receives metrics.json and confusion_matrix.png.
    column : str, optional
        Gold column (default: the one the tagger was trained on).
    top : int
        How many of the most confused (true, predicted) pairs to list.

    Returns
    -------
    dict
        ``accuracy`` over all tokens; ``oov``: count and accuracy on words
        outside the training vocabulary (they share ``<unk>``); ``per_tag``
        (scikit-learn precision/recall/F1/support); ``macro_f1``;
        ``confused``: the most frequent errors; ``confusion_matrix`` (rows
        true, columns predicted, in ``labels`` order); ``tokens_per_second``.
    """
    from sklearn import metrics as skm

    tagger = model if isinstance(model, Tagger) else load_tagger(model)
    column = column or tagger.config.get("column", "upos")
    _check_column(column)
    tb = read_treebank(source, split)
    forms = [s.forms for s in tb.sentences]
    t0 = time.perf_counter()
    predicted = tagger.tag(forms)
    seconds = time.perf_counter() - t0
    gold = [t for s in tb.sentences for t in _labels(s, column)]
    pred = [t for p in predicted for t in p]
    oov = np.array([i == OOV for f in forms for i in tagger.encoder.words(f)], dtype=bool)
    labels = list(tagger.tag_names) + sorted(set(gold) - set(tagger.tag_names))
    gold_a, pred_a = np.asarray(gold), np.asarray(pred)
    right = gold_a == pred_a
    p, r, f, support = skm.precision_recall_fscore_support(
        gold_a, pred_a, labels=labels, average=None, zero_division=0
    )
    cm = skm.confusion_matrix(gold_a, pred_a, labels=labels)
    off = [
        (int(cm[i, j]), labels[i], labels[j])
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and cm[i, j] > 0
    ]
    off.sort(key=lambda x: (-x[0], x[1], x[2]))
    present = [k for k in range(len(labels)) if support[k] > 0]
    metrics: dict[str, Any] = {
        "n_sentences": len(tb),
        "n_tokens": len(gold),
        "accuracy": float(right.mean()) if len(gold) else 0.0,
        "oov": {
            "n": int(oov.sum()),
            "share": float(oov.mean()) if len(gold) else 0.0,
            "accuracy": float(right[oov].mean()) if oov.any() else None,
        },
        "known_accuracy": float(right[~oov].mean()) if (~oov).any() else None,
        "macro_f1": float(np.mean(f[present])) if present else 0.0,
        "per_tag": {
            name: {
                "precision": float(p[k]),
                "recall": float(r[k]),
                "f1": float(f[k]),
                "support": int(support[k]),
            }
            for k, name in enumerate(labels)
        },
        "confused": [{"true": t, "predicted": q, "count": c} for c, t, q in off[:top]],
        "labels": labels,
        "confusion_matrix": cm.tolist(),
        "tokens_per_second": round(len(gold) / max(seconds, 1e-9), 1),
        "data": {"source": str(tb.source), "sha256": tb.sha256},
    }
    if out is not None:
        from rnnlab.training.loop import write_text_atomic
        from rnnlab.training.metrics import plot_confusion

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        plot_confusion(metrics, out / "confusion_matrix.png")
    return metrics


# --------------------------------------------------------------------------- a toy treebank

AMBIGUOUS = ("book", "watch", "run", "play", "work")  # NOUN after "the", VERB after "to"
SUFFIX_TAGS = {"ous": "ADJ", "ly": "ADV"}  # the tag of a made-up word is in its ending
_NOUNS = ("cat", "dog", "idea", "car", "house", "song")
_ADJS = ("big", "red", "old", "new")
_PRONS = ("I", "we", "they", "you")


def made_up_word(rng, suffix: str) -> str:
    """A pronounceable stem of 2-4 syllables plus ``suffix`` ("bakitous", "lomely")."""
    stem = "".join(
        rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))
    )
    return stem + suffix


def toy_treebank(n: int, seed: int = 0, source: str = "toy") -> Treebank:
    """A generated tagging language where a word's tag needs its context or its spelling.

    Three sentence shapes, in shares 1/4, 1/4, 1/2 (capitalised first word, final "."):

    - ``PRON want to AMB the NOUN .`` -- an ambiguous word (book, watch, run,
      play, work) is a VERB after "to" ...
    - ``the AMB is ADJ .`` -- ... and a NOUN after "the";
    - ``PRON ran WORD .`` -- WORD is made up for each sentence (so it is
      unknown to a word vocabulary) and its tag is in its ending: ``-ous``
      ADJ, ``-ly`` ADV. Only the characters can tell.

    Used by the tests and the docs; deterministic given ``seed``.
    """
    import hashlib
    import random

    rng = random.Random(seed)
    sentences = []
    for i in range(n):
        shape = min(i % 4, 2)
        if shape == 0:
            words = [
                (rng.choice(_PRONS), "PRON"),
                ("want", "VERB"),
                ("to", "PART"),
                (rng.choice(AMBIGUOUS), "VERB"),
                ("the", "DET"),
                (rng.choice(_NOUNS), "NOUN"),
            ]
        elif shape == 1:
            words = [
                ("the", "DET"),
                (rng.choice(AMBIGUOUS), "NOUN"),
                ("is", "AUX"),
                (rng.choice(_ADJS), "ADJ"),
            ]
        else:
            suffix = rng.choice(sorted(SUFFIX_TAGS))
            words = [
                (rng.choice(_PRONS), "PRON"),
                ("ran", "VERB"),
                (made_up_word(rng, suffix), SUFFIX_TAGS[suffix]),
            ]
        words.append((".", "PUNCT"))
        forms = [w for w, _ in words]
        forms[0] = forms[0][0].upper() + forms[0][1:]
        tags = [t for _, t in words]
        sentences.append(Sentence(forms, list(forms), tags, f"{source}-{seed}-{i}"))
    digest = hashlib.sha256(f"{source}:{n}:{seed}".encode()).hexdigest()
    return Treebank(sentences, source, digest)
