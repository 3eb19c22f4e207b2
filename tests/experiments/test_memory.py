"""The memory experiment: accuracy against sequence length for RNN, LSTM and GRU."""

from __future__ import annotations

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.experiments import TaskConfig, memory_experiment, memory_table
from rnnlab.experiments.memory import _rnn_fails_gated_learn

SMALL = TaskConfig(n_train=128, n_val=32, n_test=64, epochs=1)


def without_timing(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}


def test_structure_and_determinism() -> None:
    result = memory_experiment(lengths=(5, 30), task=SMALL, seed=2)
    assert result["experiment"] == "memory"
    assert [(r["cell"], r["length"]) for r in result["rows"]] == [
        (c, t) for t in (5, 30) for c in ("rnn", "lstm", "gru")
    ]
    for row in result["rows"]:
        assert 0.0 <= row["accuracy"] <= 1.0
        assert len(row["val_accuracy"]) == 1 and row["best_epoch"] == 1
    assert result["chance"] == 0.5
    assert set(result["seconds"]) == {"total"} | {
        f"{c}@{t}" for c in ("rnn", "lstm", "gru") for t in (5, 30)
    }
    assert without_timing(memory_experiment(lengths=(5, 30), task=SMALL, seed=2)) == without_timing(
        result
    )
    table = memory_table(result)
    assert "T=5" in table and "T=30" in table and "| gru" in table


def test_a_run_does_not_depend_on_the_other_runs() -> None:
    """Each (cell, length) is seeded on its own: dropping cells or lengths changes nothing."""
    both = memory_experiment(lengths=(5, 8), task=SMALL, seed=0)
    alone = memory_experiment(cells=("gru",), lengths=(8,), task=SMALL, seed=0)
    pick = [r for r in both["rows"] if (r["cell"], r["length"]) == ("gru", 8)]
    assert pick == alone["rows"]


def test_every_cell_learns_a_short_sequence() -> None:
    # Calibration (seeds 0-7): every cell scored 1.0 at T = 5 with these settings.
    task = TaskConfig(n_train=512, n_val=64, n_test=200, epochs=2)
    result = memory_experiment(lengths=(5,), task=task, seed=0)
    assert all(r["accuracy"] >= 0.9 for r in result["rows"]), result["rows"]


def test_verdict_lists_lengths_where_only_the_gated_cells_learned() -> None:
    def rows(acc: dict) -> list[dict]:
        return [{"cell": c, "length": t, "accuracy": a} for (c, t), a in acc.items()]

    acc = {
        ("rnn", 10): 1.0,
        ("lstm", 10): 1.0,
        ("gru", 10): 1.0,
        ("rnn", 100): 0.52,
        ("lstm", 100): 0.99,
        ("gru", 100): 0.95,
        ("rnn", 200): 0.50,
        ("lstm", 200): 0.97,
        ("gru", 200): 0.70,
    }
    assert _rnn_fails_gated_learn(rows(acc)) == [100]
    assert _rnn_fails_gated_learn(rows({("rnn", 100): 0.5})) == []


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"lengths": ()}, "lengths"),
        ({"lengths": (10, 10)}, "lengths"),
        ({"lengths": (1,)}, "length"),
        ({"cells": ("lstm", "lstm")}, "cells"),
    ],
)
def test_rejects_bad_input(kwargs: dict, needle: str) -> None:
    with pytest.raises(RnnlabError, match=needle):
        memory_experiment(**{"task": SMALL, **kwargs})
