"""``rnnlab generate [train | evaluate]`` end to end on a tiny CSV corpus, and its errors."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.tasks.classify import bundled_model_path

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
NEG = ["awful", "boring", "hated", "dull"]
POS = ["great", "wonderful", "loved", "superb"]


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def assert_ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_user_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    rows = ["text,label"]
    for i in range(300):
        label = ("negative", "positive")[i % 2]
        words = POS if i % 2 else NEG
        rows.append(" ".join(rng.choice([*words, "the", "film"]) for _ in range(6)) + f",{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "gen"
    result = cli(
        "generate", "train", "--data", data, "--out", out, "--max-vocab", 50, "--maxlen", 12,
        "--embed-dim", 16, "--hidden", 32, "--epochs", 4, "--batch-size", 16, "--lr", 0.01,
        "--quiet",
    )  # fmt: skip
    assert_ok(result)
    assert "validation perplexity" in result.stdout
    return out


def test_train_writes_a_generator_directory(model):
    config = read_config(model, kind="generator")
    assert config["label_names"] == ["negative", "positive"]
    assert config["generator"]["hidden_size"] == 32
    assert config["text"]["maxlen"] == 12


def test_sample_text_and_json(model):
    result = cli("generate", "--model", model, "--sentiment", "positive", "--n", 3, "--seed", 1)
    assert_ok(result)
    texts = [t for t in result.stdout.split("\n\n") if t.strip()]
    assert len(texts) == 3
    again = cli("generate", "--model", model, "--sentiment", "pos", "--n", 3, "--seed", 1)
    assert again.stdout == result.stdout  # "pos" is an alias of the label "positive"
    result = cli("generate", "--model", model, "-s", "negative", "-n", 20, "--json")
    assert_ok(result)
    rows = json.loads(result.stdout)
    assert len(rows) == 20 and {r["sentiment"] for r in rows} == {"negative"}
    words = " ".join(r["text"].lower() for r in rows).split()
    assert sum(w in NEG for w in words) > 3 * max(sum(w in POS for w in words), 1)


def test_evaluate_perplexity_and_check(model, data, tmp_path):
    out = tmp_path / "eval.json"
    result = cli("generate", "evaluate", model, "--data", data, "--n", 8, "--json", out)
    assert_ok(result)
    assert "perplexity" in result.stdout
    assert "positive:" in result.stdout and "negative:" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["perplexity"]["perplexity"] > 1
    assert set(saved["conditioning"]["shares"]) == {"positive", "negative"}
    result = cli("generate", "evaluate", model, "--data", data, "--no-check")
    assert_ok(result)
    assert "classified" not in result.stdout


def test_help_lists_the_subcommands():
    result = cli("generate", "--help")
    assert_ok(result)
    for word in ("--model", "--sentiment", "--rating", "--top-k", "train", "evaluate"):
        assert word in result.stdout
    assert_ok(cli("generate", "train", "--help"))


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("generate", "--sentiment", "positive"), ("--model is required",)),
        (("generate", "--model", "{model}"), ("--sentiment is required",)),
        (("generate", "--model", "{model}", "-s", "meh"), ("unknown sentiment 'meh'",)),
        (("generate", "--model", "{model}", "-s", "pos", "--rating", "12"), ("1 to 10",)),
        (("generate", "--model", "{model}", "-s", "pos", "--rating", "3"), ("without ratings",)),
        (("generate", "--model", "{bundled}", "-s", "pos"), ("'classifier' model",)),
        (("generate", "--model", "{missing}", "-s", "pos"), ("not found",)),
        (("generate", "evaluate", "{model}", "--no-check"), ("nothing to do",)),
        (("generate", "train", "--data", "{data}", "--out", "{out}", "--use-rating"), ("ratings",)),
    ],
)
def test_user_errors(model, data, tmp_path, args, needles):
    values = {
        "model": model,
        "bundled": bundled_model_path(),
        "missing": tmp_path / "nope",
        "data": data,
        "out": tmp_path / "m",
    }
    assert_user_error(cli(*(a.format(**values) for a in args)), *needles)
