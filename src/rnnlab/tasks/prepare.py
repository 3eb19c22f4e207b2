"""Texts to ids and initial word vectors, as the recurrent classifier prepares them.

Shared by the tasks that read texts with the classifier's settings (the
classifier, and the encoder pretraining that the classifier later starts
from), so that neither imports the other: ``tasks.classify`` imports
``tasks.pretrain`` to load an encoder, and the pretraining needs these steps.

- :func:`truncate` / :func:`encode`: tokens -> ids, cut to ``text.maxlen``;
- :func:`tokenizer_file`: the tokenizer's file beside the weights (subword);
- :func:`embedding_step`: Word2Vec on the training texts, a vectors file, or none.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rnnlab.config import EmbeddingConfig, TextConfig
from rnnlab.text import Vocab, tokenize
from rnnlab.text.sequences import check_texts
from rnnlab.text.sequences import truncate as truncate_ids
from rnnlab.text.tokenizers import TOKENIZER_FILE

TOKENIZER = "rnnlab.tokenize/1"  # config.json "tokenizer" of the words tokenizer


def truncate(ids: list[int], text: TextConfig) -> list[int]:
    """Keep ``text.maxlen`` ids: the last ones ("pre", Keras' default) or the first."""
    return truncate_ids(ids, text.maxlen, text.truncating)


def encode(texts: Sequence[str], vocab: Vocab, text: TextConfig, tokenizer=None) -> list[list[int]]:
    """Tokenize, map to ids and truncate to ``text.maxlen``."""
    split = tokenize if tokenizer is None else tokenizer
    return [truncate(vocab.encode(split(t)), text) for t in check_texts(texts)]


def tokenizer_file(tokenizer) -> dict[str, Any]:
    """``{"tokenizer.json": writer}`` for a tokenizer learned from the texts (subword), else {}."""
    return {TOKENIZER_FILE: tokenizer.save} if tokenizer.needs_file else {}


def embedding_step(embedding: EmbeddingConfig, train_tokens, vocab: Vocab, seed: int, log):
    """``(matrix or None, coverage or None, dim, seconds)`` of the embedding settings.

    ``word2vec``: trained on the training texts; ``random``: none (the network
    initialises its own); otherwise a vectors folder or file, loaded.
    """
    from rnnlab.embeddings import embedding_matrix

    t0 = time.perf_counter()
    if embedding.source == "random":
        return None, None, embedding.dim, 0.0
    if embedding.source == "word2vec":
        from rnnlab.embeddings import train_word2vec

        log(f"word2vec: training {embedding.algorithm} ({embedding.dim}-d) on the training texts")
        vectors = train_word2vec(
            train_tokens,
            dim=embedding.dim,
            algorithm=embedding.algorithm,
            window=embedding.window,
            min_count=embedding.min_count,
            epochs=embedding.epochs,
            seed=seed,
        )
        log(f"word2vec: {len(vectors.index_to_key)} words in {time.perf_counter() - t0:.1f} s")
    else:
        from rnnlab.embeddings.word2vec import load_word_vectors

        vectors = load_word_vectors(embedding.source)  # a vectors folder or file
    matrix, coverage = embedding_matrix(vocab, vectors, seed=seed)
    log(
        f"embedding coverage: {coverage.vocab_share:.1%} of vocabulary entries, "
        f"{coverage.token_share:.1%} of training tokens"
    )
    seconds = time.perf_counter() - t0 if embedding.source == "word2vec" else 0.0
    return matrix, coverage, vectors.vector_size, seconds
