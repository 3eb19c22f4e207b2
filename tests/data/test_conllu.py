"""CoNLL-U reading: words kept, and every malformed line or archive named."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from rnnlab.data.conllu import load_conllu, parse_conllu
from rnnlab.errors import DataError

GOOD = (
    "# sent_id = 1\n"
    "1-2\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tde\tde\tADP\t_\t_\t3\tcase\t_\t_\n"
    "2\tel\tel\tDET\t_\t_\t3\tdet\t_\t_\n"
    "3\tperro\tperro\tNOUN\t_\t_\t0\troot\t_\t_\n"
    "3.1\tx\tx\tX\t_\t_\t_\t_\t_\t_\n"
    "\n"
)


def test_words_only() -> None:
    (sentence,) = parse_conllu(GOOD)
    assert sentence.forms == ["de", "el", "perro"] and sentence.upos == ["ADP", "DET", "NOUN"]
    assert sentence.sent_id == "1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("4\tlate\tlate\n", r"line 7: 3 column\(s\) instead of 10"),
        ("hello world\n", r"line 7: 1 column\(s\) instead of 10"),
        ("x\tw\tw\tX\t_\t_\t0\troot\t_\t_\n", r"line 7: ID 'x' is not a word number"),
        ("4\tw\tw\tX\t_\t_\tz\troot\t_\t_\n", r"line 7: HEAD 'z' is not a word number"),
    ],
)
def test_malformed_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.conllu"
    path.write_text(GOOD.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"bad.conllu {message}.*10 tab-separated columns"):
        load_conllu(path)


def test_undecodable_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.conllu"
    path.write_bytes(GOOD.encode() + b"1\tcaf\xe9\tx\tX\t_\t_\t0\troot\t_\t_\n")
    with pytest.raises(DataError, match="bad.conllu line 8: not valid UTF-8"):
        load_conllu(path)


def ud_archive(path: Path, text: str) -> Path:
    data = text.encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("ud/x-ud-train.conllu")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_split_and_truncated_archive(tmp_path: Path) -> None:
    archive = ud_archive(tmp_path / "ud.tar.gz", GOOD * 200)
    assert len(load_conllu(archive, "train")) == 200
    with pytest.raises(DataError, match="has no \\*-ud-dev.conllu file .*x-ud-train.conllu"):
        load_conllu(archive, "dev")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match="cannot read the archive .*cut.tar.gz.*download it again"):
        load_conllu(cut, "train")
