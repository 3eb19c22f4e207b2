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

from rnnlab.embeddings import (
    Coverage,
    TokenFile,
    embedding_matrix,
    load_vectors,
    stable_hash,
    train_word2vec,
)
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


class CountingCorpus:
    """A restartable corpus read from a file, counting how often it is read from the start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield line.split()


@pytest.mark.parametrize("epochs", [1, 3])
def test_word2vec_from_a_restartable_corpus(
    tokens: list[list[str]], tmp_path: Path, epochs: int
) -> None:
    """gensim reads the corpus epochs + 1 times (vocabulary, then each epoch), and the
    vectors are exactly those trained from the same texts as a list."""
    path = tmp_path / "corpus.txt"
    path.write_text("".join(" ".join(t) + "\n" for t in tokens), encoding="utf-8")
    corpus = CountingCorpus(path)
    streamed = train_word2vec(corpus, dim=8, epochs=epochs, seed=5, min_count=1)
    assert corpus.passes == epochs + 1
    listed = train_word2vec(tokens, dim=8, epochs=epochs, seed=5, min_count=1)
    assert streamed.index_to_key == listed.index_to_key
    assert np.array_equal(streamed.vectors, listed.vectors)


def test_token_file_round_trip_and_same_vectors(tokens: list[list[str]], tmp_path: Path) -> None:
    tokens = [*tokens, ["tab\there", "new\nline", "ünï"]]
    corpus = TokenFile.write(tmp_path / "t.jsonl", iter(tokens))  # written in one pass
    assert list(corpus) == tokens and list(corpus) == tokens  # read again from the start
    a = train_word2vec(corpus, dim=8, epochs=2, seed=1)
    b = train_word2vec(tokens, dim=8, epochs=2, seed=1)
    assert np.array_equal(a.vectors, b.vectors)


def test_word2vec_refuses_a_one_shot_generator_and_raw_text_items(
    tokens: list[list[str]],
) -> None:
    with pytest.raises(RnnlabError, match="can be read only once; gensim reads the corpus 3 times"):
        train_word2vec((t for t in tokens), epochs=2)

    class Texts:
        def __iter__(self):
            yield "a raw text, not tokens"

    with pytest.raises(RnnlabError, match="got raw text"):
        train_word2vec(Texts(), epochs=1)
    with pytest.raises(RnnlabError, match="no word occurs 5 times in the 2 texts"):
        train_word2vec([["a", "b"], ["c"]], min_count=5)


def test_train_vectors_streams_text_and_table_files(reviews, tmp_path: Path) -> None:
    """A .txt corpus (one text per line) and the same texts in a CSV give the same vectors,
    read through a temporary token file (nothing of it left behind)."""
    from rnnlab.embeddings.word2vec import Word2VecConfig, load_word_vectors, train_vectors

    texts = reviews(120, seed=9)[0]
    txt = tmp_path / "corpus.txt"
    txt.write_text("\n".join(texts[:60]) + "\n\n" + "\n".join(texts[60:]) + "\n")
    csv_file = tmp_path / "corpus.csv"
    csv_file.write_text("text\n" + "".join(f"{t}\n" for t in texts))
    cfg = Word2VecConfig(dim=6, epochs=2, min_count=1)
    a = train_vectors(txt, tmp_path / "a", cfg)
    b = train_vectors(csv_file, tmp_path / "b", cfg)
    assert a["data"]["texts"] == b["data"]["texts"] == 120  # the blank line is not a text
    assert a["data"]["tokens"] == sum(len(tokenize(t)) for t in texts)
    assert a["data"]["sha256"] == hashlib.sha256(txt.read_bytes()).hexdigest()
    want = train_word2vec([tokenize(t) for t in texts], dim=6, epochs=2, min_count=1)
    for out in ("a", "b"):
        assert np.array_equal(load_word_vectors(tmp_path / out).vectors, want.vectors)
    with pytest.raises(RnnlabError, match="unsupported file type '.md'"):
        train_vectors(tmp_path / "x.md", tmp_path / "c", cfg)
