"""``rnnlab explain`` and ``rnnlab report`` on a tiny trained model and on the bundled one."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.config import EmbeddingConfig, ModelConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.tasks.base import bundled_model_path
from rnnlab.tasks.classify import train

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
CONTRACT_KEYS = {"label", "score", "target", "method", "tokens", "trajectory_kind",
                 "completeness", "known_share"}  # fmt: skip
TOKEN_KEYS = {"token", "attribution", "trajectory", "known", "read"}


def cli(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_user_error(result, needle: str) -> None:
    assert result.exit_code == 1, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and needle in err, err
    assert "Traceback" not in result.output


def external_refs(page: str) -> list[str]:
    """Every src/href/url() target that would be fetched from somewhere else."""
    targets = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page)
    targets += re.findall(r"url\(\s*['\"]?([^'\")]+)", page)
    return [t for t in targets if not t.startswith(("data:", "#"))]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, reviews) -> Path:
    # tiny unidirectional LSTM on the synthetic corpus (about a second to train)
    texts, labels = reviews(300, 100)
    ds = TextDataset(texts, [["neg", "pos"].index(y) for y in labels], ["neg", "pos"], "synthetic")
    out = tmp_path_factory.mktemp("explain") / "m"
    train(
        ds,
        out,
        embedding=EmbeddingConfig(dim=12, min_count=1),
        model=ModelConfig(hidden_size=12, num_layers=1, bidirectional=False, dropout=0.0),
        training=TrainConfig(epochs=4, lr=1e-2, lr_decay=1.0, patience=2, threads=1),
        progress=False,
        log=lambda _m: None,
    )
    return out


pytestmark = pytest.mark.slow  # the fixture trains a model


def test_json_gives_word_attribution_and_trajectory_per_token(model_dir):
    texts = ["w1 great w2 w3 loved", "awful w4 , dull ending"]
    result = cli("explain", model_dir, *texts, "--json", "--threads", "1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    for e, text in zip(lines, texts, strict=True):
        assert CONTRACT_KEYS <= set(e)
        assert [t["token"] for t in e["tokens"]] == text.split()
        assert all(set(t) == TOKEN_KEYS for t in e["tokens"])
        assert e["trajectory_kind"] == "one-pass"
        assert e["completeness"]["relative_error"] <= 0.05
        assert e["tokens"][-1]["trajectory"] == pytest.approx(e["score"], abs=1e-5)
    # the tiny model learnt the cue words: they carry the decision
    pos, neg = lines
    assert pos["label"] == "pos" and neg["label"] == "neg"
    top = max(pos["tokens"], key=lambda t: t["attribution"])["token"]
    assert top in ("great", "loved")
    top = max(neg["tokens"], key=lambda t: t["attribution"])["token"]
    assert top in ("awful", "dull")


def test_terminal_output_and_occlusion(model_dir):
    result = cli("explain", "--model", model_dir, "w1 great w2", "--method", "occlusion")
    assert result.exit_code == 0, result.output
    assert "pos" in result.stdout and "occlusion" in result.stdout
    assert "great" in result.stdout and "P(pos)" in result.stdout


def test_html_page_is_self_contained(model_dir, tmp_path):
    page_path = tmp_path / "why.html"
    text = "w1 great <b>w2</b> zzzunknown loved"
    result = cli("explain", model_dir, text, "--html", page_path)
    assert result.exit_code == 0, result.output
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert external_refs(page) == []
    assert "data:image/png;base64," in page  # the LSTM memory heatmap
    assert "<svg" in page  # the trajectory chart
    assert "loved" in page and "tok unk" in page  # the unknown word is marked
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, no leftovers


def test_texts_from_a_file_and_standard_input(model_dir, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("w1 great\n\nawful w2\n", encoding="utf-8")
    result = cli("explain", model_dir, "--file", f, "--json")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    result = cli("explain", model_dir, "--json", input="dull w3\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["label"] == "neg"


def test_user_errors(model_dir, tmp_path):
    assert_user_error(cli("explain", model_dir, "x", "--method", "shap"), "method must be")
    assert_user_error(cli("explain", model_dir, "x", "--steps", "0"), "steps must be")
    assert_user_error(
        cli("explain", model_dir, "x", "--html", tmp_path / "p.html", "--layer", "3"),
        "layer must be 0..0",
    )
    tagger = tmp_path / "tagger"
    shutil.copytree(model_dir, tagger)
    config = json.loads((tagger / "config.json").read_text())
    config["kind"] = "tagger"
    (tagger / "config.json").write_text(json.dumps(config))
    assert_user_error(cli("explain", "--model", tagger, "x"), "text classifiers")
    assert_user_error(cli("explain", "--model", tmp_path / "nope", "x"), "not found")
    assert cli("explain", model_dir, "x", "--steps", "many").exit_code == 2  # usage error


def test_bundled_model_by_default():
    result = cli("explain", "--json", "--threads", "1", "A wonderful film, not boring at all.")
    assert result.exit_code == 0, result.output
    e = json.loads(result.stdout)
    assert e["label"] == "pos" and e["trajectory_kind"] == "prefix-reruns"
    assert e["completeness"]["relative_error"] <= 0.05


def test_report_command_rewrites_the_report_in_place(tmp_path):
    d = tmp_path / "bundled"
    shutil.copytree(bundled_model_path(), d)
    result = cli("report", d)
    assert result.exit_code == 0, result.output
    assert (d / "report.html").is_file() and str(d / "report.html") in result.stdout
    assert_user_error(cli("report", tmp_path / "missing"), "not found")


def test_a_review_longer_than_a_file_name_is_a_text():
    review = "not a boring film at all , " * 20  # 540 characters: too long for a path
    result = cli("explain", "--json", "--threads", "1", review)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["tokens"]) == 140
