"""``rnnlab pretrain``: help, one-line refusals that write nothing, a tiny run, and
``--resume`` after a SIGKILL ending with the uninterrupted run's weights."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import typer
from safetensors.torch import load_file

import rnnlab
from rnnlab.cli import app
from rnnlab.config import EmbeddingConfig, TextConfig
from rnnlab.recipes import ENCODER_MODEL
from rnnlab.tasks.pretrain import Encoder, PretrainConfig
from rnnlab.training import checkpoint as ckpt

from .helpers import assert_ok, assert_user_error, cli, write_csv

WORDS = [f"w{i}" for i in range(20)]
TINY = ["--embedding", "random", "--hidden", "8", "--layers", "1", "--negatives", "16",
        "--threads", "1", "--quiet"]  # fmt: skip


def texts_csv(path: Path, n: int = 60, header=("text",)) -> Path:
    """A CSV of ``n`` runs of a 20-word cycle, with only a text column (no labels)."""
    rng = random.Random(0)
    rows = []
    for _ in range(n):
        start, length = rng.randrange(20), rng.randint(8, 20)
        rows.append((" ".join(WORDS[(start + k) % 20] for k in range(length)),))
    return write_csv(path, rows, header=header)


def test_help_says_what_it_does_and_how_the_result_is_used() -> None:
    result = cli("pretrain", "--help")
    assert_ok(result)
    text = " ".join(result.stdout.split())
    assert "without labels" in text
    assert "rnnlab train --data PATH --encoder DIR" in text
    for flag in ("--objective", "--mask", "--negatives", "--resume", "--embedding"):
        assert flag in text


def test_documented_defaults_are_the_librarys() -> None:
    """The help texts write the defaults out (the CLI does not import torch to show them)."""
    command = typer.main.get_command(app).commands["pretrain"]
    library = {
        "objective": PretrainConfig.objective,
        "epochs": PretrainConfig.epochs,
        "mask": PretrainConfig.mask,
        "negatives": PretrainConfig.negatives,
        "lr": PretrainConfig.lr,
        "seed": PretrainConfig.seed,
        "threads": PretrainConfig.threads,
        "hidden": ENCODER_MODEL.hidden_size,
        "layers": ENCODER_MODEL.num_layers,
        "separate_directions": "separate" if ENCODER_MODEL.separate_directions else "joint",
        "maxlen": TextConfig.maxlen,
        "max_vocab": TextConfig.max_vocab,
        "embedding": EmbeddingConfig.source,
    }
    documented = {}
    for param in command.params:
        m = re.search(r"\(default: ([^)]+)\)", param.help or "")
        if m and param.name in library:
            documented[param.name] = m.group(1)
    assert documented == {k: str(v) for k, v in library.items()}


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("header-only", "has no rows"),
        ("zero-bytes", "is empty"),
        ("no-text-column", "review"),
        ("epochs-0", "pretrain.epochs"),
        ("mask-1.5", "pretrain.mask"),
        ("objective", "pretrain.objective"),
        ("one-text", "at least 2 texts"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case, needle) -> None:
    data = texts_csv(tmp_path / "texts.csv", n=20)
    flags: list[str] = []
    if case == "header-only":
        data = write_csv(tmp_path / "empty.csv", [], header=("text",))
    elif case == "zero-bytes":
        data = tmp_path / "nothing.csv"
        data.write_bytes(b"")
    elif case == "no-text-column":
        data = texts_csv(tmp_path / "review.csv", n=20, header=("review",))
    elif case == "one-text":
        data = texts_csv(tmp_path / "one.csv", n=1)
    else:
        flags = {"epochs-0": ["--epochs", "0"], "mask-1.5": ["--mask", "1.5"],
                 "objective": ["--objective", "gpt"]}[case]  # fmt: skip
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "enc"
    result = cli("pretrain", "--data", data, "--out", out, *TINY, *flags)
    assert_user_error(result, needle, code=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no enc, no enc.checkpoints


@pytest.mark.slow
def test_a_text_only_csv_pretrains_an_encoder(tmp_path) -> None:
    data = texts_csv(tmp_path / "texts.csv")
    out = tmp_path / "enc"
    result = cli("pretrain", "--data", data, "--out", out, *TINY, "--epochs", "2",
                 "--objective", "lm", "--maxlen", "12")  # fmt: skip
    assert_ok(result)
    assert re.search(r"^validation: loss \d+\.\d{4}  acc \d\.\d{4}  texts 3$", result.stdout, re.M)
    assert f"encoder: {out}" in result.stdout
    enc = rnnlab.load(out, threads=1)
    assert isinstance(enc, Encoder)
    config = enc.config
    assert config["text"]["maxlen"] == 12 and config["pretrain"]["objective"] == "lm"
    assert config["pretrain"]["epochs"] == 2 and config["model"]["num_layers"] == 1
    assert enc.encode(["w1 w2 w3", "w7"]).shape == (2, 2 * 2 * 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc", "texts.csv"]


# ------------------------------------------------------------------------------ resume


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def command(root: Path, out: Path) -> list[str]:
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps({"pretrain": {"checkpoint_every_steps": 1, "batch_size": 8}}))
    return [sys.executable, "-m", "rnnlab", "pretrain", "--data", str(root / "texts.csv"),
            "--out", str(out), "--config", str(cfg), *TINY, "--epochs", "3"]  # fmt: skip


def position(out: Path) -> int:
    found = ckpt.list_checkpoints(out.with_name(f"{out.name}.checkpoints"))
    if not found:
        return 0
    epochs_done, step = (int(x) for x in ckpt.NAME.match(found[0].name).groups())
    return epochs_done * 1000 + step


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_uninterrupted_weights(tmp_path) -> None:
    """Masks and negatives come from the generator the loop checkpoints, and the rate
    from the optimizer's step count: a run killed mid-epoch and resumed must end with
    the same weights, bit for bit (one thread, same seed)."""
    texts_csv(tmp_path / "texts.csv")
    ref = tmp_path / "reference"
    done = subprocess.run(command(tmp_path, ref), env=env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()

    rng = random.Random()  # a random moment each run; printed on failure
    wanted, delay = rng.randint(2, 8), rng.uniform(0.0, 0.05)  # of 24 batches
    out = tmp_path / "killed"
    proc = subprocess.Popen(command(tmp_path, out), env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while len(seen) < wanted and proc.poll() is None and time.monotonic() < deadline:
        if at := position(out):
            seen.add(at)
        time.sleep(0.002)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, wanted, delay)
    assert not (out / "config.json").exists()
    resumed = subprocess.run(
        [*command(tmp_path, out), "--resume"], env=env(), capture_output=True, timeout=600
    )
    assert resumed.returncode == 0, (wanted, delay, resumed.stderr.decode())
    a, b = load_file(str(ref / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), (name, wanted, delay)
    h_ref = (ref / "history.jsonl").read_text().splitlines()
    h_out = (out / "history.jsonl").read_text().splitlines()
    strip = [
        {k: v for k, v in json.loads(line).items() if not k.endswith("seconds")}
        for line in h_ref + h_out
    ]
    assert strip[: len(h_ref)] == strip[len(h_ref) :]  # the same losses, epoch by epoch
