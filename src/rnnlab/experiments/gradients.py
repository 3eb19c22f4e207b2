"""The vanishing gradient, made visible: ||dL/dx_t|| against the distance T - t.

Steps are numbered t = 1 .. T, so the distance from the loss runs from 0 (the
last step) to T - 1 (the first). The loss of a many-to-one model is computed
at the last step only, so the gradient that reaches the input at step t has
crossed T - t steps of the recurrence, multiplied each time by the step
Jacobian ``dh_{t+1}/dh_t``. For a tanh RNN,
``dh_{t+1}/dh_t = diag(1 - h_{t+1}^2) W_hh``: when its norm is below 1 (small
weights, saturated units) the product shrinks geometrically and the first
tokens receive almost no learning signal (Bengio et al., 1994; Pascanu et
al., 2013). The LSTM's cell state and the GRU's interpolation
``h' = (1 - z) n + z h`` give the gradient an additive path whose factor is the
keep gate, which training can hold near 1.

What is measured. ``dL/dx_t``, the gradient of the loss with respect to the
embedded input at step t, averaged over a probe batch (the mean of the
per-sequence norms, the loss summed over sequences so that each sequence's
gradient is its own). It is used instead of ``dL/dh_t`` because torch runs the
whole sequence in one fused kernel, so ``h_t`` is not a node of the autograd
graph; ``x_t`` enters the recurrence only at step t, so ``dL/dx_t`` is
``dL/dh_t`` seen through that step's input weights and carries the same
decay. The gradients are computed in float64 on a copy of the model, so
ratios of 1e-30 do not underflow.

Shape legend: N batch, T time, D embedding size, H hidden.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

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
from rnnlab.models import SequenceClassifier, pool

DEFAULT_TASK = TaskConfig()


def input_gradient_norms(
    model: SequenceClassifier, ids: torch.Tensor, labels: torch.Tensor
) -> np.ndarray:
    """Mean ``||dL_n/dx_{n,t}||`` over sequences, indexed by distance ``d = T - 1 - t``.

    Entry 0 is the last step (where the loss is read), entry T - 1 the first.
    """
    model = copy.deepcopy(model).double().eval()
    n, t = ids.shape
    lengths = torch.full((n,), t, dtype=torch.int64)  # (N,)
    x = model.embedding(ids).detach().requires_grad_(True)  # (N, T, D)
    out = model.rnn(x, lengths)  # (N, T, H)
    pooled = pool(out, lengths, model.config.pooling, model.rnn.directions)  # (N, H)
    logits = model.head(pooled)  # (N, 2)
    loss = F.cross_entropy(logits, labels, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)  # (N, T, D)
    norms = grad.norm(dim=2).mean(dim=0)  # (T,)
    return norms.flip(0).numpy()


def gradients_experiment(
    cells: tuple[str, ...] = CELL_NAMES,
    length: int = 100,
    task: TaskConfig = DEFAULT_TASK,
    n_probe: int = 256,
    seed: int = 0,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Gradient norm against distance, at initialisation and after training.

    For each cell: build the task's classifier (seeded), measure
    ``||dL/dx_t||`` on ``n_probe`` held-out sequences, train it on the
    first-token task of ``length`` steps, and measure again.

    Returns
    -------
    dict
        ``rows``: per cell, ``init_ratio`` and ``trained_ratio``
        (``||dL/dx_1|| / ||dL/dx_T||``, the norm at distance T - 1 over the norm
        at distance 0), ``init_ratio_10`` (distance 10 over 0), and the trained
        model's ``test_accuracy``. ``norms[cell]["init" | "trained"]``: the
        mean norm at each distance 0 .. T - 1. ``seconds``: wall-clock times
        (the only entries that vary between runs with the same seed).
    """
    cells = check_cells(cells)
    check_length(length)
    check_seed(seed)
    check_value(
        isinstance(n_probe, int) and 1 <= n_probe <= task.n_test,
        "n_probe",
        f"an integer in [1, n_test={task.n_test}]",
        n_probe,
    )
    log = log or (lambda _msg: None)
    start = time.perf_counter()
    data = task_data(task, length, seed)
    probe_ids, probe_labels = data.test[0][:n_probe], data.test[1][:n_probe]
    rows, norms, seconds = [], {}, {}
    with torch_threads(threads):
        for cell in cells:
            t0 = time.perf_counter()
            torch.manual_seed(seed)
            model = build_classifier(cell, task, length)
            init = input_gradient_norms(model, probe_ids, probe_labels)
            history = train_classifier(model, data, task, seed)
            trained = input_gradient_norms(model, probe_ids, probe_labels)
            acc = accuracy(model, *data.test)
            seconds[cell] = round(time.perf_counter() - t0, 2)
            norms[cell] = {"init": init.tolist(), "trained": trained.tolist()}
            rows.append(
                {
                    "cell": cell,
                    "init_ratio": float(init[-1] / init[0]),
                    "init_ratio_10": float(init[min(10, length - 1)] / init[0]),
                    "trained_ratio": float(trained[-1] / trained[0]),
                    "test_accuracy": acc,
                    "best_epoch": history.best_epoch,
                }
            )
            log(
                f"gradients {cell}: ratio init {rows[-1]['init_ratio']:.3g} trained "
                f"{rows[-1]['trained_ratio']:.3g} accuracy {acc:.3f} ({seconds[cell]:.1f}s)"
            )
    seconds["total"] = round(time.perf_counter() - start, 2)
    return {
        "experiment": "gradients",
        "settings": {
            "cells": list(cells),
            "length": length,
            "n_probe": n_probe,
            "seed": seed,
            "threads": threads,
            "task": task.to_dict(),
        },
        "rows": rows,
        "norms": norms,
        "seconds": seconds,
    }


def gradients_table(result: dict[str, Any]) -> str:
    t = result["settings"]["length"]
    return markdown_table(
        [
            "cell",
            "init |g_1|/|g_T|",
            "init |g_T-10|/|g_T|",
            "trained |g_1|/|g_T|",
            "trained accuracy",
        ],
        [
            [
                r["cell"],
                f"{r['init_ratio']:.3g}",
                f"{r['init_ratio_10']:.3g}",
                f"{r['trained_ratio']:.3g}",
                f"{r['test_accuracy']:.3f}",
            ]
            for r in result["rows"]
        ],
        title=f"gradient norm ||dL/dx_t|| at the first step over the last step, T = {t}",
    )


def plot_gradients(result: dict[str, Any], path: Path) -> None:
    """Two panels (initialisation, trained): norm (log scale) against distance."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, stage, title in zip(
        axes, ("init", "trained"), ("at initialisation", "after training"), strict=True
    ):
        for cell, curves in result["norms"].items():
            ax.semilogy(np.arange(len(curves[stage])), curves[stage], label=cell)
        ax.set_title(title)
        ax.set_xlabel("distance from the loss, T - t")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("mean ||dL/dx_t||")
    fig.suptitle(f"vanishing gradients, first-token task, T = {result['settings']['length']}")
    fig.tight_layout()
    save_figure(fig, path)
