"""Model directories: written atomically, checked when loaded.

A model directory holds::

    config.json         every setting, label names, versions, data sha256,
                        and the sha256 of each file below
    vocab.json          the vocabulary (index 0 <pad>, 1 <unk>)
    model.safetensors   the weights (never pickle)
    metrics.json        validation (and test, when known) metrics
    *.png, history.jsonl, MODEL_CARD.md   report files

It is assembled in a temporary sibling directory and renamed into place, so a
crash never leaves a half-written model where a model is expected. Loading
verifies the format version and every file's sha256 before reading weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnlab.errors import ArtifactError

FORMAT = "rnnlab.model"
FORMAT_VERSION = 1
REQUIRED = ("config.json", "vocab.json", "model.safetensors")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_dir_for(out: str | Path) -> Path:
    """Where training keeps per-epoch checkpoints for the model directory ``out``.

    A sibling folder ``<out>.checkpoints``; ``write_model_dir`` removes it once the
    model directory is complete (a crash leaves it behind for inspection).
    """
    out = Path(out)
    return out.with_name(f"{out.name}.checkpoints")


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
    once the new directory is complete; then the training checkpoints
    (``checkpoint_dir_for(out)``) are removed.
    """
    out = check_output_dir(out)
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
    shutil.rmtree(checkpoint_dir_for(out), ignore_errors=True)
    return out


def base_config(kind: str) -> dict[str, Any]:
    """The keys every model directory's config.json starts with (format, kind, versions)."""
    import platform
    import time

    import torch

    from rnnlab import __version__

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


def check_output_dir(out: str | Path) -> Path:
    """Validate a path a model directory will be written to, before any work.

    A new path, an empty directory, or an existing rnnlab model directory (which
    will be replaced) is accepted; anything else is refused so that ``--out``
    can never delete a folder of other files.
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
        if any(out.iterdir()) and not _is_model_dir(out):
            raise ArtifactError(
                f"--out {out} exists and is not an rnnlab model directory; "
                "choose a new path (an existing model directory is replaced)"
            )
    return out


def _is_model_dir(path: Path) -> bool:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def read_config(path: str | Path, kind: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Read and validate a model directory's config.json.

    Raises ArtifactError naming the problem if the directory is missing,
    incomplete, of another format version or kind, or if a file's sha256
    does not match the one recorded when it was written.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"model directory not found: {path}")
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a model directory (expected a folder with config.json)")
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
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not an rnnlab model directory (config.json has no format)")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} uses model format version {version}, this rnnlab "
            f"reads version {FORMAT_VERSION}; retrain it or install a matching rnnlab"
        )
    if kind is not None and config.get("kind") != kind:
        raise ArtifactError(f"{path} holds a {config.get('kind')!r} model, expected {kind!r}")
    if verify:
        for name, expected in config.get("files", {}).items():
            file = path / name
            if not file.is_file():
                raise ArtifactError(f"model directory {path} is incomplete: missing {name}")
            if sha256_file(file) != expected:
                raise ArtifactError(
                    f"{file} is corrupted (sha256 differs from the one recorded at training); "
                    "retrain or restore the model directory"
                )
    return config
