"""Parallel TSV files and (form, lemma) pairs from treebanks."""

from __future__ import annotations

import pytest

from rnnlab.data.conllu import Sentence, Treebank
from rnnlab.data.parallel import lemma_pairs, read_parallel_tsv, write_parallel_tsv
from rnnlab.errors import DataError


def test_reads_tatoeba_lines(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_bytes(
        "\ufeffGo.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"
        "\n"
        "I'm 19.\tTengo diecinueve.\n"
        "   \n"
        "Niño\tniño\textra\tcolumns\n".encode()
    )
    assert read_parallel_tsv(path) == [
        ("Go.", "Ve."),
        ("I'm 19.", "Tengo diecinueve."),
        ("Niño", "niño"),
    ]


def test_line_without_tab_is_named(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tb\n\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv line 3: no tab"):
        read_parallel_tsv(path)


def test_empty_side_missing_file_bad_encoding_and_empty_file(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("a\tb\nc\t \n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: empty target"):
        read_parallel_tsv(path)
    with pytest.raises(DataError, match="not found"):
        read_parallel_tsv(tmp_path / "missing.tsv")
    path.write_bytes(b"a\tb\n\xff\xfe\tc\n")
    with pytest.raises(DataError, match="line 2: not valid UTF-8"):
        read_parallel_tsv(path)
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no pairs"):
        read_parallel_tsv(path)


def test_write_then_read_round_trip(tmp_path):
    pairs = [("uno de enero de dos mil", "2000-01-01"), ("Ñu", "ñu")]
    path = write_parallel_tsv(pairs, tmp_path / "sub" / "p.tsv")
    assert read_parallel_tsv(path) == pairs
    with pytest.raises(DataError, match="tab or newline"):
        write_parallel_tsv([("a\tb", "c")], tmp_path / "q.tsv")


def _treebank():
    s1 = Sentence(["The", "dogs", "saw", "it"], ["the", "dog", "see", "it"], ["DET"] * 4)
    s2 = Sentence(["I", "saw", "a", "saw"], ["I", "see", "a", "saw"], ["PRON"] * 4)
    s3 = Sentence(["saw"], ["saw"], ["NOUN"])
    return Treebank([s1, s2, s3], "mem", "0")


def test_lemma_pairs_tokens_and_unique_majority():
    tb = _treebank()
    tokens = lemma_pairs(tb)
    assert len(tokens) == tb.n_words == 9
    assert tokens[:3] == [("The", "the"), ("dogs", "dog"), ("saw", "see")]
    unique = dict(lemma_pairs(tb, unique=True))
    assert list(unique) == ["The", "dogs", "saw", "it", "I", "a"]
    # "saw" is "see" twice and "saw" twice: the tie goes to the alphabetically first lemma
    assert unique["saw"] == "saw"
    assert unique["dogs"] == "dog"


def test_only_line_feeds_end_a_line(tmp_path):
    """U+2028, U+0085 and a form feed are text inside a pair, not line breaks."""
    path = tmp_path / "odd.tsv"
    path.write_text("a\u2028b\tc\x0cd\r\ne\u0085f\tg\n", encoding="utf-8")
    assert read_parallel_tsv(path) == [("a\u2028b", "c\x0cd"), ("e\u0085f", "g")]
    path.write_text("a\tb\nx\u2028y\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: no tab"):
        read_parallel_tsv(path)
