"""Generated corpora that isolate one property of text: here, word order.

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
