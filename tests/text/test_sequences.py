"""Tests for rnnlab.text.pad_sequences and encode_texts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.errors import RnnlabError
from rnnlab.text import OOV, PAD, Vocab, encode_texts, pad_sequences

fast = settings(max_examples=200, deadline=None)
seq_lists = st.lists(st.lists(st.integers(1, 1000), max_size=12), max_size=8)
maxlens = st.one_of(st.none(), st.integers(1, 15))
sides = st.sampled_from(["pre", "post"])


def keras_reference(seqs, maxlen, padding, truncating, value):
    """Pure-Python transcription of keras.utils.pad_sequences for 1-D int sequences."""
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    rows = []
    for s in seqs:
        kept = list(s[-maxlen:] if truncating == "pre" else s[:maxlen]) if s else []
        fill = [value] * (maxlen - len(kept))
        rows.append(fill + kept if padding == "pre" else kept + fill)
    return rows


def test_examples() -> None:
    seqs = [[1, 2, 3, 4], [5], []]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3), [[2, 3, 4], [0, 0, 5], [0, 0, 0]])
    x, lengths = pad_sequences(
        seqs, maxlen=3, padding="post", truncating="post", return_lengths=True
    )
    np.testing.assert_array_equal(x, [[1, 2, 3], [5, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 0])
    assert x.dtype == np.int64 and lengths.dtype == np.int64


def test_maxlen_none_uses_longest_and_dtype_value() -> None:
    x = pad_sequences([[1], [2, 3]], dtype="float32", value=-1.0)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, [[-1.0, 1.0], [2.0, 3.0]])


def test_numpy_rows_are_accepted() -> None:
    x = pad_sequences(np.arange(6).reshape(2, 3), maxlen=2)
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])


@pytest.mark.parametrize(("maxlen", "shape"), [(None, (0, 0)), (4, (0, 4))])
def test_no_sequences(maxlen: int | None, shape: tuple[int, int]) -> None:
    x, lengths = pad_sequences([], maxlen=maxlen, return_lengths=True)
    assert x.shape == shape and lengths.shape == (0,)


def test_only_empty_sequences() -> None:
    assert pad_sequences([[], []]).shape == (2, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"padding": "left"}, "padding"),
        ({"truncating": "end"}, "truncating"),
        ({"maxlen": 0}, "maxlen"),
        ({"maxlen": -3}, "maxlen"),
        ({"maxlen": 2.0}, "maxlen"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(RnnlabError, match=match):
        pad_sequences([[1, 2]], **kwargs)


@pytest.mark.parametrize("bad", ["a text", ["a text"], [3, 4]])
def test_bad_sequences(bad: object) -> None:
    with pytest.raises(RnnlabError, match="sequences"):
        pad_sequences(bad)  # type: ignore[arg-type]


@fast
@given(seq_lists, maxlens, sides, sides, st.integers(-5, 0))
def test_matches_keras_semantics(seqs, maxlen, padding, truncating, value) -> None:
    x, lengths = pad_sequences(
        seqs, maxlen, padding=padding, truncating=truncating, value=value, return_lengths=True
    )
    width = maxlen if maxlen is not None else max((len(s) for s in seqs), default=0)
    assert x.shape == (len(seqs), width)
    assert lengths.tolist() == [min(len(s), width) for s in seqs]
    assert x.tolist() == keras_reference(seqs, maxlen, padding, truncating, value)
    for row, s, n in zip(x.tolist(), seqs, lengths.tolist(), strict=True):
        content = row[width - n :] if padding == "pre" else row[:n]
        pads = row[: width - n] if padding == "pre" else row[n:]
        assert content == (s[len(s) - n :] if truncating == "pre" else s[:n])
        assert pads == [value] * (width - n)


def test_encode_texts() -> None:
    vocab = Vocab.build([["good", "film"], ["bad", "film"]])
    ids = encode_texts(["Good film!", "An awful film"], vocab)
    assert ids == [[vocab["good"], vocab["film"], OOV], [OOV, OOV, vocab["film"]]]
    assert PAD not in {i for row in ids for i in row}
    assert encode_texts(["a b"], vocab, tokenizer=str.split) == [[OOV, OOV]]


def test_encode_texts_rejects_bare_str() -> None:
    vocab = Vocab.build([["good"]])
    with pytest.raises(RnnlabError, match="texts"):
        encode_texts("good film", vocab)
