"""Seeded, stratified train/validation splits.

The validation part keeps each class's share of the data (to within one
example), and the same labels, fraction and seed always give the same split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from rnnlab.data.dataset import TextDataset
from rnnlab.errors import DataError


def stratified_split(
    labels: Sequence[int] | Sequence[str] | np.ndarray,
    val_fraction: float = 0.1,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split example indices into train and validation, stratified by label.

    Parameters
    ----------
    labels : sequence of int or str, or 1-D array
        One label per example.
    val_fraction : float, optional
        Share of examples for validation, strictly between 0 and 1 (rounded up,
        as scikit-learn does).
    seed : int, optional
        Random seed; the split is a deterministic function of labels, fraction and seed.
    label_names : sequence of str, optional
        Class names when `labels` are indices into them: error messages then
        name the class (``'pos'``), not its index.

    Returns
    -------
    train_idx, val_idx : numpy.ndarray
        Disjoint, sorted int64 index arrays that together cover ``range(len(labels))``.

    Raises
    ------
    DataError
        A fraction outside (0, 1), a class with fewer than two examples, or too
        few examples for one per class on each side.
    """
    if isinstance(val_fraction, bool) or not 0.0 < float(val_fraction) < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise DataError("cannot split an empty dataset; it needs labeled examples")
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        rare = classes[counts.argmin()].item()
        if label_names is not None and isinstance(rare, int) and 0 <= rare < len(label_names):
            rare = str(label_names[rare])
        raise DataError(
            f"class {rare!r} has only 1 example; a stratified split needs at least 2 per class "
            "— add examples of it or remove it"
        )
    n = y.size
    n_val = math.ceil(float(val_fraction) * n)
    if min(n_val, n - n_val) < len(classes):
        raise DataError(
            f"val_fraction={val_fraction} of {n} examples gives {n_val} validation and "
            f"{n - n_val} training examples, fewer than the {len(classes)} classes; "
            "use more data or a fraction nearer 0.5"
        )
    try:
        train, val = train_test_split(
            np.arange(n), test_size=float(val_fraction), random_state=seed, stratify=y
        )
    except ValueError as e:
        raise DataError(f"cannot split the data: {e}") from None
    return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)


def train_val_split(
    ds: TextDataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[TextDataset, TextDataset]:
    """Split a labeled dataset into train and validation parts; see `stratified_split`.

    Parameters
    ----------
    ds : TextDataset
        A labeled dataset.
    val_fraction : float, optional
        Share of examples for validation.
    seed : int, optional
        Random seed.

    Returns
    -------
    train, val : TextDataset
        Subsets of `ds`, in their original order.
    """
    if not ds.is_labeled:
        raise DataError(f"{ds.source} has no labels; a train/validation split needs them")
    train, val = stratified_split(ds.labels, val_fraction, seed, ds.label_names)
    return ds.subset(train), ds.subset(val)
