"""Checked, resumable-safe file downloads into a cache folder.

`download` streams a URL (http, https or file) to ``NAME.part`` next to the
final file, verifies the md5/sha256 given, and only then renames it into place,
so an interrupted or corrupt download never leaves a complete-looking file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from rnnlab.errors import DataError

_CHUNK = 1 << 20
_SCHEMES = ("http", "https", "file")


def default_cache_dir() -> Path:
    """Return the download cache folder: ``$RNNLAB_CACHE`` or ``~/.cache/rnnlab``."""
    env = os.environ.get("RNNLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnnlab"


def _hashers(md5: str | None, sha256: str | None) -> dict[str, hashlib._Hash]:
    out: dict[str, hashlib._Hash] = {}
    if md5:
        out["md5"] = hashlib.md5(usedforsecurity=False)
    if sha256:
        out["sha256"] = hashlib.sha256()
    return out


def _mismatch(hashers: dict[str, hashlib._Hash], md5: str | None, sha256: str | None) -> str:
    """Return 'expected ALGO X, got Y' for the first checksum that differs, else ''."""
    expected = {"md5": md5, "sha256": sha256}
    for algo, h in hashers.items():
        want, got = str(expected[algo]).lower(), h.hexdigest()
        if want != got:
            return f"expected {algo} {want}, got {got}"
    return ""


def _file_mismatch(path: Path, md5: str | None, sha256: str | None) -> str:
    hashers = _hashers(md5, sha256)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return _mismatch(hashers, md5, sha256)


def download(
    url: str,
    dest_dir: str | Path,
    md5: str | None = None,
    sha256: str | None = None,
    filename: str | None = None,
    progress: bool = True,
) -> Path:
    """Download `url` into `dest_dir`, verify it, and return the file's path.

    A file already there whose checksums match (or, with no checksum given, any
    file already there) is returned without downloading; one that mismatches is
    deleted and downloaded again.

    Parameters
    ----------
    url : str
        An ``http://``, ``https://`` or ``file://`` URL.
    dest_dir : str or Path
        Folder to put the file in; created if missing.
    md5, sha256 : str, optional
        Expected hex digests; every one given is checked.
    filename : str, optional
        Name of the file in `dest_dir`; default: the last part of the URL's path.
    progress : bool, optional
        Show a progress bar on stderr.

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    DataError
        Unsupported URL, network or file error, or checksum mismatch.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in _SCHEMES:
        raise DataError(
            f"unsupported URL {url!r}: use an http://, https:// or file:// URL "
            "(for a local file, pass its path instead)"
        )
    name = filename or Path(urllib.parse.unquote(parsed.path)).name
    if not name:
        raise DataError(f"cannot tell a file name from the URL {url}; pass filename=")
    dest = Path(dest_dir).expanduser()
    final, part = dest / name, dest / f"{name}.part"
    if final.is_file():
        if not (md5 or sha256) or not _file_mismatch(final, md5, sha256):
            return final
        final.unlink()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the download folder {dest}: {e}") from None

    hashers = _hashers(md5, sha256)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(part, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            with Progress(
                *columns, console=Console(stderr=True), transient=True, disable=not progress
            ) as bar:
                task = bar.add_task(f"downloading {name}", total=total)
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    for h in hashers.values():
                        h.update(chunk)
                    done += len(chunk)
                    bar.update(task, advance=len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        part.unlink(missing_ok=True)
        plain = isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError)
        reason = e.reason if plain else e
        raise DataError(
            f"could not download {url}: {reason or type(e).__name__}; "
            "check the URL and your network connection, then retry"
        ) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise

    if total is not None and done != total:
        part.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} ended early: got {done} of {total} bytes; retry the download"
        )
    if problem := _mismatch(hashers, md5, sha256):
        part.unlink(missing_ok=True)
        raise DataError(
            f"checksum mismatch for {url}: {problem}; the download is corrupt or the file "
            "changed — the partial file was deleted, retry the download"
        )
    os.replace(part, final)
    return final
