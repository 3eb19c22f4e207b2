"""Labeled texts from CSV, TSV and JSON Lines files, and the data-source dispatcher.

The format is chosen by extension: ``.csv``; ``.tsv``/``.tab``; ``.jsonl``/``.ndjson``.
Files must be UTF-8 (a byte-order mark is accepted). Labels may be strings or
integers (JSON Lines: also booleans); they become strings, and `label_names` is
their sorted set (numerically when all look like integers) unless given.
Every problem raises `DataError` naming the file and, where it applies, the line.
The fingerprint `TextDataset.sha256` is the sha256 of the file's bytes.

Files are read as a stream of lines (:class:`ByteLines` -> :func:`iter_lines`
-> :func:`iter_table_texts`), so that ``rnnlab predict --file`` needs memory
for one chunk of rows, not for the file. Only a line feed ends a line (CRLF
too, its CR dropped): U+2028, U+0085 or a form feed inside a text is text,
as in CSV and JSON.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rnnlab.data.dataset import TextDataset
from rnnlab.data.imdb import is_imdb_source, load_imdb
from rnnlab.errors import DataError

TABLE_FORMATS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".jsonl": None, ".ndjson": None}
_INT = re.compile(r"[+-]?\d+")
_FIX_COLS = "pass --text-col/--label-col"
_FIELD_LIMIT = 2**31 - 1  # csv's default (131072 characters) is below a long review


class ByteLines:
    """The lines of a binary stream (``b"\\n"`` kept), counting and hashing what passes.

    Iterating a binary file splits at ``b"\\n"`` only, whatever else the bytes
    hold. ``bytes_read`` is what has been handed out so far (for a progress
    bar); ``sha256`` the hex digest of those bytes (the whole file once
    iteration ends).
    """

    def __init__(self, stream: Iterable[bytes]) -> None:
        self.stream = stream
        self.bytes_read = 0
        self._sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for raw in self.stream:
            self.bytes_read += len(raw)
            self._sha.update(raw)
            yield raw

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def _decoded(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, text with its line ending), strictly UTF-8, BOM dropped."""
    for n, raw in enumerate(lines, 1):
        if n == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(
                f"{name} line {n}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at position "
                f"{e.start + 1}); re-save the file as UTF-8"
            ) from None
        yield n, text


def iter_lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line of a binary stream, without its line ending.

    Only ``\\n`` ends a line (``\\r\\n`` too: the ``\\r`` is dropped); blank
    lines are kept, so line ``i`` of the output is line ``i`` of the input.

    Raises
    ------
    DataError
        Bytes that are not UTF-8, naming ``name`` and the line.
    """
    for n, text in _decoded(lines, name):
        if text.endswith("\n"):
            text = text[:-1]
            if text.endswith("\r"):
                text = text[:-1]
        yield n, text


class _Table:
    """Records of a CSV/TSV/JSONL stream: ``(line where the record starts, dict)``.

    ``columns`` is the header (CSV/TSV) or the first record's keys (JSONL),
    set before the first record is yielded (None until then). Blank lines
    are not records.
    """

    def __init__(self, lines: Iterable[bytes], name: str, delimiter: str | None) -> None:
        self.lines, self.name, self.delimiter = lines, name, delimiter
        self.columns: list[str] | None = None

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.delimiter is None:
            return self._jsonl()
        return self._csv()

    def _csv(self) -> Iterator[tuple[int, dict[str, Any]]]:
        at = 0  # the last line handed to the csv reader

        def texts() -> Iterator[str]:
            nonlocal at
            for n, text in _decoded(self.lines, self.name):
                at = n
                yield text

        reader = csv.reader(texts(), delimiter=self.delimiter)
        while True:
            start = at + 1
            old = csv.field_size_limit(_FIELD_LIMIT)
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise DataError(
                    f"{self.name} line {at}: malformed row ({e}); quote fields that contain "
                    f"{self.delimiter!r}, quotes or line breaks"
                ) from None
            finally:
                csv.field_size_limit(old)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if self.columns is None:
                self.columns = [c.strip() for c in row]
                continue
            if len(row) != len(self.columns):
                raise DataError(
                    f"{self.name} line {start}: {len(row)} fields but the header has "
                    f"{len(self.columns)}; quote fields that contain {self.delimiter!r} or newlines"
                )
            yield start, dict(zip(self.columns, row, strict=True))

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for n, line in iter_lines(self.lines, self.name):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"{self.name} line {n}: not valid JSON ({e.msg} at column {e.colno}); "
                    "each line must be one JSON object"
                ) from None
            except (ValueError, RecursionError) as e:  # a 5,000-digit number, [[[[...
                raise DataError(
                    f"{self.name} line {n}: not valid JSON ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else 'too deep'}); "
                    "each line must be one JSON object"
                ) from None
            if not isinstance(rec, dict):
                raise DataError(
                    f"{self.name} line {n}: expected a JSON object like "
                    f'{{"text": ..., "label": ...}}, got {type(rec).__name__}'
                )
            if self.columns is None:
                self.columns = list(rec)
            yield n, rec


def _check_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise DataError(
            f"{path}: unsupported file type '{suffix or '(none)'}'; "
            f"use one of {', '.join(TABLE_FORMATS)}"
        )
    return TABLE_FORMATS[suffix]


def open_binary(path: Path) -> BinaryIO:
    """``open(path, "rb")``, or a DataError naming the path and what to pass instead."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise DataError(f"{path}: {what}; pass a .csv, .tsv or .jsonl file")
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None


def _column_missing(col: str, columns: list[str] | None, name: str, flag: str) -> DataError:
    found = ", ".join(columns or []) or "(none)"
    close = difflib.get_close_matches(col, columns or [], n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return DataError(f"column '{col}' not found in {name}; columns found: {found} — {hint}{flag}")


def _text_of(rec: dict[str, Any], col: str, name: str, line: int) -> str:
    value = "" if rec[col] is None else rec[col]
    if not isinstance(value, str):
        raise DataError(f"{name} line {line}: text in '{col}' must be a string")
    return value


def iter_table_texts(
    lines: Iterable[bytes], name: str, suffix: str, text_col: str = "text"
) -> Iterator[tuple[int, str]]:
    """(line where the row starts, text) of each row of a CSV/TSV/JSONL stream.

    The streaming reader behind ``rnnlab predict --file table.csv``: one row
    in memory at a time. An empty or null text is yielded as ``""`` (the
    caller answers it with a reason); a missing column, bad JSON, a row with
    the wrong number of fields or undecodable bytes raise `DataError` naming
    ``name`` and the line.
    """
    suffix = suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise DataError(f"{name}: unsupported table type '{suffix}'; use .csv, .tsv or .jsonl")
    table = _Table(lines, name, TABLE_FORMATS[suffix])
    first = True
    for line, rec in table:
        if text_col not in rec:
            if first:
                raise _column_missing(text_col, table.columns, name, "pass --text-col")
            raise DataError(f"{name} line {line}: no '{text_col}' field; every line needs one")
        first = False
        yield line, _text_of(rec, text_col, name, line)


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
    delimiter = _check_suffix(path)
    given = None if label_names is None else {str(n): i for i, n in enumerate(label_names)}
    if given is not None and len(given) != len(label_names):
        raise DataError(f"label names {label_names} are not unique; give each class once")
    texts: list[str] = []
    raw: list[str] = []
    with open_binary(path) as fh:
        lines = ByteLines(fh)
        table = _Table(lines, str(path), delimiter)
        for line, rec in table:
            if not texts:  # the first record: the columns are known
                for col in (text_col, label_col):
                    if col is not None and col not in table.columns:
                        raise _column_missing(col, table.columns, str(path), _FIX_COLS)
            if text_col not in rec or (label_col is not None and label_col not in rec):
                missing = text_col if text_col not in rec else label_col
                raise DataError(f"{path} line {line}: no '{missing}' field; every line needs one")
            text = _text_of(rec, text_col, str(path), line)
            if not text.strip():
                raise DataError(
                    f"{path} line {line}: empty text in column '{text_col}'; "
                    "fill it in or remove the row"
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
        if table.columns is None and delimiter is not None:
            raise DataError(
                f"{path} is empty; give a header row naming the columns "
                f"(e.g. {text_col}{delimiter}{label_col or ''}) and then one row per text"
            )
        sha = lines.sha256
    if not texts:
        raise DataError(f"{path} has no rows; add one row per text under the header")
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
