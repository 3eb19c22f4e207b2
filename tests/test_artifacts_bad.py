"""Every way a model directory can be bad, each answered with one line naming the
problem and the fix (table-driven; the checks live in rnnlab.artifacts.read_config)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from rnnlab.artifacts import FORMAT, FORMAT_VERSION, read_config, write_model_dir
from rnnlab.errors import ArtifactError

RETRAIN = r"(retrain|train it again|`rnnlab train`)"


def good_model(folder: Path) -> Path:
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "classifier"}
    writers = {
        "vocab.json": lambda p: p.write_text(json.dumps(["<pad>", "<unk>", "film"])),
        "model.safetensors": lambda p: p.write_bytes(b"weights " * 100),
        "metrics.json": lambda p: p.write_text("{}"),
    }
    return write_model_dir(folder, config, writers, checked=("vocab.json", "model.safetensors"))


def edit(**changes) -> Callable[[Path], Path]:
    """A case that rewrites config.json with ``changes`` (None deletes the key)."""

    def apply(model: Path) -> Path:
        config = json.loads((model / "config.json").read_text())
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        (model / "config.json").write_text(json.dumps(config))
        return model

    return apply


def write(name: str, data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def apply(model: Path) -> Path:
        file = model / name
        file.write_bytes(data(file.read_bytes()) if callable(data) else data)
        return model

    return apply


def remove(name: str) -> Callable[[Path], Path]:
    def apply(model: Path) -> Path:
        (model / name).unlink()
        return model

    return apply


def flip(b: bytes) -> bytes:
    return b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF]) + b[len(b) // 2 + 1 :]


def empty_dir(model: Path) -> Path:
    folder = model.with_name("empty")
    folder.mkdir()
    return folder


def a_file(model: Path) -> Path:
    file = model.with_name("model.zip")
    file.write_bytes(b"PK\x03\x04")
    return file


def missing_dir(model: Path) -> Path:
    return model.with_name("no-such-model")


def listed_then_removed(model: Path) -> Path:
    config = json.loads((model / "config.json").read_text())
    config["files"]["chars.json"] = "0" * 64  # listed, as a tagger's is
    (model / "config.json").write_text(json.dumps(config))
    return model


def sha_of_other(model: Path) -> Path:
    config = json.loads((model / "config.json").read_text())
    config["files"]["model.safetensors"] = config["files"]["vocab.json"]
    (model / "config.json").write_text(json.dumps(config))
    return model


# (case id, damage, expected kind passed to read_config, problem, fix)
CASES = [
    ("missing dir", missing_dir, None, "model directory not found: .*no-such-model", "check the path"),
    ("empty dir", empty_dir, None, "model directory .*empty is empty", RETRAIN),
    ("a file, not a dir", a_file, None, "model.zip is not a model directory", "folder with config.json"),
    ("no config.json", remove("config.json"), None, "incomplete: missing config.json", RETRAIN),
    ("no vocab.json", remove("vocab.json"), None, "incomplete: missing vocab.json", RETRAIN),
    ("no weights", remove("model.safetensors"), None, "incomplete: missing model.safetensors", RETRAIN),
    ("no listed file", listed_then_removed, None, "incomplete: missing chars.json", RETRAIN),
    ("truncated config", write("config.json", lambda b: b[: len(b) // 2]), None, r"config.json is corrupted \(", RETRAIN),
    ("config not utf-8", write("config.json", b"\xff\xfe{}"), None, "config.json is corrupted", RETRAIN),
    ("empty config", write("config.json", b""), None, "config.json is corrupted", RETRAIN),
    ("config a list", write("config.json", b"[1, 2]"), None, "is not an rnnlab model directory", "config.json has no format"),
    ("no format", edit(format=None), None, "is not an rnnlab model directory", "config.json has no format"),
    ("other format", edit(format="keras"), None, "is not an rnnlab model directory", "config.json has no format"),
    ("future version", edit(format_version=99), None, "model format version 99", "install a matching rnnlab"),
    ("version as text", edit(format_version="1"), None, "model format version 1,", "install a matching rnnlab"),
    ("version true", edit(format_version=True), None, "model format version True", "install a matching rnnlab"),
    ("no version", edit(format_version=None), None, "model format version None", "install a matching rnnlab"),
    ("no kind", edit(kind=None), None, "names no model kind", RETRAIN),
    ("kind a number", edit(kind=7), None, r"names no model kind \(got 7\)", RETRAIN),
    ("other kind", lambda m: m, "tagger", "holds a 'classifier' model, expected 'tagger'", "give a tagger model directory"),
    ("no checksums", edit(files=None), None, "has no checksums", "retrain the model or restore"),
    ("checksums a list", edit(files=["vocab.json"]), None, '"files" must map file names to sha256 digests, got a list', "retrain"),
    ("checksum not hex", edit(files={"vocab.json": "xyz", "model.safetensors": "0" * 64}), None, "'vocab.json': 'xyz' is not a file name with a sha256", "retrain"),
    ("weights unchecked", edit(files={"vocab.json": "0" * 64}), None, "no checksum for model.safetensors", "retrain"),
    ("tampered weights", write("model.safetensors", flip), None, r"model.safetensors is corrupted \(sha256 differs", "retrain or restore"),
    ("truncated weights", write("model.safetensors", lambda b: b[:10]), None, "model.safetensors is corrupted", "retrain or restore"),
    ("tampered vocab", write("vocab.json", b'["<pad>", "<unk>", "evil"]'), None, "vocab.json is corrupted", "retrain or restore"),
    ("swapped checksums", sha_of_other, None, "model.safetensors is corrupted", "retrain or restore"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "kind", "problem", "fix"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_model_directory(
    tmp_path: Path, damage: Callable[[Path], Path], kind: str | None, problem: str, fix: str
) -> None:
    path = damage(good_model(tmp_path / "model"))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ArtifactError) as info:
        read_config(path, kind=kind)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert re.search(problem, message), message
    assert re.search(fix, message), message
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written or removed


def test_good_model_reads(tmp_path: Path) -> None:
    assert read_config(good_model(tmp_path / "model"), kind="classifier")["kind"] == "classifier"


def test_unknown_kind_is_refused_by_load(tmp_path: Path) -> None:
    import rnnlab

    model = edit(kind="transformer")(good_model(tmp_path / "model"))
    with pytest.raises(
        ArtifactError, match=r"unknown kind 'transformer'.*(upgrade|retrain)"
    ) as info:
        rnnlab.load(model)
    assert "\n" not in str(info.value)
