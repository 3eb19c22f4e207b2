"""Text as vectors: tokens, a vocabulary of ids, and padded id arrays.

The pipeline that turns reviews into what an RNN reads::

    tokens = [tokenize(t) for t in train_texts]     # "I loved it!" -> ["i", "loved", "it", "!"]
    vocab = Vocab.build(tokens, max_size=20_000)    # token <-> id, 0 = <pad>, 1 = <unk>
    ids = encode_texts(texts, vocab)                # [[12, 873, 9, 30], ...]
    x, lengths = pad_sequences(ids, maxlen=200, return_lengths=True)   # (N, 200) int64

An embedding layer then maps each id to a vector. ``tokenize`` handles any
script (Hindi and Arabic words keep their marks; Chinese, Japanese and Thai are
cut into characters); other tokenizers with the same use -- grapheme clusters,
or subwords learned from the training texts -- come from ``make_tokenizer``::

    tok = make_tokenizer(TextConfig(tokenizer="subword")).fit(train_texts)
    tokens = [tok(t) for t in train_texts]          # ["▁the", "▁film", ...]

Or a whole text as one vector, word order ignored (the linear baselines)::

    X = BagOfWords(ngram_range=(1, 2)).fit_transform(train_texts)   # (N, V) sparse counts
    X = TfIdf().fit_transform(train_texts)   # the guide's TF * log(N / (df + 1))
"""

from __future__ import annotations

from rnnlab.text.sequences import encode_texts, pad_sequences
from rnnlab.text.tokenize import tokenize
from rnnlab.text.tokenizers import (
    CharTokenizer,
    SubwordTokenizer,
    Tokenizer,
    WordTokenizer,
    load_tokenizer,
    make_tokenizer,
    restore_tokenizer,
)
from rnnlab.text.vocab import OOV, OOV_TOKEN, PAD, PAD_TOKEN, Vocab

__all__ = [
    "BagOfWords",
    "CharTokenizer",
    "SubwordTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "make_tokenizer",
    "restore_tokenizer",
    "OOV",
    "OOV_TOKEN",
    "PAD",
    "PAD_TOKEN",
    "TfIdf",
    "Vocab",
    "encode_texts",
    "pad_sequences",
    "tokenize",
]


def __getattr__(name: str):
    # BagOfWords and TfIdf import scikit-learn: loaded on first use only, so that
    # `import rnnlab.text` (and the CLI) stays fast.
    if name in ("BagOfWords", "TfIdf"):
        from rnnlab.text import vectorize

        return getattr(vectorize, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
