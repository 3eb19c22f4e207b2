"""``rnnlab train --model bow-logreg|tfidf-logreg|nbsvm`` then evaluate, predict and serve."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.tasks.classify import load
from rnnlab.serve import create_app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def cli(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_user_error(result, *needles: str) -> None:
    """Exit code 1, one 'error: ...' line on stderr naming the problem, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def write_csv(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("text", "label"))
        w.writerows(rows)
    return path


def corpus(reviews, n: int, seed: int) -> list[tuple[str, str]]:
    return list(zip(*reviews(n, seed), strict=True))


def json_lines(result) -> list[dict]:
    assert_ok(result)
    return [json.loads(line) for line in result.stdout.splitlines()]


TEXTS = ["w1 great w2 wonderful", "w3 awful w4", "superb w5 w6 w7", "w8 terrible and dull"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, reviews) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("linear-cli")
    train_csv = write_csv(root / "train.csv", corpus(reviews, 300, 100))
    test_csv = write_csv(root / "test.csv", corpus(reviews, 200, 7))
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps({"linear": {"C": 0.5, "min_df": 2}, "train": {"seed": 3}}))
    args = ["--data", train_csv, "--test-data", test_csv, "--config", cfg, "--quiet"]
    result = cli("train", "--model", "nbsvm", "--out", root / "m", "--ngrams", "1", *args)
    return SimpleNamespace(root=root, out=root / "m", train_csv=train_csv, test_csv=test_csv,
                           result=result, cfg=cfg)  # fmt: skip


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
