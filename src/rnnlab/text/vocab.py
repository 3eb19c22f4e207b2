"""Vocabulary: the table between tokens and the integer ids an RNN reads.

An embedding layer is a lookup table with one row per id, so the vocabulary
decides which words the model can tell apart. It is built from the *training*
tokens only: the most frequent ones get an id, every other token shares the
out-of-vocabulary id. Two ids are reserved:

- ``PAD = 0`` (``"<pad>"``): filler added by :func:`~rnnlab.text.pad_sequences`
  so that a batch has one length;
- ``OOV = 1`` (``"<unk>"``): any token not in the vocabulary.

Ids are given by frequency, most frequent first, ties broken alphabetically, so
building twice from the same data gives the same vocabulary. The vocabulary is
saved as JSON next to the model, because the ids only mean something with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rnnlab.errors import ArtifactError, RnnlabError

__all__ = ["OOV", "OOV_TOKEN", "PAD", "PAD_TOKEN", "Vocab"]

PAD = 0
OOV = 1
PAD_TOKEN = "<pad>"
OOV_TOKEN = "<unk>"

_FORMAT = "rnnlab.vocab"
_VERSION = 1


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an int >= {minimum}" + (" or None" if allow_none else "")
        raise RnnlabError(f"`{name}` must be {expected}, got {value!r}")


class Vocab:
    """Map tokens to integer ids and back.

    Usually made with :meth:`Vocab.build` from training tokens, or with
    :meth:`Vocab.load`.

    Parameters
    ----------
    tokens : sequence of str, optional
        The regular tokens, in id order: ``tokens[0]`` gets id 2. The special
        entries ``<pad>`` and ``<unk>`` are added in front.
    counts : mapping of str to int, optional
        Training count of each token (0 for tokens missing from it).
    min_freq, max_size : int, optional
        The settings used to build the vocabulary, kept for reference.

    Attributes
    ----------
    itos : list of str
        Token of each id: ``itos[0] == "<pad>"``, ``itos[1] == "<unk>"``.
    stoi : dict of str to int
        Id of each token (the inverse of `itos`).
    counts : dict of str to int
        Training count of each regular token, e.g. to report coverage.
    min_freq : int
    max_size : int or None

    Examples
    --------
    >>> v = Vocab.build([["a", "good", "film"], ["a", "bad", "film"]])
    >>> v.itos
    ['<pad>', '<unk>', 'a', 'film', 'bad', 'good']
    >>> v.encode(["a", "great", "film"])
    [2, 1, 3]
    """

    def __init__(
        self,
        tokens: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
        *,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> None:
        if isinstance(tokens, str):
            raise RnnlabError("`tokens` must be a sequence of str tokens, got a single str")
        tokens = list(tokens)
        for tok in tokens:
            if not isinstance(tok, str):
                raise RnnlabError(f"`tokens` must hold str tokens, got {type(tok).__name__}")
            if tok in (PAD_TOKEN, OOV_TOKEN):
                raise RnnlabError(f"`tokens` must not contain the special token {tok!r}")
        if len(set(tokens)) != len(tokens):
            dup = next(t for t, c in Counter(tokens).items() if c > 1)
            raise RnnlabError(f"`tokens` must be unique, got {dup!r} more than once")
        self.itos: list[str] = [PAD_TOKEN, OOV_TOKEN, *tokens]
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        counts = counts or {}
        self.counts: dict[str, int] = {tok: int(counts.get(tok, 0)) for tok in tokens}
        self.min_freq = min_freq
        self.max_size = max_size

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int | None = None,
        min_freq: int = 1,
    ) -> Vocab:
        """Build a vocabulary from tokenized training documents.

        Tokens seen at least `min_freq` times are kept, sorted by count
        (descending), ties by the token string (ascending); then only the first
        ones are kept so that ``len(vocab) <= max_size``. Tokens equal to
        ``"<pad>"`` or ``"<unk>"`` are not counted.

        Parameters
        ----------
        token_lists : iterable of sequence of str
            One token list per document, e.g. ``[tokenize(t) for t in texts]``.
        max_size : int or None, default None
            Largest vocabulary size, the two special entries included (>= 2).
            None keeps every token that passes `min_freq`.
        min_freq : int, default 1
            Smallest training count for a token to get its own id.

        Returns
        -------
        Vocab

        Raises
        ------
        RnnlabError
            If `max_size` < 2 or `min_freq` < 1, or if `token_lists` is a str or
            holds raw strings instead of token lists (tokenize first).
        """
        _check_int("max_size", max_size, 2, allow_none=True)
        _check_int("min_freq", min_freq, 1)
        if isinstance(token_lists, str):
            raise RnnlabError(
                "`token_lists` must be an iterable of token lists, got a single str; "
                "use Vocab.build([tokenize(t) for t in texts])"
            )
        counter: Counter[str] = Counter()
        for i, doc in enumerate(token_lists):
            if isinstance(doc, str):
                raise RnnlabError(
                    f"`token_lists` must hold token lists, but item {i} is a str "
                    f"({doc[:30]!r}); tokenize the texts first: [tokenize(t) for t in texts]"
                )
            counter.update(doc)
        bad = next((t for t in counter if not isinstance(t, str)), None)
        if bad is not None:
            raise RnnlabError(
                f"`token_lists` must hold lists of str tokens, got a {type(bad).__name__} token"
            )
        counter.pop(PAD_TOKEN, None)
        counter.pop(OOV_TOKEN, None)
        kept = sorted(
            (item for item in counter.items() if item[1] >= min_freq),
            key=lambda item: (-item[1], item[0]),
        )
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls([t for t, _ in kept], dict(kept), min_freq=min_freq, max_size=max_size)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """Id of `token`, ``OOV`` if it is not in the vocabulary."""
        return self.stoi.get(token, OOV)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return (
            self.itos == other.itos
            and self.counts == other.counts
            and self.min_freq == other.min_freq
            and self.max_size == other.max_size
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, min_freq={self.min_freq}, max_size={self.max_size})"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of `tokens`; unknown tokens get ``OOV``.

        Raises
        ------
        RnnlabError
            If `tokens` is a str (tokenize it first).
        """
        if isinstance(tokens, str):
            raise RnnlabError(
                "`tokens` must be a list of tokens, got a str; use vocab.encode(tokenize(text))"
            )
        get = self.stoi.get
        return [get(tok, OOV) for tok in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of `ids` (padding decodes to ``"<pad>"``).

        Raises
        ------
        RnnlabError
            If an id is not in ``range(len(self))``.
        """
        out = []
        n = len(self.itos)
        for i in ids:
            j = int(i)
            if not 0 <= j < n:
                raise RnnlabError(f"`ids` must be in [0, {n - 1}] for this vocabulary, got {j}")
            out.append(self.itos[j])
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; ``counts[i]`` is the count of ``itos[i]`` (0 for specials)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "itos": list(self.itos),
            "counts": [0, 0, *(self.counts[t] for t in self.itos[2:])],
            "min_freq": self.min_freq,
            "max_size": self.max_size,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ArtifactError
            If `d` is not an rnnlab vocabulary of a supported version.
        """
        if not isinstance(d, Mapping) or d.get("format") != _FORMAT:
            raise ArtifactError(f"not an rnnlab vocabulary: expected format {_FORMAT!r}")
        if d.get("version") != _VERSION:
            raise ArtifactError(
                f"unsupported vocabulary version {d.get('version')!r}, expected {_VERSION}"
            )
        itos, counts = d.get("itos"), d.get("counts")
        if (
            not isinstance(itos, list)
            or itos[:2] != [PAD_TOKEN, OOV_TOKEN]
            or not isinstance(counts, list)
            or len(counts) != len(itos)
            or not all(isinstance(c, int) for c in counts)
        ):
            raise ArtifactError(
                "corrupt vocabulary: expected 'itos' starting with "
                f"[{PAD_TOKEN!r}, {OOV_TOKEN!r}] and one int count per entry"
            )
        try:
            return cls(
                itos[2:],
                dict(zip(itos[2:], counts[2:], strict=True)),
                min_freq=d.get("min_freq", 1),
                max_size=d.get("max_size"),
            )
        except RnnlabError as err:
            raise ArtifactError(f"corrupt vocabulary: {err}") from err

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary as JSON, atomically (temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`.

        Raises
        ------
        ArtifactError
            If the file is missing, is not JSON or is not an rnnlab vocabulary.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ArtifactError(f"vocabulary file not found: {path}") from err
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ArtifactError(f"cannot read vocabulary file {path}: {err}") from err
        try:
            return cls.from_dict(d)
        except ArtifactError as err:
            raise ArtifactError(f"{path}: {err}") from err
