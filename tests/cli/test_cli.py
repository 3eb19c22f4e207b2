"""The ``rnnlab`` command line: train/evaluate/predict end to end, help, and every bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import typer

from rnnlab.artifacts import read_config
from rnnlab.cli import app
from rnnlab.data import IMDB_MD5, IMDB_URL, load_imdb
from rnnlab.errors import DataError
from rnnlab.tasks.classify import load

from .helpers import assert_ok, assert_user_error, cli, corpus, write_csv

pytestmark = pytest.mark.slow  # trains models (seconds each)

RNNLAB = Path(sys.executable).with_name("rnnlab")
# Small, fast settings (see tests/test_pipeline.py for the accuracy calibration).
TRAIN_FLAGS = [
    "--lr-decay",
    "1.0",
    "--epochs",
    "6",
    "--patience",
    "2",
    "--lr",
    "0.01",
    "--batch-size",
    "32",
    "--hidden",
    "16",
    "--embedding-dim",
    "16",
    "--layers",
    "1",
    "--dropout",
    "0",
    "--val-fraction",
    "0.2",
    "--threads",
    "1",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained(cli_model) -> SimpleNamespace:
    config = {"embedding": {"min_count": 1}, "train": {"lr": 0.5, "seed": 3}}
    return cli_model("cli", *TRAIN_FLAGS, config=config)


def test_train_end_to_end(trained) -> None:
    assert_ok(trained.result)
    lines = trained.result.stdout.splitlines()
    assert lines[0].startswith("validation: accuracy ")
    assert float(lines[0].split()[2]) >= 0.9
    assert lines[-1] == f"model: {trained.out}"
    assert trained.result.stderr == ""  # --quiet
    config = read_config(trained.out, kind="classifier")
    assert config["train"]["lr"] == 0.01  # the flag overrides the config file
    assert config["train"]["seed"] == 3  # the config file overrides the default
    assert config["embedding"]["min_count"] == 1
    assert config["model"]["hidden_size"] == 16 and config["model"]["num_layers"] == 1
    assert config["label_names"] == ["neg", "pos"]
    leftovers = [p.name for p in trained.root.iterdir() if p.name.startswith((".", "m."))]
    assert leftovers == []  # no temporary model folder, no checkpoints


def test_evaluate_json(trained, tmp_path: Path) -> None:
    result = cli("evaluate", trained.out, "--data", trained.test_csv, "--json")
    assert_ok(result)
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 200 and metrics["accuracy"] >= 0.9
    assert metrics["labels"] == ["neg", "pos"]
    assert sum(map(sum, metrics["confusion_matrix"])) == 200

    result = cli("evaluate", trained.out, "-d", trained.test_csv, "--out", tmp_path / "ev")
    assert_ok(result)
    assert f"accuracy {metrics['accuracy']:.4f}" in result.stdout
    assert "confusion matrix (rows: true, columns: predicted)" in result.stdout
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["n"] == 200
    assert (tmp_path / "ev" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


TEXTS = ["w1 great w2 wonderful", "w3 awful w4", "superb w5 w6 w7", "w8 terrible and dull"]


def json_lines(result) -> list[dict]:
    """The --json rows of a run (strict JSON: NaN or Infinity would fail to parse)."""
    assert_ok(result)
    rows = [
        json.loads(line, parse_constant=_no_constant) for line in result.stdout.split("\n")[:-1]
    ]
    for row in rows:
        assert set(row) in (
            {"line", "label", "score", "known"},
            {"line", "label", "score", "known", "reason"},
        ), row
    return rows


def _no_constant(name: str):
    raise AssertionError(f"invalid JSON constant {name} in the output")


def texts_only(rows: list[dict]) -> list[dict]:
    """The rows that answer a text (blank input lines dropped)."""
    return [r for r in rows if r["label"] is not None]


@pytest.fixture(scope="module")
def expected(trained) -> list[dict]:
    clf = load(trained.out, backend="torch", threads=1)
    return [{"label": p["label"], "score": round(p["score"], 6)} for p in clf.predict(TEXTS)]


TORCH = ("--backend", "torch")  # the default (auto -> onnx) is covered once per test module


def same(rows: list[dict], want: list[dict]) -> None:
    assert [r["label"] for r in rows] == [w["label"] for w in want]
    assert [r["score"] for r in rows] == pytest.approx([w["score"] for w in want], abs=2e-6)


def test_predict_arguments(trained, expected) -> None:
    rows = json_lines(cli("predict", trained.out, *TEXTS, "--json"))
    assert [r["label"] for r in rows] == ["pos", "neg", "pos", "neg"]
    same(rows, expected)
    same(json_lines(cli("predict", "--model", trained.out, *TEXTS, "--json", *TORCH)), expected)
    plain = cli("predict", "-m", trained.out, TEXTS[0], *TORCH)
    assert_ok(plain)
    label, score, text = plain.stdout.rstrip("\n").split("\t")
    assert (label, text) == ("pos", TEXTS[0]) and float(score) == pytest.approx(
        expected[0]["score"], abs=1e-4
    )


def test_predict_from_files_and_stdin(trained, expected, tmp_path: Path) -> None:
    txt = tmp_path / "in.txt"
    txt.write_text("\n".join([TEXTS[0], "", TEXTS[1], "   ", *TEXTS[2:]]) + "\n")
    rows = json_lines(cli("predict", trained.out, "--file", txt, "--json", *TORCH))
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]  # blank lines answered too
    same(texts_only(rows), expected)
    table = write_csv(
        tmp_path / "in.csv", [(t, str(i)) for i, t in enumerate(TEXTS)], header=("review", "id")
    )
    same(
        json_lines(
            cli("predict", trained.out, "-f", table, "--text-col", "review", "--json", *TORCH)
        ),
        expected,
    )
    stdin = "\n".join(TEXTS) + "\n"
    same(json_lines(cli("predict", trained.out, "--json", *TORCH, input=stdin)), expected)
    same(
        json_lines(cli("predict", trained.out, "--file", "-", "--json", *TORCH, input=stdin)),
        expected,
    )


def test_one_output_per_input_line(trained, tmp_path: Path) -> None:
    """Only a line feed (or CRLF) ends a line: U+2028, U+0085 and a form feed are text,
    a blank line gets its own output, and output i answers input i, with its line number."""
    lines = ["w1 great w2", "", "w3 awful\u2028w4 dull", "w5\x0cgreat\u0085w6 superb", "  ", "w7"]
    data = "\r\n".join(lines[:3]) + "\r\n" + "\n".join(lines[3:]) + "\n"
    txt = tmp_path / "odd.txt"
    txt.write_bytes(data.encode())
    clf = load(trained.out, backend="torch", threads=1)
    want = clf.predict([t for t in lines if t.strip()])
    for run in (
        cli("predict", trained.out, "--file", txt, "--json", *TORCH),
        cli("predict", trained.out, "--json", *TORCH, input=data.encode()),
        cli("predict", "--model", trained.out, *lines, "--json", *TORCH),
    ):
        rows = json_lines(run)
        assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
        blank = [{"line": n, "label": None, "score": None, "known": None, "reason": "empty text"}
                 for n in (2, 5)]  # fmt: skip
        assert [r for r in rows if r["label"] is None] == blank
        assert [r["label"] for r in texts_only(rows)] == [w["label"] for w in want]
        assert [r["known"] for r in texts_only(rows)] == [round(w["known"], 4) for w in want]
    plain = cli("predict", trained.out, "--file", txt, *TORCH)
    assert_ok(plain)
    out = plain.stdout.split("\n")[:-1]
    assert len(out) == 6 and out[1] == out[4] == "\t\t(empty text)"
    assert out[2].split("\t")[2] == "w3 awful w4 dull"  # the text, whitespace folded


def test_table_rows_with_embedded_newlines_and_quotes(trained, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text(
        'id,text\n1,"w1 great ""quoted""\nsecond line"\n2,\n3,w3 awful\n', encoding="utf-8"
    )
    rows = json_lines(cli("predict", trained.out, "-f", table, "--json", *TORCH))
    assert [r["line"] for r in rows] == [2, 4, 5]  # the line where each row starts
    assert rows[1]["reason"] == "empty text" and rows[2]["label"] == "neg"
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "w1 great"}\n{"text": null}\n\n{"text": "w2 awful"}\n')
    rows = json_lines(cli("predict", trained.out, "-f", jsonl, "--json", *TORCH))
    assert [(r["line"], r["label"]) for r in rows] == [(1, "pos"), (2, None), (4, "neg")]


def test_undecodable_stdin_is_refused_like_a_file(trained) -> None:
    result = cli("predict", trained.out, *TORCH, input=b"w1 great\nw2 \xff awful\n")
    assert_user_error(result, "<stdin> line 2: not valid UTF-8")
    assert result.stdout == ""  # nothing of the failing chunk was written


def test_model_argument_rule(trained, tmp_path: Path) -> None:
    """A first argument that looks like a path but is not a model is never classified silently."""
    missing = tmp_path / "nonexist_dir"
    assert_user_error(
        cli("predict", missing, "great film"), f"model directory not found: {missing}"
    )
    assert_user_error(cli("predict", "~/nope", "great film"), "model directory not found")
    assert_user_error(
        cli("predict", trained.train_csv, "great film"),
        "is a file, not a model directory",
        f"--file {trained.train_csv}",
    )
    # a single word: classified as text (it may be one), with a warning -- never silently
    result = cli("predict", "nonexist_dir", "w1 great", "--json", *TORCH)
    rows = json_lines(result)
    assert len(rows) == 2 and [r["line"] for r in rows] == [1, 2]
    assert result.stderr.startswith("warning: 'nonexist_dir' is not a model directory")
    alone = cli("predict", "wonderful", "--json", *TORCH)  # one word alone is just a text
    assert len(json_lines(alone)) == 1 and alone.stderr == ""
    # with --model every argument is a text, even a path
    rows = json_lines(cli("predict", "-m", trained.out, "a/b", str(missing), "--json", *TORCH))
    assert len(rows) == 2


def test_unknown_words_are_flagged(trained) -> None:
    texts = ["这部电影非常好看，我很喜欢。", "w1 great w2 wonderful", "🎬🍿 😀", "w3 awful"]
    result = cli("predict", trained.out, *texts, "--json", *TORCH)
    rows = json_lines(result)
    assert [r["known"] for r in rows] == [0.0, 1.0, 0.0, 1.0]
    assert result.stderr == (
        "warning: 2 of 4 texts are mostly words this model has never seen "
        "(known share < 50%); their scores mean little\n"
    )
    assert cli("predict", trained.out, *texts[1::2], *TORCH).stderr == ""


def test_a_nan_score_is_an_error_not_invalid_json(trained, monkeypatch) -> None:
    from rnnlab.tasks.classify import TextClassifier

    def nan_proba(self, seqs):
        return np.full((len(seqs), len(self.label_names)), np.nan)

    monkeypatch.setattr(TextClassifier, "_proba", nan_proba)
    result = cli("predict", trained.out, "w1 great", "--json", *TORCH)
    assert_user_error(result, "<arguments> line 1: the model gave the score nan", "retrain")
    assert "NaN" not in result.stdout


def test_progress_bar_only_when_asked_or_on_a_terminal(trained, tmp_path: Path) -> None:
    txt = tmp_path / "many.txt"
    txt.write_text("w1 great\n" * 1200)
    quiet = cli("predict", trained.out, "--file", txt, *TORCH)
    assert_ok(quiet)
    assert quiet.stderr == "" and len(quiet.stdout.splitlines()) == 1200
    shown = cli("predict", trained.out, "--file", txt, "--progress", *TORCH)
    assert_ok(shown)
    assert "1,200 texts" in shown.stderr or "1200 texts" in shown.stderr, shown.stderr
    assert "/s" in shown.stderr and shown.stdout == quiet.stdout


def test_killed_run_leaves_whole_lines(trained, tmp_path: Path) -> None:
    """Output is flushed chunk by chunk: kill -9 mid-run leaves only complete, numbered lines."""
    txt = tmp_path / "big.txt"
    txt.write_text("".join(f"w{i % 40} great w{i % 7} film\n" for i in range(200_000)))
    proc = subprocess.Popen(
        [str(RNNLAB), "predict", str(trained.out), "--file", str(txt), "--json",
         "--backend", "torch", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    try:
        first = proc.stdout.readline()  # the first chunk has been written and flushed
        assert json.loads(first)["line"] == 1
        proc.kill()
        rest = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
    lines = (first + rest).split(b"\n")
    whole = lines[:-1]  # the last piece may be cut mid-line; every earlier one is whole
    assert 512 <= len(whole) < 200_000
    assert [json.loads(x)["line"] for x in whole] == list(range(1, len(whole) + 1))


def test_predict_file_with_byte_order_mark(trained, expected, tmp_path: Path) -> None:
    txt = tmp_path / "bom.txt"
    txt.write_bytes(b"\xef\xbb\xbf" + "\n".join(TEXTS).encode())
    same(json_lines(cli("predict", trained.out, "--file", txt, "--json", *TORCH)), expected)


def test_reloaded_model_predicts_identically(trained, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(trained.out, copy)
    a = json_lines(cli("predict", trained.out, *TEXTS, "--json", *TORCH))
    b = json_lines(cli("predict", copy, *TEXTS, "--json", *TORCH))
    c = json_lines(cli("predict", copy, *TEXTS, "--json", "--backend", "onnx"))
    assert a == b
    same(c, a)


def test_training_over_an_existing_model_replaces_it(trained, reviews, tmp_path: Path) -> None:
    out = tmp_path / "m"
    shutil.copytree(trained.out, out)
    (out / "stale.txt").write_text("a file rnnlab did not write")
    data = write_csv(tmp_path / "three.csv", corpus(reviews, 300, 4, ("neg", "neu", "pos")))
    refused = cli("train", "-d", data, "-o", out, *TRAIN_FLAGS, "--epochs", "1")
    assert_user_error(refused, "stale.txt")  # never deleted along with the old model
    (out / "stale.txt").unlink()
    assert_ok(cli("train", "-d", data, "-o", out, *TRAIN_FLAGS, "--epochs", "1"))
    assert read_config(out)["label_names"] == ["neg", "neu", "pos"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "three.csv"]


def test_help_for_every_command() -> None:
    result = cli("--help")
    assert_ok(result)
    group = typer.main.get_command(app)
    names = sorted(group.commands)
    assert {"train", "evaluate", "predict"} <= set(names)
    for name in names:
        assert name in result.stdout
    for name in names:
        result = cli(name, "--help")
        assert_ok(result)
        for param in group.commands[name].params:
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("--"):
                    assert opt in result.stdout, (name, opt)
    version = cli("--version")
    assert_ok(version)
    assert version.stdout.startswith("rnnlab ")


@pytest.fixture(scope="module")
def bad(trained, reviews) -> SimpleNamespace:
    """Bad inputs, made once: data files, config files and broken model directories."""
    root = trained.root / "bad"
    root.mkdir()
    rows = corpus(reviews, 40, 1)
    b = SimpleNamespace(root=root)
    b.columns = write_csv(root / "columns.csv", rows, header=("review", "sentiment"))
    b.empty = write_csv(root / "empty.csv", [])
    b.single = write_csv(root / "single.csv", [(t, "pos") for t, _ in rows])
    b.three = write_csv(root / "three.csv", corpus(reviews, 30, 2, ("neg", "neu", "pos")))
    b.undecodable = root / "undecodable.csv"
    b.undecodable.write_bytes(b"text,label\ngood film,pos\nbad \xff film,neg\n")
    b.undecodable_txt = root / "undecodable.txt"
    b.undecodable_txt.write_bytes(b"good film\nbad \xff film\n")
    b.unknown_key = root / "unknown_key.json"
    b.unknown_key.write_text(json.dumps({"model": {"hidden": 8}}))
    b.unknown_section = root / "unknown_section.json"
    b.unknown_section.write_text(json.dumps({"optimizer": {"lr": 1}}))
    b.bad_json = root / "bad.json"
    b.bad_json.write_text("{model: 1")
    b.bad_type = root / "bad_type.json"
    b.bad_type.write_text(json.dumps({"text": {"maxlen": "long"}}))
    b.train = trained.train_csv
    b.incomplete = root / "incomplete"
    shutil.copytree(trained.out, b.incomplete)
    (b.incomplete / "model.safetensors").unlink()
    b.corrupted = root / "corrupted"
    shutil.copytree(trained.out, b.corrupted)
    weights = bytearray((b.corrupted / "model.safetensors").read_bytes())
    weights[-10] ^= 0xFF
    (b.corrupted / "model.safetensors").write_bytes(bytes(weights))
    b.old_format = root / "old_format"
    shutil.copytree(trained.out, b.old_format)
    config = json.loads((b.old_format / "config.json").read_text())
    config["format_version"] = 99
    (b.old_format / "config.json").write_text(json.dumps(config))
    return b


TRAIN_CASES = {
    "missing data file": (["--data", "{root}/nope.csv"], ["nope.csv", "not found"]),
    "missing column": (
        ["--data", "{columns}"],
        ["column 'text' not found", "columns found: review, sentiment"],
    ),
    "header only": (["--data", "{empty}"], ["empty.csv has no rows"]),
    "one class": (["--data", "{single}"], ["needs at least two classes", "'pos'"]),
    "undecodable": (["--data", "{undecodable}"], ["undecodable.csv line 3", "not valid UTF-8"]),
    "unknown config key": (
        ["--data", "{three}", "--config", "{unknown_key}"],
        ["unknown ModelConfig key(s): hidden", "hidden_size"],
    ),
    "unknown config section": (
        ["--data", "{three}", "--config", "{unknown_section}"],
        ["unknown section(s) optimizer"],
    ),
    "invalid config json": (["--data", "{three}", "--config", "{bad_json}"], ["is not valid JSON"]),
    "missing config file": (
        ["--data", "{three}", "--config", "{root}/nope.json"],
        ["config file not found"],
    ),
    "config value type": (
        ["--data", "{three}", "--config", "{bad_type}"],
        ["bad configuration value"],
    ),
    "bad cell": (
        ["--data", "{three}", "--cell", "xyz"],
        ["model.cell must be rnn, lstm, gru or none, got 'xyz'"],
    ),
    "zero layers": (
        ["--data", "{three}", "--layers", "0"],
        ["model.num_layers must be an integer >= 1, got 0"],
    ),
    "bad pooling": (["--data", "{three}", "--pooling", "median"], ["model.pooling must be"]),
    "negative lr": (["--data", "{three}", "--lr=-1"], ["train.lr must be > 0"]),
    "val fraction": (["--data", "{three}", "--val-fraction", "0.7"], ["train.val_fraction"]),
    "dropout": (["--data", "{three}", "--dropout", "1.5"], ["model.dropout must be in [0, 1)"]),
    "missing vectors": (
        ["--data", "{three}", "--embedding", "{root}/vectors.txt"],
        ["embedding file not found"],
    ),
    "unknown test labels": (  # fails after training, before anything is written
        ["--data", "{train}", "--test-data", "{three}"],
        ["three.csv line", "label 'neu' is not one of the label names"],
    ),
}


def fill(args: list[str], b: SimpleNamespace) -> list[str]:
    return [a.format(**vars(b)) for a in args]


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_train_bad_input(bad, tmp_path: Path, case: str) -> None:
    args, needles = TRAIN_CASES[case]
    out = tmp_path / "out"
    # the bad arguments come last: a later flag overrides an earlier one
    result = cli("train", "--out", out, *TRAIN_FLAGS, "--epochs", "1", *fill(args, bad))
    assert_user_error(result, *needles)
    assert not out.exists()  # a failed training leaves no model directory
    # ... nor a temporary one (only the epoch checkpoints of a run that got that far)
    assert [p.name for p in tmp_path.iterdir()] in ([], ["out.checkpoints"])


def test_train_out_is_a_file(bad, reviews) -> None:
    target = bad.root / "a-file"
    target.write_text("not a model")
    data = write_csv(bad.root / "tiny.csv", corpus(reviews, 60, 8))
    result = cli("train", "--data", data, "--out", target, *TRAIN_FLAGS, "--epochs", "1")
    assert_user_error(result, "exists and is a file")
    assert target.read_text() == "not a model"


MODEL_CASES = {
    "missing": ("{root}/nope", ["model directory not found"]),
    "incomplete": ("{incomplete}", ["incomplete: missing model.safetensors"]),
    "corrupted": ("{corrupted}", ["model.safetensors is corrupted (sha256 differs"]),
    "other format version": ("{old_format}", ["model format version 99"]),
    "a file": ("{columns}", ["is not a model directory"]),
}


@pytest.mark.parametrize("case", MODEL_CASES)
def test_predict_and_evaluate_with_a_bad_model(bad, trained, case: str) -> None:
    model, needles = MODEL_CASES[case]
    model = model.format(**vars(bad))
    assert_user_error(cli("predict", "--model", model, "some text"), *needles)
    assert_user_error(cli("evaluate", model, "--data", trained.test_csv), *needles)
    if (Path(model) / "config.json").is_file():  # recognised as a model when given first
        assert_user_error(cli("predict", model, "some text"), *needles)


PREDICT_CASES = {
    "empty stdin": ([], "", ["no text to classify: the input is empty"]),
    "empty file": (["--file", "{root}/empty.txt"], None, ["the input is empty", "empty.txt"]),
    "missing txt": (["--file", "{root}/nope.txt"], None, ["input file not found"]),
    "missing csv": (["--file", "{root}/nope.csv"], None, ["nope.csv", "not found"]),
    "undecodable txt": (
        ["--file", "{undecodable_txt}"],
        None,
        ["undecodable.txt line 2: not valid UTF-8"],
    ),
    "csv column": (["--file", "{columns}"], None, ["column 'text' not found", "review"]),
    "texts and file": (["some text", "--file", "{columns}"], None, ["not both"]),
    "backend": (["some text", "--backend", "tensorflow"], None, ["backend must be"]),
}


@pytest.mark.parametrize("case", PREDICT_CASES)
def test_predict_bad_input(bad, trained, case: str) -> None:
    (bad.root / "empty.txt").write_text("")
    args, stdin, needles = PREDICT_CASES[case]
    result = cli("predict", "--model", trained.out, *fill(args, bad), input=stdin)
    assert_user_error(result, *needles)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        ("{three}", ["label 'neu' is not one of the label names"]),
        ("{root}/nope.csv", ["not found"]),
    ],
)
def test_evaluate_bad_data(bad, trained, data: str, needles: list[str]) -> None:
    # (each call loads the model first, ~2 s here; bad columns and bytes are covered by train)
    result = cli("evaluate", trained.out, "--data", data.format(**vars(bad)))
    assert_user_error(result, *needles)


def test_usage_errors_exit_2(trained) -> None:
    result = cli("train", "--data", trained.train_csv, "--out", "x", "--lr", "fast")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert cli("frobnicate").exit_code == 2
    assert cli("train").exit_code == 2  # --data and --out are required


def test_checksum_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A download whose md5 differs fails cleanly and leaves no file in the cache."""
    import rnnlab.data.imdb as imdb

    fake = tmp_path / "served" / "aclImdb_v1.tar.gz"
    fake.parent.mkdir()
    fake.write_bytes(b"not the IMDB archive")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="checksum mismatch .* expected md5 0+, got"):
        load_imdb("imdb", cache_dir=cache, url=fake.as_uri(), md5="0" * 32)
    assert not any(cache.iterdir())

    requested: list[str] = []
    real = imdb.download

    def local(url: str, dest_dir, **kw):  # serve the canonical URL from a local file
        requested.append(url)
        return real(fake.as_uri(), dest_dir, **kw)

    monkeypatch.setattr(imdb, "download", local)
    result = cli(
        "train", "--data", "imdb", "--out", tmp_path / "m", "--cache-dir", cache, "--quiet"
    )
    assert_user_error(result, "checksum mismatch", f"expected md5 {IMDB_MD5}")
    assert requested == [IMDB_URL]
    assert not (tmp_path / "m").exists() and not any(cache.iterdir())


def test_train_out_current_directory(reviews, tmp_path: Path, monkeypatch) -> None:
    data = write_csv(tmp_path / "d.csv", corpus(reviews, 60, 8))
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--data", data, "--out", ".", *TRAIN_FLAGS, "--epochs", "1")
    assert_user_error(result, "current or root directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_train_refuses_to_replace_a_folder_that_is_not_a_model(reviews, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", corpus(reviews, 60, 8))
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious")
    result = cli("train", "--data", data, "--out", folder, *TRAIN_FLAGS, "--epochs", "1")
    assert_user_error(result, "not an rnnlab model directory")
    assert (folder / "thesis.txt").read_text() == "precious"


def test_real_process_errors(tmp_path: Path) -> None:
    """The installed script: exit code 1, one 'error:' line, no traceback."""
    env = {**os.environ, "COLUMNS": "200"}
    runs = [
        subprocess.run(
            [str(RNNLAB), "predict", "--model", str(tmp_path / "nope")],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        ),
        subprocess.run(
            [str(RNNLAB), "evaluate", str(tmp_path / "nope"), "--data", "x.csv"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        ),
    ]
    messages = [
        "error: no text to classify: the input is empty",
        f"error: model directory not found: {tmp_path / 'nope'}",
    ]
    for proc, message in zip(runs, messages, strict=True):
        assert proc.returncode == 1, proc.stderr
        err = proc.stderr.strip()
        assert err.startswith(message) and "\n" not in err, err
        assert proc.stdout == ""


def test_train_order_blind_baseline_with_keras_padding(reviews, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", corpus(reviews, 200, 5, ("neg", "pos")))
    out = tmp_path / "m"
    flags = ("--cell", "none", "--pooling", "mean", "--padding", "pre", "--maxlen", "30")
    assert_ok(cli("train", "-d", data, "-o", out, *TRAIN_FLAGS, "--epochs", "1", *flags))
    config = read_config(out, kind="classifier")
    assert config["model"]["cell"] == "none" and config["text"]["padding"] == "pre"
    result = cli("predict", out, "a fine film", "--json")
    assert_ok(result)
    assert json.loads(result.stdout)["label"] in ("neg", "pos")
    result = cli("train", "-d", data, "-o", tmp_path / "x", "--padding", "left")
    assert result.exit_code == 1 and "text.padding must be" in result.stderr


def test_linear_model_reports_known_share_too(reviews, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", corpus(reviews, 200, 5))
    out = tmp_path / "nb"
    assert_ok(cli("train", "-d", data, "-o", out, "--model", "nbsvm", "--quiet"))
    texts = ["w1 great w2 wonderful", "这部电影非常好看", "w3 zzzunseen qqqunseen xxxunseen"]
    result = cli("predict", out, *texts, "--json")
    rows = json_lines(result)
    assert [r["known"] for r in rows] == [1.0, 0.0, 0.25]  # 1 of the 4 words is known
    assert result.stderr.startswith("warning: 2 of 3 texts are mostly words this model")


def test_predict_and_explain_take_a_review_longer_than_a_file_name() -> None:
    review = "a truly wonderful and moving film " * 12  # > 255 bytes: no file can be named so
    result = cli("predict", review, "dull", "--json")
    assert_ok(result)
    assert len(result.stdout.splitlines()) == 2
    assert_ok(cli("explain", review, "--json"))


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_missing_model_path_is_an_error_not_a_text(command, tmp_path: Path) -> None:
    result = cli(command, tmp_path / "no-such-model", "great film")
    assert_user_error(result, "model directory not found", "no-such-model")
