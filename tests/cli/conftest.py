"""The one fixture that trains a classifier through the CLI for the CLI tests (``cli_model``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from .helpers import cli, corpus, write_csv


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory, reviews) -> Callable[..., SimpleNamespace]:
    """Train a classifier through ``rnnlab train`` on synthetic reviews (CSV files).

    ``cli_model(name, *flags, n_train=400, config=None)`` writes ``train.csv``
    (``n_train`` reviews, seed 100) and ``test.csv`` (200, seed 7), an optional
    ``cfg.json`` passed as ``--config`` (and ``--test-data test.csv`` with
    ``held_out=True``), runs ``rnnlab train --data train.csv
    --out m FLAGS`` and returns ``SimpleNamespace(root, out, train_csv,
    test_csv, cfg, result)``.
    """

    def train(
        name: str, *flags: object, n_train: int = 400, config: dict | None = None,
        held_out: bool = False,
    ):  # fmt: skip
        root = tmp_path_factory.mktemp(name)
        train_csv = write_csv(root / "train.csv", corpus(reviews, n_train, 100))
        test_csv = write_csv(root / "test.csv", corpus(reviews, 200, 7))
        cfg = None
        args: list[object] = ["train", "--data", train_csv, "--out", root / "m"]
        if config is not None:
            cfg = root / "cfg.json"
            cfg.write_text(json.dumps(config))
            args += ["--config", cfg]
        if held_out:
            args += ["--test-data", test_csv]
        result = cli(*args, *flags)
        return SimpleNamespace(root=root, out=root / "m", train_csv=train_csv,
                               test_csv=test_csv, cfg=cfg, result=result)  # fmt: skip

    return train
