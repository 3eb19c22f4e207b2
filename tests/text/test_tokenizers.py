"""Tests for any-language tokenization: the Unicode rules of tokenize() and the
words / chars / subword tokenizer objects of rnnlab.text.tokenizers."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnnlab.config import TextConfig
from rnnlab.errors import ArtifactError, RnnlabError
from rnnlab.text import OOV, Vocab, tokenize
from rnnlab.text.tokenize import _MAYBE_SPECIAL_RE, _split_unicode, _unicode_patterns
from rnnlab.text.tokenizers import (
    TOKENIZER_FILE,
    CharTokenizer,
    SubwordTokenizer,
    Tokenizer,
    WordTokenizer,
    load_tokenizer,
    make_tokenizer,
    restore_tokenizer,
)

fast = settings(max_examples=200, deadline=None)

# ---------------------------------------------------------------- the first release
# tokenize() as shipped before the Unicode rules, kept verbatim as the reference that
# English/Spanish output must keep matching (the bundled model was trained on it).
_OLD_TAG_RE = re.compile(r"<[A-Za-z/][^<>]*>")
_OLD_WORD = r"[\w\u0300-\u036f]+"
_OLD_TOKEN_RE = re.compile(rf"{_OLD_WORD}(?:(?:'|(?<=\d)[.,](?=\d)){_OLD_WORD})*|\S")


def _old_tokenize(text: str, lowercase: bool = True) -> list[str]:
    text = _OLD_TAG_RE.sub(" ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    if lowercase:
        text = unicodedata.normalize("NFC", text.lower())
    if "\u2019" in text or "\u2018" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    if "_" in text:
        text = text.replace("_", " _ ")
    return _OLD_TOKEN_RE.findall(text)


# ASCII printable + Latin-1 letters, digits and punctuation, plus HTML pieces.
_LATIN1 = [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x100)]
_HTML = ["<br />", "<br/><br/>", "<p class='x'>", "</i>", "&amp;", "&#39;", "&lt;3", "&quot;"]
latin_texts = st.lists(
    st.one_of(st.sampled_from(_LATIN1), st.sampled_from(_HTML), st.sampled_from(["\n", "\t"])),
    max_size=60,
).map("".join)


@fast
@given(latin_texts, st.booleans())
def test_latin1_text_tokenizes_as_in_the_first_release(text: str, lowercase: bool) -> None:
    assert tokenize(text, lowercase=lowercase) == _old_tokenize(text, lowercase=lowercase)


# Letters and signs of Latin, Greek and Cyrillic (all blocks), punctuation, curly quotes,
# digits: text that does not need the Unicode rules.
_EUROPEAN = st.characters(
    codec="utf-8",
    categories=("Lu", "Ll", "Lt", "Nd", "Po", "Ps", "Pe", "Pd", "Pi", "Pf", "Sm", "Sc", "Zs"),
    max_codepoint=0x52F,
)


@fast
@given(st.text(alphabet=st.one_of(_EUROPEAN, st.sampled_from(_LATIN1)), max_size=60))
def test_latin_greek_cyrillic_text_tokenizes_as_in_the_first_release(text: str) -> None:
    assert tokenize(text) == _old_tokenize(text)


def _specials() -> re.Pattern[str]:
    return _unicode_patterns()[0]


# Any characters but the ones the Unicode rules are about.
_PLAIN = st.characters(codec="utf-8", exclude_categories=("Cs", "Cn")).filter(
    lambda c: not _specials().match(c)
)


@fast
@given(st.text(alphabet=st.one_of(_PLAIN, st.sampled_from("'.,0123456789 ")), max_size=40))
def test_unicode_path_equals_the_old_expression_where_nothing_special(text: str) -> None:
    # The `regex` path extends the old `re` expression; it must not differ where the
    # extension does not apply, or the dispatch in tokenize() would change results.
    text = unicodedata.normalize("NFC", text).replace("_", " _ ")  # as tokenize() does
    assume(not _specials().search(text))  # NFC decomposes a few characters into marks
    assert _split_unicode(text) == _OLD_TOKEN_RE.findall(text)


def test_dispatch_never_skips_a_special_character() -> None:
    # tokenize() skips the `regex` search for text made of code points that
    # _MAYBE_SPECIAL_RE lets through: none of them may be special.
    special = _specials()
    for code in range(0x110000):
        c = chr(code)
        if not _MAYBE_SPECIAL_RE.match(c):
            assert not special.match(c), hex(code)


# ---------------------------------------------------------------- many languages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spanish and French: unchanged words, elision kept inside the word
        (
            "¿Qué película tan buena! Me encantó el niño",
            ["¿", "qué", "película", "tan", "buena", "!", "me", "encantó", "el", "niño"],
        ),
        (
            "L’acteur était très émouvant, n’est-ce pas ? J’ai adoré « ce film ».",
            ["l'acteur", "était", "très", "émouvant", ",", "n'est", "-", "ce", "pas", "?"]
            + ["j'ai", "adoré", "«", "ce", "film", "»", "."],
        ),
        # Hindi: vowel signs (ि, ी) and virama (्) stay inside the word; danda is punctuation
        ("यह फिल्म बहुत अच्छी थी।", ["यह", "फिल्म", "बहुत", "अच्छी", "थी", "।"]),
        # Arabic with harakat (kasra, sukun, damma, tanwin)
        ("الفِيلْمُ رائعٌ جداً!", ["الفِيلْمُ", "رائعٌ", "جداً", "!"]),
        # Persian: the zero-width non-joiner is part of the word
        ("می\u200cخواهم", ["می\u200cخواهم"]),
        # Chinese: one token per character, never a whole clause
        (
            "这部电影非常好看，我很喜欢。",
            ["这", "部", "电", "影", "非", "常", "好", "看", "，", "我", "很", "喜", "欢", "。"],
        ),
        # Japanese: kanji and hiragana one each, a katakana run one token
        (
            "この映画はとても面白かった",
            ["こ", "の", "映", "画", "は", "と", "て", "も", "面", "白", "か", "っ", "た"],
        ),
        ("コンピューターゲームが好き", ["コンピューターゲーム", "が", "好", "き"]),
        # Korean is written with spaces: words as usual
        ("이 영화 정말 좋아요!", ["이", "영화", "정말", "좋아요", "!"]),
        # emoji: one grapheme cluster, one token
        ("great 👍🏽 🇪🇸 👨\u200d👩\u200d👧", ["great", "👍🏽", "🇪🇸", "👨\u200d👩\u200d👧"]),
        ("Mixed: film 电影 fine", ["mixed", ":", "film", "电", "影", "fine"]),
    ],
)
def test_languages(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_thai_is_cut_into_grapheme_clusters() -> None:
    toks = tokenize("หนังเรื่องนี้ดีมาก")
    assert "".join(toks) == "หนังเรื่องนี้ดีมาก"
    assert "นี้" in toks  # consonant + vowel sign + tone mark: one cluster
    assert all(regex.fullmatch(r"\X", t) for t in toks)


def test_old_release_split_the_issue_examples() -> None:
    # The defects this fixes, shown on the reference: clauses and broken words.
    assert len(_old_tokenize("这部电影非常好看，我很喜欢。")) == 4
    assert _old_tokenize("この映画はとても面白かった") == ["この映画はとても面白かった"]
    assert len(_old_tokenize("फिल्म")) == 5
    assert tokenize("फिल्म") == ["फिल्म"]


_SCRIPTS = st.sampled_from(
    list("这部电影好看映画はとてもコンピューターभारतफिल्मالفِيلْمُหนังดีมากabcé123 ,.!'")
    + ["👍🏽", "🇪🇸", "\u200d", "\u0301", "ー", "ｱﾞ", "\n"]
)
script_texts = st.lists(_SCRIPTS, max_size=40).map("".join)


@fast
@given(script_texts)
def test_only_whitespace_is_dropped(text: str) -> None:
    toks = tokenize(text)
    assert "".join(toks) == "".join(unicodedata.normalize("NFC", text.lower()).split())
    assert all(t and not any(c.isspace() for c in t) for t in toks)
    assert tokenize(" ".join(toks)) == toks  # re-tokenizing the tokens is the identity
    han = regex.compile(r"\p{Han}")
    assert all(len(han.findall(t)) <= 1 for t in toks)  # Han never joined


# ---------------------------------------------------------------- words and chars


def test_word_tokenizer_is_tokenize() -> None:
    text = "Das <br />Kino &amp; I didn't like it 电影"
    assert WordTokenizer()(text) == tokenize(text)
    assert WordTokenizer(lowercase=False)(text) == tokenize(text, lowercase=False)
    assert WordTokenizer().fit(["anything"]).batch([text, ""]) == [tokenize(text), []]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cafe\u0301!", ["c", "a", "f", "é", "!"]),  # decomposed é: one token (NFC)
        ("x\u0301y", ["x\u0301", "y"]),  # no precomposed form: still one cluster
        ("a 👨\u200d👩\u200d👧 b", ["a", "▁", "👨\u200d👩\u200d👧", "▁", "b"]),  # ZWJ sequence
        ("🇪🇸👍🏽", ["🇪🇸", "👍🏽"]),  # a flag, a thumb with skin tone
        ("फिल्म", ["फि", "ल्म"]),  # consonant + vowel sign; a virama conjunct
        ("  Hi <br/>\n\tyou  ", ["h", "i", "▁", "y", "o", "u"]),  # whitespace runs -> one ▁
        ("", []),
    ],
)
def test_char_tokenizer_keeps_grapheme_clusters(text: str, expected: list[str]) -> None:
    assert CharTokenizer()(text) == expected


@fast
@given(script_texts)
def test_char_tokens_are_the_clusters_of_the_text(text: str) -> None:
    toks = CharTokenizer()(text)
    normal = unicodedata.normalize("NFC", text.lower())
    assert "".join(t for t in toks if t != "▁") == "".join(normal.split())
    assert all(regex.fullmatch(r"\X", t) for t in toks)
    assert "▁▁" not in "".join(toks)


def test_char_tokenizer_case() -> None:
    assert CharTokenizer(lowercase=False)("Ab") == ["A", "b"]


# ---------------------------------------------------------------- subword

CORPUS = [
    "The film was wonderful, the acting wonderful too.",
    "A boring film; the plot was boring and slow.",
    "La película fue maravillosa, me encantó.",
    "Le film était très émouvant, j'ai adoré.",
    "यह फिल्म बहुत अच्छी थी।",
    "الفِيلْمُ رائعٌ جداً",
    "这部电影非常好看，我很喜欢这部电影。",
    "那部电影很无聊，我不喜欢。",
    "この映画はとても面白かった。映画が好きです。",
] * 4


@pytest.fixture(scope="module")
def subword() -> SubwordTokenizer:
    return SubwordTokenizer(vocab_size=300).fit(CORPUS)


def test_subword_learns_multi_character_pieces(subword: SubwordTokenizer) -> None:
    toks = subword("这部电影很好看")
    assert "".join(toks).replace("▁", "") == "这部电影很好看"
    assert any(len(t.replace("▁", "")) >= 2 for t in toks)  # pieces, not just characters
    assert "▁wonderful" in subword("wonderful")  # a frequent word is one piece
    assert "फिल्म" in "".join(subword("फिल्म"))


def test_subword_unknown_characters_map_to_oov(subword: SubwordTokenizer) -> None:
    toks = subword("film ☃")
    assert toks[-1] == "<unk>"
    vocab = Vocab.build(subword.batch(CORPUS))
    assert vocab.encode(toks)[-1] == OOV
    assert all(i != OOV for i in vocab.encode(subword("film")))


def test_subword_batch_matches_call(subword: SubwordTokenizer) -> None:
    texts = ["", *CORPUS[:9], "   ", "new words here"]
    assert subword.batch(texts) == [subword(t) for t in texts]
    assert subword("") == [] and subword("  <br />  ") == []


def test_subword_save_load_round_trip(subword: SubwordTokenizer, tmp_path: Path) -> None:
    path = tmp_path / TOKENIZER_FILE
    subword.save(path)
    assert [p.name for p in tmp_path.iterdir()] == [TOKENIZER_FILE]  # no temp file left
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["name"] == "subword" and data["format"] == "rnnlab.tokenizer"
    loaded = load_tokenizer(path)
    assert isinstance(loaded, SubwordTokenizer) and loaded == subword
    held_out = ["Un film maravilloso", "我喜欢电影", "wonderful acting, boring plot", "☃"]
    assert [loaded(t) for t in held_out] == [subword(t) for t in held_out]
    assert load_tokenizer(tmp_path) == subword  # a model directory works too


def test_subword_training_is_deterministic(subword: SubwordTokenizer, tmp_path: Path) -> None:
    again = SubwordTokenizer(vocab_size=300).fit(CORPUS)
    assert again.to_json() == subword.to_json()
    # And in another process with one thread (Hugging Face trains in parallel).
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(CORPUS), encoding="utf-8")
    code = (
        "import json, sys; from rnnlab.text.tokenizers import SubwordTokenizer; "
        "texts = json.load(open(sys.argv[1], encoding='utf-8')); "
        "print(json.dumps(SubwordTokenizer(vocab_size=300).fit(texts).to_json()))"
    )
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == subword.to_json()


def test_subword_errors(tmp_path: Path) -> None:
    with pytest.raises(RnnlabError, match="not fitted.*fit"):
        SubwordTokenizer()("text")
    with pytest.raises(RnnlabError, match="single str"):
        SubwordTokenizer().fit("one text")
    with pytest.raises(RnnlabError, match="no characters"):
        SubwordTokenizer().fit(["", "  <br />"])
    with pytest.raises(RnnlabError, match="vocab_size"):
        SubwordTokenizer(vocab_size=1)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", "is corrupted"),
        (b"[1, 2]", "not an rnnlab tokenizer"),
        (b'{"format": "rnnlab.tokenizer", "format_version": 9, "name": "words"}', "version 9"),
        (
            b'{"format": "rnnlab.tokenizer", "format_version": 1, "name": "bpe", "lowercase": true}',
            "'bpe' is not one of",
        ),
        (
            b'{"format": "rnnlab.tokenizer", "format_version": 1, "name": "subword",'
            b' "lowercase": true, "vocab_size": 10, "min_frequency": 1, "huggingface": {}}',
            "cannot be rebuilt",
        ),
    ],
)
def test_bad_tokenizer_file(tmp_path: Path, content: bytes, match: str) -> None:
    (tmp_path / TOKENIZER_FILE).write_bytes(content)
    with pytest.raises(ArtifactError, match=match) as info:
        load_tokenizer(tmp_path / TOKENIZER_FILE)
    assert "\n" not in str(info.value)
    assert TOKENIZER_FILE in str(info.value)


# ---------------------------------------------------------------- from TextConfig


@pytest.mark.parametrize(
    ("name", "kind"),
    [("words", WordTokenizer), ("chars", CharTokenizer), ("subword", SubwordTokenizer)],
)
def test_make_tokenizer(name: str, kind: type[Tokenizer]) -> None:
    tok = make_tokenizer(TextConfig(tokenizer=name, max_vocab=500, min_freq=3))
    assert type(tok) is kind and tok.name == name
    assert tok.needs_file == (name == "subword")
    if name == "subword":
        assert (tok.vocab_size, tok.min_frequency) == (498, 3)
    assert type(make_tokenizer(name)) is kind


def test_text_config_tokenizer_is_validated() -> None:
    assert TextConfig().tokenizer == "words"
    # A config.json written before the field existed still reads, as "words".
    old = {"max_vocab": 20000, "min_freq": 2, "maxlen": 400, "truncating": "pre"}
    assert TextConfig.from_dict(old).tokenizer == "words"
    with pytest.raises(RnnlabError, match=r"text.tokenizer must be 'words', 'chars' or 'subword'"):
        TextConfig(tokenizer="bpe")
    with pytest.raises(RnnlabError, match="tokenizer must be one of"):
        make_tokenizer("spaces")


def test_restore_tokenizer(subword: SubwordTokenizer, tmp_path: Path) -> None:
    assert type(restore_tokenizer(TextConfig(), tmp_path)) is WordTokenizer
    assert type(restore_tokenizer(TextConfig(tokenizer="chars"), tmp_path)) is CharTokenizer
    with pytest.raises(ArtifactError, match=f"{TOKENIZER_FILE} not found.*train it again"):
        restore_tokenizer(TextConfig(tokenizer="subword"), tmp_path)
    subword.save(tmp_path / TOKENIZER_FILE)
    assert restore_tokenizer(TextConfig(tokenizer="subword"), tmp_path) == subword
    WordTokenizer().save(tmp_path / TOKENIZER_FILE)
    with pytest.raises(ArtifactError, match="holds a 'words' tokenizer"):
        restore_tokenizer(TextConfig(tokenizer="subword"), tmp_path)


@pytest.mark.parametrize("tok", [WordTokenizer(), CharTokenizer(lowercase=False)])
def test_json_round_trip_of_rule_tokenizers(tok: Tokenizer, tmp_path: Path) -> None:
    tok.save(tmp_path / TOKENIZER_FILE)
    assert load_tokenizer(tmp_path / TOKENIZER_FILE) == tok


def test_from_json_of_another_kind_is_refused() -> None:
    with pytest.raises(ArtifactError, match="this is a 'words' tokenizer, not a 'subword' one"):
        SubwordTokenizer.from_json(WordTokenizer().to_json())
    assert type(Tokenizer.from_json(CharTokenizer().to_json())) is CharTokenizer


def test_config_json_text_section_is_accepted(subword: SubwordTokenizer, tmp_path: Path) -> None:
    # What a loader has: config.json's "text" dict, maybe from before the field existed.
    assert type(restore_tokenizer({"max_vocab": 100, "maxlen": 50}, tmp_path)) is WordTokenizer
    subword.save(tmp_path / TOKENIZER_FILE)
    text = TextConfig(tokenizer="subword").to_dict()
    assert restore_tokenizer(text, tmp_path) == subword
    with pytest.raises(RnnlabError, match="unknown TextConfig key"):
        make_tokenizer({"tokenizr": "chars"})
    with pytest.raises(RnnlabError, match="expected a TextConfig"):
        make_tokenizer(3)
