"""Datasets for rnnlab: IMDB reviews, CSV/TSV/JSONL tables, splits and downloads."""

from __future__ import annotations

from rnnlab.data.dataset import TextDataset, sha256_of_file, sha256_of_files
from rnnlab.data.download import default_cache_dir, download
from rnnlab.data.imdb import (
    IMDB_LABEL_NAMES,
    IMDB_MD5,
    IMDB_URL,
    is_imdb_source,
    load_imdb,
    load_imdb_splits,
)
from rnnlab.data.sources import (
    dataset_sha256,
    load_test_data,
    load_training_data,
    read_split,
)
from rnnlab.data.splits import stratified_split, train_val_split
from rnnlab.data.tabular import TABLE_FORMATS, load_dataset, load_table, load_texts

__all__ = [
    "IMDB_LABEL_NAMES",
    "IMDB_MD5",
    "IMDB_URL",
    "TABLE_FORMATS",
    "TextDataset",
    "default_cache_dir",
    "dataset_sha256",
    "download",
    "is_imdb_source",
    "load_dataset",
    "load_imdb",
    "load_imdb_splits",
    "load_table",
    "load_test_data",
    "load_training_data",
    "load_texts",
    "read_split",
    "sha256_of_file",
    "sha256_of_files",
    "stratified_split",
    "train_val_split",
]
