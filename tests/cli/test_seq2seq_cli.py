"""``rnnlab seq2seq dates | train | evaluate | translate`` end to end, and bad inputs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.data.parallel import read_parallel_tsv

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def cli(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def user_error(result, needle: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and needle in err, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s2s-cli")
    ok(cli("seq2seq", "dates", "--n", "120", "--seed", "3", "--out", tmp / "train.tsv"))
    ok(
        cli(
            "seq2seq",
            "dates",
            "--n",
            "20",
            "--seed",
            "4",
            "--exclude",
            tmp / "train.tsv",
            "--out",
            tmp / "test.tsv",
        )
    )
    config = tmp / "cfg.json"
    config.write_text(json.dumps({"model": {"embedding_dim": 8}, "train": {"lr": 0.01}}))
    result = ok(
        cli(
            "seq2seq",
            "train",
            "--data",
            tmp / "train.tsv",
            "--test-data",
            tmp / "test.tsv",
            "--out",
            tmp / "model",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--attention",
            "luong",
            "--cell",
            "lstm",
            "--max-output-len",
            "12",
            "--threads",
            "1",
            "--config",
            config,
            "--quiet",
        )
    )
    return tmp, result


@pytest.mark.slow
def test_dates_command_writes_disjoint_tsv(trained):
    tmp, _ = trained
    train, test = read_parallel_tsv(tmp / "train.tsv"), read_parallel_tsv(tmp / "test.tsv")
    assert len(train) == 120 and len(test) == 20
    assert not {s for s, _ in train} & {s for s, _ in test}


@pytest.mark.slow
def test_train_prints_metrics_and_saves_config(trained):
    tmp, result = trained
    assert "test: n 20  exact" in result.stdout and "model:" in result.stdout
    config = read_config(tmp / "model", kind="seq2seq")
    assert config["model"]["attention"] == "luong" and config["model"]["cell"] == "lstm"
    assert config["model"]["embedding_dim"] == 8  # from --config
    assert config["train"]["lr"] == 0.01 and config["train"]["epochs"] == 1


@pytest.mark.slow
def test_evaluate_json_and_text(trained):
    tmp, _ = trained
    metrics = json.loads(
        ok(cli("seq2seq", "evaluate", tmp / "model", "--data", tmp / "test.tsv", "--json")).stdout
    )
    assert metrics["n"] == 20 and 0 <= metrics["cer"] and metrics["beam_size"] == 1
    text = ok(cli("seq2seq", "evaluate", tmp / "model", "--data", tmp / "test.tsv", "--beam", "2"))
    assert "n 20  exact" in text.stdout and "beam 2" in text.stdout


@pytest.mark.slow
def test_translate_arguments_json_file_and_stdin(trained):
    tmp, _ = trained
    src = ["veintiocho de noviembre de dos mil veintiséis", "primero de mayo de 1999"]
    plain = ok(cli("seq2seq", "translate", tmp / "model", *src)).stdout.splitlines()
    assert len(plain) == 2
    rows = [
        json.loads(x)
        for x in ok(cli("seq2seq", "translate", tmp / "model", *src, "--json")).stdout.splitlines()
    ]
    assert [r["source"] for r in rows] == src
    assert [r["translation"] for r in rows] == plain and all(r["score"] <= 0 for r in rows)
    (tmp / "in.txt").write_text("\n".join(src) + "\n\n", encoding="utf-8")
    assert (
        ok(cli("seq2seq", "translate", tmp / "model", "--file", tmp / "in.txt")).stdout.splitlines()
        == plain + [""]  # the file's blank last line gets its own (empty) answer
    )
    piped = ok(cli("seq2seq", "translate", tmp / "model", input="\n".join(src)))
    assert piped.stdout.splitlines() == plain


@pytest.mark.slow
def test_user_errors(trained, tmp_path):
    tmp, _ = trained
    user_error(cli("seq2seq", "translate", tmp / "model", input=""), "input is empty")
    user_error(cli("seq2seq", "translate", tmp_path / "nope", "x"), "model directory not found")
    user_error(
        cli("seq2seq", "translate", tmp / "model", "x", "--file", tmp / "in.txt"), "not both"
    )
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab\n", encoding="utf-8")
    user_error(cli("seq2seq", "train", "--data", bad, "--out", tmp_path / "m"), "line 2: no tab")
    user_error(cli("seq2seq", "train", "--data", "dates:x", "--out", tmp_path / "m"), "dates:N")
    user_error(
        cli(
            "seq2seq", "train", "--data", "dates:10", "--out", tmp_path / "m", "--attention", "dot"
        ),
        "model.attention",
    )
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"hiden": 3}}))
    user_error(
        cli("seq2seq", "train", "--data", "dates:10", "--out", tmp_path / "m", "--config", cfg),
        "unknown Seq2SeqConfig key",
    )
    user_error(
        cli("seq2seq", "evaluate", tmp / "model", "--data", "dates:5", "--beam", "0"), "beam_size"
    )


def test_help_lists_commands_and_data_forms():
    out = ok(cli("seq2seq", "--help")).stdout
    for command in ("train", "evaluate", "translate", "dates"):
        assert command in out
    assert "lemmas:PATH" in ok(cli("seq2seq", "train", "--help")).stdout
