"""Kill -9 and SIGTERM a training subprocess, resume it, and get the same weights bit for bit.

``train_script.py`` trains a tiny 2-layer LSTM classifier (3 epochs of 30
batches) with every random generator in play: NumPy's global generator orders
the batches, Python's ``random`` drops tokens, torch's drops activations. One
thread, the same seed: the uninterrupted run is the reference.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnlab.training import checkpoint as ckpt

SCRIPT = Path(__file__).with_name("train_script.py")
EPOCHS, BATCHES = 3, 30  # 240 toy sequences in batches of 8
TOTAL = EPOCHS * BATCHES


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(SCRIPT), str(out), "--epochs", str(EPOCHS), *extra]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command(out, *extra), env=env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done


def position(out: Path) -> int:
    """Batches trained as of the newest checkpoint (0 when there is none)."""
    found = ckpt.list_checkpoints(out / "checkpoints")
    if not found:
        return 0
    epochs_done, step = (int(x) for x in ckpt.NAME.match(found[0].name).groups())
    return epochs_done * BATCHES + step


def start_and_stop(out: Path, at: int, sig: int, delay: float, *extra: str) -> tuple[int, str]:
    """Start a run, wait until it checkpointed batch ``at``, wait ``delay``, send ``sig``.

    Returns the exit code (-9 for SIGKILL) and stderr.
    """
    proc = subprocess.Popen(
        command(out, *extra), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while position(out) < at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=300)
    return proc.returncode, stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run (no checkpoints within epochs, so saving cannot perturb it)."""
    out = tmp_path_factory.mktemp("reference")
    run(out)
    return out


def assert_same_run(out: Path, reference: Path) -> None:
    a, b = (
        load_file(str(out / "final.safetensors")),
        load_file(str(reference / "final.safetensors")),
    )
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "weights differ from the uninterrupted run"
    ha = json.loads((out / "history.json").read_text())
    hb = json.loads((reference / "history.json").read_text())
    strip = [
        [{k: v for k, v in e.items() if "seconds" not in k} for e in h["epochs"]] for h in (ha, hb)
    ]
    assert strip[0] == strip[1] and ha["best_epoch"] == hb["best_epoch"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_killed_twice_at_random_moments_then_resumed_is_bit_identical(
    reference: Path, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    first = rng.randrange(1, TOTAL // 2)
    second = rng.randrange(TOTAL // 2, TOTAL - 1)
    out = tmp_path / "run"
    every = ("--every-steps", "1")
    # a kill lands anywhere: inside a step, while a checkpoint is being written, ...
    code, _ = start_and_stop(out, first, signal.SIGKILL, rng.uniform(0, 0.05), *every)
    assert code == -9
    killed_at = position(out)
    assert 0 < killed_at < TOTAL
    code, _ = start_and_stop(out, second, signal.SIGKILL, rng.uniform(0, 0.05), *every, "--resume")
    assert code == -9
    assert position(out) >= killed_at
    done = run(out, *every, "--resume")
    assert "resuming from" in done.stderr
    assert_same_run(out, reference)
    leftovers = [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # a killed writer's temporary folder was cleared on resume


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_says_how_to_resume_and_resumes(
    reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    # no checkpoints within epochs: the one SIGTERM writes is the only mid-epoch one
    code, stderr = start_and_stop(out, BATCHES, signal.SIGTERM, 0.0)  # epochs take ~0.1 s
    stderr = stderr.strip()
    assert code == 1, stderr
    assert len(stderr.splitlines()) == 1, stderr  # one line, no traceback
    # "at epoch E step S" within an epoch, "at the end of epoch E" at its boundary
    assert stderr.startswith("error: training stopped by SIGTERM; saved a checkpoint at ")
    assert stderr.endswith("; run the same command with --resume to continue")
    assert str(out / "checkpoints") in stderr
    newest = ckpt.list_checkpoints(out / "checkpoints")[0].name
    epochs_done, step = (int(x) for x in ckpt.NAME.match(newest).groups())
    if step:  # landed within an epoch (the usual case); else at an epoch end
        assert f"at epoch {epochs_done + 1} step {step} " in stderr
    run(out, "--resume")
    assert_same_run(out, reference)
