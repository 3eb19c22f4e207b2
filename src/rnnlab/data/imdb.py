"""The IMDB Large Movie Review Dataset (Maas et al., 2011).

Reads the layout ``aclImdb/{train,test}/{pos,neg}/ID_RATING.txt`` from the
canonical archive (downloaded into the cache), from a local ``.tar.gz`` of that
layout (streamed, never extracted to disk), or from an extracted folder. Other
members (``train/unsup``, ``*.feat``, ``urls_*.txt``, ``imdb.vocab``) are ignored.
Reviews keep their ``<br />`` tags; labels are ``neg`` (0) and ``pos`` (1) and the
1-10 star ratings are kept from the file names.

Fingerprint (`TextDataset.sha256`): for an archive, the sha256 of the archive
file; for a folder, `sha256_of_files` of the split's review files relative to the
``aclImdb`` folder (so it is per split and independent of where the folder lives).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import re
import tarfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from rnnlab.data.dataset import TextDataset, sha256_of_file, update_named
from rnnlab.data.download import default_cache_dir, download
from rnnlab.errors import DataError

IMDB_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
IMDB_LABEL_NAMES = ["neg", "pos"]
IMDB_SPLITS = ("train", "test")

_LAYOUT = "aclImdb/{train,test}/{pos,neg}/ID_RATING.txt"
_FILE = re.compile(r"(\d+)_(\d+)\.txt")
# gzip (the download), bzip2 or xz (a recompressed copy; _decompressed reads all three)
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

# One review: (sort key "cls/name", text, label, rating).
_Review = tuple[str, str, int, int]


def is_imdb_source(source: str | Path) -> bool:
    """Whether `source` names IMDB data: ``"imdb"``, a tar archive, or an aclImdb folder.

    Parameters
    ----------
    source : str or Path
        What the user passed as the data source.

    Returns
    -------
    bool
        True for ``"imdb"``, a ``.tar.gz``/``.tgz``/``.tar`` path (or bzip2/xz:
        ``.tar.bz2``/``.tbz2``/``.tar.xz``/``.txz``), or a folder holding
        ``aclImdb/``, ``train/pos/`` or ``test/pos/``.
    """
    if str(source) == "imdb":
        return True
    p = Path(source).expanduser()
    if p.is_dir():
        return any((p / sub).is_dir() for sub in ("aclImdb", "train/pos", "test/pos"))
    return p.name.lower().endswith(_ARCHIVE_SUFFIXES)


def _review(name: str, cls: str, data: bytes, where: Path) -> _Review:
    """Parse one review file's name (``ID_RATING.txt``) and bytes."""
    m = _FILE.fullmatch(name)
    if m is None:
        raise DataError(f"{where}: unexpected review file {cls}/{name}; expected {_LAYOUT}")
    rating = int(m.group(2))
    if not 1 <= rating <= 10:
        raise DataError(f"{where}: rating {rating} in {cls}/{name} is not 1-10; expected {_LAYOUT}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{where}: {cls}/{name} is not valid UTF-8 (byte 0x{data[e.start]:02x} at "
            f"position {e.start}); re-save it as UTF-8"
        ) from None
    return f"{cls}/{name}", text, IMDB_LABEL_NAMES.index(cls), rating


def _split_parts(member: str) -> tuple[str, str, str] | None:
    """Return (split, cls, file name) for a labeled review path, else None."""
    parts = member.split("/")
    if len(parts) < 3:
        return None
    split, cls, name = parts[-3:]
    if split not in IMDB_SPLITS or cls not in IMDB_LABEL_NAMES or not name.endswith(".txt"):
        return None
    return split, cls, name


def _decompressed(path: Path) -> BinaryIO:
    """The archive's tar bytes: gzip, bzip2 or xz decompressed by the module that raises
    EOFError on a truncated stream (tarfile's own stream mode ends quietly instead when
    the cut falls between two members, so a truncated download would look complete)."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - an uncompressed tar (or not an archive)


def _read_archive(path: Path, splits: tuple[str, ...]) -> dict[str, list[_Review]]:
    out: dict[str, list[_Review]] = {s: [] for s in splits}
    try:
        with _decompressed(path) as raw, tarfile.open(fileobj=raw, mode="r|") as tf:
            for member in tf:
                parsed = _split_parts(member.name) if member.isfile() else None
                if parsed is None or parsed[0] not in out:
                    continue
                f = tf.extractfile(member)
                data = f.read() if f is not None else b""
                out[parsed[0]].append(_review(parsed[2], parsed[1], data, path))
            while raw.read(1 << 20):  # to the end: a stream cut short raises EOFError
                pass
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as e:
        raise DataError(
            f"cannot read the archive {path}: {e or type(e).__name__}; "
            "it is not a tar(.gz/.bz2/.xz) file or it is truncated — download it again"
        ) from None
    return out


def _read_folder(root: Path, split: str) -> tuple[list[_Review], str]:
    reviews: list[_Review] = []
    h = hashlib.sha256()
    for cls in IMDB_LABEL_NAMES:
        folder = root / split / cls
        if not folder.is_dir():
            raise DataError(f"{root}: folder {split}/{cls} is missing; expected {_LAYOUT}")
        for p in sorted(folder.iterdir()):
            if p.suffix != ".txt" or not p.is_file():
                continue
            try:
                data = p.read_bytes()
            except OSError as e:
                raise DataError(f"cannot read {p}: {e.strerror or e}") from None
            update_named(h, f"{split}/{cls}/{p.name}", data)
            reviews.append(_review(p.name, cls, data, root))
    return reviews, h.hexdigest()


def _dataset(reviews: list[_Review], split: str, where: Path, sha: str) -> TextDataset:
    reviews.sort(key=lambda r: r[0])
    for label, cls in enumerate(IMDB_LABEL_NAMES):
        if not any(r[2] == label for r in reviews):
            raise DataError(f"{where} has no {split}/{cls} reviews; expected the layout {_LAYOUT}")
    return TextDataset(
        texts=[r[1] for r in reviews],
        labels=[r[2] for r in reviews],
        label_names=list(IMDB_LABEL_NAMES),
        source=str(where),
        sha256=sha,
        ratings=[r[3] for r in reviews],
    )


def load_imdb_splits(
    source: str | Path = "imdb",
    cache_dir: str | Path | None = None,
    url: str = IMDB_URL,
    md5: str | None = IMDB_MD5,
    splits: Iterable[str] = IMDB_SPLITS,
) -> dict[str, TextDataset]:
    """Load several IMDB splits, reading an archive only once.

    Parameters
    ----------
    source : str or Path, optional
        ``"imdb"`` (download the canonical archive into `cache_dir`), a path to a
        ``.tar.gz`` of the ``aclImdb`` layout, or an extracted ``aclImdb/`` folder
        (or the folder containing it).
    cache_dir : str or Path, optional
        Download cache; default `default_cache_dir()`.
    url, md5 : str, optional
        Where to download from and the archive's expected md5 (for ``"imdb"``).
    splits : iterable of str, optional
        Any of ``"train"``, ``"test"``.

    Returns
    -------
    dict of str to TextDataset
        One dataset per split, sorted by file path, labels ``neg``/``pos``, with ratings.
    """
    wanted = tuple(dict.fromkeys(splits))
    bad = [s for s in wanted if s not in IMDB_SPLITS]
    if bad or not wanted:
        raise DataError(
            f"unknown IMDB split {bad[0] if bad else '(none)'!r}; use 'train' or 'test'"
        )
    if str(source) == "imdb":
        path = download(url, cache_dir if cache_dir is not None else default_cache_dir(), md5=md5)
    else:
        path = Path(source).expanduser()
    if not path.exists():
        raise DataError(
            f"IMDB data not found at {path}; pass 'imdb' to download it, an "
            "aclImdb_v1.tar.gz archive, or an extracted aclImdb/ folder"
        )
    if path.is_dir():
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        if not any((root / s).is_dir() for s in IMDB_SPLITS):
            raise DataError(f"{path} is not an IMDB folder; expected {_LAYOUT}")
        out = {}
        for s in wanted:
            reviews, sha = _read_folder(root, s)
            out[s] = _dataset(reviews, s, root, sha)
        return out
    sha = sha256_of_file(path)
    return {s: _dataset(r, s, path, sha) for s, r in _read_archive(path, wanted).items()}


def load_imdb(
    source: str | Path = "imdb",
    split: str = "train",
    cache_dir: str | Path | None = None,
    url: str = IMDB_URL,
    md5: str | None = IMDB_MD5,
) -> TextDataset:
    """Load one IMDB split (``"train"`` or ``"test"``); see `load_imdb_splits`.

    Parameters
    ----------
    source : str or Path, optional
        ``"imdb"``, an archive path, or an extracted folder.
    split : str, optional
        ``"train"`` or ``"test"``.
    cache_dir : str or Path, optional
        Download cache; default `default_cache_dir()`.
    url, md5 : str, optional
        Download location and expected md5 of the archive.

    Returns
    -------
    TextDataset
        25,000 reviews per split for the full dataset.
    """
    return load_imdb_splits(source, cache_dir=cache_dir, url=url, md5=md5, splits=(split,))[split]
