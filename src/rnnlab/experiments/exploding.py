"""Exploding gradients: scale up a tanh RNN's recurrent matrix, train with and without clipping.

The gradient reaching step t holds the product of T - t step Jacobians
``diag(1 - h^2) W_hh``. Multiply ``W_hh`` by a factor and its spectral radius
grows with it; past 1 the product can grow geometrically instead of shrinking
(Pascanu et al., 2013), and one gradient step of that size throws the weights
far away. Gradient-norm clipping rescales the whole gradient to norm
``clip_norm`` whenever it is larger, keeping its direction.

Each setting trains the same tanh RNN classifier (the task's one-layer
SequenceClassifier, seeded identically) on the first-token task, with
``W_hh`` multiplied by ``factor`` at initialisation, once without clipping and
once with ``clip_norm``. Recorded at every step: the training loss and the
*raw* gradient norm (before clipping, from a hook on the parameters).

Optimizer. ``optimizer="sgd"`` (the default) takes the raw gradient step
``theta -= lr * g``, as in Pascanu et al.; that is where an exploded gradient
does its damage and where clipping matters. ``optimizer="adam"`` trains with
the project's shared loop :func:`rnnlab.training.fit` (Adam): Adam divides each
gradient coordinate by a running root-mean-square of its own history, so a
step stays near ``lr`` however large the gradient; measured, clipping then
changes little (docs/experiments.md). The shared loop has no SGD option, so
the SGD path is the few lines of :func:`_train_sgd`, with the same batches,
step function and clipping call as the loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.autograd.graph import register_multi_grad_hook

from rnnlab.experiments.report import markdown_table, pyplot, save_figure
from rnnlab.experiments.task import (
    TaskConfig,
    TaskData,
    accuracy,
    batches,
    build_classifier,
    check_length,
    check_seed,
    check_value,
    classification_step,
    task_data,
    torch_threads,
    train_classifier,
)

DEFAULT_TASK = TaskConfig(n_train=1000, epochs=3)
DEFAULT_FACTORS = (1.0, 2.0, 4.0, 8.0, 16.0)
OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.3, "adam": 1e-2}
FINAL_STEPS = 10  # final loss: mean over this many last training steps


class GradientRecorder:
    """The raw (pre-clipping) gradient norm of every backward pass through ``params``."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        self.norms: list[float] = []
        self._handle = register_multi_grad_hook(params, self._record)

    def _record(self, grads) -> None:
        total = sum(float(g.detach().double().pow(2).sum()) for g in grads if g is not None)
        self.norms.append(math.sqrt(total))

    def close(self) -> None:
        self._handle.remove()


def spectral_radius(matrix: torch.Tensor) -> float:
    """Largest eigenvalue modulus; nan when the matrix holds nan or inf."""
    m = matrix.detach().double()
    if not torch.isfinite(m).all():
        return math.nan
    return float(torch.linalg.eigvals(m).abs().max())


def _train_sgd(
    model: torch.nn.Module,
    data: TaskData,
    task: TaskConfig,
    lr: float,
    clip_norm: float,
    seed: int,
    step,
) -> None:
    """Plain SGD with the shared loop's batches, step function and clipping call."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr)
    model.train()
    for epoch in range(1, task.epochs + 1):
        for batch in batches(*data.train, task.batch_size, shuffle=True, seed=seed * 1000 + epoch):
            loss, _, _ = step(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, clip_norm)
            optimizer.step()


def exploding_run(
    factor: float,
    clip_norm: float,
    data: TaskData,
    task: TaskConfig,
    optimizer: str,
    lr: float,
    seed: int,
) -> dict[str, Any]:
    """Train one tanh RNN with ``W_hh`` scaled by ``factor``; ``clip_norm`` 0 = no clipping."""
    torch.manual_seed(seed)
    model = build_classifier("rnn", task, data.length)
    w_hh = model.rnn.forward_layers[0].weight_hh_l0  # (H, H)
    with torch.no_grad():
        w_hh.mul_(factor)
    rho = spectral_radius(w_hh)
    losses: list[float] = []

    def step(model, batch):
        loss, correct, n = classification_step(model, batch)
        if model.training:
            losses.append(float(loss.detach()))
        return loss, correct, n

    recorder = GradientRecorder([p for p in model.parameters() if p.requires_grad])
    try:
        if optimizer == "adam":
            train_classifier(model, data, task.replace(lr=lr, clip_norm=clip_norm), seed, step)
        else:
            _train_sgd(model, data, task, lr, clip_norm, seed, step)
    finally:
        recorder.close()
    grad = np.array(recorder.norms)
    loss = np.array(losses)
    applied = np.minimum(grad, clip_norm) if clip_norm > 0 else grad
    finite_params = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    diverged = not (np.isfinite(loss).all() and np.isfinite(grad).all() and finite_params)
    return {
        "factor": factor,
        "clip_norm": clip_norm,
        "spectral_radius": rho,
        "max_grad_norm": float(np.max(grad)),
        "max_applied_norm": float(np.max(applied)),
        "final_loss": float(np.mean(loss[-FINAL_STEPS:])),
        "final_spectral_radius": spectral_radius(w_hh),
        "test_accuracy": accuracy(model, *data.test) if finite_params else math.nan,
        "diverged": diverged,
        "loss": loss.tolist(),
        "grad_norm": grad.tolist(),
    }


def exploding_experiment(
    factors: tuple[float, ...] = DEFAULT_FACTORS,
    clip_norm: float = 1.0,
    length: int = 20,
    optimizer: str = "sgd",
    lr: float | None = None,
    task: TaskConfig = DEFAULT_TASK,
    seed: int = 0,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Gradient norms and training loss for each factor, without and with clipping.

    Parameters
    ----------
    factors : tuple of float
        Multipliers of the initial recurrent matrix ``W_hh``.
    clip_norm : float
        The clipping threshold of the clipped runs (> 0).
    optimizer : {"sgd", "adam"}
        Plain SGD (the raw gradient step) or the shared loop's Adam.
    lr : float, optional
        Learning rate; default 0.3 for SGD, 0.01 for Adam.

    Returns
    -------
    dict
        ``rows``: one per (factor, clipping) with the initial and final
        spectral radius of ``W_hh`` (final: the weights at the end; with
        Adam, those ``fit`` kept), ``max_grad_norm`` (raw, before
        clipping), ``max_applied_norm`` (after clipping), ``final_loss`` (mean
        of the last 10 training steps), ``test_accuracy`` and ``diverged``
        (nan/inf in a loss, a gradient or a weight). ``curves``: the per-step
        ``loss`` and ``grad_norm`` of each row. ``seconds``: wall-clock times.
    """
    factors = tuple(float(f) for f in factors)
    check_value(
        len(factors) > 0 and all(f > 0 for f in factors),
        "factors",
        "a non-empty list of numbers > 0",
        list(factors),
    )
    check_value(clip_norm > 0, "clip_norm", "> 0 (the clipped runs' threshold)", clip_norm)
    check_length(length)
    check_value(optimizer in OPTIMIZERS, "optimizer", " or ".join(OPTIMIZERS), optimizer)
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    check_value(lr > 0, "lr", "> 0", lr)
    check_seed(seed)
    log = log or (lambda _msg: None)
    start = time.perf_counter()
    data = task_data(task, length, seed)
    rows, curves = [], []
    with torch_threads(threads):
        for factor in factors:
            for clip in (0.0, clip_norm):
                run = exploding_run(factor, clip, data, task, optimizer, lr, seed)
                curves.append(
                    {
                        "factor": factor,
                        "clip_norm": clip,
                        "loss": run.pop("loss"),
                        "grad_norm": run.pop("grad_norm"),
                    }
                )
                rows.append(run)
                log(
                    f"exploding factor {factor:g} clip {clip or 'none'}: max grad norm "
                    f"{run['max_grad_norm']:.3g} final loss {run['final_loss']:.3f}"
                )
    return {
        "experiment": "exploding",
        "settings": {
            "factors": list(factors),
            "clip_norm": clip_norm,
            "length": length,
            "optimizer": optimizer,
            "lr": lr,
            "seed": seed,
            "threads": threads,
            "task": task.to_dict(),
        },
        "rows": rows,
        "curves": curves,
        "seconds": {"total": round(time.perf_counter() - start, 2)},
    }


def exploding_table(result: dict[str, Any]) -> str:
    s = result["settings"]
    return markdown_table(
        [
            "factor",
            "clip",
            "rho(W_hh) init",
            "max grad norm",
            "max applied norm",
            "final loss",
            "rho(W_hh) final",
            "test accuracy",
            "diverged",
        ],
        [
            [
                f"{r['factor']:g}",
                f"{r['clip_norm']:g}" if r["clip_norm"] else "none",
                f"{r['spectral_radius']:.2f}",
                f"{r['max_grad_norm']:.3g}",
                f"{r['max_applied_norm']:.3g}",
                f"{r['final_loss']:.3f}",
                f"{r['final_spectral_radius']:.3g}",
                f"{r['test_accuracy']:.3f}",
                "yes" if r["diverged"] else "no",
            ]
            for r in result["rows"]
        ],
        title=f"tanh RNN, {s['optimizer']} lr {s['lr']:g}, first-token task T = {s['length']}",
    )


def plot_exploding(result: dict[str, Any], path: Path) -> None:
    """Loss (top) and raw gradient norm (bottom, log) per step; no clipping | clipping."""
    plt = pyplot()
    clip = result["settings"]["clip_norm"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True, sharey="row")
    for col, threshold in enumerate((0.0, clip)):
        for curve in (c for c in result["curves"] if c["clip_norm"] == threshold):
            steps = np.arange(1, len(curve["loss"]) + 1)
            label = f"x{curve['factor']:g}"
            axes[0, col].plot(steps, curve["loss"], label=label)
            axes[1, col].semilogy(steps, curve["grad_norm"], label=label)
        axes[0, col].set_title(f"clip_norm = {threshold:g}" if threshold else "no clipping")
        axes[1, col].set_xlabel("training step")
        if threshold:
            axes[1, col].axhline(threshold, color="grey", linestyle="--", label="clip")
        for ax in axes[:, col]:
            ax.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("training loss")
    axes[1, 0].set_ylabel("raw gradient norm")
    axes[0, 1].legend(title="W_hh scaled")
    s = result["settings"]
    fig.suptitle(
        f"exploding gradients: tanh RNN, {s['optimizer']} lr {s['lr']:g}, T = {s['length']}"
    )
    fig.tight_layout()
    save_figure(fig, path)
