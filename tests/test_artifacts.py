"""Tests for model directories: atomic writes and the checks made when reading them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnlab import artifacts
from rnnlab.artifacts import (
    FORMAT,
    FORMAT_VERSION,
    json_writer,
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


# ------------------------------------------------------------ the integrity check


def edit_config(model_dir: Path, **changes) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    for key, value in changes.items():
        if value is DELETE:
            config.pop(key, None)
        else:
            config[key] = value
    (model_dir / "config.json").write_text(json.dumps(config))


DELETE = object()


def tamper(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))


def test_removing_the_checksums_does_not_switch_the_check_off(model_dir: Path) -> None:
    # The attack: edit the weights, then delete "files" so nothing is compared.
    tamper(model_dir / "model.safetensors")
    edit_config(model_dir, files=DELETE)
    with pytest.raises(ArtifactError, match=r"config.json has no checksums .*retrain"):
        read_config(model_dir)
    assert read_config(model_dir, verify=False)["kind"] == "classifier"  # inspection still works


@pytest.mark.parametrize(
    "files",
    [
        ["vocab.json", "model.safetensors"],
        "abc",
        {"vocab.json": 3, "model.safetensors": "0" * 64},
        {"model.safetensors": "not-a-digest", "vocab.json": "0" * 64},
        {"../../etc/passwd": "0" * 64, "vocab.json": "0" * 64, "model.safetensors": "0" * 64},
    ],
)
def test_malformed_checksums_are_refused_in_one_line(model_dir: Path, files: object) -> None:
    edit_config(model_dir, files=files)
    with pytest.raises(ArtifactError, match=r"\"files\".*retrain") as info:
        read_config(model_dir)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("dropped", ["vocab.json", "model.safetensors"])
def test_every_required_file_needs_a_checksum(model_dir: Path, dropped: str) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    edit_config(model_dir, files={k: v for k, v in config["files"].items() if k != dropped})
    with pytest.raises(ArtifactError, match=f"no checksum for {dropped}"):
        read_config(model_dir)


def test_a_data_file_without_checksum_is_refused(model_dir: Path) -> None:
    # A tokenizer.json dropped into a model directory would be read by the loader.
    (model_dir / "tokenizer.json").write_text("{}")
    with pytest.raises(ArtifactError, match="no checksum for tokenizer.json"):
        read_config(model_dir)


def test_verify_files_for_other_layouts(tmp_path: Path) -> None:
    folder = tmp_path / "vectors"
    folder.mkdir()
    (folder / "vectors.bin").write_bytes(b"vectors")
    config = {"files": {"vectors.bin": sha256_file(folder / "vectors.bin")}}
    artifacts.verify_files(folder, config, required=("vectors.bin",))
    with pytest.raises(ArtifactError, match="no checksums"):
        artifacts.verify_files(folder, {}, required=("vectors.bin",))
    tamper(folder / "vectors.bin")
    with pytest.raises(ArtifactError, match="vectors.bin is corrupted"):
        artifacts.verify_files(folder, config, required=("vectors.bin",))


def test_the_bundled_model_passes_the_checks() -> None:
    from rnnlab.tasks.base import bundled_model_path

    path = bundled_model_path()
    config = read_config(path, kind="classifier")
    assert set(config["files"]) == {"vocab.json", "model.safetensors"}
    assert artifacts.foreign_files(path) == []
    shapes = artifacts.weight_shapes(path / "model.safetensors")
    assert shapes["embedding.weight"] == (config["vocab_size"], config["embedding_dim"])


# ------------------------------------------------------------ deleting only our own files


def test_a_foreign_checkpoint_folder_is_refused_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "m.checkpoints"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    with pytest.raises(ArtifactError, match=r"m.checkpoints exists and was not written by rnnlab"):
        write_model_dir(tmp_path / "m", base_config(), writers())
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert listing(tmp_path) == ["m.checkpoints"]  # no model, no temp folder
    with pytest.raises(ArtifactError, match="move or delete it yourself"):
        artifacts.checkpoint_dir_for(tmp_path / "m", create=True)


def test_a_file_named_like_the_checkpoint_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.checkpoints").write_text("mine")
    with pytest.raises(ArtifactError, match="not a checkpoint folder rnnlab wrote"):
        write_model_dir(tmp_path / "m", base_config(), writers())
    assert (tmp_path / "m.checkpoints").read_text() == "mine"


def test_marked_checkpoints_are_removed_once_the_model_is_written(tmp_path: Path) -> None:
    folder = artifacts.checkpoint_dir_for(tmp_path / "m", create=True)
    assert folder == tmp_path / "m.checkpoints" and artifacts.is_checkpoint_dir(folder)
    (folder / "ckpt-00001-00000000").mkdir()
    (folder / "ckpt-00001-00000000" / "state.json").write_text("{}")
    (folder / "history.jsonl").write_text("{}\n")
    write_model_dir(tmp_path / "m", base_config(), writers())
    assert listing(tmp_path) == ["m"]


def test_a_file_added_to_a_marked_folder_survives(tmp_path: Path) -> None:
    folder = artifacts.checkpoint_dir_for(tmp_path / "m", create=True)
    (folder / "ckpt-00002-00000000").mkdir()
    (folder / "notes.txt").write_text("keep me")
    write_model_dir(tmp_path / "m", base_config(), writers())
    assert listing(folder) == ["CHECKPOINTS.json", "notes.txt"]  # the user's file kept
    assert not artifacts.remove_checkpoint_dir(tmp_path / "m")


def test_first_release_checkpoints_are_still_cleaned_up(tmp_path: Path) -> None:
    folder = tmp_path / "m.checkpoints"
    folder.mkdir()
    for name in ("last.safetensors", "best.safetensors"):
        (folder / name).write_bytes(b"old weights")
    write_model_dir(tmp_path / "m", base_config(), writers())
    assert listing(tmp_path) == ["m"]


def test_marker_agrees_with_the_training_checkpoints(tmp_path: Path) -> None:
    from rnnlab.training import checkpoint

    assert (checkpoint.MARKER, checkpoint.FORMAT) == (
        artifacts.CHECKPOINT_MARKER,
        artifacts.CHECKPOINT_FORMAT,
    )
    folder = artifacts.checkpoint_dir_for(tmp_path / "m")
    checkpoint.prepare_directory(folder)  # what a training run does
    assert artifacts.is_checkpoint_dir(folder)
    assert artifacts.remove_checkpoint_dir(tmp_path / "m") and not folder.exists()


def test_a_folder_that_only_claims_the_format_is_not_replaced(tmp_path: Path) -> None:
    fake = tmp_path / "m"
    fake.mkdir()
    (fake / "config.json").write_text(json.dumps(base_config()))
    (fake / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ArtifactError, match=r"holds files rnnlab did not write \(results.csv\)"):
        write_model_dir(fake, base_config(), writers())
    assert listing(fake) == ["config.json", "results.csv"]
    # Listing the file in "files" does not make it rnnlab's: the checksum must match.
    (fake / "config.json").write_text(json.dumps(base_config(files={"results.csv": "0" * 64})))
    with pytest.raises(ArtifactError, match="results.csv"):
        write_model_dir(fake, base_config(), writers())


def test_a_model_directory_with_a_user_folder_is_not_replaced(model_dir: Path) -> None:
    (model_dir / "my-notes").mkdir()
    with pytest.raises(ArtifactError, match=r"did not write \(my-notes/\); move them away"):
        write_model_dir(model_dir, base_config(tag="new"), writers("v2"))
    assert (model_dir / "my-notes").is_dir()
    assert b"v1" in (model_dir / "vocab.json").read_bytes()


# ------------------------------------------------------------ sizes before allocation


class Net(torch.nn.Module):
    def __init__(self, vocab_size: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, dim)
        self.rnn = torch.nn.GRU(dim, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 2)


@pytest.fixture()
def torch_model(tmp_path: Path) -> Path:
    net = Net(30, 4, 5)
    return write_model_dir(
        tmp_path / "t",
        base_config(vocab_size=30, embedding_dim=4, hidden_size=5),
        {"vocab.json": json_writer([]), "model.safetensors": artifacts.weights_writer(net)},
    )


def test_weight_shapes_reads_the_header_only(torch_model: Path) -> None:
    shapes = artifacts.weight_shapes(torch_model / "model.safetensors")
    assert shapes == {k: tuple(v.shape) for k, v in Net(30, 4, 5).state_dict().items()}


@pytest.mark.parametrize(
    "sizes",
    [
        {"vocab_size": 10**12},  # 4 TB of embedding
        {"embedding_dim": 10**9},
        {"hidden_size": 10**9},  # overflows even on meta
        {"hidden_size": 6},  # a plain mismatch
    ],
)
def test_a_tampered_size_fails_before_any_allocation(torch_model: Path, sizes: dict) -> None:
    config = {**read_config(torch_model), **sizes}
    devices = []

    def build() -> Net:
        devices.append(torch.empty(0).device.type)  # where this build puts its tensors
        return Net(config["vocab_size"], config["embedding_dim"], config["hidden_size"])

    with pytest.raises(
        ArtifactError, match="config.json.*(restore config.json or retrain)"
    ) as info:
        artifacts.build_for_weights(build, torch_model / "model.safetensors")
    assert devices == ["meta"]  # never built for real
    assert "\n" not in str(info.value)


def test_build_for_weights_builds_a_fitting_network(torch_model: Path) -> None:
    config = read_config(torch_model)
    net = artifacts.build_for_weights(
        lambda: Net(config["vocab_size"], config["embedding_dim"], config["hidden_size"]),
        torch_model / "model.safetensors",
    )
    assert next(net.parameters()).device.type == "cpu"
    artifacts.load_weights(net, torch_model / "model.safetensors")
    with pytest.raises(
        ArtifactError,
        match=r"does not hold the network .*\(missing weight; unexpected embedding.weight",
    ):
        artifacts.build_for_weights(
            lambda: torch.nn.Embedding(30, 4), torch_model / "model.safetensors"
        )


def test_build_for_weights_with_rnnlab_classifier(tmp_path: Path) -> None:
    from rnnlab.config import ModelConfig
    from rnnlab.models import SequenceClassifier

    cfg = ModelConfig(hidden_size=6, num_layers=1)
    out = write_model_dir(
        tmp_path / "c",
        base_config(),
        {
            "vocab.json": json_writer([]),
            "model.safetensors": artifacts.weights_writer(SequenceClassifier(cfg, 40, 8, 2)),
        },
    )
    weights = out / "model.safetensors"
    artifacts.build_for_weights(lambda: SequenceClassifier(cfg, 40, 8, 2), weights)
    with pytest.raises(ArtifactError, match=r"embedding.weight would be \(1000000000000, 8\)"):
        artifacts.build_for_weights(lambda: SequenceClassifier(cfg, 10**12, 8, 2), weights)
    with pytest.raises(ArtifactError, match="config.json"):
        artifacts.build_for_weights(
            lambda: SequenceClassifier(cfg.replace(hidden_size=10**8), 40, 8, 2), weights
        )


def test_check_weight_shapes_by_name(torch_model: Path) -> None:
    weights = torch_model / "model.safetensors"
    artifacts.check_weight_shapes(weights, {"embedding.weight": (30, None)})
    with pytest.raises(ArtifactError, match=r"embedding.weight would be \(31, \?\) by the config"):
        artifacts.check_weight_shapes(weights, {"embedding.weight": (31, None)})
    with pytest.raises(ArtifactError, match="has no tensor 'encoder.weight'"):
        artifacts.check_weight_shapes(weights, {"encoder.weight": (30, 4)})


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:5],  # shorter than the length field
        lambda b: (10**9).to_bytes(8, "little") + b[8:],  # header length past the end
        lambda b: b[:8] + b"\xff" * (len(b) - 8),  # header not JSON
        lambda b: b"",
    ],
)
def test_weight_shapes_of_a_broken_file(torch_model: Path, damage) -> None:
    weights = torch_model / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ArtifactError, match="not a valid safetensors file.*retrain or restore"):
        artifacts.weight_shapes(weights)


def test_a_data_file_must_be_checksummed_when_written(tmp_path: Path) -> None:
    files = {**writers(), "tokenizer.json": json_writer({})}
    with pytest.raises(ValueError, match="tokenizer.json must be in `checked`"):
        write_model_dir(tmp_path / "m", base_config(), files)
    assert listing(tmp_path) == []
    checked = ("vocab.json", "model.safetensors", "tokenizer.json")
    out = write_model_dir(tmp_path / "m", base_config(), files, checked=checked)
    assert set(read_config(out)["files"]) == set(checked)
