"""Sequence tagging end to end: one tag per token (many-to-many aligned).

The guide's third input/output configuration, on part-of-speech tagging::

    from rnnlab.tasks.tag import evaluate_tagger, load, train_tagger
    ud = "ud_english_ewt_v2.15.tar.gz"
    train_tagger((ud, "train"), (ud, "dev"), (ud, "test"), out="models/pos")
    tagger = load("models/pos")                   # or rnnlab.load("models/pos")
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
:class:`TagTask` supplies these pieces to the shared template
(:mod:`rnnlab.tasks.base`), which does the rest.

A treebank source is a ``.conllu`` file, a ``(path, split)`` pair for a UD
archive (``("ud_english_ewt_v2.15.tar.gz", "dev")``), or a loaded
:class:`~rnnlab.data.conllu.Treebank` (e.g. the generated
:func:`rnnlab.data.synthetic.toy_treebank`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnlab.config import TrainConfig
from rnnlab.data.conllu import Sentence, Treebank, load_conllu
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.tagger import IGNORE, TaggerConfig, tagging_step
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


class Tagger:
    """A trained tagger: ``tag(sentences)`` and ``tag_texts(texts)``.

    Obtain one with :func:`load` (or as ``train_tagger(...).model``).
    ``tag_names`` come from the saved config. ``device`` ("cpu" by default;
    "cuda", "cuda:N", "auto") is where the network runs.
    """

    def __init__(
        self,
        net,
        encoder: Encoder,
        tag_names: list[str],
        path: Path | None = None,
        config: dict | None = None,
        batch_size: int = 128,
        device: str = "cpu",
    ) -> None:
        from rnnlab.training.distributed import resolve_device

        self.device = resolve_device(device)
        self.net = net.eval().to(self.device)
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
                ids_d, lens_d = ids.to(self.device), lens.to(self.device)  # no copy on the CPU
                ch_d = None if ch is None else ch.to(self.device)
                best = self.net(ids_d, lens_d, ch_d).argmax(dim=-1).cpu().numpy()  # (N, T)
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
        tokens = [tokenize(t, lowercase=False) for t in check_texts(texts)]
        return [
            list(zip(s, tags, strict=True))
            for s, tags in zip(tokens, self.tag(tokens), strict=True)
        ]


def tag_step(model, batch):
    """:func:`~rnnlab.models.tagger.tagging_step` on a :func:`make_batches` batch."""
    return tagging_step(model, batch[:4])


def build_vocabs(tb: Treebank, cfg: TaggerConfig) -> tuple[Vocab, Vocab]:
    """The lowercased word vocabulary and the character vocabulary of a training treebank."""
    vocab = Vocab.build(
        ([word_key(f) for f in s.forms] for s in tb.sentences),
        max_size=cfg.max_vocab,
        min_freq=cfg.min_freq,
    )
    chars = Vocab.build(char_tokens(f, cfg.max_word_len) for s in tb.sentences for f in s.forms)
    return vocab, chars


def encode_treebank(
    tb: Treebank, name: str, enc: Encoder, tag_index: dict[str, int], column: str, log
):
    """``(words, chars, tags)`` id lists of treebank ``name``; unseen tags become ``IGNORE``."""
    unknown = Counter(t for s in tb.sentences for t in _labels(s, column) if t not in tag_index)
    if unknown:
        log(f"note: {name} has tags unseen in train (counted as errors): {dict(unknown)}")
    words = [enc.words(s.forms) for s in tb.sentences]
    chars = None if enc.chars is None else [enc.char_ids(s.forms) for s in tb.sentences]
    tags = [[tag_index.get(t, IGNORE) for t in _labels(s, column)] for s in tb.sentences]
    return words, chars, tags


class Treebanks(NamedTuple):
    """What :meth:`TagTask.read` reads: the three treebanks (test may be None)."""

    train: Treebank
    dev: Treebank
    test: Treebank | None


class TagTask(Task):
    """Many-to-many aligned: word + character embeddings -> BiLSTM -> a tag per token."""

    kind = KIND
    val_name = "dev"  # the dev treebank chooses the epoch

    def __init__(self, sources, model: TaggerConfig, training: TrainConfig, column: str) -> None:
        super().__init__(training)
        _check_column(column)
        self.sources, self.model, self.column = sources, model, column

    def read(self, log) -> Treebanks:
        train_src, dev_src, test_src = self.sources
        data = Treebanks(
            read_treebank(train_src, "train"),
            read_treebank(dev_src, "dev"),
            None if test_src is None else read_treebank(test_src, "test"),
        )
        train_tb, dev_tb, test_tb = data
        log(
            f"data: {len(train_tb)} train sentences ({train_tb.n_words} words), "
            f"{len(dev_tb)} dev ({dev_tb.n_words} words)"
            + ("" if test_tb is None else f", {len(test_tb)} test ({test_tb.n_words} words)")
        )
        return data

    def build(self, data: Treebanks, log) -> Built:
        from rnnlab.models.tagger import SequenceTagger

        cfg, training, column = self.model, self.training, self.column
        tag_counts = Counter(t for s in data.train.sentences for t in _labels(s, column))
        tag_names = sorted(tag_counts)
        if len(tag_names) < 2:
            raise DataError(
                f"{data.train.source}: tagging needs at least two tags, got {tag_names}"
            )
        vocab, chars = build_vocabs(data.train, cfg)
        enc = Encoder(vocab, chars if cfg.char else None, cfg.max_word_len)
        log(f"vocabulary: {len(vocab)} words, {len(chars)} characters, {len(tag_names)} tags")
        tag_index = {t: i for i, t in enumerate(tag_names)}
        train_ids = encode_treebank(data.train, "train", enc, tag_index, column, log)
        dev_ids = encode_treebank(data.dev, "dev", enc, tag_index, column, log)
        net = SequenceTagger(cfg, len(vocab), len(chars), len(tag_names))
        config = {
            "column": column,
            "tag_names": tag_names,
            "vocab_size": len(vocab),
            "n_chars": len(chars),
            "word_key": "lowercase",
            "model": cfg.to_dict(),
            "data": {
                name: {
                    "source": str(tb.source),
                    "sha256": tb.sha256,
                    "sentences": len(tb),
                    "words": tb.n_words,
                }
                for name, tb in data._asdict().items()
                if tb is not None
            },
            "tag_counts": dict(sorted(tag_counts.items())),
        }
        return Built(
            net,
            config,
            {"vocab.json": vocab.save, "chars.json": chars.save},
            train_batches=lambda epoch: make_batches(
                *train_ids, training.batch_size, shuffle=True, seed=training.seed + epoch
            ),
            val_batches=make_batches(*dev_ids, batch_size=256),
            state={"encoder": enc, "tag_names": tag_names},
        )

    step = staticmethod(tag_step)

    def predictor(self, built: Built) -> Tagger:
        return Tagger(built.net.eval(), built.state["encoder"], built.state["tag_names"])

    def evaluate(self, model: Tagger, data: Treebanks, log) -> dict[str, Any]:
        return {"dev": evaluate_tagger(model, data.dev, column=self.column)}

    def test(self, model: Tagger, data: Treebanks, log) -> dict[str, Any] | None:
        if data.test is None:
            return None
        m = evaluate_tagger(model, data.test, column=self.column)
        log(f"test: accuracy {m['accuracy']:.4f}, unknown words {m['oov']['accuracy']:.4f}")
        return m

    def plots(self, history, metrics: dict[str, Any]):
        """The learning curve, and the confusion matrix of test (dev without a test set)."""
        from rnnlab.training.metrics import plot_confusion

        report = metrics["test" if "test" in metrics else "dev"]
        return {
            **super().plots(history, metrics),
            "confusion_matrix.png": lambda path: plot_confusion(report, path),
        }


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
    resume: bool = False,
) -> TrainResult:
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
        Network and vocabulary settings (default: ``TaggerConfig()``, a 1-layer
        BiLSTM over word embeddings and a character CNN).
    training : TrainConfig, optional
        Default :data:`DEFAULT_TRAINING`; ``val_fraction`` is unused (dev is
        the validation set).
    column : str
        The CoNLL-U column to predict: ``"upos"``.
    resume : bool
        Continue a killed or interrupted run from its newest valid checkpoint
        (``<out>.checkpoints``); the result is bit-identical to an uninterrupted run.
    log : callable
        Receives one-line progress messages.

    Returns
    -------
    TrainResult
        ``metrics`` holds "dev", "test" (when given) and "timing";
        ``model`` is the trained :class:`Tagger`.
    """
    task = TagTask(
        (train_source, dev_source, test_source),
        model or TaggerConfig(),
        training or DEFAULT_TRAINING,
        column,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


def load(path: str | Path, threads: int | None = None, device: str = "cpu") -> Tagger:
    """Load a tagger model directory written by :func:`train_tagger`.

    ``threads``: see :func:`rnnlab.tasks.base.resolve_threads` (default: half
    the cores; 0: all). ``device``: "cpu" (default), "cuda", "cuda:N" or
    "auto" (a GPU when torch sees one). Raises ArtifactError if the directory is not a tagger
    or is damaged. ``rnnlab.load`` dispatches here on kind "tagger".
    """
    from rnnlab.models.tagger import SequenceTagger

    path, config = open_model_dir(path, KIND)
    try:
        cfg = TaggerConfig.from_dict(config["model"])
        vocab = Vocab.load(path / "vocab.json")
        chars = Vocab.load(path / "chars.json")
        tag_names = list(config["tag_names"])
        sizes = config["vocab_size"], config["n_chars"]
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"cannot load tagger from {path}: missing {exc}") from None
    if (len(vocab), len(chars)) != sizes:
        raise ArtifactError(
            f"{path}: vocabulary sizes differ from config.json; the directory is inconsistent"
        )
    net = load_state(lambda: SequenceTagger(cfg, len(vocab), len(chars), len(tag_names)), path)
    apply_threads(threads)
    enc = Encoder(vocab, chars if cfg.char else None, cfg.max_word_len)
    return Tagger(net, enc, tag_names, path, config, device=device)


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
        ``n_sentences``, ``tokens_per_second``, ``data`` and the figures of
        :func:`tagging_metrics`.
    """
    tagger = model if isinstance(model, Tagger) else load(model)
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
    metrics: dict[str, Any] = {
        "n_sentences": len(tb),
        **tagging_metrics(gold, pred, oov, tagger.tag_names, top),
        "tokens_per_second": round(len(gold) / max(seconds, 1e-9), 1),
        "data": {"source": str(tb.source), "sha256": tb.sha256},
    }
    if out is not None:
        from rnnlab.training.metrics import write_evaluation

        write_evaluation(metrics, out)
    return metrics


def tagging_metrics(
    gold: Sequence[str], pred: Sequence[str], oov: np.ndarray, tag_names: Sequence[str], top: int
) -> dict[str, Any]:
    """Token-level figures of predicted against gold tags (flat, one per token).

    ``accuracy`` over all tokens; ``oov``: count, share and accuracy on the
    tokens flagged in ``oov`` (words outside the training vocabulary: they
    share ``<unk>``); ``known_accuracy`` on the others; ``per_tag``
    (scikit-learn precision/recall/F1/support); ``macro_f1`` over the tags
    present in gold; ``confused``: the ``top`` most frequent errors;
    ``confusion_matrix`` (rows true, columns predicted, in ``labels`` order:
    the model's tags, then gold tags it never saw).
    """
    from sklearn import metrics as skm

    labels = list(tag_names) + sorted(set(gold) - set(tag_names))
    gold_a, pred_a = np.asarray(gold), np.asarray(pred)
    right = gold_a == pred_a
    p, r, f, support = skm.precision_recall_fscore_support(
        gold_a, pred_a, labels=labels, average=None, zero_division=0
    )
    cm = skm.confusion_matrix(gold_a, pred_a, labels=labels)
    off = sorted(
        (
            (int(cm[i, j]), labels[i], labels[j])
            for i, j in zip(*np.nonzero(cm), strict=True)
            if i != j
        ),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    present = [k for k in range(len(labels)) if support[k] > 0]
    return {
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
    }
