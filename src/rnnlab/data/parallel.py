"""Parallel text: (source, target) pairs for sequence-to-sequence models.

Two sources of pairs:

- a parallel TSV file, one pair per line, ``source<TAB>target[<TAB>anything]``
  — the Tatoeba / manythings.org format (``Go.\tVe.\tCC-BY 2.0 ...``); UTF-8,
  empty lines skipped, extra columns (attribution) ignored;
- a CoNLL-U treebank read by :func:`rnnlab.data.conllu.load_conllu`:
  :func:`lemma_pairs` gives (word form, lemma) pairs, a character-level
  task (``"was" -> "be"``, ``"dogs" -> "dog"``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rnnlab.data.conllu import Treebank
from rnnlab.errors import DataError

__all__ = ["lemma_pairs", "read_parallel_tsv", "write_parallel_tsv"]

Pair = tuple[str, str]


def read_parallel_tsv(path: str | Path) -> list[Pair]:
    """Read ``source<TAB>target[<TAB>...]`` lines.

    Raises
    ------
    DataError
        If the file is missing or not UTF-8, if a non-empty line has no tab,
        or if a source or target is empty; the message names the line.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"parallel file not found: {path}; give a TSV file (source<TAB>target)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} line {line}: not valid UTF-8; re-save the file as UTF-8") from None
    pairs: list[Pair] = []
    # Only a line feed ends a line (str.splitlines would also split at U+2028,
    # U+0085 or a form feed inside a sentence, shifting every later line number).
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise DataError(
                f"{path} line {number}: no tab; each line must be source<TAB>target "
                f"(got {line[:40]!r})"
            )
        source, target = parts[0].strip(), parts[1].strip()
        if not source or not target:
            side = "source" if not source else "target"
            raise DataError(f"{path} line {number}: empty {side}; remove the line or fill it in")
        pairs.append((source, target))
    if not pairs:
        raise DataError(f"{path} holds no pairs; expected lines of source<TAB>target")
    return pairs


def write_parallel_tsv(pairs: list[Pair], path: str | Path) -> Path:
    """Write pairs as ``source<TAB>target`` lines (UTF-8); tabs/newlines inside are refused."""
    path = Path(path)
    lines = []
    for i, (source, target) in enumerate(pairs):
        if any(c in s for s in (source, target) for c in "\t\n\r"):
            raise DataError(f"pair {i} holds a tab or newline; it cannot be written as TSV")
        lines.append(f"{source}\t{target}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def lemma_pairs(treebank: Treebank, unique: bool = False) -> list[Pair]:
    """(form, lemma) pairs of a treebank's words.

    Parameters
    ----------
    treebank : Treebank
        From :func:`rnnlab.data.conllu.load_conllu`.
    unique : bool
        False: one pair per token, in text order (evaluation on running
        text). True: one pair per distinct form, with its most frequent lemma
        (ties: alphabetical), in order of first occurrence — a lexicon to train on.
    """
    tokens = [
        (form, lemma)
        for sentence in treebank.sentences
        for form, lemma in zip(sentence.forms, sentence.lemmas, strict=True)
        if form and lemma
    ]
    if not unique:
        return tokens
    counts: dict[str, Counter[str]] = {}
    for form, lemma in tokens:
        counts.setdefault(form, Counter())[lemma] += 1
    return [
        (form, min(c.items(), key=lambda item: (-item[1], item[0]))[0])
        for form, c in counts.items()
    ]
