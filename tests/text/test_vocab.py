"""Tests for rnnlab.text.Vocab: build rules, encode/decode, save/load."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.errors import RnnlabError
from rnnlab.text import OOV, OOV_TOKEN, PAD, PAD_TOKEN, Vocab, tokenize

token_lists = st.lists(st.lists(st.sampled_from(list("abcdefghij") + ["zz", "é", "<"])), max_size=8)
max_sizes = st.one_of(st.none(), st.integers(2, 12))
min_freqs = st.integers(1, 4)
fast = settings(max_examples=150, deadline=None)


def test_build_order_and_specials() -> None:
    v = Vocab.build([["b", "a", "c"], ["a", "b"], ["a", "d"]])
    assert v.itos == [PAD_TOKEN, OOV_TOKEN, "a", "b", "c", "d"]  # 3, 2, then ties a-z
    assert (PAD, OOV) == (0, 1)
    assert v["a"] == 2 and v["nope"] == OOV
    assert "c" in v and "nope" not in v
    assert v.counts == {"a": 3, "b": 2, "c": 1, "d": 1}
    assert v.encode(["a", "x", "d"]) == [2, OOV, 5]
    assert v.decode([0, 1, 2, 5]) == [PAD_TOKEN, OOV_TOKEN, "a", "d"]


def test_max_size_and_min_freq() -> None:
    docs = [["a", "a", "a", "b", "b", "c"]]
    assert Vocab.build(docs, max_size=3).itos == [PAD_TOKEN, OOV_TOKEN, "a"]
    assert Vocab.build(docs, max_size=2).itos == [PAD_TOKEN, OOV_TOKEN]
    assert Vocab.build(docs, min_freq=2).itos == [PAD_TOKEN, OOV_TOKEN, "a", "b"]


def test_special_token_strings_are_not_counted() -> None:
    v = Vocab.build([[PAD_TOKEN, OOV_TOKEN, "x"]])
    assert v.itos == [PAD_TOKEN, OOV_TOKEN, "x"]
    assert v[OOV_TOKEN] == OOV


def test_build_from_generator_of_tokenized_texts() -> None:
    v = Vocab.build(tokenize(t) for t in ["Great film!", "Bad film."])
    assert v.itos[2] == "film"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("a raw review", "token_lists"),
        (["a raw review", "another"], "tokenize"),
        ([[1, 2]], "token"),
    ],
)
def test_build_rejects_raw_texts(bad: object, match: str) -> None:
    with pytest.raises(RnnlabError, match=match):
        Vocab.build(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_size": 1}, "max_size"), ({"max_size": 2.5}, "max_size"), ({"min_freq": 0}, "min_freq")],
)
def test_build_rejects_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(RnnlabError, match=match):
        Vocab.build([["a"]], **kwargs)


def test_encode_rejects_str_and_decode_rejects_out_of_range() -> None:
    v = Vocab.build([["a"]])
    with pytest.raises(RnnlabError, match="tokens"):
        v.encode("a")  # type: ignore[arg-type]
    with pytest.raises(RnnlabError, match="ids"):
        v.decode([3])
    with pytest.raises(RnnlabError, match="ids"):
        v.decode([-1])


@fast
@given(token_lists, max_sizes, min_freqs)
def test_build_properties(docs: list[list[str]], max_size: int | None, min_freq: int) -> None:
    v = Vocab.build(docs, max_size=max_size, min_freq=min_freq)
    counts = Counter(t for d in docs for t in d)
    assert v.itos[:2] == [PAD_TOKEN, OOV_TOKEN]
    assert len(set(v.itos)) == len(v.itos)
    assert sorted(v.stoi.values()) == list(range(len(v)))
    assert all(v.itos[i] == tok for tok, i in v.stoi.items())
    if max_size is not None:
        assert len(v) <= max_size
    for tok in v.itos[2:]:
        assert counts[tok] >= min_freq
        assert v.counts[tok] == counts[tok]
    # More frequent tokens never get a larger id; a dropped token is never
    # more frequent than a kept one.
    ids = v.itos[2:]
    assert all(counts[a] >= counts[b] for a, b in zip(ids, ids[1:], strict=False))
    dropped = [t for t in counts if t not in v and counts[t] >= min_freq]
    if dropped and ids:
        assert max(counts[t] for t in dropped) <= counts[ids[-1]]
    if max_size is None:
        assert len(dropped) == 0


@fast
@given(token_lists, max_sizes, min_freqs)
def test_save_load_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    docs: list[list[str]],
    max_size: int | None,
    min_freq: int,
) -> None:
    v = Vocab.build(docs, max_size=max_size, min_freq=min_freq)
    path = tmp_path_factory.mktemp("vocab") / "vocab.json"
    v.save(path)
    w = Vocab.load(path)
    assert w == v
    assert (w.itos, w.stoi, w.counts) == (v.itos, v.stoi, v.counts)
    assert Vocab.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_save_is_json_with_format_and_leaves_no_temp_files(tmp_path: Path) -> None:
    v = Vocab.build([["qué", "niño", "niño"]], max_size=10)
    path = tmp_path / "sub" / "vocab.json"
    v.save(path)
    d = json.loads(path.read_text(encoding="utf-8"))
    assert d["format"] == "rnnlab.vocab" and d["version"] == 1
    assert d["itos"] == [PAD_TOKEN, OOV_TOKEN, "niño", "qué"]
    assert d["counts"] == [0, 0, 2, 1]
    assert (d["min_freq"], d["max_size"]) == (1, 10)
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        b"\xff\xfe\x00",
        json.dumps({"format": "something.else", "version": 1}),
        json.dumps({"format": "rnnlab.vocab", "version": 99, "itos": [], "counts": []}),
        json.dumps({"format": "rnnlab.vocab", "version": 1, "itos": ["a"], "counts": [0]}),
        json.dumps(
            {
                "format": "rnnlab.vocab",
                "version": 1,
                "itos": ["<pad>", "<unk>", "a", "a"],
                "counts": [0, 0, 1, 1],
            }
        ),
        json.dumps([1, 2, 3]),
    ],
)
def test_load_rejects_corrupt_files(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "vocab.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RnnlabError, match="vocab"):
        Vocab.load(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RnnlabError, match="not found"):
        Vocab.load(tmp_path / "missing.json")
