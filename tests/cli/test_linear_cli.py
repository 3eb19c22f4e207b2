"""``rnnlab train --model bow-logreg|tfidf-logreg|nbsvm`` then evaluate, predict and serve."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from rnnlab import load
from rnnlab.artifacts import read_config
from rnnlab.serve import create_app

from .helpers import assert_ok, assert_user_error, cli, json_lines, write_csv

pytestmark = pytest.mark.slow  # trains models (seconds each)

TEXTS = ["w1 great w2 wonderful", "w3 awful w4", "superb w5 w6 w7", "w8 terrible and dull"]


@pytest.fixture(scope="module")
def trained(cli_model) -> SimpleNamespace:
    config = {"linear": {"C": 0.5, "min_df": 2}, "train": {"seed": 3}}
    flags = ["--model", "nbsvm", "--ngrams", "1", "--quiet"]
    return cli_model("linear-cli", *flags, n_train=300, config=config, held_out=True)


def test_train_writes_a_linear_model_directory(trained) -> None:
    assert_ok(trained.result)
    lines = trained.result.stdout.splitlines()
    assert lines[0].startswith("validation: accuracy ") and lines[1].startswith("test: accuracy ")
    assert float(lines[1].split()[2]) >= 0.9
    assert lines[-1] == f"model: {trained.out}"
    config = read_config(trained.out, kind="linear-classifier")
    assert config["model_type"] == "nbsvm"
    assert config["linear"]["C"] == 0.5 and config["linear"]["min_df"] == 2  # config file
    assert config["linear"]["ngram_range"] == [1, 1]  # the flag
    assert config["train"] == {"val_fraction": 0.1, "seed": 3}
    assert config["data"]["n_train"] == 270 and config["data"]["n_validation"] == 30
    metrics = json.loads((trained.out / "metrics.json").read_text())
    assert metrics["test"]["n"] == 200 and "fit_seconds" in metrics["timing"]
    assert (trained.out / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_and_predict_work_as_for_recurrent_models(trained) -> None:
    result = cli("evaluate", trained.out, "--data", trained.test_csv, "--json")
    assert_ok(result)
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 200 and metrics["backend"] == "numpy"
    saved = json.loads((trained.out / "metrics.json").read_text())["test"]
    assert metrics["accuracy"] == saved["accuracy"]
    rows = json_lines(cli("predict", trained.out, *TEXTS, "--json"))
    assert [r["label"] for r in rows] == ["pos", "neg", "pos", "neg"]
    want = load(trained.out).predict(TEXTS)
    assert [r["score"] for r in rows] == pytest.approx([w["score"] for w in want], abs=1e-6)


def test_serve_answers_with_a_linear_model(trained) -> None:
    client = TestClient(create_app(load(trained.out)))
    got = client.post("/predict", json={"texts": TEXTS[:2]}).json()["predictions"]
    assert [p["label"] for p in got] == ["pos", "neg"]
    info = client.get("/model").json()
    assert info["backend"] == "numpy" and info["model"] == "nbsvm"


@pytest.mark.parametrize("kind", ["bow-logreg", "tfidf-logreg"])
def test_other_kinds_train_from_the_cli(kind, trained, tmp_path: Path) -> None:
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / kind, "--model", kind,
                 "--max-features", "60", "--C", "2", "--val-fraction", "0.2", "-q")  # fmt: skip
    assert_ok(result)
    config = read_config(tmp_path / kind)
    assert config["model_type"] == kind and config["n_features"] == 60
    assert config["linear"]["C"] == 2.0 and config["data"]["n_validation"] == 60


def test_help_lists_the_model_choice_and_linear_options() -> None:
    result = cli("train", "--help")
    assert_ok(result)
    for option in ("--model", "nbsvm", "--ngrams", "--max-features", "--C"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--model", "svm"], ["--model must be", "nbsvm"]),
        (["--model", "nbsvm", "--hidden", "8", "--epochs", "2"], ["--epochs, --hidden apply"]),
        (["--model", "nbsvm", "--ngrams", "one-two"], ["--ngrams must look like"]),
        (["--model", "nbsvm", "--ngrams", "3-1"], ["linear.ngram_range"]),
        (["--C", "1"], ["--C apply to linear models only"]),
        (["--model", "tfidf-logreg", "--C", "-1"], ["linear.C must be > 0"]),
    ],
)
def test_bad_options_are_one_line_errors(extra, needles, trained, tmp_path: Path) -> None:
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "-q", *extra)
    assert_user_error(result, *needles)
    assert not (tmp_path / "m").exists()


def test_config_sections_must_fit_the_model(trained, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"linear": {"C": 1.0}}))
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "--config", cfg)
    assert_user_error(result, "section 'linear' applies to linear models")
    cfg.write_text(json.dumps({"model": {"hidden_size": 8}}))
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "--config", cfg,
                 "--model", "nbsvm")  # fmt: skip
    assert_user_error(result, "model apply to --model recurrent only")
    cfg.write_text(json.dumps({"linear": {"ngrams": [1, 2]}}))
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "--config", cfg,
                 "--model", "nbsvm")  # fmt: skip
    assert_user_error(result, "unknown LinearConfig key(s): ngrams")


ZH_POS = ["非常好看", "我很喜欢", "精彩极了", "感人至深"]
ZH_NEG = ["太无聊了", "非常难看", "浪费时间", "令人失望"]
ZH_FILLER = ["这部电影", "演员", "故事", "导演", "音乐", "昨天", "我们", "看了"]


def zh_csv(path: Path, n: int, seed: int) -> Path:
    """``n`` Chinese reviews without spaces (see tests/tasks/test_languages.py)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("neg", "pos")[i % 2]
        parts = [rng.choice(ZH_FILLER) for _ in range(rng.randint(3, 7))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(ZH_POS if label == "pos" else ZH_NEG))
        rows.append(("".join(parts) + "。", label))
    return write_csv(path, rows)


@pytest.mark.parametrize(("kind", "tokenizer"), [("nbsvm", "chars"), ("tfidf-logreg", "subword")])
def test_tokenizer_flag_trains_linear_models(kind, tokenizer, tmp_path: Path) -> None:
    # Calibration: see tests/models/test_linear.py (600 reviews, held-out accuracy of these
    # two over seeds 0-4: chars/nbsvm 1.000, subword/tfidf-logreg 0.975-0.990); asks >= 0.9.
    train_csv = zh_csv(tmp_path / "train.csv", 600, 0)
    test_csv = zh_csv(tmp_path / "test.csv", 200, 1)
    out = tmp_path / "m"
    result = cli("train", "-d", train_csv, "-o", out, "--model", kind, "--tokenizer", tokenizer,
                 "--test-data", test_csv, "-q")  # fmt: skip
    assert_ok(result)
    assert float(result.stdout.splitlines()[1].split()[2]) >= 0.9  # "test: accuracy A ..."
    config = read_config(out, kind="linear-classifier")
    assert config["linear"]["tokenizer"] == tokenizer and config["tokenizer"] == tokenizer
    assert (out / "tokenizer.json").exists() == (tokenizer == "subword")
    assert ("tokenizer.json" in config["files"]) == (tokenizer == "subword")
    rows = json_lines(cli("predict", out, "我很喜欢这部电影。", "浪费时间看了。", "--json"))
    assert [r["label"] for r in rows] == ["pos", "neg"]
    if tokenizer == "subword":  # the learned pieces are checksummed like the weights
        path = out / "tokenizer.json"
        path.write_text(path.read_text().replace('"min_frequency": 2', '"min_frequency": 3'))
        assert_user_error(cli("predict", out, "我很喜欢"), "corrupted")


def test_tokenizer_flag_keeps_refusing_recurrent_only_flags(trained, tmp_path: Path) -> None:
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "--model", "nbsvm",
                 "--tokenizer", "chars", "--maxlen", "50")  # fmt: skip
    assert_user_error(result, "--maxlen apply to --model recurrent only", "--tokenizer)")
    result = cli("train", "-d", trained.train_csv, "-o", tmp_path / "m", "--model", "nbsvm",
                 "--tokenizer", "bpe")  # fmt: skip
    assert_user_error(result, "linear.tokenizer")
    assert not (tmp_path / "m").exists()
