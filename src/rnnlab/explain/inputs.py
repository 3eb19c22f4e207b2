"""A text as a recurrent classifier reads it: tokens, ids, the window it keeps, its input.

Shape legend: n tokens read, T the network's input length.

These follow the classifier's :class:`~rnnlab.config.TextConfig` exactly as
prediction does (``rnnlab.tasks.classify.encode`` and ``padded_batches``):
tokenize, map to ids (unknown words -> ``<unk>``), keep ``maxlen`` tokens (the
last ones for ``truncating="pre"``, the first for ``"post"``), then either no
padding (``padding="bucket"``: one text alone is its own batch) or padding to
``maxlen`` that the network reads (``"pre"``/``"post"``). They are written
here, below the task modules, so that models can use :mod:`rnnlab.explain`
without importing the tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rnnlab.text import pad_sequences, tokenize
from rnnlab.text.sequences import check_texts  # noqa: F401  (re-exported for explain)


@dataclass
class EncodedText:
    """A text as the classifier sees it: tokens, ids, and which tokens it reads."""

    tokens: list[str]
    ids: list[int]
    read: list[bool]

    @property
    def read_ids(self) -> list[int]:
        return [i for i, r in zip(self.ids, self.read, strict=True) if r]

    @property
    def read_tokens(self) -> list[str]:
        return [t for t, r in zip(self.tokens, self.read, strict=True) if r]


def read_window(n: int, text) -> range:
    """Positions of the ``n`` tokens the network reads: ``maxlen`` of them, as ``text`` truncates."""
    if n <= text.maxlen:
        return range(n)
    return range(n - text.maxlen, n) if text.truncating == "pre" else range(text.maxlen)


def encode_text(clf, text: str) -> EncodedText:
    """Tokenize as the classifier does, map to ids, mark the tokens its truncation keeps.

    The tokens are the classifier's own (``clf.tokenizer``: words by default;
    grapheme clusters or subword pieces for a model trained with
    ``--tokenizer chars|subword``), so each attribution belongs to one input
    step of the network.
    """
    split = getattr(clf, "tokenizer", None)
    tokens = (tokenize if split is None else split)(text)
    read = [False] * len(tokens)
    for k in read_window(len(tokens), clf.text):
        read[k] = True
    return EncodedText(tokens, clf.vocab.encode(tokens), read)


def padded_ids(seqs: Sequence[Sequence[int]], text) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (N, T) and lengths (N,) of already truncated sequences, padded as ``text`` says.

    ``"bucket"``: post-padded to the longest, true lengths (the network masks
    the padding). ``"pre"``/``"post"``: padded to ``maxlen`` on that side and
    every length ``maxlen`` (the network reads the padding as input).
    """
    if text.padding == "bucket":
        ids, lengths = pad_sequences(seqs, padding="post", return_lengths=True)
        return torch.from_numpy(ids), torch.from_numpy(lengths).long()
    ids = pad_sequences(seqs, maxlen=text.maxlen, padding=text.padding)
    return torch.from_numpy(ids), torch.full((len(seqs),), text.maxlen, dtype=torch.int64)


def model_input(read_ids: list[int], text) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The network's input for one text: ids (1, T), lengths (1,), positions (n,).

    ``positions`` are the input positions of the read tokens (shifted right by
    the padding when ``text.padding == "pre"``). One text alone fills its
    input: its length is T.
    """
    ids, lengths = padded_ids([read_ids], text)
    n, t = len(read_ids), ids.shape[1]
    positions = torch.arange(n) + (t - n if text.padding == "pre" else 0)  # (n,)
    return ids, lengths, positions
