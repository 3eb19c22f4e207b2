"""Model directories: written atomically, checked when loaded.

A model directory holds::

    config.json         every setting, label names, versions, data sha256,
                        and the sha256 of each file below ("files")
    vocab.json          the vocabulary (index 0 <pad>, 1 <unk>)
    model.safetensors   the weights (never pickle)
    chars.json, tokenizer.json   what some tasks or tokenizers add (checksummed too)
    metrics.json        validation (and test, when known) metrics
    *.png, history.jsonl, MODEL_CARD.md   report files

It is assembled in a temporary sibling directory and renamed into place, so a
crash never leaves a half-written model where a model is expected. Loading
verifies the format version and every file's sha256 before reading weights; a
directory whose config.json lacks the checksums (or holds malformed ones) is
refused, so the check cannot be switched off by editing config.json.

Training keeps its checkpoints beside the model, in ``<out>.checkpoints``,
marked by a ``CHECKPOINTS.json`` file. rnnlab deletes or replaces only what it
wrote itself: a checkpoint folder without the marker, or an ``--out`` folder
holding files rnnlab does not write, is refused with one line, never deleted.

Sizes recorded in config.json (vocabulary, embedding, hidden units) are
compared with the shapes in the weight file's header -- read without loading
a tensor -- before a network is built, so an edited config.json cannot make
rnnlab try to allocate a terabyte.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rnnlab.errors import ArtifactError

FORMAT = "rnnlab.model"
FORMAT_VERSION = 1
REQUIRED = ("config.json", "vocab.json", "model.safetensors")
# Files a model reads besides config.json: each present one must have a checksum.
DATA_FILES = ("vocab.json", "model.safetensors", "chars.json", "tokenizer.json", "vectors.bin")
# Files rnnlab writes into a model directory that it does not read to predict.
REPORT_FILES = (
    "metrics.json",
    "history.jsonl",
    "MODEL_CARD.md",
    "*.png",
    "report.html",
    "examples.json",
    ".DS_Store",
)

# The checkpoint folder's marker; rnnlab.training.checkpoint writes the same file.
CHECKPOINT_MARKER = "CHECKPOINTS.json"
CHECKPOINT_FORMAT = "rnnlab.checkpoint"
# What rnnlab writes into a checkpoint folder (the first release: the three files).
CHECKPOINT_FILES = (
    CHECKPOINT_MARKER,
    "ckpt-*",
    ".tmp-ckpt-*",
    "history.jsonl",
    "last.safetensors",
    "best.safetensors",
)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


# ---------------------------------------------------------------- checkpoint folders


def checkpoint_dir_for(out: str | Path, create: bool = False) -> Path:
    """Where training keeps its checkpoints for the model directory ``out``.

    A sibling folder ``<out>.checkpoints``; ``write_model_dir`` removes it once the
    model directory is complete (a crash leaves it behind, to resume from).

    Parameters
    ----------
    out : str or Path
        The model directory (``--out``).
    create : bool, default False
        Create the folder and its marker (:func:`mark_checkpoint_dir`). An existing
        folder is kept if rnnlab wrote it, else ArtifactError.
    """
    out = Path(out)
    folder = out.with_name(f"{out.name}.checkpoints")
    if create:
        check_checkpoint_dir(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if not is_checkpoint_dir(folder):
            mark_checkpoint_dir(folder)
    return folder


def is_checkpoint_dir(path: str | Path) -> bool:
    """True for a folder that holds rnnlab's checkpoint marker."""
    try:
        marker = json.loads((Path(path) / CHECKPOINT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("format") == CHECKPOINT_FORMAT


def mark_checkpoint_dir(path: str | Path) -> Path:
    """Write the marker that makes ``path`` a folder rnnlab may later delete."""
    path = Path(path)
    write_text_atomic(
        path / CHECKPOINT_MARKER,
        json.dumps({"format": CHECKPOINT_FORMAT, "format_version": 1, "note": "rnnlab checkpoints"})
        + "\n",
    )
    return path / CHECKPOINT_MARKER


def _foreign_checkpoint_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not _matches(p.name, CHECKPOINT_FILES))


def check_checkpoint_dir(folder: str | Path) -> None:
    """Refuse a checkpoint folder rnnlab did not write (before any work is done).

    Accepted: no folder, an empty one, a marked one, or one holding only the
    files the first release wrote there (``last.safetensors``, ...).
    """
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir():
        raise ArtifactError(
            f"{folder} exists and is not a checkpoint folder rnnlab wrote; "
            "move it away or choose another --out"
        )
    if is_checkpoint_dir(folder):
        return
    foreign = _foreign_checkpoint_entries(folder)
    if foreign:
        raise ArtifactError(
            f"{folder} exists and was not written by rnnlab (no {CHECKPOINT_MARKER}; holds "
            f"{_listing(foreign)}); move or delete it yourself, or choose another --out"
        )


def remove_checkpoint_dir(out: str | Path) -> bool:
    """Delete ``<out>.checkpoints`` -- only what rnnlab wrote there.

    In a marked folder (or an unmarked one of the first release's files) the
    checkpoint files are removed, then the folder if nothing else is left. Other
    files are never touched. Returns True if the folder is gone.
    """
    folder = checkpoint_dir_for(out)
    if not folder.exists():
        return True
    if folder.is_symlink() or not folder.is_dir():
        return False
    foreign = _foreign_checkpoint_entries(folder)
    if not is_checkpoint_dir(folder) and foreign:
        return False
    for entry in folder.iterdir():
        if entry.name == CHECKPOINT_MARKER or not _matches(entry.name, CHECKPOINT_FILES):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    if foreign:
        return False
    (folder / CHECKPOINT_MARKER).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


# ---------------------------------------------------------------- writing


def write_model_dir(
    out: str | Path,
    config: dict[str, Any],
    writers: dict[str, Callable[[Path], None]],
    checked: tuple[str, ...] = ("vocab.json", "model.safetensors"),
) -> Path:
    """Create ``out`` atomically.

    ``writers`` maps file names to functions that write that file at the given
    path. The sha256 of the ``checked`` files is stored in ``config["files"]``;
    ``config.json`` is written last. An existing ``out`` is replaced only
    once the new directory is complete (and only if rnnlab wrote it, see
    :func:`check_output_dir`); then the training checkpoints
    (``checkpoint_dir_for(out)``) are removed.
    """
    out = check_output_dir(out)
    unchecked = [n for n in writers if n in DATA_FILES and n not in checked]
    if unchecked:
        raise ValueError(f"write_model_dir: {', '.join(unchecked)} must be in `checked`")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    old = None
    try:
        for name, write in writers.items():
            write(tmp / name)
        config = dict(config)
        config["files"] = {name: sha256_file(tmp / name) for name in checked}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        _readable(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.replace(old, out)  # put the previous model back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    remove_checkpoint_dir(out)
    return out


def base_config(kind: str) -> dict[str, Any]:
    """The keys every model directory's config.json starts with (format, kind, versions)."""
    import platform
    import time

    import torch

    from rnnlab.version import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "rnnlab_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def json_writer(obj: Any) -> Callable[[Path], None]:
    """A ``writers`` entry that writes ``obj`` as indented JSON."""
    return lambda path: path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def weights_writer(module) -> Callable[[Path], None]:
    """A ``writers`` entry that writes a torch module's state dict as safetensors."""

    def write(path: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(path), metadata={"format": FORMAT})

    return write


def load_weights(module, path: Path) -> None:
    """Load safetensors weights into ``module``; ArtifactError if they do not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        module.load_state_dict(load_file(str(path)))
    except (RuntimeError, SafetensorError, OSError) as exc:
        raise ArtifactError(f"cannot load weights {path}: {str(exc).splitlines()[0]}") from None


def _readable(folder: Path) -> None:
    """Give the folder and its files the usual permissions (temp files start private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for file in folder.iterdir():
        os.chmod(file, 0o666 & ~umask)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a unique temporary file and a rename, so
    a crash never leaves half a file; the file gets the usual permissions (umask)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_dir(out: str | Path) -> Path:
    """Validate a path a model directory will be written to, before any work.

    A new path, an empty directory, or a model directory rnnlab wrote (which
    will be replaced) is accepted; anything else is refused so that ``--out``
    can never delete a folder of other files. ``<out>.checkpoints``, if it
    exists, must be rnnlab's too (:func:`check_checkpoint_dir`).
    """
    out = Path(out).expanduser().resolve()
    if out == Path(out.anchor) or out == Path.cwd():
        raise ArtifactError(
            f"--out {out} is the current or root directory; give a new folder name, "
            "e.g. --out models/imdb"
        )
    if out.exists():
        if not out.is_dir():
            raise ArtifactError(f"--out {out} exists and is a file; choose a directory path")
        if any(out.iterdir()):
            if not _is_model_dir(out):
                raise ArtifactError(
                    f"--out {out} exists and is not an rnnlab model directory; "
                    "choose a new path (an existing model directory is replaced)"
                )
            foreign = foreign_files(out)
            if foreign:
                raise ArtifactError(
                    f"--out {out} holds files rnnlab did not write ({_listing(foreign)}); "
                    "move them away or choose a new path (rnnlab replaces only its own files)"
                )
    check_checkpoint_dir(checkpoint_dir_for(out))
    return out


def _is_model_dir(path: Path) -> bool:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def foreign_files(path: str | Path) -> list[str]:
    """Entries of model directory ``path`` that rnnlab did not write (sorted names).

    rnnlab's own: ``config.json``, the files it reads (:data:`DATA_FILES`), its
    report files (:data:`REPORT_FILES`), and any file listed in config.json's
    ``"files"`` whose sha256 matches. Folders and links are never rnnlab's.
    """
    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        files = config.get("files") if isinstance(config, dict) else None
    except (OSError, ValueError):
        files = None
    listed = files if isinstance(files, dict) else {}
    foreign = []
    for entry in path.iterdir():
        name = entry.name
        if entry.is_symlink() or not entry.is_file():
            foreign.append(f"{name}/" if entry.is_dir() else name)
        elif name == "config.json" or name in DATA_FILES or _matches(name, REPORT_FILES):
            continue
        elif not (isinstance(listed.get(name), str) and sha256_file(entry) == listed[name]):
            foreign.append(name)
    return sorted(foreign)


# ---------------------------------------------------------------- reading


def read_config(path: str | Path, kind: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Read and validate a model directory's config.json.

    Raises ArtifactError naming the problem if the directory is missing,
    empty, incomplete, of another format version or kind, if config.json is
    unreadable or carries no (or malformed) checksums, or if a file's sha256
    does not match the one recorded when it was written (:func:`verify_files`).
    ``verify=False`` skips the checksums (for inspecting a damaged directory).
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(
            f"model directory not found: {path}; check the path, or train one with `rnnlab train`"
        )
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a model directory (expected a folder with config.json)")
    try:
        empty = not any(path.iterdir())
    except OSError as exc:
        raise ArtifactError(f"cannot read model directory {path} ({exc.strerror})") from None
    if empty:
        raise ArtifactError(
            f"model directory {path} is empty; give the folder `rnnlab train --out` wrote, "
            "or train it again with `rnnlab train`"
        )
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise ArtifactError(
            f"model directory {path} is incomplete: missing {', '.join(missing)}; "
            "train it again with `rnnlab train`"
        )
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(
            f"{path / 'config.json'} is corrupted ({exc}); retrain the model"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"cannot read {path / 'config.json'} ({exc.strerror})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not an rnnlab model directory (config.json has no format)")
    version = config.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ArtifactError(
            f"{path} uses model format version {version}, this rnnlab "
            f"reads version {FORMAT_VERSION}; retrain it or install a matching rnnlab"
        )
    found = config.get("kind")
    if not isinstance(found, str) or not found:
        raise ArtifactError(
            f"{path / 'config.json'} names no model kind (got {found!r}); "
            "retrain the model or restore its config.json"
        )
    if kind is not None and found != kind:
        raise ArtifactError(
            f"{path} holds a {found!r} model, expected {kind!r}; give a {kind} model directory "
            f"(or use the command for a {found} model)"
        )
    if verify:
        verify_files(path, config)
    return config


def verify_files(
    path: str | Path,
    config: Mapping[str, Any],
    required: Sequence[str] | None = None,
) -> None:
    """Check ``config["files"]``: present, well formed, covering, and matching.

    Parameters
    ----------
    path : str or Path
        The directory.
    config : mapping
        Its config.json.
    required : sequence of str, optional
        Files that must have a checksum; default: every file in :data:`DATA_FILES`
        present in the directory, and ``vocab.json`` and ``model.safetensors``
        (a word-vectors directory passes ``("vectors.bin",)``).

    Raises
    ------
    ArtifactError
        No ``files``, not a ``{name: sha256 hex}`` mapping, a required file
        without a checksum, a listed file missing, or a sha256 that differs.
    """
    path = Path(path)
    where = path / "config.json"
    fix = "retrain the model or restore its directory"
    files = config.get("files")
    if files is None:
        raise ArtifactError(
            f'{where} has no checksums ("files"), so the weights cannot be verified; {fix}'
        )
    if not isinstance(files, dict):
        raise ArtifactError(
            f'{where}: "files" must map file names to sha256 digests, got a '
            f"{type(files).__name__}; {fix}"
        )
    for name, digest in files.items():
        plain = isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
        if (
            not plain
            or "\\" in name
            or not isinstance(digest, str)
            or not _SHA256.fullmatch(digest)
        ):
            raise ArtifactError(
                f'{where}: "files" entry {name!r}: {digest!r} is not a file name with a '
                f"sha256 digest (64 hex digits); {fix}"
            )
    if required is None:
        required = [n for n in DATA_FILES if (path / n).exists()]
        required += [n for n in REQUIRED[1:] if n not in required]
    uncovered = [n for n in required if n not in files]
    if uncovered:
        raise ArtifactError(
            f"{where} has no checksum for {', '.join(uncovered)}, so it cannot be verified; {fix}"
        )
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"model directory {path} is incomplete: missing {name}; {fix}")
        if sha256_file(file) != expected:
            raise ArtifactError(
                f"{file} is corrupted (sha256 differs from the one recorded at training); "
                "retrain or restore the model directory"
            )


# ---------------------------------------------------------------- weight shapes

_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
_MAX_HEADER = 100 << 20  # safetensors' own limit on the header size


def weight_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """``{tensor name: shape}`` from a safetensors file's header, no tensor read.

    The file is 8 bytes (little-endian header length), a JSON header naming each
    tensor's dtype, shape and byte range, then the data. The header is checked
    against the file: each byte range must lie inside it and have the size the
    shape and dtype imply.

    Raises
    ------
    ArtifactError
        The file is missing, truncated, or not safetensors.
    """
    path = Path(path)
    bad = f"{path} is not a valid safetensors file"
    fix = "retrain or restore the model directory"
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > min(size - 8, _MAX_HEADER):
                raise ArtifactError(f"{bad} (its header length does not fit the file); {fix}")
            header = json.loads(fh.read(n).decode("utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"weights not found: {path}; {fix}") from None
    except OSError as exc:
        raise ArtifactError(f"cannot read {path} ({exc.strerror}); {fix}") from None
    except (UnicodeDecodeError, ValueError):
        raise ArtifactError(f"{bad} (its header is not JSON); {fix}") from None
    if not isinstance(header, dict):
        raise ArtifactError(f"{bad} (its header is not a JSON object); {fix}")
    data_size = size - 8 - n
    shapes: dict[str, tuple[int, ...]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            shape = tuple(entry["shape"])
            start, end = entry["data_offsets"]
            ok = all(type(d) is int and d >= 0 for d in (*shape, start, end))
            ok = ok and 0 <= start <= end <= data_size
            width = _DTYPE_BYTES.get(entry["dtype"])
            ok = ok and (width is None or end - start == width * math.prod(shape))
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise ArtifactError(
                f"{bad} (tensor {name!r} does not match its byte range; truncated?); {fix}"
            )
        shapes[name] = shape
    return shapes


def _shape(s: Sequence[Any]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in s) + ")"


def check_weight_shapes(
    path: str | Path, expected: Mapping[str, Sequence[int | None]]
) -> dict[str, tuple[int, ...]]:
    """Compare shapes the config implies with the weight file's header.

    Parameters
    ----------
    path : str or Path
        ``model.safetensors``.
    expected : mapping of str to sequence of int or None
        Tensor name -> shape computed from config.json, e.g.
        ``{"embedding.weight": (config["vocab_size"], config["embedding_dim"])}``;
        None matches any size.

    Returns
    -------
    dict
        Every tensor's shape (:func:`weight_shapes`).

    Raises
    ------
    ArtifactError
        A tensor is missing or has another shape.
    """
    path = Path(path)
    shapes = weight_shapes(path)
    for name, want in expected.items():
        got = shapes.get(name)
        if got is None:
            raise ArtifactError(
                f"{path} has no tensor {name!r}; config.json and the weights do not belong "
                "together: restore the model directory or retrain"
            )
        want = tuple(want)
        if len(got) != len(want) or any(
            w is not None and w != g for w, g in zip(want, got, strict=True)
        ):
            raise ArtifactError(
                f"config.json does not match {path}: {name} would be {_shape(want)} by the "
                f"config but is {_shape(got)} in the weights; restore config.json or retrain"
            )
    return shapes


def build_for_weights(build: Callable[[], Any], path: str | Path) -> Any:
    """``build()`` -- a torch module -- once its shapes are known to fit ``path``.

    The module is first built on torch's ``meta`` device, which allocates no
    memory, and its state-dict shapes are compared with the weight file's
    header; only if every name and shape agrees is it built for real. So sizes
    edited in config.json (``vocab_size``, ``hidden_size``, ...) are refused with
    one line instead of an attempt to allocate them.

    Parameters
    ----------
    build : callable
        No arguments, returns the network (e.g. ``lambda: SequenceClassifier(...)``).
    path : str or Path
        The ``model.safetensors`` the network will load.

    Returns
    -------
    torch.nn.Module
        ``build()``, with its initial weights (load the file next).

    Raises
    ------
    ArtifactError
        The network the config describes does not fit the weights.
    """
    path = Path(path)
    shapes = weight_shapes(path)
    try:
        meta = _build_on_meta(build)
        expected = {k: tuple(v.shape) for k, v in meta.state_dict().items()}
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise ArtifactError(
            f"config.json describes a network that cannot be built ({str(exc).splitlines()[0]}); "
            "restore config.json or retrain"
        ) from None
    del meta
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        which = "; ".join(
            f"{label} {_listing(names)}"
            for label, names in (("missing", missing), ("unexpected", extra))
            if names
        )
        raise ArtifactError(
            f"{path} does not hold the network config.json describes ({which}); "
            "restore the model directory or retrain"
        )
    check_weight_shapes(path, expected)
    return build()


# In-place tensor methods that change a tensor's shape: they must run even on meta.
_RESHAPING = frozenset(
    "resize_ resize_as_ set_ as_strided_ squeeze_ unsqueeze_ t_ transpose_ swapdims_ "
    "swapaxes_ share_memory_".split()
)


def _build_on_meta(build: Callable[[], Any]) -> Any:
    """Run ``build()`` with every tensor it creates on the ``meta`` device.

    ``with torch.device("meta")`` would do, but filling a meta tensor in place
    (``nn.init.normal_`` in every layer's reset) goes through torch's Python
    reference kernels, which import ``torch._dynamo``: about 3 s on the first
    load. A meta tensor has no values to fill, so in-place methods that keep the
    shape are skipped here (1-2 ms for the IMDB classifier).
    """
    import torch
    from torch.overrides import TorchFunctionMode

    try:
        from torch.utils._device import _device_constructors
    except ImportError:  # another torch: the public, slower way
        with torch.device("meta"):
            return build()
    constructors = _device_constructors()

    class MetaMode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in constructors and kwargs.get("device") is None:
                kwargs["device"] = "meta"
            name = getattr(func, "__name__", "")
            if name.endswith("_") and not name.endswith("__") and name not in _RESHAPING:
                first = next(
                    (a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), None
                )
                if first is not None and first.is_meta:
                    return first  # nothing to fill in a tensor without storage
            return func(*args, **kwargs)

    with MetaMode():
        return build()
