"""Every bad input answered: one table of cases, each run through the real command line.

Each row builds its bad input in a fresh folder and runs one ``rnnlab`` command
in-process. It must end with exit code 1 (2 for usage errors), one line
``error: ...`` on stderr naming the problem *and* the fix (the row's needles),
no traceback, and nothing written: the folder holding ``--out`` -- where a
valid model from an earlier run sits -- must be byte for byte as before.

Rows whose fix belongs to another piece of work still in progress are marked
``xfail(strict=False)`` with the owner in the reason; they turn into passes
(XPASS) as that work lands.

At the end, property tests (hypothesis): every file loader, fed random bytes
or random tables, either loads or raises :class:`RnnlabError` -- never another
exception.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli.helpers import assert_ok, assert_user_error, cli, corpus, write_csv  # tests/cli
from conftest import make_reviews  # tests/conftest.py
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.data import IMDB_MD5, load_imdb_splits, load_table
from rnnlab.data.conllu import load_conllu
from rnnlab.data.parallel import read_parallel_tsv
from rnnlab.data.tabular import ByteLines, iter_lines, iter_table_texts
from rnnlab.errors import RnnlabError

pytestmark = pytest.mark.slow  # trains one tiny model for the module (seconds)

RNNLAB = Path(sys.executable).with_name("rnnlab")

TINY = ["--epochs", "1", "--hidden", "4", "--embedding", "random", "--embedding-dim", "4"]
TINY += ["--layers", "1", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A tiny classifier trained once (the model every train row must leave intact)."""
    root = tmp_path_factory.mktemp("tiny")
    data = write_csv(root / "train.csv", corpus(make_reviews, 80, 1))
    result = cli("train", "--data", data, "--out", root / "model", *TINY)
    assert_ok(result)
    return root / "model"


# --------------------------------------------------------------------------- inputs


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def reviews_csv(path: Path, n: int = 40, classes=("neg", "pos")) -> Path:
    return write_csv(path, corpus(make_reviews, n, 2, classes))


def tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def imdb_files(n: int = 40) -> dict[str, bytes]:
    texts, labels = make_reviews(4 * n, 3)
    files = {}
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        split = "train" if i < 2 * n else "test"
        files[f"aclImdb/{split}/{label}/{i}_{8 if label == 'pos' else 2}.txt"] = text.encode()
    return files


def truncated_imdb(d: Path) -> Path:
    whole = tar_gz(d / "whole.tar.gz", imdb_files())
    cut = d / "aclImdb_v1.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    return cut


CONLLU_OK = "1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n"


def edit_config(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(model: Path) -> None:
        config = json.loads((model / "config.json").read_text())
        change(config)
        (model / "config.json").write_text(json.dumps(config))

    return edit


def flip_weight_byte(model: Path) -> None:
    weights = bytearray((model / "model.safetensors").read_bytes())
    weights[-5] ^= 0xFF
    (model / "model.safetensors").write_bytes(bytes(weights))


def truncate_config(model: Path) -> None:
    text = (model / "config.json").read_text()
    (model / "config.json").write_text(text[: len(text) // 2])


def empty_model_dir(model: Path) -> None:
    shutil.rmtree(model)
    model.mkdir()


def foreign_checkpoints(model: Path) -> None:
    folder = model.with_name(model.name + ".checkpoints")
    folder.mkdir()
    (folder / "notes.txt").write_text("not rnnlab's")


def claims_rnnlab(model: Path) -> None:
    shutil.rmtree(model)
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"format": "rnnlab.model", "kind": "x"}))
    (model / "thesis.txt").write_text("precious")


def interrupted_run(out: Path, *flags: str) -> Path:
    """The checkpoint folder of a real ``rnnlab train`` run to ``out`` stopped with Ctrl-C
    (SIGINT) after its first steps, on the same rows as the cases' ``{data}``."""
    data = reviews_csv(out.parent / "ckpt-data.csv")
    config = out.parent / "ckpt.json"
    config.write_text(json.dumps({"train": {"checkpoint_every_steps": 1}}))
    folder = out.with_name(out.name + ".checkpoints")
    # --patience 500: no early stop, so the run is still going when SIGINT arrives
    args = ["train", "--data", data, "--out", out, *TINY, "--epochs", "500", "--patience", "500",
            "--config", config]  # fmt: skip
    proc = subprocess.Popen(
        [str(RNNLAB), *map(str, args), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.monotonic() + 240
        while not any(folder.glob("ckpt-*")):
            assert proc.poll() is None, (
                f"the run ended (exit {proc.returncode}) before a checkpoint"
            )
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    return folder


def truncated_checkpoint(out: Path) -> None:
    folder = interrupted_run(out)
    for ckpt in folder.glob("ckpt-*"):
        weights = ckpt / "state.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def other_models_checkpoint(out: Path) -> None:
    interrupted_run(out, "--hidden", "6")  # the resumed command says --hidden 4


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """One bad input: files to make, the command, and what its error must say.

    ``args`` are formatted with ``{d}`` (the folder of input files), ``{out}`` (a
    copy of the tiny model, the earlier model at --out) and ``{data}`` (a valid
    training CSV). ``files`` maps a name in ``{d}`` to its content, or to a
    function of ``{d}`` that writes it; ``model`` changes the copy at ``{out}``
    before the run (a broken model directory, files next to it).
    """

    args: tuple[str, ...]
    needles: tuple[str, ...]
    files: dict[str, object] = field(default_factory=dict)
    model: Callable[[Path], None] | None = None
    stdin: bytes | None = None
    code: int = 1
    xfail: str | None = None
    patch: str | None = None


def train(data: str, *more: str) -> tuple[str, ...]:
    return ("train", "--data", data, "--out", "{out}", *TINY, *more)


def predict_with(model: str, *more: str) -> tuple[str, ...]:
    return ("predict", "--model", model, "w1 great w2", *more)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(random.Random(0).randrange(256) for _ in range(4000))

CASES: dict[str, Case] = {
    # ---- CSV / TSV / JSONL, as training data
    "csv empty": Case(train("{d}/e.csv"), ("e.csv is empty", "give a header row"), {"e.csv": ""}),
    "csv header only": Case(
        train("{d}/h.csv"), ("h.csv has no rows", "add one row per text"), {"h.csv": "text,label\n"}
    ),
    "csv missing column": Case(
        train("{d}/c.csv"),
        ("column 'text' not found", "columns found: review, sentiment", "--text-col"),
        {"c.csv": "review,sentiment\ngood,pos\nbad,neg\n"},
    ),
    "csv misspelt column": Case(
        train("{data}", "--text-col", "txet"),
        ("column 'txet' not found", "columns found: text, label", "did you mean 'text'?"),
    ),
    "tsv misspelt label column": Case(
        train("{d}/t.tsv"),
        ("column 'label' not found", "columns found: text, labl", "did you mean 'labl'?"),
        {"t.tsv": "text\tlabl\ngood\tpos\nbad\tneg\n"},
    ),
    "csv one class": Case(
        train("{d}/one.csv"),
        ("needs at least two classes, found only 'pos'", "check column 'label'"),
        {"one.csv": "text,label\na good one,pos\nanother,pos\n"},
    ),
    "csv class with one row": Case(
        train("{d}/rare.csv"),
        ("class 'neu' has only 1 example", "add examples of it or remove it"),
        {
            "rare.csv": lambda d: write_csv(
                d / "rare.csv", [*corpus(make_reviews, 40, 2), ("w1 ok", "neu")]
            )
        },
    ),  # fmt: skip
    "csv undecodable bytes": Case(
        train("{d}/u.csv"),
        ("u.csv line 3: not valid UTF-8 (byte 0xe9", "re-save the file as UTF-8"),
        {"u.csv": b"text,label\nok,pos\nmy caf\xe9,neg\n"},
    ),
    "jsonl undecodable bytes": Case(
        train("{d}/u.jsonl"),
        ("u.jsonl line 2: not valid UTF-8", "re-save the file as UTF-8"),
        {"u.jsonl": b'{"text": "a", "label": 1}\n{"text": "\xff", "label": 0}\n'},
    ),
    "csv binary garbage": Case(
        train("{d}/g.csv"), ("g.csv line 1: not valid UTF-8", "re-save"), {"g.csv": PNG}
    ),
    "jsonl malformed line": Case(
        train("{d}/m.jsonl"),
        ("m.jsonl line 2: not valid JSON", "each line must be one JSON object"),
        {"m.jsonl": '{"text": "a", "label": 1}\n{"text": "b", "label" 0}\n'},
    ),
    "jsonl line not an object": Case(
        train("{d}/l.jsonl"),
        ("l.jsonl line 2: expected a JSON object", '{"text": ..., "label": ...}'),
        {"l.jsonl": '{"text": "a", "label": 1}\n["b", 0]\n'},
    ),
    "jsonl 5000-digit number": Case(
        train("{d}/n.jsonl"),
        ("n.jsonl line 2: not valid JSON", "each line must be one JSON object"),
        {"n.jsonl": '{"text": "a", "label": 1}\n{"text": "b", "label": ' + "9" * 5000 + "}\n"},
    ),
    "csv row with an extra field": Case(
        train("{d}/x.csv"),
        ("x.csv line 3: 3 fields but the header has 2", "quote fields that contain ','"),
        {"x.csv": "text,label\ngood,pos\nbad, really,neg\n"},
    ),
    "unsupported file type": Case(
        train("{d}/r.xlsx"),
        ("unsupported file type '.xlsx'", "use one of .csv"),
        {"r.xlsx": b"PK\x03\x04"},
    ),
    "missing data file": Case(train("{d}/nope.csv"), ("nope.csv: not found", "pass a .csv")),
    # ---- IMDB archives and folders
    "imdb archive truncated": Case(
        train("{d}/aclImdb_v1.tar.gz"),
        ("cannot read the archive", "truncated", "download it again"),
        {"aclImdb_v1.tar.gz": truncated_imdb},
    ),
    "imdb archive of another layout": Case(
        train("{d}/other.tar.gz"),
        ("has no train/neg reviews", "expected the layout aclImdb/{train,test}/{pos,neg}"),
        {"other.tar.gz": lambda d: tar_gz(d / "other.tar.gz", {"data/reviews/1.txt": b"hi"})},
    ),
    "imdb folder without neg": Case(
        train("{d}/imdb"),
        ("folder train/neg is missing", "expected aclImdb/{train,test}/{pos,neg}"),
        {"imdb/aclImdb/train/pos/1_9.txt": "good", "imdb/aclImdb/test/pos/2_9.txt": "fine"},
    ),
    "imdb download checksum mismatch": Case(
        train("imdb", "--cache-dir", "{d}/cache"),
        ("checksum mismatch", f"expected md5 {IMDB_MD5}", "retry the download"),
        {"served/aclImdb_v1.tar.gz": b"not the IMDB archive"},
        patch="imdb download",
    ),
    # ---- CoNLL-U treebanks
    "conllu malformed line": Case(
        ("tag", "train", "--train", "{d}/bad.conllu", "--dev", "{d}/ok.conllu", "--out", "{out}"),
        ("bad.conllu line 2: 3 column(s) instead of 10", "10 tab-separated columns"),
        {
            "bad.conllu": CONLLU_OK.replace("\tNOUN\t_\t_\t0\troot\t_\t_", ""),
            "ok.conllu": CONLLU_OK,
        },
    ),  # fmt: skip
    "conllu empty": Case(
        ("tag", "train", "--train", "{d}/e.conllu", "--dev", "{d}/ok.conllu", "--out", "{out}"),
        ("e.conllu holds no sentences", "give a CoNLL-U file"),
        {"e.conllu": "\n\n", "ok.conllu": CONLLU_OK},
    ),
    "conllu undecodable": Case(
        ("tag", "train", "--train", "{d}/u.conllu", "--dev", "{d}/ok.conllu", "--out", "{out}"),
        ("u.conllu line 4: not valid UTF-8", "re-save it as UTF-8"),
        {"u.conllu": CONLLU_OK.encode() + b"1\tcaf\xe9\n", "ok.conllu": CONLLU_OK},
    ),
    # ---- parallel TSV
    "parallel tsv missing tab": Case(
        ("seq2seq", "train", "--data", "{d}/p.tsv", "--out", "{out}"),
        ("p.tsv line 2: no tab", "each line must be source<TAB>target"),
        {"p.tsv": "uno\tone\ndos two\n"},
    ),
    "parallel tsv empty": Case(
        ("seq2seq", "train", "--data", "{d}/p.tsv", "--out", "{out}"),
        ("p.tsv holds no pairs", "expected lines of source<TAB>target"),
        {"p.tsv": "\n\n"},
    ),
    "parallel tsv empty side": Case(
        ("seq2seq", "train", "--data", "{d}/p.tsv", "--out", "{out}"),
        ("p.tsv line 1: empty target", "remove the line or fill it in"),
        {"p.tsv": "uno\t \n"},
    ),
    # ---- model directories
    "model missing": Case(
        predict_with("{d}/nope"), ("model directory not found", "train one with `rnnlab train`")
    ),
    "model folder empty": Case(
        predict_with("{out}"), ("is empty", "rnnlab train"), model=empty_model_dir
    ),
    "model weights tampered": Case(
        predict_with("{out}"),
        ("model.safetensors is corrupted (sha256 differs", "retrain or restore"),
        model=flip_weight_byte,
    ),
    "model config.json truncated": Case(
        predict_with("{out}"), ("config.json is corrupted", "retrain"), model=truncate_config
    ),
    "model config.json edited": Case(
        predict_with("{out}"),
        ("config.json", "retrain"),
        model=edit_config(lambda c: c["model"].update(hidden_size=8)),
    ),
    "model config.json without checksums": Case(
        predict_with("{out}"),
        ('has no checksums ("files")', "retrain the model or restore"),
        model=edit_config(lambda c: c.pop("files")),
    ),
    "model checksums as a list": Case(
        predict_with("{out}"),
        ('"files" must map file names to sha256 digests, got a list', "retrain"),
        model=edit_config(lambda c: c.update(files=list(c["files"]))),
    ),
    "model huge vocab_size": Case(
        predict_with("{out}"),
        ("1000000000000", "retrain"),
        model=edit_config(lambda c: c.update(vocab_size=10**12)),
    ),
    "model unknown format version": Case(
        predict_with("{out}"),
        ("model format version 99", "retrain it or install a matching rnnlab"),
        model=edit_config(lambda c: c.update(format_version=99)),
    ),
    "model unknown kind": Case(
        predict_with("{out}"),
        ("unknown kind 'transformer'", "upgrade rnnlab, or retrain the model"),
        model=edit_config(lambda c: c.update(kind="transformer")),
    ),
    "model is a file": Case(
        ("predict", "{d}/m.txt", "w1 great"),
        ("is a file, not a model directory", "--file"),
        {"m.txt": "w1 great\n"},
    ),
    # ---- next to --out: only what rnnlab wrote may be replaced
    "foreign folder at <out>.checkpoints": Case(
        train("{data}"),
        ("was not written by rnnlab", "move or delete it yourself, or choose another --out"),
        model=foreign_checkpoints,
    ),
    "--out claims the rnnlab format but holds other files": Case(
        train("{data}"),
        ("holds files rnnlab did not write (thesis.txt)", "move them away or choose a new path"),
        model=claims_rnnlab,
    ),
    # ---- training settings
    "learning rate inf": Case(train("{data}", "--lr", "inf"), ("train.lr must be a finite",)),
    "learning rate nan": Case(train("{data}", "--lr", "nan"), ("train.lr must be a finite",)),
    "unknown tokenizer": Case(
        train("{data}", "--config", "{d}/c.json"),
        ("text.tokenizer must be 'words', 'chars' or 'subword'",),
        {"c.json": '{"text": {"tokenizer": "klingon"}}'},
    ),
    # ---- checkpoints (--resume)
    "checkpoint truncated": Case(
        train(
            "{home}/ckpt-data.csv",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--config",
            "{home}/ckpt.json",
            "--resume",
        ),
        ("checkpoint", "corrupt", "without --resume"),
        model=truncated_checkpoint,
    ),
    "checkpoint from another model": Case(
        train(
            "{home}/ckpt-data.csv",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--config",
            "{home}/ckpt.json",
            "--resume",
        ),
        ("checkpoint", "is for another model", "without --resume"),
        model=other_models_checkpoint,
    ),
    # ---- texts to predict
    "predict stdin undecodable": Case(
        ("predict", "--model", "{out}"),
        ("<stdin> line 2: not valid UTF-8", "UTF-8"),
        stdin=b"w1 great\nw2 \xff bad\n",
    ),
    "predict stdin empty": Case(
        ("predict", "--model", "{out}"), ("the input is empty", "one text per line"), stdin=b""
    ),
    "predict file undecodable": Case(
        ("predict", "--model", "{out}", "--file", "{d}/in.txt"),
        ("in.txt line 2: not valid UTF-8", "re-save the file as UTF-8"),
        {"in.txt": b"good\nbad \xe9\n"},
    ),
    "predict file binary garbage": Case(
        ("predict", "--model", "{out}", "--file", "{d}/in.txt"),
        ("in.txt line 1: not valid UTF-8",),
        {"in.txt": PNG},
    ),
    "predict table missing column": Case(
        ("predict", "--model", "{out}", "--file", "{d}/in.csv"),
        ("column 'text' not found", "columns found: review", "--text-col"),
        {"in.csv": "review\ngood\n"},
    ),
    "predict jsonl malformed line": Case(
        ("predict", "--model", "{out}", "--file", "{d}/in.jsonl"),
        ("in.jsonl line 2: not valid JSON", "one JSON object"),
        {"in.jsonl": '{"text": "good"}\n{"text": \n'},
    ),
    "predict first argument a missing path": Case(
        ("predict", "{d}/nonexist_dir", "great film"),
        ("model directory not found", "nonexist_dir", "--model DIR"),
    ),
    "predict texts and file": Case(
        ("predict", "--model", "{out}", "good", "--file", "{d}/in.txt"),
        ("give texts as arguments or with --file, not both",),
        {"in.txt": "good\n"},
    ),
    "predict unknown backend": Case(
        predict_with("{out}", "--backend", "tensorflow"), ("backend must be auto, onnx or torch",)
    ),
    # ---- usage errors: exit code 2
    "usage: number expected": Case(train("{data}", "--lr", "fast"), ("--lr",), code=2),
    "usage: unknown option": Case(train("{data}", "--frobnicate"), ("--frobnicate",), code=2),
    "usage: missing --data": Case(("train", "--out", "{out}"), ("--data",), code=2),
}


def _marks(case: Case):
    return [pytest.mark.xfail(reason=case.xfail, strict=False)] if case.xfail else []


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder``, with the bytes of the files."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def _make_files(d: Path, files: dict[str, object]) -> None:
    for name, content in files.items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(d)
        else:
            write(path, content)


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(c), id=n) for n, c in CASES.items()])
def test_bad_input_is_answered(
    name: str, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    d, home = tmp_path / "inputs", tmp_path / "models"
    d.mkdir()
    home.mkdir()
    out = home / "model"
    shutil.copytree(tiny, out)
    data = reviews_csv(d / "valid.csv")
    _make_files(d, case.files)
    if case.model is not None:
        case.model(out)
    if case.patch == "imdb download":
        import rnnlab.data.imdb as imdb

        real = imdb.download
        served = (d / "served" / "aclImdb_v1.tar.gz").as_uri()
        monkeypatch.setattr(imdb, "download", lambda url, dest, **kw: real(served, dest, **kw))
    before = snapshot(home)
    args = [a.format(d=d, out=out, data=data, home=home) for a in case.args]
    result = cli(*args, input=case.stdin)
    if case.code == 2:  # click's usage error: its own framed message, exit code 2
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert all(needle in result.output for needle in case.needles), result.output
    else:
        assert_user_error(result, *case.needles, code=1)
    assert snapshot(home) == before  # the earlier model intact, nothing written beside it
    if case.patch == "imdb download":
        assert not any((d / "cache").rglob("*.tar.gz*"))  # no corrupt file left in the cache


def test_every_case_of_the_issue_has_a_row() -> None:
    """The cases issue 12 lists, each present in the table (by its row name)."""
    wanted = [
        "csv empty", "csv header only", "csv missing column", "csv misspelt column",
        "csv one class", "csv undecodable bytes", "csv binary garbage", "jsonl malformed line",
        "imdb archive truncated", "imdb archive of another layout",
        "imdb download checksum mismatch", "conllu malformed line", "parallel tsv missing tab",
        "parallel tsv empty", "model missing", "model folder empty", "model weights tampered",
        "model config.json truncated", "model config.json edited",
        "model unknown format version", "model unknown kind", "checkpoint truncated",
        "checkpoint from another model",
    ]  # fmt: skip
    assert [w for w in wanted if w not in CASES] == []


# --------------------------------------------------------------------------- hard but valid


def test_embedded_newlines_and_quotes_work(tiny: Path, tmp_path: Path) -> None:
    rows = [
        ('He said "wow,\nwhat a film"', "pos"),
        ("line one\r\nline two, \"quoted\" 'single'", "neg"),
        ("plain", "pos"),
        ("tab\there; semicolon", "neg"),
    ]
    for suffix, delimiter in ((".csv", ","), (".tsv", "\t")):
        path = tmp_path / f"q{suffix}"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=delimiter)
            w.writerow(["text", "label"])
            w.writerows(rows)
        assert load_table(path).texts == [t for t, _ in rows]
        result = cli("predict", "--model", tiny, "--file", path, "--json", "--backend", "torch")
        assert_ok(result)
        got = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["line"] for r in got] == [2, 4, 6, 7]  # where each row starts
        assert all(r["label"] in ("neg", "pos") for r in got)
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t}) + "\n" for t, _ in rows))
    result = cli("predict", "--model", tiny, "--file", jsonl, "--json", "--backend", "torch")
    assert [json.loads(x)["line"] for x in result.stdout.splitlines()] == [1, 2, 3, 4]


@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_a_5_mb_line_works(tiny: Path, tmp_path: Path, suffix: str) -> None:
    words = " ".join(
        random.Random(1).choice(["great", "awful", "w1", "w2"]) for _ in range(900_000)
    )
    assert len(words) > 5_000_000
    path = tmp_path / f"long{suffix}"
    if suffix == ".csv":
        path.write_text(f'text\n"{words}"\nw1 great\n')
    else:
        path.write_text(f"{words}\nw1 great\n")
    result = cli("predict", "--model", tiny, "--file", path, "--json", "--backend", "torch")
    assert_ok(result)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in rows] == ([2, 3] if suffix == ".csv" else [1, 2])


# --------------------------------------------------------------------------- properties

SUFFIXES = [".csv", ".tsv", ".jsonl"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _in_tmp(name: str, data: bytes, load):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return load(path)


# bytes that look like the formats more often than uniform noise does
tokens = st.sampled_from(
    [b",", b"\t", b"\n", b"\r\n", b'"', b"{", b"}", b"[", b":", b"text", b"label", b"\xff",
     b"\xe2\x80\xa8", b"\x00", b"1", b"-", b"\\", b"null", b"a b", b"\xef\xbb\xbf"]
)  # fmt: skip
noisy = st.one_of(st.binary(max_size=300), st.lists(tokens, max_size=60).map(b"".join))


@FAST
@given(data=noisy, suffix=st.sampled_from(SUFFIXES), labeled=st.booleans())
def test_table_loader_on_random_bytes(data: bytes, suffix: str, labeled: bool) -> None:
    try:
        ds = _in_tmp(
            f"r{suffix}", data, lambda p: load_table(p, label_col="label" if labeled else None)
        )
    except RnnlabError:
        return
    assert len(ds.texts) >= 1 and all(t.strip() for t in ds.texts)  # fmt: skip


@FAST
@given(data=noisy, suffix=st.sampled_from(SUFFIXES))
def test_streaming_table_reader_on_random_bytes(data: bytes, suffix: str) -> None:
    try:
        rows = list(iter_table_texts(ByteLines(io.BytesIO(data).readlines()), "r", suffix))
    except RnnlabError:
        return
    assert all(isinstance(n, int) and isinstance(t, str) for n, t in rows)


@FAST
@given(data=noisy)
def test_line_reader_keeps_every_line_or_refuses(data: bytes) -> None:
    """Only b"\\n" ends a line: the lines, re-joined, are the text (CR of CRLF and BOM aside)."""
    try:
        lines = list(iter_lines(io.BytesIO(data), "<stdin>"))
    except RnnlabError:
        return
    pieces = data.split(b"\n") if data else []
    if data.endswith(b"\n"):
        pieces.pop()  # a final line feed ends the last line, it starts none
    if pieces:
        pieces[0] = pieces[0].removeprefix(b"\xef\xbb\xbf")
    assert [n for n, _ in lines] == list(range(1, len(pieces) + 1))
    assert [t for _, t in lines] == [p.decode("utf-8").removesuffix("\r") for p in pieces]


@FAST
@given(data=noisy)
def test_parallel_loader_on_random_bytes(data: bytes) -> None:
    try:
        pairs = _in_tmp("p.tsv", data, read_parallel_tsv)
    except RnnlabError:
        return
    assert pairs and all(s.strip() and t.strip() for s, t in pairs)


conllu_lines = st.lists(
    st.one_of(
        st.just("1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_"),
        st.just("# sent_id = 1"),
        st.just(""),
        st.lists(st.text(alphabet="ab1_-.\t ", max_size=6), min_size=1, max_size=12).map("\t".join),
    ),
    max_size=12,
).map(lambda lines: "\n".join(lines).encode())


@FAST
@given(data=st.one_of(noisy, conllu_lines))
def test_conllu_loader_on_random_bytes(data: bytes) -> None:
    try:
        bank = _in_tmp("t.conllu", data, load_conllu)
    except RnnlabError:
        return
    assert len(bank) >= 1


@settings(max_examples=40, deadline=None)
@given(data=noisy)
def test_imdb_loader_on_random_bytes(data: bytes) -> None:
    with pytest.raises(RnnlabError):
        _in_tmp("aclImdb_v1.tar.gz", data, load_imdb_splits)


cell = st.text(alphabet=string.ascii_letters + " ,;\t\n\r\"'\\é€\u2028\x0c", max_size=12)


@FAST
@given(
    rows=st.lists(st.tuples(cell, st.sampled_from(["neg", "pos", "1", " x "])), max_size=12),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_random_tables_round_trip_or_refuse(rows: list[tuple[str, str]], delimiter: str) -> None:
    """A table written by Python's csv module loads back exactly, or is refused with a reason
    (an empty text, fewer than two classes) -- never another exception."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(["text", "label"])
    w.writerows(rows)
    suffix = ".csv" if delimiter == "," else ".tsv"
    loadable = (
        bool(rows)
        and all(t.strip() for t, _ in rows)  # an empty text is refused
        and len({lab.strip() for _, lab in rows}) >= 2  # so is a single class
    )
    try:
        ds = _in_tmp(f"r{suffix}", buf.getvalue().encode(), load_table)
    except RnnlabError:
        assert not loadable, rows
        return
    assert loadable, rows
    assert ds.texts == [t for t, _ in rows]
    assert [ds.label_names[y] for y in ds.labels] == [lab.strip() for _, lab in rows]
