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
import tarfile
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


def parse_conllu(text: str, source: str = "<string>") -> list[Sentence]:
    """Parse CoNLL-U text into sentences (words only; ranges and empty nodes dropped)."""
    import conllu

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
    with tarfile.open(path, "r:*") as tar:
        names = [m.name for m in tar.getmembers() if m.isfile() and m.name.endswith(".conllu")]
        match = [n for n in names if n.endswith(suffix)]
        if not match:
            have = ", ".join(sorted(Path(n).name for n in names)) or "none"
            raise DataError(f"{path} has no *{suffix} file (it has: {have}); pick another --split")
        member = tar.extractfile(match[0])
        assert member is not None
        data = member.read()
    return data.decode("utf-8"), f"{path}:{match[0]}"


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
    if tarfile.is_tarfile(path):
        if split is None:
            raise DataError(f"{path} is an archive; also give the split (train, dev or test)")
        if split not in SPLITS:
            raise DataError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
        text, where = _read_member(path, split)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text; re-save it as UTF-8") from None
        where, sha = str(path), hashlib.sha256(raw).hexdigest()
    sentences = parse_conllu(text, where)
    if not sentences:
        raise DataError(f"{where} holds no sentences; is it a CoNLL-U file?")
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
