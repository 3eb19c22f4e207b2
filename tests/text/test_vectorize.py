"""Bag of words and TF-IDF: the guide's formula by hand, its edges, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from rnnlab.errors import RnnlabError
from rnnlab.text import BagOfWords, TfIdf, tokenize

CORPUS = ["the cat sat on the mat", "the dog sat", "a cat and a dog"]

words = st.sampled_from(["good", "bad", "film", "plot", "a", "the", "!", "dull"])
documents = st.lists(st.lists(words, min_size=0, max_size=12).map(" ".join), min_size=1, max_size=8)


def dense(X: sp.spmatrix) -> np.ndarray:
    return np.asarray(X.todense())


def test_guide_tfidf_by_hand_on_three_documents():
    tfidf = TfIdf()  # the guide's definitions, no normalisation
    X = tfidf.fit_transform(CORPUS)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float64
    names = list(tfidf.get_feature_names_out())
    docs = [d.split() for d in CORPUS]
    N = len(docs)
    for i, doc in enumerate(docs):
        for term in set(w for d in docs for w in d):
            tf = doc.count(term) / len(doc)
            df = sum(term in d for d in docs)
            expected = tf * math.log(N / (df + 1))
            assert X[i, names.index(term)] == pytest.approx(expected, abs=1e-12), (i, term)


def test_guide_idf_edges_negative_for_every_document_zero_for_n_minus_one():
    docs = ["good film", "bad film", "film film", "good bad"]  # N = 4, "film" in 3 = N - 1
    tfidf = TfIdf().fit(docs)
    idf = dict(zip(tfidf.get_feature_names_out(), tfidf.idf_, strict=True))
    assert idf["film"] == 0.0  # in N-1 documents: log(N / N) is exactly zero
    everywhere = TfIdf().fit(["good film", "bad film", "film"])
    idf_all = dict(zip(everywhere.get_feature_names_out(), everywhere.idf_, strict=True))
    assert idf_all["film"] < 0  # in every document: log(N / (N + 1)) < 0
    row = dense(everywhere.transform(["film film"]))[0]
    assert row[list(everywhere.get_feature_names_out()).index("film")] < 0
    assert (TfIdf(idf="smooth").fit(docs).idf_ >= 1).all()  # scikit-learn's never below 1


def test_smooth_l2_equals_scikit_learn_tfidfvectorizer():
    ours = TfIdf(idf="smooth", norm="l2", ngram_range=(1, 2)).fit(CORPUS)
    ref = TfidfVectorizer(
        tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=(1, 2)
    ).fit(CORPUS)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    new = ["the cat and the dog sat", "unknown words only"]
    np.testing.assert_allclose(dense(ours.transform(new)), dense(ref.transform(new)), atol=1e-12)


def test_bag_of_words_counts_ngrams_and_vocabulary_limits():
    bow = BagOfWords(ngram_range=(1, 2))
    X = bow.fit_transform(["Good, good film!"])
    got = dict(zip(bow.get_feature_names_out(), dense(X)[0], strict=True))
    assert got == {",": 1, "!": 1, "film": 1, "good": 2, "good ,": 1, ", good": 1,
                   "good film": 1, "film !": 1}  # fmt: skip
    assert X.dtype == np.int64
    top = BagOfWords(max_features=2).fit(["a a a b b c", "a b d"])
    assert set(top.vocabulary_) == {"a", "b"}
    common = BagOfWords(min_df=2).fit(["a b", "a c", "a b d"])
    assert set(common.vocabulary_) == {"a", "b"}
    rare = BagOfWords(max_df=0.5).fit(["a b", "a c", "a b d", "a e"])
    assert set(rare.vocabulary_) == {"b", "c", "d", "e"}


def test_works_in_a_scikit_learn_pipeline_and_clones():
    from sklearn.linear_model import LogisticRegression

    texts = ["great film", "awful film", "great plot", "awful plot"] * 3
    y = [1, 0, 1, 0] * 3
    pipe = make_pipeline(TfIdf(norm="l2"), LogisticRegression(C=10)).fit(texts, y)
    assert list(pipe.predict(["great", "awful"])) == [1, 0]
    assert clone(TfIdf(idf="smooth")).get_params()["idf"] == "smooth"


def test_from_vocabulary_restores_an_identical_transform():
    fitted = TfIdf(ngram_range=(1, 2), norm="l2").fit(CORPUS)
    restored = TfIdf.from_vocabulary(fitted.vocabulary_, fitted.idf_, ngram_range=(1, 2), norm="l2")
    new = ["the cat and the dog", "a mat"]
    np.testing.assert_array_equal(dense(fitted.transform(new)), dense(restored.transform(new)))
    with pytest.raises(RnnlabError, match="idf_ has shape"):
        TfIdf.from_vocabulary(fitted.vocabulary_, fitted.idf_[:-1])
    with pytest.raises(RnnlabError, match="0..V-1"):
        BagOfWords.from_vocabulary({"a": 0, "b": 2})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: BagOfWords().fit("a single string"), "single str"),
        (lambda: BagOfWords().fit(["ok", 3]), "text 1 is a int"),
        (lambda: BagOfWords().fit([]), "no texts"),
        (lambda: BagOfWords(ngram_range=(2, 1)).fit(["a"]), "ngram_range"),
        (lambda: BagOfWords(max_features=0).fit(["a"]), "max_features"),
        (lambda: BagOfWords(min_df=1.5).fit(["a"]), "min_df"),
        (lambda: BagOfWords(min_df=5).fit(["a b", "c"]), "BagOfWords.fit"),
        (lambda: TfIdf(idf="log").fit(["a"]), "idf must be"),
        (lambda: TfIdf(norm="l1").fit(["a"]), "norm must be"),
        (lambda: TfIdf().fit(["a"]).transform("a"), "single str"),
    ],
)
def test_bad_input_names_the_problem(make, message):
    with pytest.raises(RnnlabError, match=message):
        make()


def test_transform_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="call fit"):
        TfIdf().transform(["a"])


@settings(max_examples=40, deadline=None)
@given(documents, documents)
def test_l2_rows_have_norm_one_or_zero(train, new):
    tfidf = TfIdf(norm="l2", idf="smooth").fit(train + ["seed"])
    norms = np.sqrt(np.asarray(tfidf.transform(new).multiply(tfidf.transform(new)).sum(axis=1)))
    for n in norms.ravel():
        assert n == pytest.approx(1.0) or n == 0.0


@settings(max_examples=40, deadline=None)
@given(documents, documents)
def test_counts_are_nonnegative_integers_and_binary_is_zero_one(train, new):
    train = train + ["seed"]
    counts = BagOfWords(ngram_range=(1, 2)).fit(train).transform(new)
    assert counts.dtype.kind == "i" and (counts.data > 0).all()
    for i, doc in enumerate(new):  # row sum: the document's tokens and adjacent pairs
        toks = [t for t in tokenize(doc)]
        assert counts[i].sum() <= len(toks) + max(len(toks) - 1, 0)
    binary = BagOfWords(ngram_range=(1, 2), binary=True).fit(train).transform(new)
    assert set(np.unique(binary.data)) <= {1}
    np.testing.assert_array_equal(dense(binary), dense(counts) > 0)


@settings(max_examples=40, deadline=None)
@given(documents, st.lists(st.sampled_from(["zzz", "qqq", "xyz"]), min_size=1, max_size=5))
def test_transform_ignores_unseen_words(train, unseen):
    train = train + ["seed"]
    for vec in (BagOfWords(), TfIdf(), TfIdf(norm="l2")):
        vec.fit(train)
        base = dense(vec.transform(train))
        padded = [f"{doc} {' '.join(unseen)}" for doc in train]
        np.testing.assert_allclose(dense(vec.transform(padded)), base, atol=1e-12)
        assert dense(vec.transform([" ".join(unseen)])).sum() == 0
