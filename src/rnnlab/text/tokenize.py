"""Split raw review text into tokens: the first step of "text as vectors".

An RNN reads a sequence of vectors. To get there, a review is cut into tokens
(this module), each token gets an integer id (:mod:`rnnlab.text.vocab`), the id
sequences are cut/padded to one length (:mod:`rnnlab.text.sequences`), and an
embedding layer turns each id into a vector.

The tokenizer is a few plain, documented rules and compiled regular
expressions: no model, no language-specific tables, no dictionary. It follows
Unicode's character properties, so a Spanish review (``¿Qué película!``,
``niño``) is handled as well as an English one, a Hindi or Arabic word keeps
its vowel signs, viramas and diacritics, and Chinese, Japanese or Thai text
(written without spaces) is cut into characters rather than whole clauses. It
is deterministic: the same text always gives the same tokens.

Two paths, one result. Text with none of the characters the Unicode rules are
about (combining marks, joiners, emoji modifiers, the scripts written without
spaces) -- every English review, almost every Spanish one -- goes through the
original single ``re`` expression, unchanged since the first release, so
models trained on it read exactly the tokens they were trained on. Other text
goes through an extension of that expression written with the third-party
``regex`` module (Unicode properties, grapheme clusters), imported on
first need. On text without those characters the two give the same tokens
(a property test checks it).

Other tokenizers (grapheme clusters, learned subwords) live in
:mod:`rnnlab.text.tokenizers`.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from typing import Any

from rnnlab.errors import RnnlabError

__all__ = ["normalize", "tokenize"]

# An HTML tag: "<" then a letter or "/", up to the next ">" (IMDB's "<br />").
# "a < b" is not a tag: a space follows "<".
_TAG_RE = re.compile(r"<[A-Za-z/][^<>]*>")

# One token is either
#   a word: letters/digits, with inner joiners kept: an apostrophe between two
#   word characters (didn't, l'amour) or "." / "," between two digits (3.5, 1,000);
#   or any other single non-space character (punctuation, ¿, ¡, $, emoji, "_", ...).
# "\w" is a Unicode letter, digit or "_"; U+0300-U+036F are combining accents that
# NFC could not merge into the letter before them: they stay inside the word. "_" is
# split off beforehand (it is its own token), so a word here is letters and digits.
# One character class (rather than an alternation per character) keeps this fast:
# about 5x faster on IMDB reviews.
_WORD = r"[\w\u0300-\u036f]+"
_TOKEN_RE = re.compile(rf"{_WORD}(?:(?:'|(?<=\d)[.,](?=\d)){_WORD})*|\S")
# The same expression for ASCII text (after the steps above, nearly every English
# review), where the accents cannot occur and "\w" is [A-Za-z0-9_]: matched with
# ASCII classes and possessive quantifiers (a word never gives back a character it
# took, so there is nothing to backtrack into), it gives identical tokens about 20%
# faster (measured on the IMDB test reviews, benchmarks/predict_speed.py). Under
# re.ASCII "\s" lacks U+001C-U+001F, which str.isspace() and the Unicode "\S" above
# count as space, hence the explicit class.
_ASCII_TOKEN_RE = re.compile(
    r"\w++(?:(?:'|(?<=\d)[.,](?=\d))\w++)*+|[^ \t\n\r\f\v\x1c-\x1f]", re.ASCII
)

# ---- the Unicode path (the `regex` module: \p{...} properties and \X clusters)
#
# Scripts written without spaces between words. Without a dictionary there is no
# word boundary to find, so each character (with its marks: one grapheme cluster)
# is a token, as in Unicode's default word boundaries (UAX #29), which also never
# join two Han, Hiragana or Thai letters.
_NO_SPACE = (
    r"\p{Han}\p{Hiragana}\p{Bopomofo}\p{Yi}"
    r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tai_Tham}\p{Tai_Le}\p{New_Tai_Lue}\p{Tai_Viet}"
)
# Katakana: a run is one token (UAX #29's rule WB13), with the prolonged sound mark
# U+30FC / U+FF70 (script "Common"): コンピューター is one loanword.
_KATAKANA = r"\p{Katakana}\u30fc\uff70"
# Inside a word: every combining mark (accents, Devanagari vowel signs and virama,
# Arabic harakat), the zero-width joiner and non-joiner (Persian می‌خواهم, Indic conjuncts).
_JOINING = r"\p{M}\u200c\u200d"
# [\p{L}\p{N}] is exactly the old expression's [^\W_] (checked over every assigned
# code point of Python's Unicode database); marks and joiners are added, the
# no-space scripts taken out (V1 set difference "--").
_U_WORD = rf"[[\p{{L}}\p{{N}}{_JOINING}]--[{_NO_SPACE}{_KATAKANA}]]+"
_U_TOKEN = (
    rf"{_U_WORD}(?:(?:'|(?<=\d)[.,](?=\d)){_U_WORD})*"  # a word, as above
    rf"|(?:(?=[{_KATAKANA}])\X)+"  # a katakana run
    r"|(?![\s\x1c-\x1f])\X"  # any other grapheme cluster: 好, ร์, !, 👍🏽, 👨‍👩‍👧, 🇪🇸
)  # (`regex`'s \s lacks the separators U+001C-U+001F that `re`'s \s and str.isspace have)
# The characters that can make the two paths differ: those above, and whatever
# joins code points into one grapheme cluster (emoji modifiers, variation
# selectors, regional-indicator flags, Indic prepended letters).
_U_SPECIAL = (
    rf"[{_NO_SPACE}{_KATAKANA}{_JOINING}"
    r"\p{GCB=Extend}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}]"
)
# None of them in Latin (ASCII to IPA, but for the two Bopomofo tone letters
# U+02EA-U+02EB), Greek, Cyrillic (but for its combining marks U+0483-U+0489), nor in
# general punctuation (dashes, curly quotes, ellipsis; but for U+200C-U+200D) and
# currency signs: text made of these never needs `regex` (a test checks every range).
_MAYBE_SPECIAL_RE = re.compile(
    r"[^\x00-\u02e9\u02ec-\u02ff\u0370-\u0482\u048a-\u052f\u2000-\u200b\u200e-\u20cf]"
)


@functools.cache
def _unicode_patterns() -> tuple[Any, Any]:
    """The Unicode path's (special-character, token) expressions, compiled on first use."""
    import regex  # 25-45 ms to import: only when a text needs it

    return regex.compile(_U_SPECIAL), regex.compile(_U_TOKEN, regex.V1)


def _needs_unicode_rules(text: str) -> bool:
    if not _MAYBE_SPECIAL_RE.search(text):
        return False
    special, _ = _unicode_patterns()
    return special.search(text) is not None


def _split_unicode(text: str) -> list[str]:
    """Step 5 by the Unicode rules (any text; equal to ``_TOKEN_RE`` on text without specials)."""
    return _unicode_patterns()[1].findall(text)


def normalize(text: str, lowercase: bool = True) -> str:
    """Steps 1-4 of :func:`tokenize`: the text every rnnlab tokenizer reads.

    HTML tags become spaces, entities are unescaped, the text is NFC-normalised
    and (with `lowercase`) lowercased, and curly apostrophes become ``'``.

    Raises
    ------
    RnnlabError
        If `text` is not a ``str``.
    """
    if not isinstance(text, str):
        raise RnnlabError(
            f"tokenize: `text` must be a str (one document), got {type(text).__name__}; "
            "to tokenize many texts use [tokenize(t) for t in texts]"
        )
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    if lowercase:
        text = unicodedata.normalize("NFC", text.lower())
    if "\u2019" in text or "\u2018" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    return text


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split a text into lowercase word and punctuation tokens.

    The rules, applied in this order:

    1. HTML tags are replaced by a space. A tag is ``<`` followed by an ASCII
       letter or ``/``, up to the next ``>`` (so IMDB's ``<br />`` goes, while
       ``a < b`` is kept as ``a``, ``<``, ``b``).
    2. HTML entities are unescaped with :func:`html.unescape` (``&amp;`` -> ``&``,
       ``&#39;`` -> ``'``). This runs after step 1, so an escaped ``&lt;3`` is
       text (``<``, ``3``), not a tag.
    3. Unicode NFC normalisation, then :meth:`str.lower`.
    4. Curly apostrophes ``’`` and ``‘`` become ``'``.
    5. Tokens are read left to right; whitespace only separates them:

       - a *word* is a run of Unicode letters, digits and combining marks
         (``_`` excluded), so a Hindi ``फिल्म`` keeps its vowel signs and virama
         and an Arabic ``الفِيلْمُ`` its harakat; zero-width joiners and
         non-joiners stay inside too (Persian ``می‌خواهم``).
         Inside a word an apostrophe between two letters/digits is kept
         (``didn't``, ``it's``, ``l'amour``, ``o'clock``) and so is a ``.`` or
         ``,`` between two digits (``3.50``, ``1,000``, ``2.5x``). A leading or
         trailing apostrophe is its own token (``dogs'`` -> ``dogs``, ``'``).
       - scripts written without spaces have no word boundary to find without a
         dictionary: each Han, Hiragana, Thai (also Lao, Khmer, Myanmar,
         Bopomofo, Yi, Tai) character, with its marks, is a token of its own
         (``电影`` -> ``电``, ``影``), as Unicode's default word boundaries (UAX
         #29) do; a run of Katakana is one token (``コンピューター``). Hangul is
         written with spaces and makes words as usual. For multi-character
         words learned from the data use the ``subword`` tokenizer
         (:mod:`rnnlab.text.tokenizers`).
       - every other non-space grapheme cluster is a token of its own:
         punctuation, ``¿``, ``¡``, ``$``, ``/``, ``_``, each emoji with its
         modifiers (``👍🏽``, ``👨‍👩‍👧``, ``🇪🇸``). Repeats are not merged
         (``!!!`` -> ``!``, ``!``, ``!``) and ``10/10`` is ``10``, ``/``, ``10``.

    Tokens are never empty and never contain whitespace, and joining the tokens
    with spaces and tokenizing again gives the same tokens. Text with none of
    the characters these Unicode rules are about (all of IMDB) gets exactly the
    tokens of the first release.

    Parameters
    ----------
    text : str
        One document, e.g. a review.
    lowercase : bool, default True
        Apply step 3's :meth:`str.lower`; ``False`` keeps the original case
        (a tagger reads ``Apple`` and ``apple`` differently). The tokens are
        otherwise the same.

    Returns
    -------
    list of str
        The tokens, in order.

    Raises
    ------
    RnnlabError
        If `text` is not a ``str`` (e.g. a list of texts was passed).

    Examples
    --------
    >>> tokenize("I didn't like it.<br /><br />10/10!")
    ['i', "didn't", 'like', 'it', '.', '10', '/', '10', '!']
    >>> tokenize("¿Qué película tan buena! Me encantó")
    ['¿', 'qué', 'película', 'tan', 'buena', '!', 'me', 'encantó']
    >>> tokenize("It cost $3.50 &amp; more")
    ['it', 'cost', '$', '3.50', '&', 'more']
    >>> tokenize("这部电影很好看！")
    ['这', '部', '电', '影', '很', '好', '看', '！']
    >>> tokenize("फिल्म अच्छी थी")
    ['फिल्म', 'अच्छी', 'थी']
    """
    text = normalize(text, lowercase)
    if "_" in text:
        text = text.replace("_", " _ ")
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text)
    if not _needs_unicode_rules(text):
        return _TOKEN_RE.findall(text)
    return _split_unicode(text)
