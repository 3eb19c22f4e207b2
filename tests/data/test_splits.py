"""Tests for seeded, stratified train/validation splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data import TextDataset, stratified_split, train_val_split
from rnnlab.errors import DataError

LABELS = [0] * 600 + [1] * 300 + [2] * 100


def test_stratified_proportions() -> None:
    train, val = stratified_split(LABELS, val_fraction=0.2, seed=3)
    y = np.asarray(LABELS)
    assert len(val) == 200 and len(train) == 800
    assert np.bincount(y[val]).tolist() == [120, 60, 20]
    assert np.bincount(y[train]).tolist() == [480, 240, 80]


def test_deterministic_by_seed() -> None:
    a = stratified_split(LABELS, 0.1, seed=1)
    b = stratified_split(LABELS, 0.1, seed=1)
    c = stratified_split(LABELS, 0.1, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(2, 30), min_size=2, max_size=5),
    fraction=st.floats(0.2, 0.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_disjoint_covering_and_stratified(counts: list[int], fraction: float, seed: int) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    try:
        train, val = stratified_split(y, fraction, seed)
    except DataError as e:  # too few examples for one of each class on each side
        assert "fewer than the" in str(e)
        return
    assert train.dtype == np.int64 and val.dtype == np.int64
    assert not set(train) & set(val)
    assert sorted([*train, *val]) == list(range(len(y)))
    expected = np.asarray(counts) * len(val) / len(y)
    assert np.all(np.abs(np.bincount(y[val], minlength=len(counts)) - expected) <= 1 + 1e-9)


def test_string_labels() -> None:
    train, val = stratified_split(["a", "b"] * 10, 0.5, seed=0)
    assert len(train) == len(val) == 10


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, True])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(DataError, match="val_fraction must be between 0 and 1"):
        stratified_split(LABELS, fraction)


def test_class_with_one_example() -> None:
    with pytest.raises(DataError, match="class 2 has only 1 example; .* at least 2 per class"):
        stratified_split([0, 0, 1, 1, 2], 0.5)


def test_too_few_for_classes() -> None:
    with pytest.raises(DataError, match="gives 1 validation .* fewer than the 2 classes"):
        stratified_split([0] * 10 + [1] * 10, 0.05)


def test_empty() -> None:
    with pytest.raises(DataError, match="empty dataset"):
        stratified_split([], 0.1)


def test_train_val_split_dataset() -> None:
    ds = TextDataset(
        texts=[f"t{i}" for i in range(40)],
        labels=[i % 2 for i in range(40)],
        label_names=["neg", "pos"],
        source="mem",
        sha256="abc",
        ratings=list(range(40)),
    )
    train, val = train_val_split(ds, 0.25, seed=0)
    assert len(train) == 30 and len(val) == 10 and sum(val.labels) == 5
    assert sorted(train.texts + val.texts) == sorted(ds.texts)
    assert val.ratings == [int(t[1:]) for t in val.texts]
    assert (val.label_names, val.source, val.sha256) == (["neg", "pos"], "mem", "abc")
    with pytest.raises(DataError, match="has no labels"):
        train_val_split(TextDataset(["a"], [], [], "x"), 0.5)


def test_dataset_validation() -> None:
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        TextDataset(["a", "b"], [0], ["x", "y"], "s")
    with pytest.raises(DataError, match="labels must be indices"):
        TextDataset(["a"], [2], ["x", "y"], "s")
    with pytest.raises(DataError, match="1 texts but 2 ratings"):
        TextDataset(["a"], [0], ["x", "y"], "s", ratings=[1, 2])
    with pytest.raises(DataError, match="out of range"):
        TextDataset(["a"], [0], ["x", "y"], "s").subset([1])


def test_class_with_one_example_is_named_by_its_label() -> None:
    """A one-example class is reported by name ('pos'), not by its index (1)."""
    ds = TextDataset(
        texts=[f"t{i}" for i in range(6)],
        labels=[0, 0, 0, 0, 0, 1],
        label_names=["neg", "pos"],
        source="mem",
    )
    with pytest.raises(DataError, match="class 'pos' has only 1 example"):
        train_val_split(ds, 0.5)
