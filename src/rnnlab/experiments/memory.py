"""Accuracy against sequence length: why LSTM and GRU were invented, measured.

Each cell is trained on the first-token task at each length T (same data for
every cell at a given T and seed) and scored on fresh held-out sequences.
Chance is 50%. A tanh RNN learns the task while T is short and falls to chance
once the first token lies too many steps behind the loss for its vanishing
gradient to reach; the LSTM and GRU keep their accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rnnlab.experiments.report import markdown_table, pyplot, save_figure
from rnnlab.experiments.task import (
    CELL_NAMES,
    TaskConfig,
    accuracy,
    build_classifier,
    check_cells,
    check_length,
    check_seed,
    check_value,
    task_data,
    torch_threads,
    train_classifier,
)

DEFAULT_TASK = TaskConfig()
DEFAULT_LENGTHS = (10, 20, 50, 100, 200)
CHANCE_BELOW = 0.6  # "at chance": with 1000 test sequences chance accuracy has sd 0.016
LEARNED_FROM = 0.9  # "learned"


def memory_experiment(
    cells: tuple[str, ...] = CELL_NAMES,
    lengths: tuple[int, ...] = DEFAULT_LENGTHS,
    task: TaskConfig = DEFAULT_TASK,
    seed: int = 0,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Held-out accuracy of each cell at each sequence length.

    Returns
    -------
    dict
        ``rows``: one per (cell, length) with ``accuracy`` (held-out),
        ``val_accuracy`` per epoch and ``best_epoch`` (the epoch kept).
        ``rnn_fails_gated_learn``: the lengths at which the tanh RNN is at
        chance (< 0.6) while every gated cell run is >= 0.9.
        ``seconds``: wall-clock times (the only entries that vary between runs
        with the same seed).
    """
    cells = check_cells(cells)
    lengths = tuple(lengths)
    check_value(len(lengths) > 0, "lengths", "a non-empty list", list(lengths))
    for length in lengths:
        check_length(length)
    check_value(
        len(set(lengths)) == len(lengths), "lengths", "a list without repeats", list(lengths)
    )
    check_seed(seed)
    log = log or (lambda _msg: None)
    start = time.perf_counter()
    rows, seconds = [], {}
    with torch_threads(threads):
        for length in lengths:
            data = task_data(task, length, seed)
            for cell in cells:
                t0 = time.perf_counter()
                torch.manual_seed(seed)
                model = build_classifier(cell, task, length)
                history = train_classifier(model, data, task, seed)
                acc = accuracy(model, *data.test)
                seconds[f"{cell}@{length}"] = round(time.perf_counter() - t0, 2)
                rows.append(
                    {
                        "cell": cell,
                        "length": length,
                        "accuracy": acc,
                        "best_epoch": history.best_epoch,
                        "val_accuracy": [e["val_accuracy"] for e in history.epochs],
                    }
                )
                log(
                    f"memory {cell} T={length}: accuracy {acc:.3f} "
                    f"({seconds[f'{cell}@{length}']:.1f}s)"
                )
    seconds["total"] = round(time.perf_counter() - start, 2)
    return {
        "experiment": "memory",
        "settings": {
            "cells": list(cells),
            "lengths": list(lengths),
            "seed": seed,
            "threads": threads,
            "task": task.to_dict(),
        },
        "chance": 0.5,
        "rows": rows,
        "rnn_fails_gated_learn": _rnn_fails_gated_learn(rows),
        "seconds": seconds,
    }


def _rnn_fails_gated_learn(rows: list[dict[str, Any]]) -> list[int]:
    by = {(r["cell"], r["length"]): r["accuracy"] for r in rows}
    found = []
    for length in sorted({r["length"] for r in rows}):
        gated = [by[c, length] for c in ("lstm", "gru") if (c, length) in by]
        if (
            ("rnn", length) in by
            and gated
            and by["rnn", length] < CHANCE_BELOW
            and min(gated) >= LEARNED_FROM
        ):
            found.append(length)
    return found


def memory_table(result: dict[str, Any]) -> str:
    lengths = result["settings"]["lengths"]
    by = {(r["cell"], r["length"]): r["accuracy"] for r in result["rows"]}
    table = markdown_table(
        ["cell"] + [f"T={t}" for t in lengths],
        [[cell] + [f"{by[cell, t]:.3f}" for t in lengths] for cell in result["settings"]["cells"]],
        title="held-out accuracy on the first-token task (chance 0.5)",
    )
    found = result["rnn_fails_gated_learn"]
    verdict = (
        f"RNN at chance (< {CHANCE_BELOW}) where LSTM and GRU are >= {LEARNED_FROM}: "
        f"T = {', '.join(map(str, found))}"
        if found
        else "no length where the RNN is at chance while the gated cells have learned"
    )
    return f"{table}\n{verdict}"


def plot_memory(result: dict[str, Any], path: Path) -> None:
    """Accuracy against T (log scale), one line per cell, chance dashed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    lengths = result["settings"]["lengths"]
    by = {(r["cell"], r["length"]): r["accuracy"] for r in result["rows"]}
    for cell in result["settings"]["cells"]:
        ax.plot(lengths, [by[cell, t] for t in lengths], "o-", label=cell)
    ax.axhline(result["chance"], color="grey", linestyle="--", label="chance")
    ax.set_xscale("log")
    ax.set_xticks(lengths, [str(t) for t in lengths])
    ax.minorticks_off()
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("sequence length T (the label is the first token)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title("memory: accuracy against sequence length")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
