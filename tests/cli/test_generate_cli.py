"""``rnnlab generate [train | evaluate]`` end to end on a tiny CSV corpus, and its errors."""

from __future__ import annotations

import json
import random
import re

import pytest
from typer.testing import CliRunner

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.tasks.base import bundled_model_path

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
    config = out.parent / "gen.json"  # a flag (--hidden 32) overrides the file's hidden_size
    config.write_text(
        json.dumps(
            {"generator": {"condition_dim": 8, "hidden_size": 999}, "train": {"patience": 1}}
        )
    )
    result = cli(
        "generate", "train", "--data", data, "--out", out, "--max-vocab", 50, "--maxlen", 12,
        "--embed-dim", 16, "--hidden", 32, "--epochs", 4, "--batch-size", 16, "--lr", 0.01,
        "--config", config, "--quiet",
    )  # fmt: skip
    assert_ok(result)
    assert "validation perplexity" in result.stdout
    return out


@pytest.mark.slow
def test_train_writes_a_generator_directory(model):
    from rnnlab.tasks.generate import DEFAULT_TEXT, DEFAULT_TRAIN

    config = read_config(model, kind="generator")
    assert config["label_names"] == ["negative", "positive"]
    assert config["generator"]["hidden_size"] == 32  # the flag
    assert config["generator"]["condition_dim"] == 8  # the config file
    assert config["train"]["patience"] == 1
    assert config["text"]["maxlen"] == 12
    # what no flag or file set comes from the library's defaults
    assert config["text"]["min_freq"] == DEFAULT_TEXT.min_freq
    assert config["text"]["truncating"] == DEFAULT_TEXT.truncating == "post"
    assert config["train"]["clip_norm"] == DEFAULT_TRAIN.clip_norm
    assert config["train"]["val_fraction"] == DEFAULT_TRAIN.val_fraction
    assert config["train"]["threads"] == DEFAULT_TRAIN.threads


def _help_defaults() -> dict[tuple[str, str], str]:
    """``(command, option) -> the "(default: X)" its help text states``."""
    import typer.main

    group = typer.main.get_command(app).commands["generate"]
    commands = {
        "sample": group,
        "train": group.commands["train"],
        "evaluate": group.commands["evaluate"],
    }
    out = {}
    for command_name, command in commands.items():
        for param in command.params:
            found = re.search(r"\(default: ([^)]*)\)", getattr(param, "help", None) or "")
            if found:
                out[(command_name, param.name)] = found.group(1)
    return out


def test_help_states_the_library_defaults():
    """The CLI passes only the options given; the defaults its help names are the library's."""
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import (
        CHECK_SAMPLES,
        DEFAULT_GUIDANCE,
        DEFAULT_SAMPLE,
        DEFAULT_TEXT,
        DEFAULT_TRAIN,
    )

    def flag(value: bool, on: str, off: str) -> str:
        return on if value else off

    gen, s = GeneratorConfig(), DEFAULT_SAMPLE
    sampling = {
        "temperature": s.temperature,
        "top_k": s.top_k,
        "max_len": s.max_len,
        "seed": 0,
    }
    expected = {
        **{("sample", k): v for k, v in sampling.items()},
        ("sample", "n"): 1,
        ("sample", "max_run"): s.max_run,
        ("sample", "guidance"): f"{DEFAULT_GUIDANCE} for two-label models",
        **{("evaluate", k): v for k, v in sampling.items()},
        ("evaluate", "n"): CHECK_SAMPLES,
        ("evaluate", "guidance"): DEFAULT_GUIDANCE,
        ("train", "max_vocab"): DEFAULT_TEXT.max_vocab,
        ("train", "maxlen"): DEFAULT_TEXT.maxlen,
        ("train", "embed_dim"): gen.embed_dim,
        ("train", "hidden"): gen.hidden_size,
        ("train", "layers"): gen.num_layers,
        ("train", "tie"): flag(gen.tie_weights, "--tie", "--no-tie"),
        ("train", "use_rating"): flag(gen.use_rating, "--use-rating", "--no-rating"),
        ("train", "every_step"): flag(
            gen.condition_every_step, "--every-step", "--initial-state-only"
        ),
        ("train", "epochs"): DEFAULT_TRAIN.epochs,
        ("train", "batch_size"): DEFAULT_TRAIN.batch_size,
        ("train", "lr"): DEFAULT_TRAIN.lr,
        ("train", "val_fraction"): DEFAULT_TRAIN.val_fraction,
        ("train", "seed"): DEFAULT_TRAIN.seed,
        ("train", "threads"): DEFAULT_TRAIN.threads,
    }
    assert _help_defaults() == {k: str(v) for k, v in expected.items()}


def test_a_config_file_with_an_unknown_section_is_refused(data, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {"hidden_size": 8}}))
    result = cli("generate", "train", "--data", data, "--out", tmp_path / "m", "--config", bad)
    assert_user_error(result, "unknown section(s) model", "generator")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
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


@pytest.mark.slow
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
@pytest.mark.slow
def test_user_errors(model, data, tmp_path, args, needles):
    values = {
        "model": model,
        "bundled": bundled_model_path(),
        "missing": tmp_path / "nope",
        "data": data,
        "out": tmp_path / "m",
    }
    assert_user_error(cli(*(a.format(**values) for a in args)), *needles)
