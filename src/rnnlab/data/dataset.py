"""The in-memory text classification dataset and data fingerprints.

A `TextDataset` holds review texts, integer labels (indices into `label_names`),
where the data came from and a sha256 fingerprint of the source bytes, which is
recorded in a trained model's config so that a run can name its exact data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rnnlab.errors import DataError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class TextDataset:
    """Texts with integer class labels.

    Parameters
    ----------
    texts : list of str
        The documents.
    labels : list of int
        One label per text, an index into `label_names`; empty for an unlabeled
        (prediction-only) dataset.
    label_names : list of str
        The class names; empty for an unlabeled dataset.
    source : str
        Where the data came from (a path or a dataset name), for messages and configs.
    sha256 : str, optional
        Fingerprint of the source data (see `sha256_of_file`, `sha256_of_files`).
    ratings : list of int or None, optional
        Per-text star ratings when the source has them (IMDB: 1-10).
    """

    texts: list[str]
    labels: list[int]
    label_names: list[str]
    source: str
    sha256: str = ""
    ratings: list[int] | None = None

    def __post_init__(self) -> None:
        n = len(self.texts)
        if self.labels and len(self.labels) != n:
            raise DataError(
                f"{self.source}: {n} texts but {len(self.labels)} labels; give one label per text"
            )
        if self.ratings is not None and len(self.ratings) != n:
            raise DataError(
                f"{self.source}: {n} texts but {len(self.ratings)} ratings; "
                "give one rating per text"
            )
        if len(set(self.label_names)) != len(self.label_names):
            raise DataError(f"{self.source}: label names {self.label_names} are not unique")
        k = len(self.label_names)
        if any(not 0 <= y < k for y in self.labels):
            raise DataError(
                f"{self.source}: labels must be indices into the {k} label names {self.label_names}"
            )

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_labeled(self) -> bool:
        """Whether every text has a label (an empty dataset counts as unlabeled)."""
        return bool(self.labels)

    def subset(self, indices: Iterable[int]) -> TextDataset:
        """Return the examples at `indices` (in that order) as a new dataset.

        Parameters
        ----------
        indices : iterable of int
            Positions into this dataset; a numpy integer array works.

        Returns
        -------
        TextDataset
            Same `label_names`, `source` and `sha256`; texts, labels and ratings picked.
        """
        idx = [int(i) for i in indices]
        n = len(self)
        if any(not 0 <= i < n for i in idx):
            raise DataError(f"{self.source}: subset index out of range for {n} examples")
        return replace(
            self,
            texts=[self.texts[i] for i in idx],
            labels=[self.labels[i] for i in idx] if self.labels else [],
            ratings=None if self.ratings is None else [self.ratings[i] for i in idx],
        )


def sha256_of_file(path: str | Path) -> str:
    """Return the hex sha256 of a file's bytes.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def update_named(h: hashlib._Hash, name: str, data: bytes) -> None:
    """Feed one named blob into `h`, length-prefixed so that the encoding is unambiguous."""
    raw = name.encode("utf-8")
    h.update(len(raw).to_bytes(8, "big") + raw + len(data).to_bytes(8, "big"))
    h.update(data)


def sha256_of_files(paths: Sequence[str | Path], root: str | Path) -> str:
    """Return a sha256 over several files' names (relative to `root`) and bytes.

    Files are taken in sorted order of their relative POSIX names, each as
    ``len(name) name len(bytes) bytes`` (8-byte big-endian lengths), so the value
    does not depend on the order given nor on where the folder lives.

    Parameters
    ----------
    paths : sequence of str or Path
        Files below `root`.
    root : str or Path
        The folder the names are taken relative to.

    Returns
    -------
    str
        64 hex digits.
    """
    root = Path(root)
    named = sorted((Path(p).relative_to(root).as_posix(), Path(p)) for p in paths)
    h = hashlib.sha256()
    for name, p in named:
        update_named(h, name, p.read_bytes())
    return h.hexdigest()
