"""``rnnlab tag train | evaluate | predict`` end to end on the generated toy treebank."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnlab.artifacts import base_config, json_writer, read_config, write_model_dir
from rnnlab.cli import app
from rnnlab.data.conllu import to_conllu_text
from rnnlab.data.synthetic import toy_treebank

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def cli(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_user_error(result, *needles: str) -> str:
    """Exit code 1, one 'error: ...' line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def write(path: Path, n: int, seed: int) -> Path:
    path.write_text(to_conllu_text(toy_treebank(n, seed).sentences), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """Trained once through the CLI: files + a --config file for the small sizes."""
    d = tmp_path_factory.mktemp("tagcli")
    files = {
        "train": write(d / "toy-ud-train.conllu", 160, 0),
        "dev": write(d / "toy-ud-dev.conllu", 40, 1),
        "test": write(d / "toy-ud-test.conllu", 60, 2),
    }
    config = d / "small.json"
    config.write_text(
        json.dumps(
            {
                "model": {"word_dim": 16, "char_dim": 12, "char_features": 24, "dropout": 0.1},
                "train": {"lr_decay": 0.9},
            }
        )
    )
    out = d / "model"
    result = cli(
        "tag", "train",
        "--train", files["train"], "--dev", files["dev"], "--test", files["test"],
        "--out", out, "--config", config,
        "--hidden", 24, "--epochs", 6, "--batch-size", 16, "--lr", 0.01, "--threads", 1,
        "--seed", 0,
    )  # fmt: skip
    assert_ok(result)
    assert "test: accuracy" in result.stdout and f"model: {out}" in result.stdout
    assert "epoch 1:" in result.stderr  # log lines go to stderr
    files["config"] = config
    return out, files


@pytest.mark.slow
def test_train_writes_a_tagger_directory_with_the_flags_and_config_file(model) -> None:
    out, _ = model
    config = read_config(out, kind="tagger")
    assert config["model"]["hidden_size"] == 24  # flag
    assert config["model"]["word_dim"] == 16  # config file
    assert config["train"]["lr_decay"] == 0.9  # config file over the tagger default
    assert config["train"]["patience"] == 2  # the tagger default
    assert config["data"]["test"]["sentences"] == 60


@pytest.mark.slow
def test_evaluate_prints_table_json_and_writes_files(model, tmp_path) -> None:
    out, files = model
    result = cli("tag", "evaluate", out, "--data", files["test"])
    assert_ok(result)
    assert "accuracy" in result.stdout and "unknown words" in result.stdout
    assert any(line.startswith("NOUN ") for line in result.stdout.splitlines())  # per-tag row
    result = cli("tag", "evaluate", out, "--data", files["test"], "--json", "--out", tmp_path / "e")
    assert_ok(result)
    m = json.loads(result.stdout)
    assert m["n_sentences"] == 60 and m["accuracy"] >= 0.9
    assert (tmp_path / "e" / "metrics.json").is_file()
    assert (tmp_path / "e" / "confusion_matrix.png").is_file()


@pytest.mark.slow
def test_predict_prints_token_tag_pairs(model) -> None:
    out, _ = model
    result = cli("tag", "predict", out, "They want to watch the dog.", "The run is big.")
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "watch/VERB" in lines[0].split() and "They/PRON" in lines[0].split()
    assert "run/NOUN" in lines[1].split()
    result = cli("tag", "predict", out, "--json", input="We want to run the car.\n\n")
    assert_ok(result)
    obj, blank = [json.loads(line) for line in result.stdout.splitlines()]
    assert blank == {"line": 2, "tokens": [], "tags": [], "reason": "empty text"}
    assert obj["tokens"] == ["We", "want", "to", "run", "the", "car", "."]
    assert obj["tags"][3] == "VERB"


@pytest.mark.slow
def test_data_archive_trains_on_its_three_splits(tmp_path) -> None:
    archive = tmp_path / "ud_toy.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split, n, seed in (("train", 30, 0), ("dev", 8, 1), ("test", 8, 2)):
            member = write(tmp_path / f"toy-ud-{split}.conllu", n, seed)
            tar.add(member, arcname=f"UD_Toy/toy-ud-{split}.conllu")
    result = cli(
        "tag", "train", "--data", archive, "--out", tmp_path / "m", "--epochs", 1,
        "--hidden", 4, "--no-char", "--threads", 1, "--quiet",
    )  # fmt: skip
    assert_ok(result)
    config = read_config(tmp_path / "m", kind="tagger")
    assert config["model"]["char"] is False
    assert config["data"]["test"]["source"].endswith("toy-ud-test.conllu")
    assert result.stderr == ""  # --quiet
    assert_user_error(
        cli("tag", "evaluate", tmp_path / "m", "--data", archive), "is an archive; pass --split"
    )
    assert_ok(cli("tag", "evaluate", tmp_path / "m", "--data", archive, "--split", "dev"))


@pytest.mark.slow
def test_user_errors_are_one_line(model, tmp_path) -> None:
    out, files = model
    assert_user_error(
        cli("tag", "train", "--train", tmp_path / "missing.conllu", "--dev", files["dev"],
            "--out", tmp_path / "x"),
        "treebank not found",
    )  # fmt: skip
    assert_user_error(
        cli("tag", "train", "--train", files["train"], "--out", tmp_path / "x"), "--dev"
    )
    assert_user_error(
        cli("tag", "train", "--data", files["train"], "--train", files["train"],
            "--out", tmp_path / "x"),
        "not both",
    )  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {"hiden_size": 3}}))
    assert_user_error(
        cli("tag", "train", "--train", files["train"], "--dev", files["dev"],
            "--out", tmp_path / "x", "--config", bad),
        "unknown TaggerConfig key(s): hiden_size",
    )  # fmt: skip
    assert_user_error(
        cli("tag", "train", "--train", files["train"], "--dev", files["dev"],
            "--out", tmp_path / "x", "--cell", "transformer"),
        "model.cell",
    )  # fmt: skip
    clf = tmp_path / "clf"
    write_model_dir(
        clf,
        base_config("classifier"),
        {"vocab.json": json_writer({}), "model.safetensors": json_writer({})},
    )
    assert_user_error(
        cli("tag", "predict", clf, "The book."), "holds a 'classifier' model, expected 'tagger'"
    )
    assert_user_error(cli("tag", "evaluate", out, "--data", tmp_path / "nope.conllu"), "not found")
    assert_user_error(cli("tag", "predict", out, "--file", tmp_path / "nope.txt"), "not found")
    assert_user_error(cli("tag", "predict", out, input=""), "input is empty")


def test_help_describes_every_command() -> None:
    result = cli("tag", "--help")
    assert_ok(result)
    for name in ("train", "evaluate", "predict"):
        assert name in result.stdout
    for name, needle in (("train", "--char"), ("evaluate", "--split"), ("predict", "token/TAG")):
        result = cli("tag", name, "--help")
        assert_ok(result)
        assert needle in result.stdout
