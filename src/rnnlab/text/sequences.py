"""From texts to one rectangular array of ids.

A batch fed to an RNN is a tensor of shape ``(batch, time)``, but reviews have
different lengths. :func:`encode_texts` turns texts into id lists, and
:func:`pad_sequences` cuts the long ones and fills the short ones with the
padding id, with the same rules as ``keras.utils.pad_sequences``.

Where to pad matters for an RNN that reads left to right: "pre" padding puts
the fillers first, so the last steps (that the final hidden state remembers
best) are real words. The true lengths can be returned too, to pack the batch
or mask the padding instead of reading it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.text.tokenize import tokenize
from rnnlab.text.vocab import Vocab

__all__ = ["encode_texts", "pad_sequences"]

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Iterable[Sequence[Any]],
    maxlen: int | None = None,
    dtype: Any = "int64",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0,
    return_lengths: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Cut and pad id sequences to one length (Keras ``pad_sequences`` rules).

    Parameters
    ----------
    sequences : iterable of sequence
        One id sequence per document; empty sequences are allowed.
    maxlen : int or None, default None
        Length of the output rows (>= 1). None uses the longest sequence.
    dtype : numpy dtype, default "int64"
        Type of the output array.
    padding : {"pre", "post"}, default "pre"
        Put the padding before ("pre") or after ("post") the sequence.
    truncating : {"pre", "post"}, default "pre"
        For a sequence longer than `maxlen`: "pre" drops the start (keeps the
        last `maxlen` items), "post" drops the end (keeps the first ones).
    value : scalar, default 0
        The padding value (``PAD`` is 0).
    return_lengths : bool, default False
        Also return the true length of each row, after truncation.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(sequences), maxlen)``.
    numpy.ndarray, optional
        With `return_lengths`: int64 lengths, shape ``(len(sequences),)``.

    Raises
    ------
    RnnlabError
        For a bad `padding`, `truncating` or `maxlen`, or if `sequences` is a
        str or holds something other than sequences.

    Examples
    --------
    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]])
    >>> pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post")
    array([[1, 2, 3],
           [4, 0, 0]])
    """
    if padding not in _SIDES:
        raise RnnlabError(f"`padding` must be 'pre' or 'post', got {padding!r}")
    if truncating not in _SIDES:
        raise RnnlabError(f"`truncating` must be 'pre' or 'post', got {truncating!r}")
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, int | np.integer) or maxlen < 1
    ):
        raise RnnlabError(f"`maxlen` must be an int >= 1 or None, got {maxlen!r}")
    if isinstance(sequences, str):
        raise RnnlabError("`sequences` must be a list of id sequences, got a single str")
    seqs = list(sequences)
    for i, s in enumerate(seqs):
        if isinstance(s, str) or not hasattr(s, "__len__"):
            raise RnnlabError(
                f"`sequences` must hold sequences of ids, but item {i} is a {type(s).__name__}"
            )
    full = np.array([len(s) for s in seqs], dtype=np.int64)
    if maxlen is None:
        maxlen = int(full.max()) if len(full) else 0
    maxlen = int(maxlen)

    x = np.full((len(seqs), maxlen), value, dtype=dtype)
    lengths = np.minimum(full, maxlen)
    for i, s in enumerate(seqs):
        n = int(lengths[i])
        if n == 0:
            continue
        kept = s[-n:] if truncating == "pre" else s[:n]
        if padding == "pre":
            x[i, maxlen - n :] = np.asarray(kept, dtype=dtype)
        else:
            x[i, :n] = np.asarray(kept, dtype=dtype)
    return (x, lengths) if return_lengths else x


def encode_texts(
    texts: Iterable[str],
    vocab: Vocab,
    tokenizer: Callable[[str], list[str]] = tokenize,
) -> list[list[int]]:
    """Tokenize each text and map its tokens to ids.

    Parameters
    ----------
    texts : iterable of str
        The documents.
    vocab : Vocab
        Unknown tokens become ``OOV``.
    tokenizer : callable, default :func:`tokenize`
        Splits one text into tokens; use the one the vocabulary was built with.

    Returns
    -------
    list of list of int
        One id list per text (not padded: see :func:`pad_sequences`).

    Raises
    ------
    RnnlabError
        If `texts` is a single str rather than a collection of texts.
    """
    if isinstance(texts, str):
        raise RnnlabError("`texts` must be an iterable of texts, got a single str; wrap it: [text]")
    return [vocab.encode(tokenizer(t)) for t in texts]


def check_texts(texts: Sequence[str], what: str = "texts") -> list[str]:
    """A list of strings, or a one-line error (a bare str is not a list of texts).

    The one guard every ``predict``/``tag``/``translate``/``explain`` and tokenizer
    call uses; ``what`` names the argument in the message.
    """
    if isinstance(texts, str):
        raise RnnlabError(f"{what} must be a list of strings, got a single str; wrap it in [...]")
    try:
        out = list(texts)
    except TypeError:
        raise RnnlabError(f"{what} must be a list of strings, got {type(texts).__name__}") from None
    for t in out:
        if not isinstance(t, str):
            raise RnnlabError(f"{what} must be strings, got {type(t).__name__}")
    return out


def truncate(ids: list[int], maxlen: int, truncating: str = "pre") -> list[int]:
    """Keep ``maxlen`` ids: the last ones ("pre", Keras' default) or the first ("post")."""
    if len(ids) <= maxlen:
        return ids
    return ids[-maxlen:] if truncating == "pre" else ids[:maxlen]
