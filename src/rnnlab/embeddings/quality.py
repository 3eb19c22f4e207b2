"""How good are the word vectors? Neighbours, analogies and the standard test sets.

The guide's claim about Word2Vec is that words used in similar contexts get
similar vectors, so that geometry in the vector space reflects meaning. This
module lets a student check the claim on their own vectors::

    from rnnlab.embeddings.quality import analogy, evaluate, neighbors
    from rnnlab.embeddings.word2vec import load_word_vectors, train_vectors
    train_vectors("aclImdb_v1_labeled.tar.gz", out="vectors/imdb-cbow")   # IMDB train split
    kv = load_word_vectors("vectors/imdb-cbow")
    neighbors(kv, "awful", k=5)          # [{"word": "terrible", "similarity": 0.8}, ...]
    analogy(kv, "king", "man", "woman")  # king - man + woman ~ queen
    evaluate(kv)                         # WordSim353, SimLex-999, Google analogies

Three ways to look at the vectors, all with cosine similarity
``cos(u, v) = u·v / (|u| |v|)``:

- **nearest neighbours**: the k words whose vectors have the highest cosine
  with the word's vector (the word itself excluded);
- **analogies** (Mikolov et al., 2013, "3CosAdd"): ``analogy(a, b, c)`` ranks
  words by ``cos(x, â - b̂ + ĉ)`` where ``â`` is ``a``'s vector scaled to unit
  length. Read it as "``a`` is to ``b`` as ``?`` is to ``c``": with ``a = king``,
  ``b = man``, ``c = woman`` the answer should be ``queen``
  (king - man + woman ~ queen). As in the original evaluation, ``a``, ``b``
  and ``c`` themselves are never answers;
- **test sets** shipped inside gensim (``gensim/test/test_data``):
  WordSim353 and SimLex-999 pair words with human similarity ratings, scored by
  the Spearman (rank) and Pearson correlation between the ratings and the
  cosines; ``questions-words.txt`` holds 19,544 analogy questions
  ``a b c d`` (``d ~ b - a + c``) in 14 sections, the first five semantic
  (capitals, currencies, family, ...), the ``gram*`` ones syntactic (plural,
  past tense, ...). An analogy counts as correct only if ``d`` is the top
  answer among the ``restrict_vocab`` most frequent words.

Words are looked up as given, then as rnnlab's tokenizer would write them
(lowercased, NFC, straight apostrophes: :func:`rnnlab.text.tokenize`), so
``"King"`` finds ``king`` in vectors trained on tokenized text, and a cased
file (e.g. Google News) still finds ``"King"`` itself. A test item with a word
that has no vector is out of vocabulary (OOV): it is skipped and counted, never
scored as wrong silently; ``accuracy_all`` also reports the share of *all*
questions answered correctly (OOV counted wrong), which is fairer when
comparing vectors with different vocabularies.

Trained vectors are saved without pickle: a directory with ``vectors.bin``
(word2vec binary format, readable by gensim, by :func:`rnnlab.embeddings.load_vectors`
and by ``rnnlab train --embedding DIR/vectors.bin``) and ``config.json``
(settings, data sha256, vocabulary size, training seconds, sha256 of
``vectors.bin``), written atomically by :func:`rnnlab.artifacts.write_model_dir`.

Shape legend: V vocabulary size, R restricted vocabulary (``restrict_vocab``),
D vector size, Q analogy questions in a batch.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.embeddings.word2vec import load_word_vectors
from rnnlab.errors import DataError, RnnlabError
from rnnlab.text import tokenize

__all__ = [
    "analogy",
    "analogy_accuracy",
    "evaluate",
    "gensim_test_file",
    "lookup",
    "neighbors",
    "word_similarity",
]

DEFAULT_RESTRICT_VOCAB = 30000  # Mikolov et al. (2013) answer among the 30k most frequent words
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
_BATCH = 512  # analogy questions scored per matrix product: (Q, R) float32 scores


# --------------------------------------------------------------------------- lookup


def _variants(word: str) -> list[str]:
    """The spellings tried for `word`: as given, then as the tokenizer writes it."""
    out = [word]
    if isinstance(word, str):
        tokens = tokenize(word)
        if len(tokens) == 1:
            out.append(tokens[0])
        out.append(unicodedata.normalize("NFC", word).lower())
    return list(dict.fromkeys(out))


def lookup(vectors, word: str, limit: int | None = None) -> str | None:
    """The key under which `word` has a vector (as given, else tokenizer-style), or None.

    With `limit`, only the `limit` first (most frequent) keys count.
    """
    index = vectors.key_to_index
    for key in _variants(word):
        i = index.get(key)
        if i is not None and (limit is None or i < limit):
            return key
    return None


def _require(vectors, word: str) -> str:
    """`lookup`, raising a one-line RnnlabError that names the word and suggests others."""
    if not isinstance(word, str) or not word.strip():
        raise RnnlabError(f"a word must be a non-empty string, got {word!r}")
    key = lookup(vectors, word)
    if key is not None:
        return key
    n = len(vectors.index_to_key)
    pool = vectors.index_to_key[:50000]  # the most frequent words: keeps the search fast
    close = difflib.get_close_matches(_variants(word)[-1], pool, n=3, cutoff=0.75)
    hint = (
        f"did you mean {', '.join(repr(w) for w in close)}?"
        if close
        else "try a more frequent word (words rarer than min_count at training have no vector)"
    )
    raise RnnlabError(f"{word!r} is not in the vocabulary ({n} words); {hint}")


def _unit(vectors, limit: int | None = None) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero): (V, D) or (R, D) float32."""
    matrix = np.asarray(vectors.vectors if limit is None else vectors.vectors[:limit])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)  # (V, 1)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise RnnlabError(f"k must be an integer >= 1, got {k!r}")


def _check_restrict(restrict_vocab: int | None) -> None:
    if restrict_vocab is not None and (
        isinstance(restrict_vocab, bool)
        or not isinstance(restrict_vocab, int | np.integer)
        or restrict_vocab < 1
    ):
        raise RnnlabError(
            f"restrict_vocab must be an integer >= 1 or None (all words), got {restrict_vocab!r}"
        )


def _top(scores: np.ndarray, exclude: list[int], k: int) -> list[int]:
    """Indices of the k highest scores, excluded indices removed; ties: lower index first."""
    scores = scores.copy()
    scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in part[np.lexsort((part, -scores[part]))]]


# --------------------------------------------------------------------------- queries


def neighbors(
    vectors, word: str, k: int = 10, restrict_vocab: int | None = None
) -> list[dict[str, Any]]:
    """The `k` words most similar to `word` by cosine similarity.

    Parameters
    ----------
    vectors : KeyedVectors, str or Path
        Vectors, or a vectors directory/file (see `load_word_vectors`).
    word : str
        The query; looked up as given, then lowercased like the tokenizer does.
    k : int, optional
        How many neighbours.
    restrict_vocab : int, optional
        Only consider the this many most frequent words (None: all).

    Returns
    -------
    list of dict
        ``{"word", "similarity"}``, most similar first; `word` itself excluded.

    Raises
    ------
    RnnlabError
        `word` has no vector (the message suggests close spellings), or bad `k`.
    """
    vectors = load_word_vectors(vectors)
    _check_k(k)
    _check_restrict(restrict_vocab)
    key = _require(vectors, word)
    unit = _unit(vectors)  # (V, D)
    i = vectors.key_to_index[key]
    scores = unit[:restrict_vocab] @ unit[i]  # (R,)
    exclude = [i] if i < len(scores) else []
    return [
        {"word": vectors.index_to_key[j], "similarity": float(scores[j])}
        for j in _top(scores, exclude, k)
    ]


def analogy(
    vectors, a: str, b: str, c: str, k: int = 5, restrict_vocab: int | None = None
) -> list[dict[str, Any]]:
    """Words closest to ``a - b + c``: ``analogy(kv, "king", "man", "woman")`` ~ queen.

    "``a`` is to ``b`` as ? is to ``c``". Scores are ``cos(x, â - b̂ + ĉ)``
    with unit-length ``â, b̂, ĉ`` (3CosAdd, Mikolov et al. 2013); ``a``, ``b``
    and ``c`` are never returned.

    Parameters
    ----------
    vectors : KeyedVectors, str or Path
        Vectors, or a vectors directory/file.
    a : str
        The word to start from (king).
    b : str
        The word subtracted (man).
    c : str
        The word added (woman).
    k : int, optional
        How many answers.
    restrict_vocab : int, optional
        Only answer among this many most frequent words (None: all).

    Returns
    -------
    list of dict
        ``{"word", "similarity"}``, best first.
    """
    vectors = load_word_vectors(vectors)
    _check_k(k)
    _check_restrict(restrict_vocab)
    keys = [_require(vectors, w) for w in (a, b, c)]
    idx = [vectors.key_to_index[w] for w in keys]
    unit = _unit(vectors)  # (V, D)
    target = unit[idx[0]] - unit[idx[1]] + unit[idx[2]]  # (D,)
    norm = float(np.linalg.norm(target))
    target = target / norm if norm > 0 else target
    scores = unit[:restrict_vocab] @ target  # (R,)
    exclude = [i for i in idx if i < len(scores)]
    return [
        {"word": vectors.index_to_key[j], "similarity": float(scores[j])}
        for j in _top(scores, exclude, k)
    ]


# --------------------------------------------------------------------------- test sets


def gensim_test_file(name: str) -> Path | None:
    """Path of a file in gensim's bundled test data, or None when it is not installed."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        return None
    path = Path(datapath(name))
    return path if path.is_file() else None


def _read_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"test file not found: {path}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not valid UTF-8; re-save it as UTF-8") from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _correlations(human: list[float], model: list[float]) -> tuple[float | None, float | None]:
    from scipy.stats import pearsonr, spearmanr

    if len(human) < 3 or np.ptp(human) == 0 or np.ptp(model) == 0:
        return None, None
    return float(spearmanr(human, model).statistic), float(pearsonr(human, model).statistic)


def word_similarity(vectors, path: str | Path) -> dict[str, Any]:
    """Correlation between human similarity ratings and cosine similarities.

    The file has one ``word1 <tab> word2 <tab> rating`` per line (whitespace
    also separates; lines starting with ``#`` are comments), as WordSim353 and
    SimLex-999 in gensim's test data. Pairs with a word that has no vector are
    skipped and counted in ``oov_pairs``; the whole vocabulary is searched.

    Returns
    -------
    dict
        ``file, pairs, oov_pairs, oov_share, scored, spearman, pearson``
        (the correlations are None with fewer than 3 scored pairs).
    """
    vectors = load_word_vectors(vectors)
    path = Path(path)
    unit = _unit(vectors)
    human, model, oov, pairs = [], [], 0, 0
    for line_no, line in _read_lines(path):
        if line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            w1, w2, rating = parts[0].strip(), parts[1].strip(), float(parts[2])
        except (IndexError, ValueError):
            raise DataError(
                f"{path} line {line_no}: expected 'word1<TAB>word2<TAB>rating', got {line!r}"
            ) from None
        pairs += 1
        k1, k2 = lookup(vectors, w1), lookup(vectors, w2)
        if k1 is None or k2 is None:
            oov += 1
            continue
        human.append(rating)
        model.append(float(unit[vectors.key_to_index[k1]] @ unit[vectors.key_to_index[k2]]))
    if pairs == 0:
        raise DataError(f"{path} has no word pairs; expected 'word1<TAB>word2<TAB>rating' lines")
    spearman, pearson = _correlations(human, model)
    return {
        "file": str(path),
        "pairs": pairs,
        "oov_pairs": oov,
        "oov_share": oov / pairs,
        "scored": len(human),
        "spearman": spearman,
        "pearson": pearson,
    }


def _tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    questions = sum(r["questions"] for r in rows)
    oov = sum(r["oov"] for r in rows)
    correct = sum(r["correct"] for r in rows)
    answered = questions - oov
    return {
        "questions": questions,
        "oov": oov,
        "oov_share": oov / questions if questions else None,
        "answered": answered,
        "correct": correct,
        "accuracy": correct / answered if answered else None,
        "accuracy_all": correct / questions if questions else None,
    }


def analogy_accuracy(
    vectors, path: str | Path, restrict_vocab: int | None = DEFAULT_RESTRICT_VOCAB
) -> dict[str, Any]:
    """Accuracy on analogy questions ``a b c d`` (``d ~ b - a + c``), per section.

    The file format is word2vec's ``questions-words.txt``: ``: section`` lines,
    then four words per line. Sections whose name starts with ``gram`` are
    syntactic, the others semantic. A question with a word outside the
    `restrict_vocab` most frequent words is OOV (skipped and counted); the
    others are answered among those words, ``a``, ``b``, ``c`` excluded.

    Returns
    -------
    dict
        ``file, restrict_vocab, sections`` (name -> tally), ``semantic``,
        ``syntactic``, ``overall``; a tally has ``questions, oov, oov_share,
        answered, correct, accuracy`` (of answered) and ``accuracy_all``
        (of all questions, OOV counted wrong).
    """
    vectors = load_word_vectors(vectors)
    _check_restrict(restrict_vocab)
    path = Path(path)
    limit = len(vectors.index_to_key) if restrict_vocab is None else restrict_vocab
    limit = min(limit, len(vectors.index_to_key))
    unit = _unit(vectors, limit)  # (R, D)
    index = vectors.key_to_index
    sections: dict[str, dict[str, Any]] = {}
    section = None
    for line_no, line in _read_lines(path):
        if line.startswith(":"):
            section = line[1:].strip() or f"section-{line_no}"
            sections.setdefault(section, {"questions": 0, "oov": 0, "ids": []})
            continue
        words = line.split()
        if len(words) != 4:
            raise DataError(f"{path} line {line_no}: expected four words 'a b c d', got {line!r}")
        if section is None:
            section = "analogies"
            sections.setdefault(section, {"questions": 0, "oov": 0, "ids": []})
        entry = sections[section]
        entry["questions"] += 1
        keys = [lookup(vectors, w, limit) for w in words]
        if any(key is None for key in keys):
            entry["oov"] += 1
        else:
            entry["ids"].append([index[key] for key in keys])
    if not sections:
        raise DataError(f"{path} has no analogy questions; expected lines 'a b c d'")
    rows = {}
    for name, entry in sections.items():
        ids = np.array(entry.pop("ids"), dtype=np.int64).reshape(-1, 4)  # (Q, 4)
        entry["correct"] = _count_correct(unit, ids)
        entry["semantic"] = not name.startswith("gram")
        rows[name] = {**_tally([entry]), "semantic": entry["semantic"]}
    semantic = [e for e in sections.values() if e["semantic"]]
    syntactic = [e for e in sections.values() if not e["semantic"]]
    return {
        "file": str(path),
        "restrict_vocab": limit,
        "sections": rows,
        "semantic": _tally(semantic),
        "syntactic": _tally(syntactic),
        "overall": _tally(list(sections.values())),
    }


def _count_correct(unit: np.ndarray, ids: np.ndarray) -> int:
    """How many questions (rows ``a b c d`` of `ids`) have ``d`` as the top 3CosAdd answer."""
    correct = 0
    for start in range(0, len(ids), _BATCH):
        q = ids[start : start + _BATCH]  # (Q, 4)
        target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]  # (Q, D): b - a + c
        scores = target @ unit.T  # (Q, R)
        rows = np.arange(len(q))
        for col in range(3):
            scores[rows, q[:, col]] = -np.inf
        correct += int((scores.argmax(axis=1) == q[:, 3]).sum())
    return correct


def evaluate(
    vectors,
    restrict_vocab: int | None = DEFAULT_RESTRICT_VOCAB,
    similarity: Mapping[str, str | Path] | None = None,
    analogies: str | Path | None = None,
) -> dict[str, Any]:
    """Score vectors on word-similarity and analogy test sets.

    Parameters
    ----------
    vectors : KeyedVectors, str or Path
        Vectors, or a vectors directory/file.
    restrict_vocab : int, optional
        Analogies are answered among this many most frequent words (default
        30,000 as in Mikolov et al. 2013; None: all words).
    similarity : mapping of str to path, optional
        Named similarity files; default WordSim353 and SimLex-999 from gensim's
        test data.
    analogies : str or Path, optional
        Analogy questions; default gensim's ``questions-words.txt``.

    Returns
    -------
    dict
        ``vocab_size``, ``similarity`` (name -> `word_similarity` result),
        ``analogy`` (`analogy_accuracy` result or None) and ``notes`` (test
        files that were skipped because gensim does not ship them here).
    """
    vectors = load_word_vectors(vectors)
    _check_restrict(restrict_vocab)
    notes: list[str] = []
    if similarity is None:
        similarity = {}
        for name, file in SIMILARITY_SETS.items():
            path = gensim_test_file(file)
            if path is None:
                notes.append(f"{file} not found in gensim's test data; {name} skipped")
            else:
                similarity[name] = path
    if analogies is None:
        analogies = gensim_test_file(ANALOGY_FILE)
        if analogies is None:
            notes.append(f"{ANALOGY_FILE} not found in gensim's test data; analogies skipped")
    return {
        "vocab_size": len(vectors.index_to_key),
        "vector_size": vectors.vector_size,
        "similarity": {name: word_similarity(vectors, p) for name, p in similarity.items()},
        "analogy": None
        if analogies is None
        else analogy_accuracy(vectors, analogies, restrict_vocab=restrict_vocab),
        "notes": notes,
    }
