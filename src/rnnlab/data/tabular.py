"""Labeled texts from CSV, TSV and JSON Lines files, and the data-source dispatcher.

The format is chosen by extension: ``.csv``; ``.tsv``/``.tab``; ``.jsonl``/``.ndjson``.
Files must be UTF-8 (a byte-order mark is accepted). Labels may be strings or
integers (JSON Lines: also booleans); they become strings, and `label_names` is
their sorted set (numerically when all look like integers) unless given.
Every problem raises `DataError` naming the file and, where it applies, the line.
The fingerprint `TextDataset.sha256` is the sha256 of the file's bytes.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

from rnnlab.data.dataset import TextDataset
from rnnlab.data.imdb import is_imdb_source, load_imdb
from rnnlab.errors import DataError

TABLE_FORMATS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".jsonl": None, ".ndjson": None}
_INT = re.compile(r"[+-]?\d+")
_FIX_COLS = "pass --text-col/--label-col"


def _read_utf8(path: Path) -> tuple[str, str]:
    """Return the file's text (BOM removed) and the sha256 of its bytes."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise DataError(f"{path}: {what}; pass a .csv, .tsv or .jsonl file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    sha = hashlib.sha256(data).hexdigest()
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8"), sha
    except UnicodeDecodeError as e:
        line = body.count(b"\n", 0, e.start) + 1
        col = e.start - body.rfind(b"\n", 0, e.start)
        raise DataError(
            f"{path} line {line}: not valid UTF-8 (byte 0x{body[e.start]:02x} at position "
            f"{col}); re-save the file as UTF-8"
        ) from None


def _csv_rows(path: Path, text: str, delimiter: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the header and (line number, row as dict) for each non-blank row."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, dict]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path} line {start}: {len(row)} fields but the header has {len(header)}; "
                    f"quote fields that contain {delimiter!r} or newlines"
                )
            rows.append((start, dict(zip(header, row, strict=True))))
    except csv.Error as e:
        raise DataError(f"{path} line {reader.line_num}: malformed row ({e})") from None
    finally:
        csv.field_size_limit(old)
    if header is None:
        raise DataError(f"{path} is empty; expected a header row naming the columns")
    return header, rows


def _jsonl_rows(path: Path, text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the first record's keys and (line number, record) for each non-blank line."""
    rows: list[tuple[int, dict]] = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(
                f"{path} line {n}: not valid JSON ({e.msg} at column {e.colno}); "
                "each line must be one JSON object"
            ) from None
        if not isinstance(rec, dict):
            raise DataError(
                f"{path} line {n}: expected a JSON object like "
                f'{{"text": ..., "label": ...}}, got {type(rec).__name__}'
            )
        rows.append((n, rec))
    return (list(rows[0][1]) if rows else []), rows


def _label_str(value: Any, path: Path, line: int, col: str) -> str:
    if value is None:
        value = ""
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))
    elif not isinstance(value, str):
        raise DataError(
            f"{path} line {line}: label in '{col}' must be a string, integer or boolean, "
            f"got {json.dumps(value)}"
        )
    value = value.strip()
    if not value:
        raise DataError(f"{path} line {line}: missing label in column '{col}'; fill it in")
    return value


def _sorted_names(labels: set[str]) -> list[str]:
    if all(_INT.fullmatch(x) for x in labels):
        return sorted(labels, key=lambda x: (int(x), x))
    return sorted(labels)


def load_table(
    path: str | Path,
    text_col: str = "text",
    label_col: str | None = "label",
    label_names: list[str] | None = None,
) -> TextDataset:
    """Load texts and labels from a CSV, TSV or JSON Lines file.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.tsv``/``.tab`` or ``.jsonl``/``.ndjson`` file, UTF-8.
    text_col : str, optional
        Column (JSON key) holding the texts.
    label_col : str or None, optional
        Column holding the labels; None for unlabeled (prediction-only) data.
    label_names : list of str, optional
        The classes, in index order (e.g. from a trained model); a label outside
        them is an error. Default: the sorted labels found (numeric order when all
        are integers), which must be at least two.

    Returns
    -------
    TextDataset
        `labels` and `label_names` are empty when `label_col` is None.

    Raises
    ------
    DataError
        Unsupported extension, missing file or column, bad encoding or JSON,
        an empty text or label, no rows, a single class, or an unknown label.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise DataError(
            f"{path}: unsupported file type '{suffix or '(none)'}'; "
            f"use one of {', '.join(TABLE_FORMATS)}"
        )
    content, sha = _read_utf8(path)
    delimiter = TABLE_FORMATS[suffix]
    columns, rows = _csv_rows(path, content, delimiter) if delimiter else _jsonl_rows(path, content)
    for col in (text_col, label_col):
        if col is not None and rows and col not in columns:
            raise DataError(
                f"column '{col}' not found in {path}; columns found: {', '.join(columns)} "
                f"— {_FIX_COLS}"
            )
    if not rows:
        raise DataError(f"{path} has no rows; it needs at least one text")

    given = None if label_names is None else {str(n): i for i, n in enumerate(label_names)}
    if given is not None and len(given) != len(label_names):
        raise DataError(f"label names {label_names} are not unique; give each class once")
    texts: list[str] = []
    raw: list[str] = []
    for line, rec in rows:
        if text_col not in rec or (label_col is not None and label_col not in rec):
            missing = text_col if text_col not in rec else label_col
            raise DataError(f"{path} line {line}: no '{missing}' field; every line needs one")
        text = "" if rec[text_col] is None else rec[text_col]
        if not isinstance(text, str):
            raise DataError(f"{path} line {line}: text in '{text_col}' must be a string")
        if not text.strip():
            raise DataError(
                f"{path} line {line}: empty text in column '{text_col}'; fill it in or remove the row"
            )
        texts.append(text)
        if label_col is None:
            continue
        label = _label_str(rec[label_col], path, line, label_col)
        if given is not None and label not in given:
            raise DataError(
                f"{path} line {line}: label '{label}' is not one of the label names "
                f"{', '.join(given)}; fix the row or the label names"
            )
        raw.append(label)

    if label_col is None:
        return TextDataset(texts, [], [], source=str(path), sha256=sha)
    if given is None:
        names = _sorted_names(set(raw))
        if len(names) < 2:
            raise DataError(
                f"{path} needs at least two classes, found only '{names[0]}'; "
                f"check column '{label_col}'"
            )
        given = {n: i for i, n in enumerate(names)}
    return TextDataset(texts, [given[x] for x in raw], list(given), source=str(path), sha256=sha)


def load_texts(path: str | Path, text_col: str = "text") -> list[str]:
    """Load only the texts of a CSV, TSV or JSON Lines file (for prediction).

    Parameters
    ----------
    path : str or Path
        The file; see `load_table`.
    text_col : str, optional
        Column holding the texts.

    Returns
    -------
    list of str
        The texts in file order.
    """
    return load_table(path, text_col=text_col, label_col=None).texts


def load_dataset(
    source: str | Path,
    text_col: str = "text",
    label_col: str | None = "label",
    split: str = "train",
    cache_dir: str | Path | None = None,
    label_names: list[str] | None = None,
) -> TextDataset:
    """Load a dataset from IMDB (name, archive or folder) or a table file.

    Parameters
    ----------
    source : str or Path
        ``"imdb"``, an IMDB ``.tar.gz``/``.tgz`` archive or ``aclImdb`` folder,
        or a ``.csv``/``.tsv``/``.jsonl`` file.
    text_col, label_col : str, optional
        Columns of a table file (ignored for IMDB).
    split : str, optional
        IMDB split, ``"train"`` or ``"test"`` (ignored for table files).
    cache_dir : str or Path, optional
        Download cache for ``"imdb"``.
    label_names : list of str, optional
        Classes of a table file; see `load_table`.

    Returns
    -------
    TextDataset
        The loaded data.
    """
    if is_imdb_source(source):
        return load_imdb(source, split=split, cache_dir=cache_dir)
    path = Path(source).expanduser()
    if path.is_dir():
        raise DataError(
            f"{path} is a folder but not an IMDB one (no aclImdb/ or train/pos/ inside); "
            "pass a .csv, .tsv or .jsonl file, an IMDB archive, or 'imdb'"
        )
    return load_table(path, text_col=text_col, label_col=label_col, label_names=label_names)
