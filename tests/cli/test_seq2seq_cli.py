"""``rnnlab seq2seq dates | train | evaluate | translate`` end to end, and bad inputs."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.cli.seq2seq import DATA_HELP
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
        == plain
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


def documented_defaults(*names: str) -> dict:
    """{click option: the value its help gives as "(default: X)"} of one command."""
    import typer.main

    command = typer.main.get_command(app)
    for name in names:
        command = command.commands[name]
    found = {}
    for param in command.params:
        m = re.search(r"\(default: ([^,)]+)", param.help or "")
        if m:
            found[param] = m.group(1)
    return found


def test_help_defaults_are_the_librarys(monkeypatch, tmp_path):
    """Each flag given its documented default trains exactly what leaving it out trains."""
    import inspect

    import rnnlab.tasks.seq2seq as s2s

    calls, signature = [], inspect.signature(s2s.train_seq2seq)

    def fake(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        calls.append({k: bound.arguments[k] for k in ("text", "model", "training", "beam_size")})
        return s2s.TrainResult(tmp_path, {}, [], 0.0, 0)

    monkeypatch.setattr(s2s, "train_seq2seq", fake)
    base = ["seq2seq", "train", "--data", "dates:10", "--out", tmp_path / "m"]
    ok(cli(*base))
    documented = documented_defaults("seq2seq", "train")
    assert len(documented) == 17  # every text, model and train flag, and --beam
    for option, value in documented.items():
        flag = [value] if value.startswith("--") else [option.opts[0], value]
        ok(cli(*base, *flag))
        assert calls[-1] == calls[0], (flag, calls[-1])
    first = calls[0]
    assert first["text"] == s2s.Seq2SeqTextConfig() and first["model"] == s2s.Seq2SeqConfig()
    assert first["training"] == s2s.DEFAULT_TRAIN
    assert f"default {s2s.DEFAULT_DATES})" in DATA_HELP  # "dates" without ":N"
    for command, decode in (("evaluate", s2s.evaluate), ("translate", s2s.Translator.predict)):
        (value,) = documented_defaults("seq2seq", command).values()  # --beam
        assert int(value) == inspect.signature(decode).parameters["beam_size"].default
