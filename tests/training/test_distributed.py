"""Distributed training: the sharded sampler, the process-group context, and torchrun runs.

The torchrun tests start ``python -m torch.distributed.run --nproc-per-node 2
--standalone`` (gloo on CPU, a free port chosen by the rendezvous) on the tiny
classifier of ``train_script.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from rnnlab.errors import RnnlabError
from rnnlab.training import (
    DistContext,
    bucket_batches,
    current_context,
    init_distributed,
    shard_batches,
)
from rnnlab.training import checkpoint as ckpt

SCRIPT = Path(__file__).with_name("train_script.py")

# ------------------------------------------------------------------------- the sampler


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), max_size=200),
    batch_size=st.integers(1, 20),
    world_size=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_ranks_take_disjoint_shares_of_every_global_batch(
    lengths: list[int], batch_size: int, world_size: int, seed: int
) -> None:
    lengths_arr = np.array(lengths, dtype=np.int64)
    batch_size = max(batch_size, world_size)  # smaller is refused (next test)
    global_batches = bucket_batches(
        lengths_arr, batch_size, shuffle=True, seed=seed, rank=0, world_size=1
    )
    shares = [
        bucket_batches(
            lengths_arr, batch_size, shuffle=True, seed=seed, rank=r, world_size=world_size
        )
        for r in range(world_size)
    ]
    kept = [b for b in global_batches if len(b) >= world_size]
    assert all(len(s) == len(kept) for s in shares)  # the same number of steps on every rank
    for k, batch in enumerate(kept):
        parts = [s[k] for s in shares]
        assert sorted(np.concatenate(parts).tolist()) == sorted(batch.tolist())  # disjoint, whole
        sizes = [len(p) for p in parts]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    dropped = sum(len(b) for b in global_batches if len(b) < world_size)
    windows = -(-len(lengths) // (batch_size * 50)) if lengths else 0
    assert dropped <= (world_size - 1) * windows  # at most the short last batch of a window


def test_one_process_and_inference_batches_are_not_sharded() -> None:
    lengths = np.arange(50) % 7
    assert current_context() == DistContext()  # no process group in the test process
    auto = bucket_batches(lengths, 8, shuffle=True, seed=1)
    explicit = bucket_batches(lengths, 8, shuffle=True, seed=1, rank=0, world_size=1)
    assert [b.tolist() for b in auto] == [b.tolist() for b in explicit]
    assert shard_batches(auto, 0, 1) is auto
    inference = bucket_batches(lengths, 8, rank=1, world_size=2)  # shuffle=False: never sharded
    assert sorted(np.concatenate(inference).tolist()) == list(range(50))


def test_a_global_batch_smaller_than_the_world_is_refused() -> None:
    with pytest.raises(RnnlabError, match="batch size 1 cannot be shared by 2 processes"):
        bucket_batches(np.arange(10), 1, shuffle=True, rank=0, world_size=2)


def test_shard_batches_rejects_a_rank_outside_the_world() -> None:
    with pytest.raises(ValueError, match="rank must be in"):
        shard_batches([np.arange(4)], 2, 2)


# --------------------------------------------------------------------- the context


def test_context_without_torchrun_is_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed()
    assert ctx == DistContext(rank=0, world_size=1, local_rank=0, backend=None)
    assert ctx.is_main and not ctx.distributed and ctx.device == torch.device("cpu")
    assert ctx.to_dict() == {"world_size": 1, "backend": None}
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc-per-node 1
    monkeypatch.setenv("RANK", "0")
    assert init_distributed() == DistContext()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WORLD_SIZE": "2", "RANK": "0"}, "MASTER_ADDR, MASTER_PORT is not"),
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE must be an integer, got 'two'"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "need 0 <= RANK < WORLD_SIZE"),
    ],
)
def test_a_broken_torchrun_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RnnlabError, match=message) as info:
        init_distributed()
    assert "\n" not in str(info.value) and "torchrun" in str(info.value)


def test_rank_properties() -> None:
    ctx = DistContext(rank=1, world_size=2, local_rank=1, backend="gloo")
    assert not ctx.is_main and ctx.distributed and ctx.device.type == "cpu"
    assert DistContext(0, 2, 0, "nccl").device == torch.device("cuda", 0)


# ----------------------------------------------------------------- torchrun, 2 processes


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def launch(out: Path, nproc: int, *extra: str) -> list[str]:
    script = [str(SCRIPT), str(out), *extra]
    if nproc == 1:
        return [sys.executable, *script]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*torchrun, "--nproc-per-node", str(nproc), *script]


def run(out: Path, nproc: int, *extra: str) -> dict:
    done = subprocess.run(
        launch(out, nproc, *extra), env=env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "history.json").read_text())


needs_gloo = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with gloo is not available",
)


@pytest.mark.slow
@needs_gloo
def test_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    # Global batch 15 of 240 items: 16 full batches per epoch, each split 8 + 7 between
    # the ranks, so the item-count weighting of the gradients is exercised. No dropout:
    # the ranks' dropout masks could not match one process's.
    common = ("--epochs", "3", "--batch-size", "15", "--dropout", "0", "--token-dropout", "0")
    one = run(tmp_path / "one", 1, *common)
    two = run(tmp_path / "two", 2, *common)
    assert (one["world_size"], two["world_size"]) == (1, 2)
    # Tolerance: both runs sum the same items in each step; only the float32 summation
    # order differs (a mean over 15 vs weighted means over 8 and 7, gradients summed by
    # all_reduce). Measured on this machine: validation losses equal to 2e-8 relative,
    # weights to 6e-7 (of magnitude 3) after 48 Adam steps. A real sharding error is far
    # larger: leaving out one 1-item batch per epoch (241 items) moved the third
    # validation loss from 0.258 to 0.185. 1e-5 leaves a 500x margin over rounding.
    for a, b in zip(one["epochs"], two["epochs"], strict=True):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
        assert b["val_accuracy"] == a["val_accuracy"]
    wa = load_file(str(tmp_path / "one" / "final.safetensors"))
    wb = load_file(str(tmp_path / "two" / "final.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], rtol=0, atol=1e-4) for k in wa)
    newest = ckpt.read_checkpoint(ckpt.list_checkpoints(tmp_path / "two" / "checkpoints")[0])
    assert newest.state["world_size"] == 2 and len(newest.state["ranks"]) == 2


@pytest.mark.slow
@needs_gloo
def test_sigterm_to_torchrun_saves_and_the_resumed_run_is_bit_identical(tmp_path: Path) -> None:
    common = ("--epochs", "4", "--items", "480", "--batch-size", "16")  # with dropout
    reference = tmp_path / "reference"
    run(reference, 2, *common)

    out = tmp_path / "run"
    proc = subprocess.Popen(
        launch(out, 2, *common), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    first_epoch = out / "checkpoints" / "ckpt-00001-00000000"
    deadline = time.monotonic() + 300
    while not first_epoch.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)  # torchrun forwards it to both workers
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode != 0
    text = stderr.decode()
    assert "error: training stopped by SIGTERM; saved a checkpoint at " in text, text[-3000:]
    assert "--resume" in text

    refused = subprocess.run(
        launch(out, 1, *common, "--resume"), env=env(), capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert "written by 2 process(es), this run has 1" in refused.stderr

    history = run(out, 2, *common, "--resume")
    assert history["resumed_from"] is not None
    a = load_file(str(out / "final.safetensors"))
    b = load_file(str(reference / "final.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
