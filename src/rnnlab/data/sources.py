"""The data a training run reads: labeled training texts, held-out texts, fingerprints.

Shared by every task that reads labeled texts (the recurrent and linear
classifiers, the generator): ``data`` is ``"imdb"``, a path (IMDB archive or
folder, CSV, TSV, JSONL) or a :class:`TextDataset`.
"""

from __future__ import annotations

import hashlib

from rnnlab.data.dataset import TextDataset
from rnnlab.data.imdb import is_imdb_source
from rnnlab.data.tabular import load_dataset
from rnnlab.errors import RnnlabError


def dataset_sha256(ds: TextDataset) -> str:
    """The dataset's source fingerprint, or a sha256 of its labeled texts when it has none."""
    if ds.sha256:
        return ds.sha256
    digest = hashlib.sha256()
    for text, label in zip(ds.texts, ds.labels, strict=False):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def read_split(data, split, text_col="text", label_col="label", cache_dir=None, label_names=None):
    """``data`` itself when it is a TextDataset, else ``split`` of it read from its source."""
    if isinstance(data, TextDataset):
        return data
    return load_dataset(
        data,
        text_col=text_col,
        label_col=label_col,
        split=split,
        cache_dir=cache_dir,
        label_names=label_names,
    )


def load_training_data(data, text_col="text", label_col="label", cache_dir=None) -> TextDataset:
    """Labeled training texts (a TextDataset, or read from a source), with two or more classes."""
    ds = read_split(data, "train", text_col, label_col, cache_dir)
    if not ds.is_labeled:
        raise RnnlabError(f"{ds.source} has no labels; training needs --label-col")
    if len(ds.label_names) < 2:
        raise RnnlabError(f"{ds.source}: training needs at least two classes")
    return ds


def load_test_data(data, test_data, text_col, label_col, cache_dir, label_names):
    """Held-out data for a training run: ``test_data`` if given, else IMDB's test split."""
    if test_data is not None:
        return read_split(test_data, "test", text_col, label_col, cache_dir, list(label_names))
    if not isinstance(data, TextDataset) and is_imdb_source(data):
        return load_dataset(data, split="test", cache_dir=cache_dir)
    return None
