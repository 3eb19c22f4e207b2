"""``rnnlab experiment ...``: tables, --json, --plot, --help and bad input, via CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["--n-train", "64", "--epochs", "1", "--quiet"]

COMMANDS = {
    "gradients": ["--length", "8", "--cells", "rnn,gru", "--probe", "8", *TINY],
    "exploding": ["--factors", "1,8", "--length", "8", *TINY],
    "memory": ["--lengths", "5,12", "--n-test", "50", *TINY],
}


def invoke(*args: object):
    return runner.invoke(app, ["experiment", *map(str, args)])


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_prints_a_table_and_writes_json_and_png(name: str, tmp_path: Path) -> None:
    out_json, out_png = tmp_path / f"{name}.json", tmp_path / f"{name}.png"
    result = invoke(name, *COMMANDS[name], "--seed", "3", "--json", out_json, "--plot", out_png)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "|---" in result.stdout
    assert f"wrote {out_json}" in result.stdout and f"wrote {out_png}" in result.stdout
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["experiment"] == name
    assert data["settings"]["seed"] == 3 and data["rows"]
    assert out_png.read_bytes()[:8] == PNG_MAGIC
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temp files


def test_same_seed_same_json(tmp_path: Path) -> None:
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        assert invoke("exploding", *COMMANDS["exploding"], "--json", path).exit_code == 0
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in paths)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_progress_goes_to_stderr_unless_quiet() -> None:
    args = [a for a in COMMANDS["memory"] if a != "--quiet"]
    result = invoke("memory", *args)
    assert result.exit_code == 0
    assert "memory rnn T=5" in result.stderr and "memory rnn T=5" not in result.stdout


@pytest.mark.parametrize("args", [[], ["gradients"], ["exploding"], ["memory"]])
def test_help(args: list[str]) -> None:
    result = invoke(*args, "--help")
    assert result.exit_code == 0
    assert "--seed" in result.stdout or "gradients" in result.stdout
    if args:
        assert "--json" in result.stdout and "--plot" in result.stdout


def test_experiment_is_a_subcommand_of_rnnlab() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "experiment" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["memory", "--cells", "rnn,elman"], "cells"),
        (["memory", "--gate-init", "orthogonal"], "gate_init"),
        (["gradients", "--length", "2"], "length"),
        (["exploding", "--optimizer", "rmsprop"], "optimizer"),
    ],
)
def test_library_errors_are_one_line_and_exit_1(args: list[str], needle: str) -> None:
    result = invoke(*args, "--quiet")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    err = result.stderr.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err


def test_unparsable_list_is_a_usage_error() -> None:
    result = invoke("memory", "--lengths", "10,ten", "--quiet")
    assert result.exit_code == 2
    assert "--lengths" in result.stderr


def test_unwritable_json_path_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "out.json"
    result = invoke("exploding", *COMMANDS["exploding"], "--json", missing)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
