"""The one training loop, shared by every model type.

Adam, gradient-norm clipping, validation each epoch, early stopping on the
validation loss (the best weights are restored), an atomic checkpoint each
epoch, rich progress bars, and a history of per-epoch figures.

A task plugs in through ``step(model, batch) -> (loss, n_correct, n_items)``:
the loop does not know whether a batch is a review, a tagged sentence or a
translation pair.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rnnlab.config import TrainConfig

StepFn = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, float, float]]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a CPU run repeats exactly."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads or os.cpu_count() or 1)


@dataclass
class History:
    """Per-epoch figures; ``best_epoch`` is the one whose weights were kept."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False

    def write_jsonl(self, path: Path) -> None:
        write_text_atomic(path, "".join(json.dumps(e) + "\n" for e in self.epochs))


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_checkpoint(model: torch.nn.Module, path: Path, meta: dict[str, Any]) -> None:
    """Write the model's weights as safetensors, atomically (temp file, rename)."""
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata={k: str(v) for k, v in meta.items()})
    os.replace(tmp, path)


def _progress(enabled: bool) -> Progress:
    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
        console=Console(stderr=True),
    )


def evaluate_loss(model: torch.nn.Module, batches: Sequence[Any], step: StepFn) -> dict[str, float]:
    """Mean loss and accuracy over batches, in eval mode, without gradients."""
    model.eval()
    total_loss = correct = items = 0.0
    with torch.inference_mode():
        for batch in batches:
            loss, n_correct, n = step(model, batch)
            total_loss += float(loss.detach()) * n
            correct += n_correct
            items += n
    return {"loss": total_loss / max(items, 1), "accuracy": correct / max(items, 1)}


def fit(
    model: torch.nn.Module,
    train_batches: Callable[[int], Sequence[Any]],
    val_batches: Sequence[Any],
    step: StepFn,
    config: TrainConfig,
    checkpoint_dir: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> History:
    """Train ``model`` in place and leave it holding its best weights.

    Parameters
    ----------
    train_batches : callable
        ``epoch -> batches``; called once per epoch so batches can be reshuffled.
    val_batches : sequence
        Validation batches; the validation loss chooses the epoch kept.
    step : callable
        ``(model, batch) -> (mean loss tensor, n_correct, n_items)``.
    checkpoint_dir : Path, optional
        Receives ``last.safetensors`` and ``best.safetensors`` every epoch.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
    history = History()
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs = 0
    if checkpoint_dir is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with _progress(progress) as bars:
        for epoch in range(1, config.epochs + 1):
            batches = train_batches(epoch)
            task = bars.add_task(f"epoch {epoch}/{config.epochs}", total=len(batches), stats="")
            model.train()
            start = time.perf_counter()
            total_loss = correct = items = 0.0
            for i, batch in enumerate(batches, 1):
                loss, n_correct, n = step(model, batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip_norm > 0:
                    torch.nn.utils.clip_grad_norm_(params, config.clip_norm)
                optimizer.step()
                total_loss += float(loss.detach()) * n
                correct += n_correct
                items += n
                if i % 10 == 0 or i == len(batches):
                    bars.update(
                        task,
                        completed=i,
                        stats=f"loss {total_loss / items:.4f} acc {correct / items:.4f}",
                    )
            train_time = time.perf_counter() - start
            val = evaluate_loss(model, val_batches, step)
            record = {
                "epoch": epoch,
                "lr": optimizer.param_groups[0]["lr"],
                "train_loss": total_loss / max(items, 1),
                "train_accuracy": correct / max(items, 1),
                "val_loss": val["loss"],
                "val_accuracy": val["accuracy"],
                "epoch_seconds": round(train_time, 3),
                "val_seconds": round(time.perf_counter() - start - train_time, 3),
            }
            history.epochs.append(record)
            bars.update(
                task,
                stats=f"loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f} "
                f"| val loss {val['loss']:.4f} acc {val['accuracy']:.4f}",
            )
            improved = val["loss"] < best_loss
            if improved:
                best_loss = val["loss"]
                history.best_epoch = epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                bad_epochs = 0
            else:
                bad_epochs += 1
            if checkpoint_dir is not None:
                meta = {"epoch": epoch, "val_loss": val["loss"]}
                save_checkpoint(model, checkpoint_dir / "last.safetensors", meta)
                if improved:
                    save_checkpoint(model, checkpoint_dir / "best.safetensors", meta)
                history.write_jsonl(checkpoint_dir / "history.jsonl")
            schedule.step()
            if on_epoch is not None:
                on_epoch(record)
            if bad_epochs > config.patience:
                history.stopped_early = epoch < config.epochs
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
