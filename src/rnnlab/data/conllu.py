"""CoNLL-U treebanks (Universal Dependencies), read with the ``conllu`` package.

A treebank file holds sentences; each token line has ten columns (ID, FORM,
LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC). rnnlab keeps the words
(multi-word token ranges such as ``1-2 del`` and empty nodes ``8.1`` are
skipped: their parts are the words), with their form, lemma and UPOS tag.

Sources accepted everywhere a treebank is asked for:

- a ``.conllu`` file;
- a UD release archive (``.tar.gz``/``.tgz``) plus a split name, e.g.
  ``ud_english_ewt_v2.15.tar.gz`` with ``split="train"`` reads the member
  ending in ``-ud-train.conllu``.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import DataError

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Sentence:
    """One sentence: parallel lists of word forms, lemmas and UPOS tags."""

    forms: list[str]
    lemmas: list[str]
    upos: list[str]
    sent_id: str = ""


@dataclass(frozen=True)
class Treebank:
    """Sentences read from one CoNLL-U source, with its sha256 fingerprint."""

    sentences: list[Sentence]
    source: str
    sha256: str

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def n_words(self) -> int:
        return sum(len(s.forms) for s in self.sentences)


_ID = re.compile(r"\d+|\d+-\d+|\d+\.\d+")
_HEAD = re.compile(r"\d+|_")


def check_conllu_lines(text: str, source: str = "<string>") -> None:
    """Refuse a token line that is not 10 tab-separated columns with a valid ID and HEAD.

    The ``conllu`` package is lenient (a 3-column line gives a word tagged
    ``_``) and its errors do not say where; this names the line.
    """
    fix = "each token line needs 10 tab-separated columns (ID FORM LEMMA UPOS ... MISC)"
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataError(
                f"{source} line {number}: {len(cols)} column(s) instead of 10 "
                f"(got {line[:40]!r}); {fix}"
            )
        if not _ID.fullmatch(cols[0]):
            raise DataError(
                f"{source} line {number}: ID {cols[0][:20]!r} is not a word number "
                f"(1), range (1-2) or empty node (1.1); {fix}"
            )
        if "-" not in cols[0] and "." not in cols[0] and not _HEAD.fullmatch(cols[6]):
            raise DataError(
                f"{source} line {number}: HEAD {cols[6][:20]!r} is not a word number or _; {fix}"
            )


def parse_conllu(text: str, source: str = "<string>") -> list[Sentence]:
    """Parse CoNLL-U text into sentences (words only; ranges and empty nodes dropped)."""
    import conllu

    check_conllu_lines(text, source)
    try:
        token_lists = conllu.parse(text)
    except Exception as exc:  # conllu raises ParseException and others
        raise DataError(f"{source} is not valid CoNLL-U: {str(exc).splitlines()[0]}") from None
    out = []
    for tl in token_lists:
        forms, lemmas, upos = [], [], []
        for tok in tl:
            if not isinstance(tok["id"], int):  # (1, '-', 2) range or (8, '.', 1) empty node
                continue
            forms.append(tok["form"])
            lemma = tok["lemma"]
            lemmas.append(tok["form"] if lemma in (None, "_") else lemma)
            upos.append(tok["upos"] or "_")
        if forms:
            out.append(Sentence(forms, lemmas, upos, tl.metadata.get("sent_id", "")))
    return out


def _read_member(path: Path, split: str) -> tuple[str, str]:
    suffix = f"-ud-{split}.conllu"
    try:
        with tarfile.open(path, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".conllu")]
            match = [m for m in members if m.name.endswith(suffix)]
            if not match:
                have = ", ".join(sorted(Path(m.name).name for m in members)) or "none"
                raise DataError(
                    f"{path} has no *{suffix} file (it has: {have}); pick another --split"
                )
            member = tar.extractfile(match[0])
            data = member.read() if member is not None else b""
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DataError(
            f"cannot read the archive {path}: {e or type(e).__name__}; it is truncated or "
            "not a tar(.gz) file — download it again"
        ) from None
    where = f"{path}:{match[0].name}"
    return _decode(data, where), where


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(f"{where} line {line}: not valid UTF-8; re-save it as UTF-8") from None


def load_conllu(source: str | Path, split: str | None = None) -> Treebank:
    """Read a treebank from a ``.conllu`` file or a UD archive plus ``split``.

    Raises DataError naming the problem (missing file, wrong split, bad format).
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"treebank not found: {path}; give a .conllu file or a UD .tar.gz archive")
    if path.is_dir():
        files = sorted(path.rglob(f"*-ud-{split}.conllu" if split else "*.conllu"))
        if len(files) != 1:
            raise DataError(
                f"{path} is a folder with {len(files)} matching .conllu files; "
                "give one file, or a folder/archive plus --split train|dev|test"
            )
        path = files[0]
    try:
        is_archive = tarfile.is_tarfile(path)
    except (EOFError, OSError, tarfile.TarError, zlib.error):  # a truncated .gz header
        raise DataError(
            f"{path} looks like a compressed archive but cannot be read (truncated or "
            "damaged); download it again"
        ) from None
    if is_archive:
        if split is None:
            raise DataError(f"{path} is an archive; also give the split (train, dev or test)")
        if split not in SPLITS:
            raise DataError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
        text, where = _read_member(path, split)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    else:
        raw = path.read_bytes()
        text = _decode(raw, str(path))
        where, sha = str(path), hashlib.sha256(raw).hexdigest()
    sentences = parse_conllu(text, where)
    if not sentences:
        raise DataError(
            f"{where} holds no sentences; give a CoNLL-U file: token lines of 10 "
            "tab-separated columns, a blank line after each sentence"
        )
    return Treebank(sentences, where, sha)


def to_conllu_text(sentences: list[Sentence]) -> str:
    """Write sentences back as minimal CoNLL-U (ID, FORM, LEMMA, UPOS; other columns ``_``)."""
    buf = io.StringIO()
    for k, s in enumerate(sentences, 1):
        buf.write(f"# sent_id = {s.sent_id or k}\n")
        for i, (f, lem, u) in enumerate(zip(s.forms, s.lemmas, s.upos, strict=True), 1):
            buf.write(f"{i}\t{f}\t{lem}\t{u}\t_\t_\t_\t_\t_\t_\n")
        buf.write("\n")
    return buf.getvalue()
