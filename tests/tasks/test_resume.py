"""``rnnlab train --resume`` and ``rnnlab tag train --resume`` after a SIGKILL at a random moment.

The real commands run in a subprocess on tiny data with a checkpoint after every
batch. One run is killed with SIGKILL once it has checkpointed a random number of
batches (plus a random delay, so the kill may land mid-batch or mid-write), then
the same command with ``--resume`` finishes it. Its final weights must equal the
uninterrupted run's bit for bit (same seed, one thread). Then the template's
other promises: a resumed run records ``world_size``; nothing is left beside
``--out``.
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

pytestmark = pytest.mark.slow

RNNLAB = [sys.executable, "-m", "rnnlab"]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def write_reviews(path: Path, n: int = 240, seed: int = 0) -> Path:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import make_reviews

    texts, labels = make_reviews(n, seed)
    lines = ["text,label"] + [f"{t},{y}" for t, y in zip(texts, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_treebank(path: Path, n: int = 300, seed: int = 0) -> Path:
    from rnnlab.data.synthetic import toy_treebank

    lines = []
    for s in toy_treebank(n, seed).sentences:
        for i, (form, tag) in enumerate(zip(s.forms, s.upos, strict=True), 1):
            lines.append(f"{i}\t{form}\t_\t{tag}\t_\t_\t_\t_\t_\t_")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def classifier_command(root: Path, out: Path) -> list[str]:
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps({"train": {"checkpoint_every_steps": 1}}))
    return [*RNNLAB, "train", "--data", str(root / "train.csv"), "--out", str(out),
            "--config", str(cfg), "--embedding", "random", "--embedding-dim", "8",
            "--hidden", "8", "--layers", "1", "--epochs", "3", "--patience", "3",
            "--batch-size", "16", "--dropout", "0.2", "--threads", "1", "--quiet"]  # fmt: skip


def tagger_command(root: Path, out: Path) -> list[str]:
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps({"train": {"checkpoint_every_steps": 1, "threads": 1}}))
    tb = str(root / "toy.conllu")
    return [*RNNLAB, "tag", "train", "--train", tb, "--dev", tb, "--out", str(out),
            "--config", str(cfg), "--epochs", "3", "--hidden", "16", "--patience", "3",
            "--batch-size", "16",
            "--threads", "1", "--quiet"]  # fmt: skip


def batches_done(out: Path) -> int:
    found = ckpt.list_checkpoints(out.with_name(f"{out.name}.checkpoints"))
    if not found:
        return 0
    epochs_done, step = (int(x) for x in ckpt.NAME.match(found[0].name).groups())
    return epochs_done * 1000 + step


def kill_after(cmd: list[str], out: Path, checkpoints: int, delay: float) -> int:
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while len(seen) < checkpoints and proc.poll() is None and time.monotonic() < deadline:
        position = batches_done(out)
        if position:
            seen.add(position)
        time.sleep(0.002)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    return proc.returncode


def weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model.safetensors"))


@pytest.mark.parametrize(
    ("prepare", "command"),
    [(write_reviews, classifier_command), (write_treebank, tagger_command)],
    ids=["classifier", "tagger"],
)
def test_killed_run_resumes_to_identical_weights(tmp_path: Path, prepare, command) -> None:
    prepare(tmp_path / ("train.csv" if prepare is write_reviews else "toy.conllu"))
    ref = tmp_path / "reference"
    done = subprocess.run(command(tmp_path, ref), env=env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()

    rng = random.Random()  # a random moment each run; printed on failure
    checkpoints, delay = rng.randint(2, 12), rng.uniform(0.0, 0.05)
    out = tmp_path / "killed"
    code = kill_after(command(tmp_path, out), out, checkpoints, delay)
    assert code == -signal.SIGKILL, code  # killed before the end (3 epochs: 40+ checkpoints)
    assert not (out / "config.json").exists()
    resumed = subprocess.run(
        [*command(tmp_path, out), "--resume"], env=env(), capture_output=True, timeout=600
    )
    assert resumed.returncode == 0, (checkpoints, delay, resumed.stderr.decode())
    a, b = weights(ref), weights(out)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), (name, checkpoints, delay, code)
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("killed")) == ["killed"]


def test_resume_with_nothing_to_resume_starts_fresh(tmp_path: Path) -> None:
    write_reviews(tmp_path / "train.csv", n=80)
    out = tmp_path / "m"
    done = subprocess.run(
        [*classifier_command(tmp_path, out), "--resume"], env=env(), capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    assert (out / "config.json").exists()


def test_torchrun_two_processes_match_one(tmp_path: Path) -> None:
    """``torchrun --nproc-per-node 2 -m rnnlab train`` with the same global batch gives the
    1-process run's validation losses (float reassociation only: the two gradient halves
    are averaged by all-reduce instead of summed in one backward; measured agreement
    ~1e-8 relative, tolerance 1e-5), records world_size 2, and rank 0 alone writes."""
    write_reviews(tmp_path / "train.csv", n=160)
    one, two = tmp_path / "one", tmp_path / "two"
    base = classifier_command(tmp_path, one)[3:]  # drop "python -m rnnlab"
    flags = [*base, "--dropout", "0", "--device", "cpu"]  # gloo, even beside one GPU
    done = subprocess.run([*RNNLAB, *flags], env=env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    flags[flags.index(str(one))] = str(two)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--standalone", "-m", "rnnlab", *flags]  # fmt: skip
    done = subprocess.run(torchrun, env=env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    h1 = [json.loads(x) for x in (one / "history.jsonl").read_text().splitlines()]
    h2 = [json.loads(x) for x in (two / "history.jsonl").read_text().splitlines()]
    assert len(h1) == len(h2) >= 2
    for a, b in zip(h1, h2, strict=True):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
    assert json.loads((two / "config.json").read_text())["world_size"] == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("two")) == ["two"]
