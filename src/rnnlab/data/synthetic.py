"""Generated corpora that isolate one property of text: word order, or a tag's clues.

``toy_treebank`` (at the end of this module) makes a tagging language where a
word's tag needs its left context or its spelling; see its docstring.

``order_sensitive_reviews`` makes short reviews whose sentiment depends only
on word *order*. Every review holds one positive and one negative adjective;
a template says which of the two counts:

- contrast, "X but Y": ``the plot was dull but the ending was superb`` (the
  clause after "but" wins: pos);
- negation scope, "not X but Y": ``the cast was not superb but dull`` (the
  negated adjective is discarded: neg);
- apposition, "X, not Y": ``the music was dull , not superb`` (neg);
- "not X , Y": the template's second adjective counts.

By construction, swapping the two adjectives flips the label and leaves the
multiset of words unchanged, and both orders are equally likely. So any model
that sees only a bag of words (counts, binary, TF-IDF, averaged embeddings)
has, for every bag, both labels with probability 1/2: its expected accuracy is
exactly chance. A model that reads the order (an RNN) can reach 100%.

Word n-grams (n >= 2) are *not* blind to order: "but superb" gives the answer
away in the contrast template, which is why a bigram model does better than
chance here. Fillers ("really", "quite", ...) appear at random before each
adjective so that no fixed-position trick works either.
"""

from __future__ import annotations

import hashlib

import numpy as np

from rnnlab.data.conllu import Sentence, Treebank
from rnnlab.data.dataset import TextDataset

POSITIVE = (
    "superb", "wonderful", "brilliant", "moving", "delightful", "excellent", "gripping",
    "charming", "clever", "beautiful", "great", "memorable",
)  # fmt: skip
NEGATIVE = (
    "dull", "awful", "boring", "clumsy", "terrible", "tedious", "weak", "lifeless",
    "predictable", "ugly", "bad", "forgettable",
)  # fmt: skip
NOUNS = (
    "plot", "acting", "ending", "script", "music", "cast", "dialogue", "pacing",
    "photography", "story", "direction", "humour",
)  # fmt: skip
FILLERS = ("", "", "", "really", "quite", "rather", "so", "truly")

# Each template returns (words, index of the adjective that decides: 0 = first, 1 = second).
TEMPLATES = ("contrast", "not_but", "comma_not", "not_comma")


def _adj(word: str, rng: np.random.Generator) -> list[str]:
    filler = FILLERS[rng.integers(len(FILLERS))]
    return [filler, word] if filler else [word]


def _review(kind: str, first: str, second: str, rng: np.random.Generator) -> tuple[str, int]:
    n1, n2 = rng.choice(len(NOUNS), size=2, replace=False)
    a, b = _adj(first, rng), _adj(second, rng)
    if kind == "contrast":  # the clause after "but" decides
        words = ["the", NOUNS[n1], "was", *a, "but", "the", NOUNS[n2], "was", *b]
        return " ".join(words), 1
    if kind == "not_but":  # "not X but Y": Y decides
        words = ["the", NOUNS[n1], "was", "not", *a, "but", *b]
        return " ".join(words), 1
    if kind == "comma_not":  # "X , not Y": X decides
        words = ["the", NOUNS[n1], "was", *a, ",", "not", *b]
        return " ".join(words), 0
    if kind == "not_comma":  # "not X , Y": Y decides
        words = ["the", NOUNS[n1], "was", "not", *a, ",", *b]
        return " ".join(words), 1
    raise ValueError(f"template must be one of {TEMPLATES}, got {kind!r}")


def order_sensitive_reviews(n: int, seed: int = 0, source: str = "") -> TextDataset:
    """``n`` generated reviews whose label (neg 0 / pos 1) depends only on word order.

    Balanced by construction: each review draws a template, one positive and
    one negative adjective, and which of them comes first, all uniformly.
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        kind = TEMPLATES[rng.integers(len(TEMPLATES))]
        pos = POSITIVE[rng.integers(len(POSITIVE))]
        neg = NEGATIVE[rng.integers(len(NEGATIVE))]
        pos_first = bool(rng.integers(2))
        first, second = (pos, neg) if pos_first else (neg, pos)
        text, decides = _review(kind, first, second, rng)
        deciding_word = (first, second)[decides]
        texts.append(text)
        labels.append(int(deciding_word in POSITIVE))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return TextDataset(
        texts,
        labels,
        ["neg", "pos"],
        source or f"order-sensitive reviews (n={n}, seed={seed})",
        digest,
    )


# --------------------------------------------------------------------------- a toy treebank

AMBIGUOUS = ("book", "watch", "run", "play", "work")  # NOUN after "the", VERB after "to"
SUFFIX_TAGS = {"ous": "ADJ", "ly": "ADV"}  # the tag of a made-up word is in its ending
_TOY_NOUNS = ("cat", "dog", "idea", "car", "house", "song")
_TOY_ADJS = ("big", "red", "old", "new")
_TOY_PRONS = ("I", "we", "they", "you")


def made_up_word(rng, suffix: str) -> str:
    """A pronounceable stem of 2-4 syllables plus ``suffix`` ("bakitous", "lomely").

    ``rng`` is a :class:`random.Random`.
    """
    stem = "".join(
        rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))
    )
    return stem + suffix


def _toy_sentence(shape: int, rng) -> list[tuple[str, str]]:
    """(form, tag) pairs of one toy sentence of ``shape`` 0, 1 or 2, before the final "."."""
    if shape == 0:
        return [
            (rng.choice(_TOY_PRONS), "PRON"),
            ("want", "VERB"),
            ("to", "PART"),
            (rng.choice(AMBIGUOUS), "VERB"),
            ("the", "DET"),
            (rng.choice(_TOY_NOUNS), "NOUN"),
        ]
    if shape == 1:
        return [
            ("the", "DET"),
            (rng.choice(AMBIGUOUS), "NOUN"),
            ("is", "AUX"),
            (rng.choice(_TOY_ADJS), "ADJ"),
        ]
    suffix = rng.choice(sorted(SUFFIX_TAGS))
    return [
        (rng.choice(_TOY_PRONS), "PRON"),
        ("ran", "VERB"),
        (made_up_word(rng, suffix), SUFFIX_TAGS[suffix]),
    ]


def toy_treebank(n: int, seed: int = 0, source: str = "toy") -> Treebank:
    """A generated tagging language where a word's tag needs its context or its spelling.

    Three sentence shapes, in shares 1/4, 1/4, 1/2 (capitalised first word, final "."):

    - ``PRON want to AMB the NOUN .`` -- an ambiguous word (book, watch, run,
      play, work) is a VERB after "to" ...
    - ``the AMB is ADJ .`` -- ... and a NOUN after "the";
    - ``PRON ran WORD .`` -- WORD is made up for each sentence (so it is
      unknown to a word vocabulary) and its tag is in its ending: ``-ous``
      ADJ, ``-ly`` ADV. Only the characters can tell.

    Used by the tests and the docs; deterministic given ``seed``.
    """
    import random

    rng = random.Random(seed)
    sentences = []
    for i in range(n):
        words = [*_toy_sentence(min(i % 4, 2), rng), (".", "PUNCT")]
        forms = [w for w, _ in words]
        forms[0] = forms[0][0].upper() + forms[0][1:]
        tags = [t for _, t in words]
        sentences.append(Sentence(forms, list(forms), tags, f"{source}-{seed}-{i}"))
    digest = hashlib.sha256(f"{source}:{n}:{seed}".encode()).hexdigest()
    return Treebank(sentences, source, digest)
