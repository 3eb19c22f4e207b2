"""Tests for CSV/TSV/JSONL loading, its error messages, and `load_dataset` dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.data import load_dataset, load_table, load_texts, sha256_of_file
from rnnlab.errors import DataError


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def jsonl(path: Path, records: list[object]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def test_csv_string_labels_three_classes(tmp_path: Path) -> None:
    p = write(
        tmp_path / "r.csv",
        "text,label\n"
        '"Great, really great",pos\n'
        "Awful,neg\n"
        '"Two\nlines ""quoted"" — ünïcode",neutral\n'
        "Fine,pos\n",
    )
    ds = load_table(p)
    assert ds.label_names == ["neg", "neutral", "pos"]
    assert ds.labels == [2, 0, 1, 2]
    assert ds.texts[2] == 'Two\nlines "quoted" — ünïcode'
    assert ds.source == str(p) and ds.sha256 == sha256_of_file(p) and ds.ratings is None


def test_tsv_int_labels_sorted_numerically(tmp_path: Path) -> None:
    p = write(
        tmp_path / "r.tsv", "id\tlabel\treview\n1\t10\tgood\n2\t2\tok\n3\t1\tbad\n4\t2\tmeh\n"
    )
    ds = load_table(p, text_col="review")
    assert ds.label_names == ["1", "2", "10"]
    assert ds.labels == [2, 1, 0, 1]
    assert load_table(p.rename(tmp_path / "r.tab"), text_col="review").labels == ds.labels


def test_jsonl_int_and_bool_labels(tmp_path: Path) -> None:
    p = jsonl(tmp_path / "r.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 2}])
    write(p, p.read_text() + "\n" + json.dumps({"text": "c", "label": 1, "x": [1]}) + "\n")
    ds = load_table(p)
    assert ds.label_names == ["0", "1", "2"] and ds.labels == [0, 2, 1]
    b = jsonl(tmp_path / "b.ndjson", [{"text": "x", "label": True}, {"text": "y", "label": False}])
    assert load_table(b).label_names == ["false", "true"]


def test_bom_crlf_and_long_field(tmp_path: Path) -> None:
    long = "word " * 60_000  # > csv's default 131072-character field limit
    p = write(tmp_path / "r.csv", "\ufefftext,label\r\n" + f'"{long}",a\r\nshort,b\r\n')
    ds = load_table(p)
    assert ds.texts == [long, "short"] and ds.label_names == ["a", "b"]


def test_given_label_names(tmp_path: Path) -> None:
    p = write(tmp_path / "r.csv", "text,label\nx,pos\ny,pos\n")
    ds = load_table(p, label_names=["neg", "pos"])  # one class is fine with known classes
    assert ds.label_names == ["neg", "pos"] and ds.labels == [1, 1]
    with pytest.raises(DataError, match="r.csv line 3: label 'pos' is not one of the label names"):
        write(p, "text,label\nx,neg\ny,pos\n")
        load_table(p, label_names=["neg", "bad"])


def test_unlabeled_and_load_texts(tmp_path: Path) -> None:
    p = write(tmp_path / "r.csv", "review\nfirst\nsecond\n")
    ds = load_table(p, text_col="review", label_col=None)
    assert ds.texts == ["first", "second"] and ds.labels == [] and not ds.is_labeled
    assert load_texts(p, "review") == ["first", "second"]


def test_load_dataset_dispatches_tables(tmp_path: Path) -> None:
    p = jsonl(tmp_path / "r.jsonl", [{"t": "a", "y": "u"}, {"t": "b", "y": "v"}])
    assert load_dataset(p, text_col="t", label_col="y", split="test").texts == ["a", "b"]
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="is a folder but not an IMDB one"):
        load_dataset(tmp_path / "folder")


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        ("r.txt", "x", {}, r"unsupported file type '.txt'; use one of .csv, .tsv, .tab, .jsonl"),
        (
            "reviews.csv",
            "text,sentiment\na,pos\n",
            {"text_col": "review", "label_col": "sentiment"},
            "column 'review' not found in .*reviews.csv; columns found: text, sentiment "
            "— pass --text-col/--label-col",
        ),
        ("r.csv", "text,sentiment\na,pos\n", {}, "column 'label' not found"),
        ("r.jsonl", '{"review": "a", "label": 1}\n', {}, "column 'text' not found"),
        ("r.csv", "", {}, "r.csv is empty"),
        ("r.csv", "text,label\n\n", {}, "r.csv has no rows"),
        ("r.jsonl", "\n\n", {}, "r.jsonl has no rows"),
        ("r.csv", "text,label\na,pos\nb,pos\n", {}, "needs at least two classes, found only 'pos'"),
        ("r.csv", "text,label\na,pos\n  ,neg\n", {}, "r.csv line 3: empty text in column 'text'"),
        ("r.csv", "text,label\na,pos\nb,\n", {}, "r.csv line 3: missing label in column 'label'"),
        ("r.csv", "text,label\na,pos\nb,c,neg\n", {}, "line 3: 3 fields but the header has 2"),
        (
            "r.jsonl",
            '{"text": "a", "label": 1}\n{"text": "b"\n',
            {},
            "r.jsonl line 2: not valid JSON",
        ),
        ("r.jsonl", '{"text": "a", "label": 1}\n[1, 2]\n', {}, "line 2: expected a JSON object"),
        ("r.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n', {}, "line 2: no 'label' field"),
        ("r.jsonl", '{"text": "a", "label": null}\n', {}, "line 1: missing label"),
        ("r.jsonl", '{"text": "a", "label": 1.5}\n', {}, "line 1: label in 'label' must be"),
        ("r.jsonl", '{"text": 3, "label": 1}\n', {}, "line 1: text in 'text' must be a string"),
    ],
)
def test_bad_tables(
    tmp_path: Path, name: str, content: str, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_table(write(tmp_path / name, content), **kwargs)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.csv: not found"):
        load_table(tmp_path / "nope.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match="is a folder, not a file"):
        load_table(tmp_path / "d.csv")


def test_empty_text_line_after_multiline_row(tmp_path: Path) -> None:
    p = write(tmp_path / "r.csv", 'text,label\n"a\nb\nc",x\n\n"",y\n')
    with pytest.raises(DataError, match="r.csv line 6: empty text"):
        load_table(p)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_undecodable_bytes_name_file_line_and_position(tmp_path: Path, bom: bytes) -> None:
    p = write(tmp_path / "reviews.csv", bom + b"text,label\nok,a\nmy caf\xe9 is,b\n")
    with pytest.raises(
        DataError,
        match=r"reviews.csv line 3: not valid UTF-8 \(byte 0xe9 at position 7\); re-save",
    ):
        load_table(p)


def test_undecodable_first_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"line 1: not valid UTF-8 \(byte 0xff at position 1\)"):
        load_table(write(tmp_path / "r.jsonl", b"\xff{}\n"))
