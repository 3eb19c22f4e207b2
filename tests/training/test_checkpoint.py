"""Resumable checkpoints in-process: round trips, refusals, interrupts, divergence.

The kill -9 property (a subprocess killed at random moments) is in test_resume.py.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import CheckpointError, RnnlabError, TrainingDiverged, TrainingInterrupted
from rnnlab.models import SequenceClassifier
from rnnlab.training import bucket_batches, collate, fit, seed_everything
from rnnlab.training import checkpoint as ckpt

N_BATCHES = 10  # per epoch: 80 toy sequences in batches of 8


def toy(n: int, seed: int):
    rng = np.random.default_rng(seed)
    seqs = [[int(t) for t in rng.integers(2, 20, rng.integers(2, 9))] for _ in range(n)]
    labels = np.array([int(3 in s) for s in seqs])
    return seqs, labels


SEQS, LABELS = toy(80, 0)
VAL = toy(40, 1)


def batches_for(seqs, labels, batch_size, shuffle, seed):
    lengths = np.array([len(s) for s in seqs])
    return [
        (*collate(seqs, idx), torch.from_numpy(labels[idx]))
        for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed)
    ]


def step(model, batch):
    ids, lengths, y = batch
    logits = model(ids, lengths)
    return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))


def net(hidden: int = 8) -> SequenceClassifier:
    cfg = ModelConfig(cell="gru", hidden_size=hidden, num_layers=1, bidirectional=False)
    return SequenceClassifier(cfg, vocab_size=20, embedding_dim=6, num_classes=2)  # dropout 0.3


def train(tmp: Path | None, epochs: int = 2, resume: bool = False, hook=None, **overrides):
    """Seed, build and fit the toy classifier; ``hook(batch_number)`` runs in each step."""
    seed_everything(3)
    model = net(overrides.pop("hidden", 8))
    calls = {"n": 0, "epochs": []}

    def counting_step(m, batch):
        if m.training:
            calls["n"] += 1
            if hook is not None:
                hook(calls["n"])
        return step(m, batch)

    def train_batches(epoch):
        calls["epochs"].append(epoch)
        return batches_for(SEQS, LABELS, 8, True, epoch)

    settings = dict(epochs=epochs, batch_size=8, lr=1e-2, patience=5, seed=3)
    settings.update(overrides.pop("config", {}))
    history = fit(
        model,
        train_batches,
        batches_for(*VAL, 64, False, 0),
        counting_step,
        TrainConfig(**settings),
        checkpoint_dir=tmp,
        progress=False,
        resume=resume,
        **overrides,
    )
    return model, history, calls


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def strip(history) -> list[dict]:
    return [{k: v for k, v in e.items() if "seconds" not in k} for e in history.epochs]


# ------------------------------------------------------------------ pieces of the state


def test_random_states_round_trip_through_json() -> None:
    seed_everything(5)
    state = json.loads(json.dumps(ckpt.capture_rng()))
    first = (random.random(), np.random.rand(), torch.rand(3).tolist(), np.random.randn())
    seed_everything(99)
    ckpt.restore_rng(state)
    assert (random.random(), np.random.rand(), torch.rand(3).tolist(), np.random.randn()) == first


def test_optimizer_state_round_trips_through_safetensors_and_json(tmp_path: Path) -> None:
    w = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.Adam([w], lr=0.1, betas=(0.8, 0.99))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    for _ in range(3):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
        sched.step()
    tensors, plain = ckpt.optimizer_parts(opt)
    assert set(tensors) == {"optim.0.step", "optim.0.exp_avg", "optim.0.exp_avg_sq"}
    path = ckpt.write_checkpoint(
        tmp_path, tensors, {"position": {"epochs_done": 1, "step": 0}, "opt": plain}
    )
    back = ckpt.read_checkpoint(path)
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3, 2))], lr=0.1, betas=(0.8, 0.99))
    fresh.load_state_dict(ckpt.optimizer_state_dict(fresh, back.tensors, back.state["opt"]))
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]  # betas back to a tuple, lr decayed
    assert all(torch.equal(a["state"][0][k], b["state"][0][k]) for k in a["state"][0])


# ------------------------------------------------------------------- resume in process


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_and_resume_is_bit_identical(tmp_path: Path) -> None:
    ref, ref_history, _ = train(None, epochs=2)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    def ctrl_c(n: int) -> None:
        if n == 13:  # epoch 2, batch 3
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as info:
        train(tmp_path, epochs=2, hook=ctrl_c)
    message = str(info.value)
    assert "SIGINT" in message and "epoch 2 step 3" in message
    assert str(tmp_path) in message and "--resume" in message
    assert (info.value.epoch, info.value.step) == (2, 3)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert ckpt.list_checkpoints(tmp_path)[0].name == "ckpt-00001-00000003"

    resumed, history, calls = train(tmp_path, epochs=2, resume=True)
    assert calls["n"] == N_BATCHES - 3 and calls["epochs"] == [2]  # only what was left
    assert history.resumed_from == "ckpt-00001-00000003"
    assert same_weights(resumed, ref)
    assert strip(history) == strip(ref_history)
    assert history.best_epoch == ref_history.best_epoch


def test_a_second_ctrl_c_stops_at_once_but_an_echo_does_not(tmp_path: Path) -> None:
    def twice(pause: float):
        def hook(n: int) -> None:
            if n == 2:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(pause)
                os.kill(os.getpid(), signal.SIGINT)

        return hook

    # the same Ctrl-C delivered twice within a second (a launcher forwarding it): saved
    with pytest.raises(TrainingInterrupted):
        train(tmp_path / "echo", epochs=1, hook=twice(0.0))
    # a deliberate second Ctrl-C: stop now, as Python would
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "impatient", epochs=1, hook=twice(1.05))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_checkpoint_dir_ctrl_c_is_the_usual_keyboard_interrupt() -> None:
    def ctrl_c(n: int) -> None:
        if n == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train(None, epochs=1, hook=ctrl_c)


@pytest.mark.slow
def test_more_epochs_on_resume_continue_the_same_trajectory(tmp_path: Path) -> None:
    ref, ref_history, _ = train(None, epochs=3)
    train(tmp_path, epochs=2)
    resumed, history, calls = train(tmp_path, epochs=3, resume=True)
    assert calls["epochs"] == [3]
    assert same_weights(resumed, ref) and strip(history) == strip(ref_history)


@pytest.mark.slow
def test_resume_of_a_finished_run_trains_nothing(tmp_path: Path) -> None:
    done, done_history, _ = train(tmp_path, epochs=2)
    again, history, calls = train(tmp_path, epochs=2, resume=True)
    assert calls == {"n": 0, "epochs": []}
    assert same_weights(again, done) and history.epochs == done_history.epochs
    assert not again.training


@pytest.mark.slow
def test_resume_with_no_checkpoint_starts_fresh_with_a_warning(tmp_path: Path) -> None:
    lines: list[str] = []
    ref, _, _ = train(None)
    model, history, _ = train(tmp_path / "none", resume=True, log=lines.append)
    assert any("found no checkpoint" in line and "from scratch" in line for line in lines)
    assert history.resumed_from is None and same_weights(model, ref)


def test_resume_needs_a_checkpoint_dir() -> None:
    with pytest.raises(RnnlabError, match="needs a checkpoint_dir"):
        train(None, resume=True)


# ------------------------------------------------------------------------ refusals


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A finished 2-epoch run with mid-epoch checkpoints: ckpt-00001-00000009, ckpt-00002-0."""
    folder = tmp_path_factory.mktemp("two") / "ckpt"
    model, _, _ = train(folder, config={"checkpoint_every_steps": 3})
    return folder, model


def copy_of(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / "copy"))


def test_the_two_newest_checkpoints_are_kept(two_checkpoints) -> None:
    folder, _ = two_checkpoints
    assert [p.name for p in ckpt.list_checkpoints(folder)] == [
        "ckpt-00002-00000000",
        "ckpt-00001-00000009",
    ]
    assert ckpt.is_checkpoint_dir(folder)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: (p / "manifest.json").write_text("{not json"), "manifest.json is corrupt"),
        (lambda p: (p / "manifest.json").unlink(), "no manifest.json"),
        (lambda p: _truncate(p / "state.safetensors"), "state.safetensors is corrupt"),
        (lambda p: _flip_byte(p / "state.json"), "state.json is corrupt"),
        (lambda p: (p / "state.json").unlink(), "state.json is missing"),
    ],
)
def test_a_damaged_newest_checkpoint_is_skipped_for_the_older_one(
    two_checkpoints, tmp_path: Path, damage, reason: str
) -> None:
    folder = copy_of(two_checkpoints[0], tmp_path)
    newest, older = ckpt.list_checkpoints(folder)
    damage(newest)
    with pytest.raises(CheckpointError, match=reason):
        ckpt.read_checkpoint(newest)
    lines: list[str] = []
    found = ckpt.newest_valid(folder, lines.append)
    assert found is not None and found.path == older
    assert len(lines) == 1 and reason in lines[0]

    damage(older)  # nothing valid left: refused, never a silent fresh start
    with pytest.raises(CheckpointError, match="no valid checkpoint"):
        train(folder, resume=True, log=lambda m: None)


@pytest.mark.slow
def test_resume_after_a_corrupt_newest_checkpoint_uses_the_older(
    two_checkpoints, tmp_path: Path
) -> None:
    folder = copy_of(two_checkpoints[0], tmp_path)
    _truncate(ckpt.list_checkpoints(folder)[0] / "state.safetensors")
    lines: list[str] = []
    model, history, calls = train(folder, resume=True, log=lines.append)
    assert history.resumed_from == "ckpt-00001-00000009"
    assert calls["n"] == 1 and calls["epochs"] == [2]  # the last batch of epoch 2, again
    assert same_weights(model, two_checkpoints[1])
    assert any("skipping" in line for line in lines)


def test_a_checkpoint_of_another_model_is_refused(two_checkpoints, tmp_path: Path) -> None:
    folder = copy_of(two_checkpoints[0], tmp_path)
    with pytest.raises(CheckpointError, match=r"another model \(.*weight.*\)") as info:
        train(folder, resume=True, hidden=9)
    assert "\n" not in str(info.value) and "without --resume" in str(info.value)


@pytest.mark.parametrize(
    "overrides, what",
    [
        ({"config": {"lr": 0.02}}, "fit.lr: 0.01 in the checkpoint, 0.02 now"),
        ({"config": {"seed": 4}}, "fit.seed"),
        ({"run_fingerprint": {"data_sha256": "abc"}}, "data_sha256 is new"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(
    two_checkpoints, tmp_path: Path, overrides, what: str
) -> None:
    folder = copy_of(two_checkpoints[0], tmp_path)
    with pytest.raises(CheckpointError, match="another run") as info:
        train(folder, resume=True, **overrides)
    assert what in str(info.value)


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(CheckpointError, match="did not write.*thesis.tex"):
        train(tmp_path, epochs=1)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_a_fresh_run_warns_then_replaces_old_checkpoints(two_checkpoints, tmp_path) -> None:
    folder = copy_of(two_checkpoints[0], tmp_path)
    lines: list[str] = []
    train(folder, epochs=1, log=lines.append)
    assert any("earlier run" in line and "--resume" in line for line in lines)
    assert [p.name for p in ckpt.list_checkpoints(folder)] == ["ckpt-00001-00000000"]


# ---------------------------------------------------------------------- divergence


class Quadratic(torch.nn.Module):
    """loss = |w - 3|^2: with lr 1e30, Adam's first step makes w ~ 1e30 and the loss inf."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))


def quadratic_step(model, batch):
    return ((model.w - 3.0) ** 2).sum(), 0.0, 1.0


def test_a_non_finite_loss_stops_the_run_before_the_step(tmp_path: Path) -> None:
    model = Quadratic()
    cfg = TrainConfig(epochs=2, lr=1e30, clip_norm=0.0, checkpoint_every_steps=1)
    with pytest.raises(TrainingDiverged) as info:
        fit(model, lambda e: ["b"] * 5, ["v"], quadratic_step, cfg, tmp_path, progress=False)
    message = str(info.value)
    assert message.startswith("training diverged at epoch 1 step 2 (loss inf); lower --lr")
    assert "\n" not in message
    assert torch.isfinite(model.w).all()  # the step that would have made them inf never ran
    saved = [ckpt.read_checkpoint(p) for p in ckpt.list_checkpoints(tmp_path)]
    assert [c.path.name for c in saved] == ["ckpt-00000-00000001"]
    assert all(bool(torch.isfinite(t).all()) for c in saved for t in c.tensors.values())


def test_an_overflowing_update_is_reported_as_divergence(tmp_path: Path) -> None:
    with pytest.raises(TrainingDiverged, match="overflows float32"):  # lr / (1 - beta1)
        train(tmp_path, config={"lr": 1e39, "checkpoint_every_steps": 1})
    assert ckpt.list_checkpoints(tmp_path) == []


@pytest.mark.parametrize("field", ["lr", "lr_decay", "weight_decay", "clip_norm"])
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_train_config_rejects_non_finite_numbers(field: str, value: float) -> None:
    with pytest.raises(RnnlabError, match=f"train.{field} must be a finite number"):
        TrainConfig(**{field: value})


def test_train_config_checkpoint_cadence_validated_and_old_configs_load() -> None:
    with pytest.raises(RnnlabError, match="checkpoint_every_s"):
        TrainConfig(checkpoint_every_s=-1.0)
    with pytest.raises(RnnlabError, match="checkpoint_every_steps"):
        TrainConfig(checkpoint_every_steps=2.5)  # type: ignore[arg-type]
    old = {k: v for k, v in TrainConfig().to_dict().items() if not k.startswith("checkpoint")}
    cfg = TrainConfig.from_dict(old)  # a config.json written before these keys existed
    assert (cfg.checkpoint_every_s, cfg.checkpoint_every_steps) == (300.0, 0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
