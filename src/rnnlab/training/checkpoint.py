"""Resumable training checkpoints: everything a killed run needs to go on bit for bit.

A checkpoint directory (``rnnlab.artifacts.checkpoint_dir_for(out)``, i.e.
``<out>.checkpoints``) holds::

    CHECKPOINTS.json            marker: this folder was written by rnnlab
    history.jsonl               the per-epoch figures so far (for people)
    ckpt-EEEEE-SSSSSSSS/        E epochs finished, then S batches of epoch E+1
        state.safetensors       tensors: "model.<name>" the weights,
                                "best.<name>" the best epoch's weights,
                                "optim.<i>.<key>" Adam's moments and step count
        state.json              the rest: position, optimizer hyper-parameters,
                                learning-rate schedule, early stopping, history,
                                every random state, fingerprints of model and run
        manifest.json           format, version, position, sha256 and size of the
                                two files above -- written last

A checkpoint is assembled in a hidden temporary folder (files fsync'ed) and
renamed into place, so a folder named ``ckpt-*`` is complete or absent; a
checkpoint whose files do not match its manifest is refused and the next
older one is used. The two newest checkpoints are kept. No pickle: tensors go
to safetensors, everything else to JSON (random states as lists and base64).

The *model fingerprint* is every state-dict entry's name, dtype and shape; the
*run fingerprint* is a dict the caller supplies (settings, data sha256) plus
the training settings that shape the trajectory. A checkpoint whose
fingerprints differ from the current run's is refused with one line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.errors import CheckpointError

FORMAT = "rnnlab.checkpoint"
FORMAT_VERSION = 1
MARKER = "CHECKPOINTS.json"
KEEP = 2  # newest checkpoints kept: the last one, and one to fall back on
NAME = re.compile(r"^ckpt-(\d{5,})-(\d{8,})$")
TMP_PREFIX = ".tmp-ckpt-"
FILES = ("state.safetensors", "state.json")
# Files the previous release wrote into the same folder (weights only, not resumable).
LEGACY = {"last.safetensors", "best.safetensors", "history.jsonl"}


def checkpoint_name(epochs_done: int, step: int) -> str:
    return f"ckpt-{epochs_done:05d}-{step:08d}"


# ------------------------------------------------------------------------ random states


def capture_rng() -> dict[str, Any]:
    """Python's, NumPy's global and torch's (CPU and every CUDA device) random states."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": _b64(torch.get_rng_state()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back the states :func:`capture_rng` took."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_unb64(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


# ------------------------------------------------------------------------- fingerprints


def model_fingerprint(model: torch.nn.Module) -> dict[str, str]:
    """``{name: "dtype[shape]"}`` of every state-dict entry (parameters and buffers)."""
    return {
        k: f"{str(v.dtype).removeprefix('torch.')}{list(v.shape)}"
        for k, v in model.state_dict().items()
    }


def canonical(obj: Any) -> Any:
    """``obj`` as plain JSON values (tuples become lists, paths and the rest strings)."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def first_difference(saved: Any, now: Any, prefix: str = "") -> str | None:
    """A short description of the first place two JSON values differ, or None."""
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in sorted(set(saved) | set(now)):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in saved:
                return f"{where} is new (not in the checkpoint)"
            if key not in now:
                return f"{where} is in the checkpoint but not in this run"
            diff = first_difference(saved[key], now[key], where)
            if diff:
                return diff
        return None
    if saved != now:
        return f"{prefix or 'value'}: {_short(saved)} in the checkpoint, {_short(now)} now"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------- optimizer


def optimizer_parts(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state dict into tensors (``optim.<i>.<key>``) and JSON."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for index, entry in sd["state"].items():
        plain = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value
            else:
                plain[key] = value
        state[str(index)] = plain
    groups = []
    for group in sd["param_groups"]:
        for key, value in group.items():
            if torch.is_tensor(value):  # e.g. a tensor learning rate
                raise CheckpointError(f"cannot checkpoint a tensor optimizer setting {key!r}")
        groups.append(canonical(group))
    return tensors, {"state": state, "param_groups": groups}


def optimizer_state_dict(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], parts: dict
) -> dict[str, Any]:
    """Rebuild the state dict :func:`optimizer_parts` split (types as the optimizer has them)."""
    fresh = optimizer.state_dict()["param_groups"]
    if len(fresh) != len(parts["param_groups"]):
        raise CheckpointError("the checkpoint's optimizer has a different number of groups")
    groups = []
    for now, saved in zip(fresh, parts["param_groups"], strict=True):
        group = dict(saved)
        for key, value in now.items():
            if isinstance(value, tuple) and isinstance(group.get(key), list):
                group[key] = tuple(group[key])
        groups.append(group)
    state: dict[int, dict[str, Any]] = {}
    for index, plain in parts["state"].items():
        state[int(index)] = dict(plain)
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups}


# ------------------------------------------------------------------------ the directory


def is_checkpoint_dir(path: str | Path) -> bool:
    """True for a folder rnnlab's training loop wrote (it holds the marker file)."""
    try:
        marker = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("format") == FORMAT


def prepare_directory(directory: Path) -> None:
    """Create ``directory`` with its marker; refuse a folder of files rnnlab did not write.

    Leftover temporary folders of a killed writer are removed.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"checkpoint folder {directory} exists and is a file; move it away")
    if directory.is_dir() and not is_checkpoint_dir(directory):
        foreign = sorted(
            p.name
            for p in directory.iterdir()
            if p.name not in LEGACY and not p.name.startswith(".")
        )
        if foreign:
            raise CheckpointError(
                f"checkpoint folder {directory} holds files rnnlab did not write "
                f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
                "move them away or choose another --out"
            )
    directory.mkdir(parents=True, exist_ok=True)
    if not is_checkpoint_dir(directory):
        _write_json_atomic(
            directory / MARKER,
            {"format": FORMAT, "format_version": FORMAT_VERSION, "note": "rnnlab checkpoints"},
        )
    for leftover in directory.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def list_checkpoints(directory: Path) -> list[Path]:
    """The ``ckpt-*`` folders in ``directory``, newest (furthest position) first."""
    if not Path(directory).is_dir():
        return []
    found = []
    for p in Path(directory).iterdir():
        m = NAME.match(p.name)
        if m and p.is_dir():
            found.append(((int(m.group(1)), int(m.group(2))), p))
    return [p for _, p in sorted(found, reverse=True)]


@dataclass
class Checkpoint:
    """One checkpoint read back and verified: its tensors and its JSON state."""

    path: Path
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]

    @property
    def epochs_done(self) -> int:
        return int(self.state["position"]["epochs_done"])

    @property
    def step(self) -> int:
        return int(self.state["position"]["step"])

    def prefixed(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensors whose key starts with ``prefix + '.'``, with the prefix removed."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


def write_checkpoint(
    directory: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]
) -> Path:
    """Write one checkpoint atomically; returns its folder.

    ``state["position"]`` names it. Tensors are copied to CPU and de-aliased
    (safetensors refuses shared storage). A checkpoint already at the same
    position is replaced.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    position = state["position"]
    final = directory / checkpoint_name(position["epochs_done"], position["step"])
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=directory))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a checkpoint is not secret
    try:
        seen: set[int] = set()
        plain: dict[str, torch.Tensor] = {}
        for key, value in tensors.items():
            t = value.detach().to("cpu").contiguous()
            storage = t.untyped_storage().data_ptr()
            if storage in seen:  # tied weights: safetensors refuses shared storage
                t = t.clone()
                storage = t.untyped_storage().data_ptr()
            seen.add(storage)
            plain[key] = t
        save_file(plain, str(tmp / "state.safetensors"), metadata={"format": FORMAT})
        (tmp / "state.json").write_text(
            json.dumps(state, allow_nan=False, separators=(",", ":")), encoding="utf-8"
        )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "position": position,
            "run_id": state.get("run_id"),
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": {
                name: {"sha256": _sha256(tmp / name), "bytes": (tmp / name).stat().st_size}
                for name in FILES
            },
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for name in (*FILES, "manifest.json"):
            _fsync(tmp / name)
        old = None
        if final.exists():
            old = directory / f"{TMP_PREFIX}old-{final.name}-{os.getpid()}"
            os.replace(final, old)
        os.replace(tmp, final)
        _fsync(directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and verify one checkpoint folder; CheckpointError naming what is wrong.

    Nothing is loaded into a model here: a checkpoint is either read whole and
    verified (manifest, sizes, sha256, JSON, safetensors) or refused.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} has no manifest.json (incomplete)") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: manifest.json is corrupt ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: manifest.json is not an rnnlab checkpoint's")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {manifest.get('format_version')!r}, "
            f"this rnnlab reads version {FORMAT_VERSION}; start without --resume"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(FILES):
        raise CheckpointError(f"checkpoint {path}: manifest.json does not list its files")
    for name in FILES:
        file, entry = path / name, files[name]
        if not isinstance(entry, dict) or not file.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
        if file.stat().st_size != entry.get("bytes") or _sha256(file) != entry.get("sha256"):
            raise CheckpointError(
                f"checkpoint {path}: {name} is corrupt (size or sha256 differs from the manifest)"
            )
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "state.safetensors"))
    except (OSError, ValueError, SafetensorError) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc})") from None
    if not isinstance(state, dict) or state.get("position") != manifest.get("position"):
        raise CheckpointError(f"checkpoint {path}: state.json does not match its manifest")
    return Checkpoint(path, tensors, state)


def newest_valid(directory: Path, warn: Callable[[str], None]) -> Checkpoint | None:
    """The newest checkpoint that reads back whole; None if there is none at all.

    A corrupt newer one is skipped with a warning; when every one is corrupt
    the newest one's problem is raised (never start over silently).
    """
    candidates = list_checkpoints(directory)
    first_error: CheckpointError | None = None
    for path in candidates:
        try:
            ckpt = read_checkpoint(path)
        except CheckpointError as exc:
            first_error = first_error or exc
            warn(f"warning: skipping {exc}")
            continue
        return ckpt
    if first_error is not None:
        raise CheckpointError(
            f"no valid checkpoint in {directory} ({first_error}); delete the folder and "
            "start without --resume"
        )
    return None


def prune(directory: Path, run_id: str, keep: int = KEEP) -> None:
    """Keep this run's ``keep`` newest checkpoints; remove the others rnnlab wrote."""
    kept = 0
    for path in list_checkpoints(directory):
        try:
            owner = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            owner = None
        if owner == run_id and kept < keep:
            kept += 1
            continue
        shutil.rmtree(path, ignore_errors=True)


def write_history(directory: Path, epochs: Iterable[dict[str, Any]]) -> None:
    tmp = Path(directory) / ".history.jsonl.tmp"
    tmp.write_text("".join(json.dumps(e) + "\n" for e in epochs), encoding="utf-8")
    os.replace(tmp, Path(directory) / "history.jsonl")


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (a checkpoint must survive a power cut, not only kill)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
