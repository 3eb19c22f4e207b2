"""Word embeddings: Word2Vec trained with gensim, pretrained vector files, and
matrices aligned with a vocabulary.

The guide's "word embedding" section: each word becomes a dense vector learned
from the contexts it appears in. CBOW predicts a word from its context,
skip-gram predicts the context from the word (gensim's ``sg=0`` / ``sg=1``).

Shape legend: V vocabulary size, D vector size.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.text import OOV, PAD, Vocab


def stable_hash(text: str) -> int:
    """A hash that does not change between runs (Python's ``hash`` of str does).

    gensim seeds each word's initial vector with ``hashfxn(word + str(seed))``;
    with the built-in ``hash`` two runs with the same seed differ unless
    PYTHONHASHSEED is fixed. CRC32 makes Word2Vec training reproducible.
    """
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(
    token_lists: Iterable[Sequence[str]],
    dim: int = 100,
    algorithm: str = "cbow",
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    seed: int = 0,
    workers: int = 1,
):
    """Train Word2Vec on tokenized texts and return its ``KeyedVectors``.

    ``token_lists`` is a list of token lists, or -- for a corpus larger than
    memory -- a *restartable* iterable of them: an object whose ``__iter__``
    starts the corpus over each time (e.g. re-reads a file; see
    :class:`TokenFile`). gensim reads it ``epochs + 1`` times: once to count
    the vocabulary, then once per epoch. A generator or iterator, which can be
    read only once, is refused. The vectors are the same whether the texts
    come as a list or as such an iterable.

    ``workers=1`` (the default) makes the result identical for a given seed;
    more workers are faster but gensim's thread scheduling then varies.
    """
    from gensim.models import Word2Vec

    if isinstance(token_lists, str) or (
        isinstance(token_lists, Sequence) and token_lists and isinstance(token_lists[0], str)
    ):
        raise RnnlabError("train_word2vec expects a list of token lists, got raw text")
    if iter(token_lists) is token_lists:
        raise RnnlabError(
            "train_word2vec got a generator or iterator, which can be read only once; gensim "
            f"reads the corpus {epochs + 1} times: pass a list, or an object whose __iter__ "
            "starts over (e.g. rnnlab.embeddings.TokenFile)"
        )
    if algorithm not in ("cbow", "skipgram"):
        raise RnnlabError(f"algorithm must be 'cbow' or 'skipgram', got {algorithm!r}")
    corpus = (
        [list(t) for t in token_lists]
        if isinstance(token_lists, Sequence)
        else _TokenLists(token_lists)
    )
    model = Word2Vec(
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=1 if algorithm == "skipgram" else 0,
        epochs=epochs,
        seed=seed,
        workers=workers,
        hashfxn=stable_hash,
    )
    model.build_vocab(corpus)  # pass 1: count the words
    if not model.wv.index_to_key:
        raise RnnlabError(
            f"no word occurs {min_count} times in the {model.corpus_count} texts given, so "
            "Word2Vec has nothing to learn; give more text or lower min_count"
        )
    model.train(  # passes 2 .. epochs + 1, exactly as Word2Vec(sentences=...) does
        corpus,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        start_alpha=model.alpha,
        end_alpha=model.min_alpha,
    )
    return model.wv


class _TokenLists:
    """A restartable corpus, checked as it is read: each item must be a list of tokens."""

    def __init__(self, corpus: Iterable[Sequence[str]]) -> None:
        self.corpus = corpus

    def __iter__(self) -> Iterator[list[str]]:
        for item in self.corpus:
            if isinstance(item, str):
                raise RnnlabError("train_word2vec expects token lists, got raw text (a str)")
            yield list(item)


class TokenFile:
    """Token lists kept on disk, one JSON list per line: a restartable corpus.

    ``TokenFile.write(path, token_lists)`` writes them (one pass over any
    iterable, e.g. texts tokenized as they are read) and returns the corpus;
    iterating it reads the file again each time, so gensim's several passes
    need memory for one text, not for the corpus.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def write(cls, path: str | Path, token_lists: Iterable[Sequence[str]]) -> TokenFile:
        with open(path, "w", encoding="utf-8") as fh:
            for tokens in token_lists:
                fh.write(json.dumps(list(tokens), ensure_ascii=False) + "\n")
        return cls(path)

    def __iter__(self) -> Iterator[list[str]]:
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def load_vectors(path: str | Path, fmt: str = "auto"):
    """Read pretrained vectors: word2vec text or binary, or GloVe text.

    ``fmt``: "word2vec" (text with a "count dim" header), "word2vec-binary",
    "glove" (text without header), or "auto" (by extension and first line).
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise RnnlabError(f"embedding file not found: {path}")
    if fmt == "auto":
        if path.suffix == ".bin":
            fmt = "word2vec-binary"
        else:
            with open(path, "rb") as fh:
                first = fh.readline().split()
            is_header = len(first) == 2 and all(p.isdigit() for p in first)
            fmt = "word2vec" if is_header else "glove"
    try:
        if fmt == "word2vec-binary":
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        if fmt == "word2vec":
            return KeyedVectors.load_word2vec_format(str(path), binary=False)
        if fmt == "glove":
            return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        raise RnnlabError(f"cannot read {path} as {fmt} vectors: {exc}") from None
    raise RnnlabError(f"fmt must be auto, word2vec, word2vec-binary or glove; got {fmt!r}")


@dataclass(frozen=True)
class Coverage:
    """How much of a vocabulary (and of the training tokens) has a vector."""

    vocab_covered: int
    vocab_total: int  # entries other than <pad> and <unk>
    tokens_covered: int
    tokens_total: int

    @property
    def vocab_share(self) -> float:
        return self.vocab_covered / max(self.vocab_total, 1)

    @property
    def token_share(self) -> float:
        return self.tokens_covered / max(self.tokens_total, 1)

    def to_dict(self) -> dict[str, float | int]:
        return {
            "vocab_covered": self.vocab_covered,
            "vocab_total": self.vocab_total,
            "vocab_share": round(self.vocab_share, 4),
            "tokens_covered": self.tokens_covered,
            "tokens_total": self.tokens_total,
            "token_share": round(self.token_share, 4),
        }


def embedding_matrix(vocab: Vocab, vectors, seed: int = 0) -> tuple[np.ndarray, Coverage]:
    """A (V, D) float32 matrix whose row i is the vector of ``vocab.itos[i]``.

    Words without a vector (and <unk>) get small random rows (normal, std
    matched to the known vectors); <pad> is all zeros. Lookup tries the token
    as is, then lowercased. Coverage counts vocabulary entries and training
    token occurrences (``vocab.counts``) that found a vector.
    """
    dim = vectors.vector_size
    rng = np.random.default_rng(seed)
    std = float(np.std(vectors.vectors)) if len(vectors.index_to_key) else 0.1
    matrix = rng.normal(0.0, std, size=(len(vocab), dim)).astype(np.float32)  # (V, D)
    matrix[PAD] = 0.0
    covered = tokens_covered = tokens_total = 0
    for i, token in enumerate(vocab.itos):
        if i in (PAD, OOV):
            continue
        count = vocab.counts.get(token, 0)
        tokens_total += count
        key = token if token in vectors.key_to_index else token.lower()
        if key in vectors.key_to_index:
            matrix[i] = vectors[key]
            covered += 1
            tokens_covered += count
    return matrix, Coverage(covered, len(vocab) - 2, tokens_covered, tokens_total)
