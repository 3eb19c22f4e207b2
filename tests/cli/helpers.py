"""What every CLI test shares: invoking the app, checking results, writing inputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from rnnlab.cli import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def cli(*args: object, input: str | bytes | None = None):
    """Run ``rnnlab ARGS`` in-process; returns typer's Result."""
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_user_error(result, *needles: str, code: int | None = None) -> str:
    """A non-zero exit, one 'error: ...' line on stderr naming the problem, no traceback."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a crash
    err = result.stderr.strip()
    assert err.startswith("error: "), err
    assert "\n" not in err, err
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def json_lines(result) -> list[dict]:
    assert_ok(result)
    return [json.loads(line) for line in result.stdout.splitlines()]


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def corpus(reviews, n: int, seed: int, classes=("neg", "pos")) -> list[tuple[str, str]]:
    return list(zip(*reviews(n, seed, classes), strict=True))
