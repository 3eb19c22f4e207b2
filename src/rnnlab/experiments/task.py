"""The long-range task the experiments share, and the recipe that trains on it.

The *first-token task*: a sequence of T tokens whose binary label is decided
by its first token alone; the other T - 1 tokens are random noise. A
many-to-one classifier reads the whole sequence and answers from its last
state ``h_T`` (the guide's ``softmax(h_T O + c)``), so it must carry one bit
across T - 1 steps of noise: the long-range dependency that a tanh RNN fails
to learn (Bengio et al., 1994) and gated cells were designed for.

Tokens: 0 is ``<pad>`` (never used: every sequence has length T), 1 and 2 are
the signal tokens (labels 0 and 1), 3 .. V-1 are noise, drawn uniformly.

The model is the project's many-to-one classifier
(:class:`rnnlab.models.SequenceClassifier`: embedding -> the shared
:class:`~rnnlab.models.StackedRNN` block with one layer -> ``h_T`` -> linear),
trained by the shared loop :func:`rnnlab.training.fit`.

Gate initialisation. With torch's default initialisation each gate starts
near sigmoid(0) = 0.5, so the trace of the first token in the LSTM cell state
shrinks like 0.5^T; measured with this recipe (seed 0), neither LSTM nor GRU
learned the task at T = 20 in 6 epochs, where the tanh RNN did (see
docs/experiments.md). ``gate_init="chrono"`` (the default) uses the chrono
initialisation of Tallec & Ollivier (2018, "Can recurrent neural networks warp
time?"): the bias that keeps the state (LSTM forget gate, GRU update gate z) is
drawn as ``log(U(1, T - 1))`` so the units start with memories spread over
1 .. T steps; for the LSTM the input-gate bias is its negative. It is the
gated cells' version of the Keras default ``unit_forget_bias=True``. A tanh
RNN has no gate, so this changes nothing for it.

Shape legend: N batch, T time (sequence length), D embedding size, H hidden,
V vocabulary.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.training import History, bucket_batches, fit

CELL_NAMES = ("rnn", "lstm", "gru")
GATE_INITS = ("chrono", "default")
FIRST_SIGNAL = 1  # token of label 0; label 1 is FIRST_SIGNAL + 1
FIRST_NOISE = 3  # noise tokens are FIRST_NOISE .. V-1

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # ids (N, T), lengths (N,), labels (N,)


def check_value(cond: bool, name: str, expected: str, got: Any) -> None:
    """Raise ``RnnlabError`` naming the parameter, what was expected and what was got."""
    if not cond:
        raise RnnlabError(f"{name} must be {expected}, got {got!r}")


@dataclass(frozen=True)
class TaskConfig:
    """The first-token task and the recipe that trains a classifier on it.

    The defaults were calibrated so that LSTM and GRU reach >= 90% held-out
    accuracy at T = 200 within the epochs given: over 8 seeds the LSTM at
    T = 200 had learned the task by epoch 4 at the latest, and the GRU learns
    it sooner (calibration in docs/experiments.md).
    """

    vocab_size: int = 10  # V: <pad>, two signal tokens and V - 3 noise tokens
    embedding_dim: int = 16  # D
    hidden_size: int = 32  # H
    n_train: int = 2000  # training sequences
    n_val: int = 256  # validation sequences: choose the epoch whose weights are kept
    n_test: int = 1000  # fresh held-out sequences: the accuracy reported
    epochs: int = 6  # no early stopping: every epoch runs, the best one is kept
    batch_size: int = 64
    lr: float = 1e-2  # Adam learning rate
    lr_decay: float = 1.0  # learning-rate factor per epoch (set here, not TrainConfig's default)
    clip_norm: float = 1.0  # gradient-norm clipping, 0 = off
    gate_init: str = "chrono"  # "chrono" (Tallec & Ollivier 2018) or "default" (torch's)

    def __post_init__(self) -> None:
        check_value(
            self.vocab_size >= 4,
            "vocab_size",
            "an integer >= 4 (pad, 2 signal, noise)",
            self.vocab_size,
        )
        for name in (
            "embedding_dim",
            "hidden_size",
            "n_train",
            "n_val",
            "n_test",
            "epochs",
            "batch_size",
        ):
            value = getattr(self, name)
            check_value(isinstance(value, int) and value >= 1, name, "an integer >= 1", value)
        check_value(self.lr > 0, "lr", "> 0", self.lr)
        check_value(0 < self.lr_decay <= 1, "lr_decay", "in (0, 1]", self.lr_decay)
        check_value(self.clip_norm >= 0, "clip_norm", ">= 0 (0 = off)", self.clip_norm)
        check_value(
            self.gate_init in GATE_INITS, "gate_init", " or ".join(GATE_INITS), self.gate_init
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TaskConfig:
        """A copy with some fields changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class TaskData:
    """Train, validation and test sets of one length, as (ids (N, T), labels (N,))."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]

    @property
    def length(self) -> int:
        return int(self.train[0].shape[1])


def first_token_data(
    n: int, length: int, vocab_size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of ``length`` tokens: ids (N, T) int64 and labels (N,) int64.

    The label is the first token (1 -> 0, 2 -> 1); every other token is noise
    drawn uniformly from 3 .. vocab_size - 1.
    """
    labels = rng.integers(0, 2, size=n)  # (N,)
    ids = rng.integers(FIRST_NOISE, vocab_size, size=(n, length))  # (N, T)
    ids[:, 0] = FIRST_SIGNAL + labels
    return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(labels.astype(np.int64))


def task_data(task: TaskConfig, length: int, seed: int) -> TaskData:
    """The three splits for one length, drawn from ``(seed, length)``.

    Every cell sees the same sequences at a given length and seed, and the
    data does not depend on which other lengths or cells an experiment runs.
    """
    check_length(length)
    rng = np.random.default_rng([seed, length])
    return TaskData(
        train=first_token_data(task.n_train, length, task.vocab_size, rng),
        val=first_token_data(task.n_val, length, task.vocab_size, rng),
        test=first_token_data(task.n_test, length, task.vocab_size, rng),
    )


def check_length(length: int) -> None:
    check_value(isinstance(length, int) and length >= 3, "length", "an integer >= 3", length)


def check_seed(seed: int) -> None:
    check_value(isinstance(seed, int) and seed >= 0, "seed", "an integer >= 0", seed)


def check_cells(cells: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    cells = tuple(cells)
    check_value(
        len(cells) > 0 and all(c in CELL_NAMES for c in cells),
        "cells",
        f"a non-empty list of {', '.join(CELL_NAMES)}",
        list(cells),
    )
    check_value(len(set(cells)) == len(cells), "cells", "a list without repeats", list(cells))
    return cells


def batches(
    ids: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0
) -> list[Batch]:
    """Cut equal-length sequences into ``(ids, lengths, labels)`` batches."""
    n, t = ids.shape
    order = bucket_batches(np.full(n, t), batch_size, shuffle=shuffle, seed=seed)
    lengths = torch.full((n,), t, dtype=torch.int64)  # (N,)
    return [(ids[idx], lengths[idx], labels[idx]) for idx in order]


def classification_step(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, float, float]:
    """The step function given to :func:`rnnlab.training.fit`: mean cross-entropy."""
    ids, lengths, labels = batch
    logits = model(ids, lengths)  # (N, 2)
    loss = F.cross_entropy(logits, labels)
    return loss, float((logits.argmax(dim=1) == labels).sum()), float(len(labels))


def chrono_init(rnn: nn.Module, length: int) -> None:
    """Chrono initialisation of every LSTM/GRU layer of a StackedRNN, in place.

    torch's fused gate order is (i | f | g | o) for the LSTM and (r | z | n)
    for the GRU, rows of ``H`` each; the GRU keeps its state where z is high
    (``h' = (1 - z) * n + z * h``). Draws from torch's global generator.
    """
    t_max = max(length - 1, 2)
    for layer in rnn.modules():
        if not isinstance(layer, nn.LSTM | nn.GRU):
            continue
        h = layer.hidden_size
        for suffix in [
            name[len("bias_ih") :]
            for name, _ in layer.named_parameters()
            if name.startswith("bias_ih")
        ]:
            b_ih = getattr(layer, f"bias_ih{suffix}")
            b_hh = getattr(layer, f"bias_hh{suffix}")
            keep = torch.log(torch.empty(h).uniform_(1.0, float(t_max)))  # (H,)
            with torch.no_grad():
                if isinstance(layer, nn.LSTM):
                    b_ih.zero_()
                    b_hh.zero_()
                    b_hh[h : 2 * h] = keep  # forget gate
                    b_hh[:h] = -keep  # input gate
                else:
                    b_ih[h : 2 * h] = 0.0
                    b_hh[h : 2 * h] = keep  # update gate z


def build_classifier(cell: str, task: TaskConfig, length: int) -> SequenceClassifier:
    """Embedding -> one-layer StackedRNN(cell) -> h_T -> linear, for the task.

    Seed torch before calling: the weights come from its global generator.
    """
    config = ModelConfig(
        cell=cell,
        hidden_size=task.hidden_size,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
    )
    model = SequenceClassifier(config, task.vocab_size, task.embedding_dim, num_classes=2)
    if task.gate_init == "chrono":
        chrono_init(model.rnn, length)
    return model


def train_classifier(
    model: nn.Module, data: TaskData, task: TaskConfig, seed: int, step=classification_step
) -> History:
    """Train with the shared loop (Adam, clipping, best validation epoch kept).

    Every TrainConfig field that ``fit`` reads is set here, so a change of
    TrainConfig's defaults cannot silently change the experiments' numbers.
    """
    config = TrainConfig(
        epochs=task.epochs,
        batch_size=task.batch_size,
        lr=task.lr,
        lr_decay=task.lr_decay,
        weight_decay=0.0,
        clip_norm=task.clip_norm,
        patience=task.epochs,
        seed=seed,
    )
    train_ids, train_labels = data.train
    val_batches = batches(*data.val, batch_size=max(task.batch_size, 256))
    return fit(
        model,
        lambda epoch: batches(
            train_ids, train_labels, task.batch_size, shuffle=True, seed=seed * 1000 + epoch
        ),
        val_batches,
        step,
        config,
        progress=False,
    )


def accuracy(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of sequences classified correctly, in eval mode."""
    model.eval()
    correct = 0.0
    with torch.inference_mode():
        for batch in batches(ids, labels, batch_size=500):
            correct += classification_step(model, batch)[1]
    return correct / len(labels)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run with ``threads`` torch threads (0: all cores), then restore the old count."""
    check_value(isinstance(threads, int) and threads >= 0, "threads", "an integer >= 0", threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
