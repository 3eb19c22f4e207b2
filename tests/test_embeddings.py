"""Tests for Word2Vec training, vector files and vocabulary-aligned embedding matrices."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from rnnlab.embeddings import Coverage, embedding_matrix, load_vectors, stable_hash, train_word2vec
from rnnlab.errors import RnnlabError
from rnnlab.text import OOV, PAD, Vocab, tokenize


@pytest.fixture(scope="module")
def tokens(reviews) -> list[list[str]]:
    return [tokenize(t) for t in reviews(200, seed=3)[0]]


@pytest.mark.parametrize("algorithm", ["cbow", "skipgram"])
def test_word2vec_is_deterministic_for_a_seed(algorithm: str, tokens: list[list[str]]) -> None:
    a = train_word2vec(tokens, dim=8, algorithm=algorithm, epochs=2, seed=1)
    b = train_word2vec(tokens, dim=8, algorithm=algorithm, epochs=2, seed=1)
    c = train_word2vec(tokens, dim=8, algorithm=algorithm, epochs=2, seed=2)
    assert a.vector_size == 8 and a.vectors.dtype == np.float32
    assert a.index_to_key == b.index_to_key
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


def test_word2vec_is_identical_across_processes(tokens: list[list[str]]) -> None:
    """Word seeds use a stable hash, so another interpreter (other PYTHONHASHSEED) agrees."""
    script = (
        "import json, sys, hashlib\n"
        "from rnnlab.embeddings import train_word2vec\n"
        "kv = train_word2vec(json.load(sys.stdin), dim=8, epochs=1, seed=4)\n"
        "print(hashlib.sha256(kv.vectors.tobytes()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(tokens),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    here = train_word2vec(tokens, dim=8, epochs=1, seed=4)
    assert run.stdout.strip() == hashlib.sha256(here.vectors.tobytes()).hexdigest()


def test_cbow_and_skipgram_differ(tokens: list[list[str]]) -> None:
    cbow = train_word2vec(tokens, dim=8, algorithm="cbow", epochs=2)
    sg = train_word2vec(tokens, dim=8, algorithm="skipgram", epochs=2)
    assert cbow.index_to_key == sg.index_to_key
    assert not np.allclose(cbow.vectors, sg.vectors)
    assert np.isfinite(sg.vectors).all() and np.isfinite(cbow.vectors).all()


def test_word2vec_min_count() -> None:
    kv = train_word2vec([["a", "b", "a"], ["a", "c", "b"]], dim=4, min_count=2, epochs=1)
    assert sorted(kv.index_to_key) == ["a", "b"]


def test_word2vec_rejects_raw_text_and_bad_algorithm(tokens: list[list[str]]) -> None:
    with pytest.raises(RnnlabError, match="list of token lists"):
        train_word2vec("a text")
    with pytest.raises(RnnlabError, match="list of token lists"):
        train_word2vec(["a", "text"])
    with pytest.raises(RnnlabError, match="algorithm must be 'cbow' or 'skipgram'"):
        train_word2vec(tokens, algorithm="glove")


def test_stable_hash_is_crc32() -> None:
    assert stable_hash("hello") == 907060870  # zlib.crc32(b"hello"), the same in every run


WORDS = ["good", "bad", "film", "ünï"]
VECS = np.arange(12, dtype=np.float32).reshape(4, 3) / 4 - 1


def keyed() -> KeyedVectors:
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(WORDS, VECS)
    return kv


def assert_same(kv) -> None:
    assert kv.vector_size == 3
    assert list(kv.index_to_key) == WORDS
    for word, vec in zip(WORDS, VECS, strict=True):
        assert np.allclose(kv[word], vec, atol=1e-6)


def test_load_word2vec_text(tmp_path: Path) -> None:
    keyed().save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    assert (tmp_path / "v.txt").read_text(encoding="utf-8").startswith("4 3\n")
    assert_same(load_vectors(tmp_path / "v.txt"))
    assert_same(load_vectors(tmp_path / "v.txt", fmt="word2vec"))


def test_load_word2vec_binary(tmp_path: Path) -> None:
    keyed().save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    assert_same(load_vectors(tmp_path / "v.bin"))
    (tmp_path / "v.bin").rename(tmp_path / "vectors")
    assert_same(load_vectors(tmp_path / "vectors", fmt="word2vec-binary"))


def test_load_glove_text(tmp_path: Path) -> None:
    lines = [" ".join([w, *(f"{x:.4f}" for x in v)]) for w, v in zip(WORDS, VECS, strict=True)]
    (tmp_path / "glove.6B.3d.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_same(load_vectors(tmp_path / "glove.6B.3d.txt"))
    assert_same(load_vectors(tmp_path / "glove.6B.3d.txt", fmt="glove"))


def test_load_vectors_errors(tmp_path: Path) -> None:
    with pytest.raises(RnnlabError, match="embedding file not found: .*nope.txt"):
        load_vectors(tmp_path / "nope.txt")
    with pytest.raises(RnnlabError, match="embedding file not found"):
        load_vectors(tmp_path)  # a folder
    (tmp_path / "bad.txt").write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(RnnlabError, match="cannot read .*bad.txt as glove vectors"):
        load_vectors(tmp_path / "bad.txt")
    with pytest.raises(RnnlabError, match="fmt must be auto, word2vec"):
        load_vectors(tmp_path / "bad.txt", fmt="fasttext")


def test_embedding_matrix_rows_and_coverage() -> None:
    vocab = Vocab(["film", "Good", "bad", "zzz"], counts={"film": 5, "Good": 3, "bad": 2, "zzz": 1})
    kv = keyed()
    matrix, cov = embedding_matrix(vocab, kv, seed=0)
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    assert np.array_equal(matrix[PAD], np.zeros(3))
    assert np.array_equal(matrix[vocab["film"]], kv["film"])
    assert np.array_equal(matrix[vocab["Good"]], kv["good"])  # found lowercased
    assert np.array_equal(matrix[vocab["bad"]], kv["bad"])
    for row in (OOV, vocab["zzz"]):  # no vector: a small random row
        assert np.abs(matrix[row]).sum() > 0
        assert not any(np.array_equal(matrix[row], v) for v in VECS)
    assert cov == Coverage(vocab_covered=3, vocab_total=4, tokens_covered=10, tokens_total=11)
    assert cov.vocab_share == 0.75 and cov.token_share == pytest.approx(10 / 11)
    assert cov.to_dict()["token_share"] == round(10 / 11, 4)

    again, _ = embedding_matrix(vocab, kv, seed=0)
    other, _ = embedding_matrix(vocab, kv, seed=1)
    assert np.array_equal(matrix, again)
    assert not np.array_equal(matrix[OOV], other[OOV])
    assert np.array_equal(matrix[vocab["film"]], other[vocab["film"]])


def test_embedding_matrix_from_trained_word2vec(tokens: list[list[str]]) -> None:
    vocab = Vocab.build(tokens, min_freq=1)
    kv = train_word2vec(tokens, dim=8, min_count=3, epochs=1)
    matrix, cov = embedding_matrix(vocab, kv)
    assert matrix.shape == (len(vocab), 8)
    for i, token in enumerate(vocab.itos[2:], start=2):
        if token in kv.key_to_index:
            assert np.array_equal(matrix[i], kv[token])
    assert cov.vocab_covered == sum(t in kv.key_to_index for t in vocab.itos[2:])
    assert cov.tokens_total == sum(vocab.counts.values())
