"""Tokenizer objects: words, grapheme clusters or learned subwords, one interface.

``--tokenizer words|chars|subword`` (``TextConfig.tokenizer``) picks one::

    tok = make_tokenizer(TextConfig(tokenizer="subword")).fit(train_texts)
    tokens = [tok(t) for t in train_texts]          # lists of str, for Vocab.build
    if tok.needs_file:                              # only "subword" learns anything
        tok.save(model_dir / TOKENIZER_FILE)        # JSON, never pickle
    ...
    tok = restore_tokenizer(config.text, model_dir)  # at load time: the same tokens

=========  ==========================================================  ==========
name       a token is                                                  learned
=========  ==========================================================  ==========
words      a word, punctuation mark or emoji (:func:`tokenize`);       no
           Han/kana/Thai one character each
chars      one grapheme cluster (what a reader sees as one character:  no
           ``é`` even when written e + U+0301, ``👨‍👩‍👧``); a run of
           whitespace is one ``"▁"`` token
subword    a BPE piece learned from the training texts with Hugging    yes
           Face ``tokenizers`` (``"▁film"``, ``"ing"``, ``"电影"``)
=========  ==========================================================  ==========

All three read the text as :func:`rnnlab.text.tokenize.normalize` leaves it
(HTML tags dropped, entities unescaped, NFC, lowercase, ``’`` -> ``'``), and
all are deterministic. Every token is a non-empty ``str`` that
:class:`rnnlab.text.Vocab` can index; the subword tokenizer writes characters it
never saw in training as ``"<unk>"``, which :class:`~rnnlab.text.Vocab` maps to
its out-of-vocabulary id.

Why BPE and not unigram for ``subword``: Hugging Face's unigram trainer gave a
different vocabulary with 1 and 2 threads on the same 3,000 IMDB reviews (its EM
scores are summed in parallel), its BPE trainer the same bytes; rnnlab promises
the same model for the same seed on any machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from rnnlab.artifacts import write_text_atomic
from rnnlab.errors import ArtifactError, RnnlabError
from rnnlab.text.sequences import check_texts
from rnnlab.text.tokenize import normalize, tokenize

__all__ = [
    "TOKENIZER_FILE",
    "TOKENIZER_NAMES",
    "CharTokenizer",
    "SubwordTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "make_tokenizer",
    "restore_tokenizer",
]

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_NAMES = ("words", "chars", "subword")
SPACE = "\u2581"  # "▁": marks a word start (subword) or a run of whitespace (chars)
_FORMAT = "rnnlab.tokenizer"
_VERSION = 1


class Tokenizer:
    """Common interface: ``fit(texts) -> self``, ``tok(text) -> list[str]``, JSON round trip.

    Attributes
    ----------
    name : str
        ``"words"``, ``"chars"`` or ``"subword"`` (the ``--tokenizer`` value).
    needs_file : bool
        True when :meth:`fit` learns something that must be saved with the model
        (:data:`TOKENIZER_FILE` in the model directory) to give the same tokens later.
    lowercase : bool
        Lowercase the text first (default True; the tagger keeps case).
    """

    name: ClassVar[str] = ""
    needs_file: ClassVar[bool] = False

    def __init__(self, lowercase: bool = True) -> None:
        if not isinstance(lowercase, bool):
            raise RnnlabError(f"`lowercase` must be True or False, got {lowercase!r}")
        self.lowercase = lowercase

    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Learn from the training texts (nothing to learn here); returns self."""
        check_texts(texts, f"{type(self).__name__}.fit texts")
        return self

    def __call__(self, text: str) -> list[str]:
        raise NotImplementedError

    def batch(self, texts: Iterable[str]) -> list[list[str]]:
        """``[tok(t) for t in texts]``, after checking that `texts` is a list of str."""
        return [self(t) for t in check_texts(texts, f"{type(self).__name__}.batch texts")]

    def to_json(self) -> dict[str, Any]:
        """Everything needed to rebuild this tokenizer, as a JSON-able dict."""
        return {
            "format": _FORMAT,
            "format_version": _VERSION,
            "name": self.name,
            "lowercase": self.lowercase,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_json`'s dict (any kind)."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ArtifactError(
                "not an rnnlab tokenizer (no 'format': 'rnnlab.tokenizer'); train the model again"
            )
        if data.get("format_version") != _VERSION:
            raise ArtifactError(
                f"tokenizer format version {data.get('format_version')!r}, this rnnlab reads "
                f"version {_VERSION}; train the model again or install a matching rnnlab"
            )
        kinds = {k.name: k for k in (WordTokenizer, CharTokenizer, SubwordTokenizer)}
        kind = kinds.get(data.get("name"))
        if kind is None:
            raise ArtifactError(
                f"tokenizer name {data.get('name')!r} is not one of {', '.join(kinds)}; "
                "train the model again or install a matching rnnlab"
            )
        if cls is not Tokenizer and kind is not cls:
            raise ArtifactError(f"this is a {kind.name!r} tokenizer, not a {cls.name!r} one")
        lowercase = data.get("lowercase")
        if not isinstance(lowercase, bool):
            raise ArtifactError(f"tokenizer 'lowercase' must be true or false, got {lowercase!r}")
        return kind._from_json(data)

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> Tokenizer:
        return cls(lowercase=data["lowercase"])

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to `path` atomically (a temp file, then ``os.replace``)."""
        write_text_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tokenizer):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # a subword tokenizer changes when fitted

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lowercase={self.lowercase})"


class WordTokenizer(Tokenizer):
    """Words, punctuation and emoji: :func:`rnnlab.text.tokenize` (the default).

    Examples
    --------
    >>> WordTokenizer()("I didn't like it.<br />10/10!")
    ['i', "didn't", 'like', 'it', '.', '10', '/', '10', '!']
    """

    name = "words"

    def __call__(self, text: str) -> list[str]:
        return tokenize(text, lowercase=self.lowercase)


class CharTokenizer(Tokenizer):
    """One token per grapheme cluster; each run of whitespace is one ``"▁"`` token.

    A grapheme cluster is what Unicode calls a user-perceived character
    (UAX #29): a letter with its combining marks (``e`` + U+0301 is one ``é``),
    a Devanagari consonant with its vowel sign (``फि``), an emoji with its skin
    tone, a family joined by zero-width joiners, a flag. Leading and trailing
    whitespace is dropped; a literal ``"▁"`` in the text reads as whitespace.

    Examples
    --------
    >>> CharTokenizer()("Ok, 👍🏽")
    ['o', 'k', ',', '▁', '👍🏽']
    """

    name = "chars"
    _ASCII = re.compile(r"\s+|\S")  # in ASCII text every cluster is one code point

    def __call__(self, text: str) -> list[str]:
        text = normalize(text, self.lowercase).strip()
        if text.isascii():
            pieces = self._ASCII.findall(text)
        else:
            import regex

            pieces = regex.findall(r"[\s\x1c-\x1f]+|\X", text)  # the str.isspace() spaces
        return [SPACE if p.isspace() else p for p in pieces]


class SubwordTokenizer(Tokenizer):
    """Byte-pair-encoding pieces learned from the training texts (Hugging Face ``tokenizers``).

    The text is normalised as for ``words``, whitespace runs become one space,
    then split at spaces and around each punctuation character; each word gets a
    leading ``"▁"`` (SentencePiece's convention, so ``"▁the"`` starts a word and
    ``"the"`` continues one). BPE starts from the characters of the training
    texts and merges the most frequent adjacent pair, again and again, until
    `vocab_size` pieces (or no pair occurs `min_frequency` times). Characters
    never seen in training come out as ``"<unk>"``.

    Parameters
    ----------
    vocab_size : int, default 8000
        Most pieces to learn, characters and ``"<unk>"`` included (>= 2).
    min_frequency : int, default 2
        A pair must occur this often in the training texts to be merged.
    lowercase : bool, default True

    Attributes
    ----------
    model_ : tokenizers.Tokenizer or None
        The learned Hugging Face tokenizer (None before :meth:`fit`).

    Examples
    --------
    >>> tok = SubwordTokenizer(vocab_size=60).fit(["low lower lowest", "newer newest"] * 5)
    >>> tok("lowest newer")
    ['▁lowest', '▁newer']
    """

    name = "subword"
    needs_file = True
    UNK = "<unk>"  # the same string as rnnlab.text.OOV_TOKEN

    def __init__(
        self, vocab_size: int = 8000, min_frequency: int = 2, lowercase: bool = True
    ) -> None:
        super().__init__(lowercase)
        for key, value, minimum in (
            ("vocab_size", vocab_size, 2),
            ("min_frequency", min_frequency, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise RnnlabError(f"`{key}` must be an int >= {minimum}, got {value!r}")
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.model_: Any = None

    def _prepare(self, text: str) -> str:
        return " ".join(normalize(text, self.lowercase).replace(SPACE, " ").split())

    def fit(self, texts: Iterable[str]) -> SubwordTokenizer:
        """Learn the BPE pieces from `texts` (a list of str); returns self."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, pre_tokenizers, trainers

        texts = check_texts(texts, "SubwordTokenizer.fit texts")
        prepared = [p for p in (self._prepare(t) for t in texts) if p]
        if not prepared:
            raise RnnlabError(
                "SubwordTokenizer.fit: the training texts hold no characters to learn "
                "pieces from; give non-empty texts"
            )
        model = HFTokenizer(models.BPE(unk_token=self.UNK))
        model.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always", split=True),
                pre_tokenizers.Punctuation(behavior="isolated"),
            ]
        )
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab_size,
            min_frequency=self.min_frequency,
            special_tokens=[self.UNK],
            show_progress=False,
        )
        model.train_from_iterator(prepared, trainer, length=len(prepared))
        self.model_ = model
        return self

    def _fitted(self) -> Any:
        if self.model_ is None:
            raise RnnlabError(
                "the subword tokenizer is not fitted: call fit(train_texts) first, "
                f"or load it with load_tokenizer('{TOKENIZER_FILE}')"
            )
        return self.model_

    def __call__(self, text: str) -> list[str]:
        model = self._fitted()
        text = self._prepare(text)
        return model.encode(text).tokens if text else []

    def batch(self, texts: Iterable[str]) -> list[list[str]]:
        """Tokens of many texts at once (Hugging Face's batch encoder)."""
        model = self._fitted()
        prepared = [self._prepare(t) for t in check_texts(texts, "SubwordTokenizer.batch texts")]
        encoded = model.encode_batch([p for p in prepared if p])
        it = iter(encoded)
        return [next(it).tokens if p else [] for p in prepared]

    @property
    def pieces_(self) -> list[str]:
        """The learned pieces in id order (``"<unk>"`` first)."""
        vocab = self._fitted().get_vocab()
        return sorted(vocab, key=vocab.__getitem__)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data.update(
            vocab_size=self.vocab_size,
            min_frequency=self.min_frequency,
            model="bpe",
            huggingface=json.loads(self._fitted().to_str()),
        )
        return data

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> SubwordTokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        try:
            tok = cls(data["vocab_size"], data["min_frequency"], data["lowercase"])
            model = HFTokenizer.from_str(json.dumps(data["huggingface"]))
        except Exception as exc:  # KeyError, RnnlabError, or the library's own Exception
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ArtifactError(
                f"the subword tokenizer cannot be rebuilt ({reason}); train the model again"
            ) from None
        tok.model_ = model
        return tok

    def __repr__(self) -> str:
        state = "fitted" if self.model_ is not None else "not fitted"
        return (
            f"SubwordTokenizer(vocab_size={self.vocab_size}, min_frequency={self.min_frequency}, "
            f"lowercase={self.lowercase}, {state})"
        )


def _text_config(text_config: Any) -> Any:
    """A TextConfig or a tokenizer name from what callers have at hand."""
    if isinstance(text_config, str):
        return text_config
    if isinstance(text_config, Mapping):  # config.json's "text" section
        from rnnlab.config import TextConfig

        return TextConfig.from_dict(dict(text_config))
    if not hasattr(text_config, "tokenizer"):
        raise RnnlabError(
            f"expected a TextConfig, its dict or a tokenizer name, got {type(text_config).__name__}"
        )
    return text_config


def make_tokenizer(text_config: Any = "words", lowercase: bool = True) -> Tokenizer:
    """A new (unfitted) tokenizer for a :class:`rnnlab.config.TextConfig` or a name.

    With a TextConfig, the subword tokenizer learns up to ``max_vocab - 2`` pieces
    (so every piece can get an id next to ``<pad>`` and ``<unk>``) that occur
    ``min_freq`` times.

    Parameters
    ----------
    text_config : TextConfig, dict or str
        Its ``tokenizer`` field (``"words"``, ``"chars"``, ``"subword"``), or that name.
        A dict (config.json's ``"text"``) is read with ``TextConfig.from_dict``.
    lowercase : bool, default True

    Returns
    -------
    Tokenizer
        Call ``.fit(train_texts)`` before use (a no-op except for ``subword``).
    """
    text_config = _text_config(text_config)
    name = text_config if isinstance(text_config, str) else text_config.tokenizer
    if name == "words":
        return WordTokenizer(lowercase)
    if name == "chars":
        return CharTokenizer(lowercase)
    if name == "subword":
        if isinstance(text_config, str):
            return SubwordTokenizer(lowercase=lowercase)
        return SubwordTokenizer(
            vocab_size=max(2, text_config.max_vocab - 2),
            min_frequency=text_config.min_freq,
            lowercase=lowercase,
        )
    raise RnnlabError(f"tokenizer must be one of {', '.join(TOKENIZER_NAMES)}, got {name!r}")


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Read a tokenizer written by :meth:`Tokenizer.save` (e.g. ``model_dir/tokenizer.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(
            f"{path} not found: the model was trained with a learned tokenizer that was not "
            "saved; train it again"
        ) from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is corrupted ({exc}); train the model again") from None
    try:
        return Tokenizer.from_json(data)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None


def restore_tokenizer(text_config: Any, model_dir: str | Path, lowercase: bool = True) -> Tokenizer:
    """The tokenizer a model was trained with: rebuilt from its TextConfig, or read
    from ``model_dir/tokenizer.json`` when it learned something (``subword``; the
    file's own ``lowercase`` then applies).

    A config without a ``tokenizer`` field (models written before it existed) means
    ``"words"``.
    """
    tok = make_tokenizer(text_config, lowercase)
    if not tok.needs_file:
        return tok
    loaded = load_tokenizer(Path(model_dir) / TOKENIZER_FILE)
    if loaded.name != tok.name:
        raise ArtifactError(
            f"{Path(model_dir) / TOKENIZER_FILE} holds a {loaded.name!r} tokenizer but "
            f"config.json says {tok.name!r}; train the model again"
        )
    return loaded
