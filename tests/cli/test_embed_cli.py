"""``rnnlab embed train | neighbors | analogy | evaluate`` end to end, and their errors."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.embeddings.quality import neighbors
from rnnlab.embeddings.word2vec import load_word_vectors

pytestmark = pytest.mark.slow  # trains models (seconds each)

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})

GROUPS = {
    "royal": (["king", "queen", "prince"], ["crown", "throne", "palace"]),
    "fruit": (["apple", "pear", "plum"], ["juice", "tree", "sweet"]),
}


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def assert_ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_user_error(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Texts where each group's words share their context words."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("embed") / "corpus.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "body"])
        for i in range(600):
            words, ctx = GROUPS[rng.choice(list(GROUPS))]
            text = [rng.choice(words)] + [rng.choice(ctx) for _ in range(4)]
            rng.shuffle(text)
            w.writerow([i, " ".join(text).capitalize() + "."])
    return path


@pytest.fixture(scope="module")
def vectors(corpus: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vec") / "w2v"
    result = cli(
        "embed", "train", "--data", corpus, "--text-col", "body", "--out", out,
        "--algorithm", "skipgram", "--dim", "12", "--epochs", "20", "--min-count", "1", "--quiet",
    )  # fmt: skip
    assert_ok(result)
    assert (
        "skipgram 12-d vectors for" in result.stdout and str(out / "vectors.bin") in result.stdout
    )
    return out


def test_help_lists_the_commands() -> None:
    result = cli("embed", "--help")
    assert_ok(result)
    for name in ("train", "neighbors", "analogy", "evaluate"):
        assert name in result.stdout
        assert_ok(cli("embed", name, "--help"))
    assert "king - man + woman" in cli("embed", "analogy", "--help").stdout


def test_train_json_records_the_settings(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "cbow"
    result = cli(
        "embed", "train", "-d", corpus, "--text-col", "body", "-o", out,
        "--dim", "6", "--epochs", "1", "--min-count", "1", "--json", "-q",
    )  # fmt: skip
    assert_ok(result)
    meta = json.loads(result.stdout)
    assert meta["word2vec"]["algorithm"] == "cbow" and meta["word2vec"]["dim"] == 6
    assert meta["vocab_size"] == len(load_word_vectors(out).index_to_key)
    assert meta["data"]["texts"] == 600 and meta["out"] == str(out.resolve())


def test_neighbors_group_words_together(vectors: Path) -> None:
    # Calibration (this corpus, skip-gram, dim 12, 20 epochs): over --seed 0-9 the 2
    # nearest neighbours of "apple" were fruit-group words in 10/10 runs (5 epochs: 3/10,
    # 10 epochs: 8/10).
    result = cli("embed", "neighbors", vectors, "apple", "King", "-k", "2", "--json")
    assert_ok(result)
    found = json.loads(result.stdout)
    assert set(found) == {"apple", "King"}
    assert {r["word"] for r in found["apple"]} <= {"pear", "plum", "juice", "tree", "sweet"}
    assert found["King"] == neighbors(load_word_vectors(vectors), "king", k=2)
    text = cli("embed", "neighbors", vectors, "apple", "-k", "2")
    assert_ok(text)
    assert text.stdout.startswith("apple: ") and found["apple"][0]["word"] in text.stdout


def test_analogy_prints_answers(vectors: Path) -> None:
    result = cli("embed", "analogy", vectors, "king", "crown", "juice", "-k", "3", "--json")
    assert_ok(result)
    answers = json.loads(result.stdout)
    assert len(answers) == 3 and not {"king", "crown", "juice"} & {r["word"] for r in answers}
    text = cli("embed", "analogy", vectors, "king", "crown", "juice")
    assert_ok(text)
    assert text.stdout.startswith("king - crown + juice ~ ")


def test_evaluate_with_custom_files(vectors: Path, tmp_path: Path) -> None:
    sim = tmp_path / "mysim.tsv"
    sim.write_text("apple\tpear\t9\nking\tqueen\t8\nking\tpear\t1\nqueen\tjuice\t2\nx\ty\t5\n")
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nking queen apple pear\nking queen apple unicorn\n")
    result = cli(
        "embed", "evaluate", vectors, "--similarity", sim, "--analogies", questions, "--json"
    )
    assert_ok(result)
    data = json.loads(result.stdout)
    assert data["similarity"]["mysim"]["pairs"] == 5
    assert data["similarity"]["mysim"]["oov_pairs"] == 1
    assert data["analogy"]["overall"]["questions"] == 2 and data["analogy"]["overall"]["oov"] == 1
    text = cli("embed", "evaluate", vectors, "--similarity", sim, "--analogies", questions)
    assert_ok(text)
    assert "mysim: spearman" in text.stdout and "(OOV 1)" in text.stdout


def test_evaluate_defaults_to_gensim_test_files(vectors: Path) -> None:
    result = cli("embed", "evaluate", vectors, "--json")
    assert_ok(result)
    data = json.loads(result.stdout)
    if data["notes"]:
        pytest.skip("; ".join(data["notes"]))
    # the toy vocabulary knows a few of these words at most
    assert data["similarity"]["wordsim353"]["pairs"] == 353
    assert data["analogy"]["overall"]["questions"] == 19544
    assert data["analogy"]["overall"]["oov"] >= 19544 - 10


@pytest.mark.parametrize("given", ["file", "folder"])
def test_vectors_work_as_a_classifier_embedding(vectors: Path, tmp_path: Path, given) -> None:
    texts = tmp_path / "labeled.csv"
    with open(texts, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(40):
            w.writerow(["king crown palace" if i % 2 else "apple juice tree", i % 2])
    result = cli(
        "train", "--data", texts, "--out", tmp_path / "clf", "--embedding",
        vectors / "vectors.bin" if given == "file" else vectors, "--hidden", "4", "--layers", "1", "--epochs", "1",
        "--threads", "1", "--quiet",
    )  # fmt: skip
    assert_ok(result)
    config = json.loads((tmp_path / "clf" / "config.json").read_text())
    assert config["embedding_dim"] == 12
    assert config["embedding_coverage"]["vocab_share"] > 0.5


def test_user_errors_are_one_line(vectors: Path, corpus: Path, tmp_path: Path) -> None:
    assert_user_error(
        cli("embed", "neighbors", vectors, "aple"), "'aple' is not in", "did you mean 'apple'"
    )
    assert_user_error(cli("embed", "analogy", vectors, "king", "zzz", "pear"), "'zzz'")
    assert_user_error(cli("embed", "neighbors", tmp_path / "none", "a"), "vectors not found")
    assert_user_error(
        cli("embed", "evaluate", vectors, "--restrict-vocab", "-1"), "--restrict-vocab"
    )
    assert_user_error(
        cli("embed", "train", "-d", corpus, "-o", tmp_path / "x", "--algorithm", "glove"),
        "word2vec.algorithm must be 'cbow' or 'skipgram'",
    )
    assert_user_error(
        cli("embed", "train", "-d", corpus, "-o", tmp_path / "x"), "column 'text' not found"
    )
    assert not (tmp_path / "x").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.txt").write_text("keep")
    assert_user_error(
        cli("embed", "train", "-d", corpus, "--text-col", "body", "-o", tmp_path / "mine"),
        "not an rnnlab model directory",
    )
    assert (tmp_path / "mine" / "a.txt").read_text() == "keep"
