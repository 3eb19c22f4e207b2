"""Bag of words and TF-IDF: a whole text as one fixed-length vector.

Before a recurrent network reads a text word by word, the guide turns it into a
single vector that ignores word order. Shapes: N documents, V terms in the
vocabulary (a term is a word or, with ``ngram_range``, a run of up to n words)::

    bow = BagOfWords(ngram_range=(1, 2), min_df=2)
    X = bow.fit_transform(train_texts)       # (N, V) scipy CSR, counts
    bow.get_feature_names_out()[:3]          # ['!', '! !', '! "']
    tfidf = TfIdf()                          # the guide's TF and IDF
    X = tfidf.fit_transform(train_texts)     # (N, V) float64 CSR

Both follow scikit-learn's conventions (``fit``/``transform``/``fit_transform``,
fitted attributes end in ``_``, ``get_params``) so they fit in a
``sklearn.pipeline.Pipeline``. Counting is done by scikit-learn's
``CountVectorizer`` with :func:`rnnlab.text.tokenize` as the tokenizer, so a
term here is exactly a token the recurrent models see. ``tokenizer=`` takes any
other callable ``str -> list[str]``, e.g. a (fitted) tokenizer object of
:mod:`rnnlab.text.tokenizers` for ``--tokenizer chars|subword``; an n-gram is
then n of its tokens joined by one space.

The guide's TF-IDF
------------------
For a term ``a``, a document ``d`` and a corpus ``D`` of ``N`` documents::

    TF(a, d)     = count of a in d / number of words in d
    IDF(a, D)    = log(N / (df(a) + 1))        df(a): documents of D that contain a
    TF-IDF(a, d) = TF(a, d) * IDF(a, D)

Two consequences of the ``+ 1`` in the guide's IDF are kept on purpose and
tested: a term in **every** document gets a *negative* weight
(``log(N / (N + 1)) < 0``) and a term in ``N - 1`` documents gets exactly
**zero**. ``idf="smooth"`` uses scikit-learn's ``log((1 + N) / (1 + df)) + 1``
instead, which is always >= 1.

Departure from the guide: "number of words in d" is taken as the number of
``d``'s terms that are in the vocabulary (the row sum of its counts). For
unigrams without vocabulary limits this is the guide's number of words of a
training document; it also means that words never seen in training are
ignored entirely rather than diluting the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer

from rnnlab.errors import RnnlabError
from rnnlab.text.tokenize import tokenize

__all__ = ["BagOfWords", "TfIdf"]


def _documents(raw_documents: Any, name: str) -> list[str]:
    """The documents as a list of str (a bare str or a non-str item is an error)."""
    if isinstance(raw_documents, str):
        raise RnnlabError(f"{name}: expected a list of texts, got a single str; wrap it in [...]")
    if not isinstance(raw_documents, Iterable):
        raise RnnlabError(f"{name}: expected a list of texts, got {type(raw_documents).__name__}")
    docs = list(raw_documents)
    for i, doc in enumerate(docs):
        if not isinstance(doc, str):
            raise RnnlabError(f"{name}: text {i} is a {type(doc).__name__}, expected str")
    return docs


class BagOfWords(TransformerMixin, BaseEstimator):
    """Term counts (or presence) of each document: a ``(N, V)`` sparse matrix.

    Parameters
    ----------
    ngram_range : (int, int), default (1, 1)
        Smallest and largest n of the word n-grams counted; ``(1, 2)`` counts
        words and pairs of adjacent words.
    binary : bool, default False
        Record 1 for a term present in the document instead of its count.
    max_features : int or None, default None
        Keep only the most frequent terms (by count over the training texts).
    min_df : int or float, default 1
        Drop terms found in fewer documents than this (a float is a share of N).
    max_df : int or float, default 1.0
        Drop terms found in more documents than this (a float is a share of N).
    tokenizer : callable or None, default None
        Splits one text into tokens (``str -> list[str]``); None is
        :func:`rnnlab.text.tokenize`. A tokenizer that learns (``subword``)
        must be fitted first. Its tokens must not contain spaces, which join
        the tokens of an n-gram (rnnlab's tokenizers never return one).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Column of each term; an n-gram's words are joined by one space.
    n_documents_ : int
        Number of training documents (not set on an instance restored with
        :meth:`from_vocabulary`).

    Notes
    -----
    Terms are :func:`rnnlab.text.tokenize` tokens (lowercased, punctuation
    kept as tokens) unless `tokenizer` says otherwise. Words not in
    `vocabulary_` are ignored by `transform`.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 1),
        binary: bool = False,
        max_features: int | None = None,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        tokenizer: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.ngram_range = ngram_range
        self.binary = binary
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.tokenizer = tokenizer

    # -- parameter checks -------------------------------------------------
    def _check_params(self) -> None:
        lo_hi = self.ngram_range
        if (
            not isinstance(lo_hi, (tuple, list))
            or len(lo_hi) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in lo_hi)
            or not 1 <= lo_hi[0] <= lo_hi[1]
        ):
            raise RnnlabError(
                f"ngram_range must be a pair (min_n, max_n) with 1 <= min_n <= max_n, got {lo_hi!r}"
            )
        mf = self.max_features
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, int) or mf < 1):
            raise RnnlabError(f"max_features must be an int >= 1 or None, got {mf!r}")
        for name in ("min_df", "max_df"):
            v = getattr(self, name)
            ok = (isinstance(v, int) and not isinstance(v, bool) and v >= 1) or (
                isinstance(v, float) and 0.0 <= v <= 1.0
            )
            if not ok:
                raise RnnlabError(
                    f"{name} must be an int >= 1 (documents) or a float in [0, 1] (share), "
                    f"got {v!r}"
                )
        if self.tokenizer is not None and not callable(self.tokenizer):
            raise RnnlabError(
                "tokenizer must be None (rnnlab.text.tokenize) or a callable str -> list[str], "
                f"got {type(self.tokenizer).__name__}"
            )

    def _counter(self, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
        return CountVectorizer(
            tokenizer=tokenize if self.tokenizer is None else self.tokenizer,
            token_pattern=None,
            lowercase=False,  # the tokenizers lowercase
            ngram_range=tuple(self.ngram_range),
            binary=self.binary,
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            vocabulary=vocabulary,
            dtype=np.int64,
        )

    # -- scikit-learn API --------------------------------------------------
    def fit(self, raw_documents: Iterable[str], y: Any = None) -> BagOfWords:
        """Learn the vocabulary of `raw_documents`."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and return the ``(N, V)`` counts of `raw_documents`."""
        self._check_params()
        docs = _documents(raw_documents, f"{type(self).__name__}.fit")
        if not docs:
            raise RnnlabError(f"{type(self).__name__}.fit: no texts to learn a vocabulary from")
        counter = self._counter()
        try:
            X = counter.fit_transform(docs)  # (N, V)
        except ValueError as exc:  # empty vocabulary, min_df > max_df, ...
            raise RnnlabError(f"{type(self).__name__}.fit: {exc}") from None
        counter.stop_words_ = None  # the pruned terms: large and never needed
        self.vocabulary_ = counter.vocabulary_
        self.n_documents_ = len(docs)
        self._fitted_counter = counter
        return X.tocsr()

    def transform(self, raw_documents: Iterable[str]) -> sp.csr_matrix:
        """``(N, V)`` counts (or 0/1 with ``binary``) of the vocabulary's terms."""
        self._check_fitted()
        docs = _documents(raw_documents, f"{type(self).__name__}.transform")
        return self._get_counter().transform(docs).tocsr()  # (N, V)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The terms, in column order (object array of str)."""
        self._check_fitted()
        names = np.empty(len(self.vocabulary_), dtype=object)
        for term, col in self.vocabulary_.items():
            names[col] = term
        return names

    # -- helpers -----------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(texts) first"
            )

    def _get_counter(self) -> CountVectorizer:
        counter = getattr(self, "_fitted_counter", None)
        if counter is None:  # restored from a vocabulary (see `from_vocabulary`)
            counter = self._counter(self.vocabulary_)
            counter._validate_vocabulary()
            self._fitted_counter = counter
        return counter

    @classmethod
    def from_vocabulary(cls, vocabulary: dict[str, int], **params: Any) -> BagOfWords:
        """A fitted instance from a saved `vocabulary_` (term -> column) and settings."""
        obj = cls(**params)
        obj._check_params()
        cols = sorted(vocabulary.values())
        if cols != list(range(len(cols))):
            raise RnnlabError(
                "vocabulary columns must be 0..V-1 with no gaps or repeats; "
                "the saved vocabulary is corrupted"
            )
        obj.vocabulary_ = dict(vocabulary)
        return obj


class TfIdf(BagOfWords):
    """TF-IDF weights of each document: a ``(N, V)`` float64 sparse matrix.

    ``TF(a, d) * IDF(a)`` with ``TF(a, d) = count(a, d) / (terms of d in the
    vocabulary)`` and, by default, the guide's ``IDF(a) = log(N / (df(a) + 1))``
    (see the module docstring for why a term in every document gets a negative
    weight and one in ``N - 1`` documents exactly zero).

    Parameters
    ----------
    idf : {"guide", "smooth"}, default "guide"
        ``"guide"``: ``log(N / (df + 1))``. ``"smooth"``: scikit-learn's
        ``log((1 + N) / (1 + df)) + 1`` (never below 1).
    norm : {"l2", None}, default None
        ``"l2"`` scales each row to unit Euclidean length (an all-zero row stays
        zero). With ``idf="smooth"`` and ``norm="l2"`` the output equals
        scikit-learn's ``TfidfVectorizer`` with the same tokenizer, because the
        TF denominator cancels.
    ngram_range, binary, max_features, min_df, max_df, tokenizer
        As in :class:`BagOfWords` (``binary`` makes the counts 0/1 before TF).

    Attributes
    ----------
    vocabulary_ : dict of str to int
    idf_ : ndarray of shape (V,)
        IDF of each column.
    n_documents_ : int
        N, the number of training documents.

    Examples
    --------
    >>> t = TfIdf().fit(["a good film", "a bad film", "a film"])
    >>> dict(zip(t.get_feature_names_out(), t.idf_.round(3).tolist()))
    {'a': -0.288, 'bad': 0.405, 'film': -0.288, 'good': 0.405}
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 1),
        binary: bool = False,
        max_features: int | None = None,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        idf: str = "guide",
        norm: str | None = None,
        tokenizer: Callable[[str], list[str]] | None = None,
    ) -> None:
        super().__init__(ngram_range, binary, max_features, min_df, max_df, tokenizer)
        self.idf = idf
        self.norm = norm

    def _check_params(self) -> None:
        super()._check_params()
        if self.idf not in ("guide", "smooth"):
            raise RnnlabError(f"idf must be 'guide' or 'smooth', got {self.idf!r}")
        if self.norm not in ("l2", None):
            raise RnnlabError(f"norm must be 'l2' or None, got {self.norm!r}")

    @staticmethod
    def idf_weights(df: np.ndarray, n_documents: int, kind: str = "guide") -> np.ndarray:
        """IDF from document frequencies: ``log(N / (df + 1))`` or the smooth variant."""
        df = np.asarray(df, dtype=np.float64)
        if kind == "guide":
            return np.log(n_documents / (df + 1.0))
        return np.log((1.0 + n_documents) / (1.0 + df)) + 1.0

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None) -> sp.csr_matrix:
        """Learn vocabulary and IDF, return the ``(N, V)`` TF-IDF of `raw_documents`."""
        counts = super().fit_transform(raw_documents)  # (N, V)
        df = np.bincount(counts.indices, minlength=counts.shape[1])  # (V,) docs per term
        self.idf_ = self.idf_weights(df, self.n_documents_, self.idf)
        return self._weigh(counts)

    def transform(self, raw_documents: Iterable[str]) -> sp.csr_matrix:
        """``(N, V)`` TF-IDF of `raw_documents` (unseen terms are ignored)."""
        if not hasattr(self, "idf_"):
            raise NotFittedError("this TfIdf is not fitted yet; call fit(texts) first")
        return self._weigh(super().transform(raw_documents))

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        X = counts.astype(np.float64)  # (N, V)
        lengths = np.asarray(X.sum(axis=1)).ravel()  # (N,) terms of each document
        X = sp.diags(1.0 / np.where(lengths > 0, lengths, 1.0)) @ X  # TF
        X = X @ sp.diags(self.idf_)  # TF * IDF
        if self.norm == "l2":
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())  # (N,)
            X = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ X
        X = sp.csr_matrix(X)
        X.eliminate_zeros()
        return X

    @classmethod
    def from_vocabulary(  # type: ignore[override]
        cls, vocabulary: dict[str, int], idf_: np.ndarray, **params: Any
    ) -> TfIdf:
        """A fitted instance from a saved vocabulary, its `idf_` array and settings."""
        obj = super().from_vocabulary(vocabulary, **params)
        weights = np.asarray(idf_, dtype=np.float64)
        if weights.shape != (len(vocabulary),):
            raise RnnlabError(
                f"idf_ has shape {weights.shape}, expected ({len(vocabulary)},) "
                "to match the vocabulary"
            )
        obj.idf_ = weights
        return obj
