"""Tests for model directories: atomic writes and the checks made when reading them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab import artifacts
from rnnlab.artifacts import (
    FORMAT,
    FORMAT_VERSION,
    read_config,
    sha256_file,
    write_model_dir,
)
from rnnlab.errors import ArtifactError, RnnlabError


def base_config(**kw) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "classifier", **kw}


def writers(tag: str = "v1", fail_at: str | None = None) -> dict:
    def make(name: str, data: bytes):
        def write(path: Path) -> None:
            if name == fail_at:
                path.write_bytes(b"half")
                raise RuntimeError(f"disk full while writing {name}")
            path.write_bytes(data)

        return write

    return {
        "vocab.json": make("vocab.json", json.dumps(["<pad>", "<unk>", tag]).encode()),
        "model.safetensors": make("model.safetensors", f"weights {tag}".encode() * 50),
        "metrics.json": make("metrics.json", b"{}"),
    }


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_then_read(tmp_path: Path) -> None:
    out = write_model_dir(tmp_path / "m", base_config(extra=1), writers())
    assert out == tmp_path / "m"
    assert listing(out) == ["config.json", "metrics.json", "model.safetensors", "vocab.json"]
    assert listing(tmp_path) == ["m"]  # no temp folder left beside it
    config = read_config(out, kind="classifier")
    assert config["extra"] == 1
    assert config["files"] == {
        "vocab.json": sha256_file(out / "vocab.json"),
        "model.safetensors": sha256_file(out / "model.safetensors"),
    }


def test_creates_missing_parents(tmp_path: Path) -> None:
    out = write_model_dir(tmp_path / "a" / "b" / "m", base_config(), writers())
    assert (out / "config.json").is_file()


@pytest.mark.parametrize("fail_at", ["vocab.json", "model.safetensors", "metrics.json"])
def test_failed_write_leaves_nothing(tmp_path: Path, fail_at: str) -> None:
    with pytest.raises(RuntimeError, match="disk full"):
        write_model_dir(tmp_path / "m", base_config(), writers(fail_at=fail_at))
    assert listing(tmp_path) == []


def test_failed_rewrite_keeps_the_old_directory(tmp_path: Path) -> None:
    out = write_model_dir(tmp_path / "m", base_config(tag="old"), writers("v1"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        write_model_dir(out, base_config(tag="new"), writers("v2", fail_at="metrics.json"))
    assert listing(tmp_path) == ["m"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert read_config(out)["tag"] == "old"


def test_rewrite_replaces_the_whole_directory(tmp_path: Path) -> None:
    out = write_model_dir(tmp_path / "m", base_config(tag="old"), writers("v1"))
    (out / "stale.png").write_bytes(b"old plot")
    write_model_dir(out, base_config(tag="new"), writers("v2"))
    assert listing(tmp_path) == ["m"]  # the old copy was removed, no temp folder left
    assert "stale.png" not in listing(out)
    assert read_config(out)["tag"] == "new"
    assert b"v2" in (out / "vocab.json").read_bytes()


def test_failed_final_rename_keeps_the_old_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write_model_dir(tmp_path / "m", base_config(tag="old"), writers("v1"))
    real = artifacts.os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".m.tmp-"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", replace)
    with pytest.raises(OSError):
        write_model_dir(out, base_config(tag="new"), writers("v2"))
    assert read_config(out)["tag"] == "old"


def test_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "m").write_text("not a folder")
    with pytest.raises(ArtifactError, match="exists and is a file"):
        write_model_dir(tmp_path / "m", base_config(), writers())


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    return write_model_dir(tmp_path / "m", base_config(), writers())


def test_error_types() -> None:
    assert issubclass(ArtifactError, RnnlabError) and issubclass(RnnlabError, ValueError)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="model directory not found: .*nope"):
        read_config(tmp_path / "nope")


def test_file_instead_of_directory(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(ArtifactError, match="is not a model directory"):
        read_config(tmp_path / "f.json")


@pytest.mark.parametrize("name", ["model.safetensors", "vocab.json", "config.json"])
def test_incomplete_directory(model_dir: Path, name: str) -> None:
    (model_dir / name).unlink()
    with pytest.raises(ArtifactError, match=f"is incomplete: missing {name}.*rnnlab train"):
        read_config(model_dir)


def test_missing_recorded_file(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["files"]["metrics.json"] = "0" * 64
    (model_dir / "config.json").write_text(json.dumps(config))
    (model_dir / "metrics.json").unlink()
    with pytest.raises(ArtifactError, match="incomplete: missing metrics.json"):
        read_config(model_dir)


@pytest.mark.parametrize("name", ["model.safetensors", "vocab.json"])
def test_corrupted_file_fails_the_sha256_check(model_dir: Path, name: str) -> None:
    data = bytearray((model_dir / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model_dir / name).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=rf"{name} is corrupted \(sha256 differs"):
        read_config(model_dir)
    assert read_config(model_dir, verify=False)["kind"] == "classifier"


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage"])
def test_corrupted_config(model_dir: Path, content: bytes) -> None:
    (model_dir / "config.json").write_bytes(content)
    with pytest.raises(ArtifactError, match=r"config.json is corrupted .*retrain"):
        read_config(model_dir)


@pytest.mark.parametrize("config", [[1, 2], {"kind": "classifier"}, {"format": "other"}])
def test_not_an_rnnlab_config(model_dir: Path, config: object) -> None:
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="is not an rnnlab model directory"):
        read_config(model_dir)


def test_incompatible_format_version(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["format_version"] = 99
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ArtifactError, match=f"format version 99, this rnnlab reads version {FORMAT_VERSION}"
    ):
        read_config(model_dir)


def test_wrong_kind(model_dir: Path) -> None:
    with pytest.raises(ArtifactError, match="holds a 'classifier' model, expected 'tagger'"):
        read_config(model_dir, kind="tagger")
    assert read_config(model_dir, kind="classifier")["kind"] == "classifier"
