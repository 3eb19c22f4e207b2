"""The ASCII fast path of tokenize(): the same tokens as the first release's expression.

``tokenize`` matches ASCII text with ``_ASCII_TOKEN_RE`` (ASCII classes, possessive
quantifiers), ~20% faster than the original ``_TOKEN_RE``. Models were trained on the
original's tokens, so the two must agree on every ASCII text: checked here exhaustively
on short strings and on generated ones, and in benchmarks/predict_speed.py on the 25,000
IMDB test reviews (its JSON records the count of identical reviews).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.text import tokenize
from rnnlab.text.tokenize import _ASCII_TOKEN_RE, normalize

FIXTURE = Path(__file__).parent.parent / "fixtures" / "labelled_reviews.tsv"

# The first release's expression, verbatim (as in test_tokenizers.py).
_OLD_WORD = r"[\w\u0300-\u036f]+"
_OLD_TOKEN_RE = re.compile(rf"{_OLD_WORD}(?:(?:'|(?<=\d)[.,](?=\d)){_OLD_WORD})*|\S")

ASCII = [chr(c) for c in range(128)]


def test_every_ascii_string_of_up_to_three_characters() -> None:
    # 2.1 million strings: every pairing of a character with what may surround it,
    # control characters included (U+001C-U+001F are spaces to `\S`, not to re.ASCII).
    for n in (1, 2, 3):
        for chars in itertools.product(ASCII, repeat=n):
            text = "".join(chars)
            assert _ASCII_TOKEN_RE.findall(text) == _OLD_TOKEN_RE.findall(text), repr(text)


# Pieces that exercise the inner joiners (apostrophes, decimal points, thousands commas)
# and everything around them.
_PIECES = ["don't", "'", "3.50", "1,000", "2.5x", ".", ",", "a", "Z9", "_", "'s", "..", "\x1c"]
ascii_texts = st.lists(
    st.one_of(st.sampled_from(ASCII), st.sampled_from(_PIECES), st.sampled_from([" ", "\n"])),
    max_size=80,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(ascii_texts)
def test_generated_ascii_text(text: str) -> None:
    assert _ASCII_TOKEN_RE.findall(text) == _OLD_TOKEN_RE.findall(text)
    normalized = normalize(text).replace("_", " _ ")  # what tokenize() matches
    assert tokenize(text) == _OLD_TOKEN_RE.findall(normalized)


def test_fixture_reviews_and_the_documented_examples() -> None:
    texts = [line.split("\t", 1)[1] for line in FIXTURE.read_text().splitlines()[1:]]
    texts += ["I didn't like it.<br /><br />10/10!", "It cost $3.50 &amp; more", "dogs' 1,000."]
    for text in texts:
        normalized = normalize(text).replace("_", " _ ")
        assert normalized.isascii()  # the fast path is the one under test
        assert tokenize(text) == _OLD_TOKEN_RE.findall(normalized)
    assert tokenize("It cost $3.50 &amp; more") == ["it", "cost", "$", "3.50", "&", "more"]


def test_non_ascii_text_does_not_take_the_fast_path() -> None:
    # "é" is a word character to the Unicode expression: the ASCII one would split at it.
    assert _ASCII_TOKEN_RE.findall("café") == ["caf", "é"]
    assert tokenize("Café, crème brûlée") == ["café", ",", "crème", "brûlée"]
