"""Tests for rnnlab.text.tokenize: documented examples and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.errors import RnnlabError
from rnnlab.text import tokenize

# Text that mixes the characters the rules treat specially.
_ALPHABET = st.sampled_from(list("aZé É ñ¿¡!?.,'’‘/<>&;#_$0123456789\n\tİΣ\u0301👍🏽-"))
texts = st.one_of(st.text(), st.text(alphabet=_ALPHABET))
fast = settings(max_examples=200, deadline=None)


def test_imdb_review_with_br_tags() -> None:
    toks = tokenize("I didn't like it.<br /><br />10/10!")
    assert toks == ["i", "didn't", "like", "it", ".", "10", "/", "10", "!"]
    assert not any("<br" in t or "/>" in t for t in toks)


def test_spanish_review() -> None:
    assert tokenize("¿Qué película tan buena! Me encantó el niño") == [
        "¿",
        "qué",
        "película",
        "tan",
        "buena",
        "!",
        "me",
        "encantó",
        "el",
        "niño",
    ]


def test_entities_money_and_decimals() -> None:
    toks = tokenize("It cost $3.50 &amp; more")
    assert toks == ["it", "cost", "$", "3.50", "&", "more"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It’s 5 o'clock", ["it's", "5", "o'clock"]),
        ("L’amour", ["l'amour"]),
        ("didn&#39;t", ["didn't"]),
        ("dogs' 'tis", ["dogs", "'", "'", "tis"]),
        ("1,000 fans", ["1,000", "fans"]),
        ("wow!!!", ["wow", "!", "!", "!"]),
        ("a < b > c", ["a", "<", "b", ">", "c"]),
        ("&lt;3", ["<", "3"]),
        ("end.5 2.the", ["end", ".", "5", "2", ".", "the"]),
        ("foo_bar", ["foo", "_", "bar"]),
        ("Cafe\u0301", ["café"]),  # decomposed accent is NFC-composed
        ("¡Genial!👍", ["¡", "genial", "!", "👍"]),
        ("<p class='x'>Hi</p>", ["hi"]),
        ("", []),
        ("  \n\t ", []),
    ],
)
def test_rules(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize("bad", [["a review"], None, b"bytes", 3])
def test_non_str_is_rejected(bad: object) -> None:
    with pytest.raises(RnnlabError, match="text"):
        tokenize(bad)  # type: ignore[arg-type]


@fast
@given(texts)
def test_deterministic_nonempty_no_whitespace_lowercase(text: str) -> None:
    toks = tokenize(text)
    assert toks == tokenize(text)
    for tok in toks:
        assert tok
        assert not any(c.isspace() for c in tok)
        assert tok == tok.lower()


@fast
@given(texts)
def test_retokenizing_joined_tokens_is_identity(text: str) -> None:
    toks = tokenize(text)
    assert tokenize(" ".join(toks)) == toks


@fast
@given(
    st.lists(st.text(alphabet=_ALPHABET, max_size=8), max_size=5),
    st.sampled_from(["br /", "br", "/p", "p class='x'", 'A HREF="u"']),
)
def test_tags_never_survive(words: list[str], tag: str) -> None:
    text = f"<{tag}>".join(w.replace("<", " ").replace(">", " ") for w in words)
    assert not any(re.search(r"<[A-Za-z/]", t) for t in tokenize(text))
    assert "<" not in tokenize(text)
