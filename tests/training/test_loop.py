"""Tests for the training loop: learning, early stopping, checkpoints, determinism."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import nn

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.models import SequenceClassifier
from rnnlab.training import bucket_batches, collate, fit, seed_everything, set_threads
from rnnlab.training.checkpoint import read_checkpoint
from rnnlab.training.loop import evaluate_loss

CUE = 3  # label 1 iff the sequence contains this token


def toy_data(n: int, seed: int) -> tuple[list[list[int]], np.ndarray]:
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        seq = [
            int(t) for t in rng.choice([t for t in range(2, 20) if t != CUE], rng.integers(3, 10))
        ]
        if i % 2:
            seq.insert(int(rng.integers(0, len(seq) + 1)), CUE)
        seqs.append(seq)
        labels.append(i % 2)
    return seqs, np.array(labels)


def to_batches(seqs, labels, batch_size: int, shuffle: bool, seed: int):
    lengths = np.array([len(s) for s in seqs])
    out = []
    for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
        ids, lens = collate(seqs, idx)
        out.append((ids, lens, torch.from_numpy(labels[idx])))
    return out


def step(model, batch):
    ids, lengths, y = batch
    logits = model(ids, lengths)
    return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))


def classifier(**kw) -> SequenceClassifier:
    cfg = ModelConfig(
        cell="gru",
        hidden_size=8,
        num_layers=1,
        bidirectional=False,
        dropout=kw.pop("dropout", 0.0),
        pooling="max",
    )
    return SequenceClassifier(cfg, vocab_size=20, embedding_dim=8, num_classes=2, **kw)


def train_toy(seed: int, epochs: int = 4, **kw):
    seed_everything(seed)
    net = classifier(**kw)
    seqs, labels = toy_data(160, 0)
    vseqs, vlabels = toy_data(60, 1)
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=1e-2, lr_decay=1.0, patience=10, seed=seed)
    history = fit(
        net,
        lambda e: to_batches(seqs, labels, 16, True, seed + e),
        to_batches(vseqs, vlabels, 64, False, 0),
        step,
        cfg,
        progress=False,
    )
    return net, history


def test_loss_decreases_on_a_learnable_problem() -> None:
    # Calibration (seeds 0-4): the last train loss was 0.15-0.23 from ~0.70, and the best
    # validation accuracy 0.98-1.0; the thresholds below leave a wide margin.
    net, history = train_toy(0, epochs=6)
    losses = [e["train_loss"] for e in history.epochs]
    assert len(losses) == 6
    assert losses[-1] < 0.5 * losses[0]
    assert history.epochs[history.best_epoch - 1]["val_accuracy"] >= 0.9
    assert min(e["val_loss"] for e in history.epochs) < history.epochs[0]["val_loss"]
    assert not net.training  # left in eval mode after the last validation


def test_same_seed_gives_identical_weights() -> None:
    a, ha = train_toy(5, epochs=2, dropout=0.3)
    b, hb = train_toy(5, epochs=2, dropout=0.3)
    c, _ = train_toy(6, epochs=2, dropout=0.3)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    strip = [{k: v for k, v in e.items() if "seconds" not in k} for e in ha.epochs]
    assert strip == [{k: v for k, v in e.items() if "seconds" not in k} for e in hb.epochs]


def test_frozen_parameters_are_not_trained() -> None:
    matrix = torch.randn(20, 8)
    net, _ = train_toy(0, epochs=1, embedding=matrix, freeze_embedding=True)
    assert torch.equal(net.embedding.weight[1:].detach(), matrix[1:])
    fresh = classifier()
    assert not torch.equal(net.head.weight, fresh.head.weight)


class Scalar(nn.Module):
    """A two-number model: training pulls it towards TARGET; validation loss is scripted."""

    TARGET = torch.tensor([3.0, -2.0])

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))


def scripted_step(val_losses: list[float]):
    it: Iterator[float] = iter(val_losses)

    def run(model: Scalar, batch):
        if model.training:
            return ((model.w - Scalar.TARGET) ** 2).sum(), 1.0, 1.0
        return torch.tensor(next(it)), 0.0, 1.0

    return run


def fit_scripted(val_losses, epochs, patience, checkpoint_dir=None):
    model = Scalar()
    seen: list[torch.Tensor] = []
    calls: list[int] = []

    def batches(epoch: int):
        calls.append(epoch)
        return ["b"] * 3

    cfg = TrainConfig(epochs=epochs, lr=0.1, patience=patience, device="cpu")  # CPU-only steps
    history = fit(
        model,
        batches,
        ["v"],
        scripted_step(val_losses),
        cfg,
        checkpoint_dir=checkpoint_dir,
        progress=False,
        on_epoch=lambda r: seen.append(model.w.detach().clone()),
    )
    return model, history, seen, calls


def test_early_stopping_restores_the_best_weights(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    model, history, seen, calls = fit_scripted([1.0, 0.5, 0.7, 0.9, 0.1, 0.1], 6, 1, ckpt)
    assert calls == [1, 2, 3, 4]  # stopped after two epochs without improvement
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3, 4]
    assert [e["val_loss"] for e in history.epochs] == pytest.approx([1.0, 0.5, 0.7, 0.9])
    assert history.best_epoch == 2 and history.stopped_early
    assert all(not torch.equal(seen[i], seen[i + 1]) for i in range(3))  # weights kept moving
    assert torch.equal(model.w.detach(), seen[1])

    assert sorted(p.name for p in ckpt.iterdir()) == [
        "CHECKPOINTS.json",
        "ckpt-00003-00000000",
        "ckpt-00004-00000000",
        "history.jsonl",
    ]  # the two newest epoch-end checkpoints, no temporary files left behind
    last = read_checkpoint(ckpt / "ckpt-00004-00000000")
    assert sorted(p.name for p in last.path.iterdir()) == [
        "manifest.json",
        "state.json",
        "state.safetensors",
    ]
    assert torch.equal(last.prefixed("model")["w"], seen[3])
    assert torch.equal(last.prefixed("best")["w"], seen[1])
    assert last.state["early_stopping"]["finished"]
    assert last.state["history"]["best_epoch"] == 2
    with safe_open(str(last.path / "state.safetensors"), "pt") as fh:
        assert fh.metadata()["format"] == "rnnlab.checkpoint"
    lines = (ckpt / "history.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == history.epochs


def test_patience_zero_stops_at_the_first_worse_epoch() -> None:
    model, history, seen, calls = fit_scripted([0.9, 0.8, 0.85, 0.1], 4, 0)
    assert calls == [1, 2, 3]
    assert history.best_epoch == 2 and history.stopped_early
    assert torch.equal(model.w.detach(), seen[1])


def test_no_early_stop_when_improving() -> None:
    model, history, seen, calls = fit_scripted([0.9, 0.8, 0.7], 3, 0)
    assert calls == [1, 2, 3]
    assert history.best_epoch == 3 and not history.stopped_early
    assert torch.equal(model.w.detach(), seen[2])


def test_stopping_on_the_last_epoch_is_not_early() -> None:
    _, history, _, calls = fit_scripted([0.5, 0.6, 0.7], 3, 1)
    assert calls == [1, 2, 3]
    assert history.best_epoch == 1 and not history.stopped_early


def test_evaluate_loss_weights_batches_by_size() -> None:
    model = Scalar()
    model.train()
    batches = [(1.0, 1.0, 1.0), (3.0, 2.0, 3.0)]  # (loss, correct, n)

    def s(m, b):
        assert not m.training and not torch.is_grad_enabled()
        return torch.tensor(b[0]), b[1], b[2]

    got = evaluate_loss(model, batches, s)
    assert got == {"loss": pytest.approx(2.5), "accuracy": pytest.approx(0.75)}


def test_seed_everything_and_threads() -> None:
    seed_everything(11)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    set_threads(1)
    assert torch.get_num_threads() == 1


def test_learning_rate_decays_each_epoch() -> None:
    model = Scalar()
    cfg = TrainConfig(epochs=3, lr=0.1, lr_decay=0.5, patience=5, device="cpu")
    history = fit(
        model,
        lambda epoch: ["b"],
        ["v"],
        scripted_step([0.9, 0.8, 0.7]),
        cfg,
        progress=False,
    )
    assert [e["lr"] for e in history.epochs] == pytest.approx([0.1, 0.05, 0.025])
