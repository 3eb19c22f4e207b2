"""Tests for length-bucketed batching and post-padding collation."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.text import PAD
from rnnlab.training import bucket_batches, collate

fast = settings(max_examples=100, deadline=None)

lengths_st = st.lists(st.integers(0, 60), max_size=300).map(lambda x: np.array(x, dtype=np.int64))
batch_sizes = st.integers(1, 40)


@fast
@given(
    lengths=lengths_st,
    batch_size=batch_sizes,
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31),
    window=st.integers(1, 60),
)
def test_every_index_exactly_once_in_bounded_batches(
    lengths: np.ndarray, batch_size: int, shuffle: bool, seed: int, window: int
) -> None:
    batches = bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed, window=window)
    assert all(1 <= len(b) <= batch_size for b in batches)
    flat = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    # every batch but (at most one per window) is full
    full = sum(len(b) == batch_size for b in batches)
    assert full >= len(batches) - max(1, -(-len(lengths) // (batch_size * window)))
    for b in batches:  # items within a batch are in ascending length order
        assert np.all(np.diff(lengths[b]) >= 0)


@fast
@given(lengths=lengths_st, batch_size=batch_sizes)
def test_inference_order_is_ascending_by_length_and_stable(
    lengths: np.ndarray, batch_size: int
) -> None:
    batches = bucket_batches(lengths, batch_size)
    flat = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    keys = [(lengths[i], i) for i in flat]
    assert keys == sorted(keys)  # ascending length, ties in input order
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)


def test_shuffle_is_deterministic_by_seed() -> None:
    lengths = np.random.default_rng(0).integers(1, 100, 500)
    a = bucket_batches(lengths, 8, shuffle=True, seed=3)
    b = bucket_batches(lengths, 8, shuffle=True, seed=3)
    c = bucket_batches(lengths, 8, shuffle=True, seed=4)
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert [x.tolist() for x in a] != [x.tolist() for x in c]
    assert {frozenset(x.tolist()) for x in a} != {frozenset(x.tolist()) for x in c}
    # the batch order is shuffled, not ascending by length as for inference
    firsts = [lengths[x].min() for x in a]
    assert firsts != sorted(firsts)


def test_shuffle_within_one_window_makes_length_buckets() -> None:
    lengths = np.random.default_rng(1).integers(1, 100, 200)
    batches = bucket_batches(lengths, 10, shuffle=True, seed=0, window=50)  # one window
    spans = sorted((lengths[b].min(), lengths[b].max()) for b in batches)
    for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False):
        assert hi <= lo  # batches cover disjoint length ranges


def test_empty_input() -> None:
    assert bucket_batches(np.zeros(0, dtype=np.int64), 4) == []
    assert bucket_batches(np.zeros(0, dtype=np.int64), 4, shuffle=True) == []


def test_collate_post_pads_with_zero_in_index_order() -> None:
    seqs = [[5, 6, 7], [8], [], [9, 10, 11, 12]]
    ids, lengths = collate(seqs, np.array([3, 0, 2, 1]))
    assert ids.dtype == torch.int64 and lengths.dtype == torch.int64
    assert PAD == 0
    assert ids.tolist() == [[9, 10, 11, 12], [5, 6, 7, 0], [0, 0, 0, 0], [8, 0, 0, 0]]
    assert lengths.tolist() == [4, 3, 1, 1]  # the empty sequence gets one <pad> step


def test_collate_all_empty() -> None:
    ids, lengths = collate([[], []], np.array([0, 1]))
    assert ids.tolist() == [[0], [0]]
    assert lengths.tolist() == [1, 1]


@fast
@given(
    seqs=st.lists(st.lists(st.integers(1, 50), max_size=12), min_size=1, max_size=20),
    data=st.data(),
)
def test_collate_roundtrip(seqs: list[list[int]], data) -> None:
    idx = np.array(data.draw(st.permutations(range(len(seqs)))), dtype=np.int64)
    ids, lengths = collate(seqs, idx)
    assert ids.shape == (len(seqs), max(1, max(len(s) for s in seqs)))
    for row, i in enumerate(idx):
        n = len(seqs[i])
        assert ids[row, :n].tolist() == seqs[i]
        assert torch.all(ids[row, n:] == PAD)
        assert lengths[row] == max(n, 1)
