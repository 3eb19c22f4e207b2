"""Tests for the ONNX export: equivalence with torch on unseen shapes, and the export cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from rnnlab import export
from rnnlab.config import ModelConfig
from rnnlab.errors import RnnlabError
from rnnlab.export import onnx_session
from rnnlab.models import SequenceClassifier

VOCAB = 40


def net(seed: int = 0, **kw) -> SequenceClassifier:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        **{
            "cell": "lstm",
            "hidden_size": 12,
            "num_layers": 2,
            "bidirectional": True,
            "dropout": 0.2,
            **kw,
        }
    )
    return SequenceClassifier(cfg, VOCAB, 10, 3).eval()


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def batch(lengths: list[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lens = np.array(lengths, dtype=np.int64)
    ids = np.zeros((len(lens), int(lens.max())), dtype=np.int64)
    for row, n in enumerate(lens):
        ids[row, :n] = rng.integers(1, VOCAB, n)
    return ids, lens


def torch_logits(model, ids, lens) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(ids), torch.from_numpy(lens)).numpy()


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"cell": "gru", "bidirectional": False, "pooling": "last"},
        {"cell": "rnn", "num_layers": 1, "pooling": "mean"},
    ],
)
def test_onnx_matches_torch_on_unseen_shapes(cache: Path, config: dict) -> None:
    model = net(**config)
    session = onnx_session(model, required=True, threads=1)
    rng = np.random.default_rng(0)
    shapes = [[1], [50], [33], list(rng.integers(1, 51, 17)), list(range(1, 51))]
    for lengths in shapes:
        ids, lens = batch(lengths, rng)
        got = session.run(None, {"ids": ids, "lengths": lens})[0]
        assert got.shape == (len(lengths), 3)
        assert np.abs(got - torch_logits(model, ids, lens)).max() <= 1e-4


def test_export_is_cached_and_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = net()
    onnx_session(model, required=True, threads=1)
    files = sorted(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".onnx"
    graph = onnx.load_model_from_string(files[0].read_bytes()).graph
    assert [i.name for i in graph.input] == ["ids", "lengths"]
    assert [o.name for o in graph.output] == ["logits"]
    stamp = files[0].stat().st_mtime_ns

    def no_export(_net) -> bytes:
        raise AssertionError("exported again instead of using the cache")

    monkeypatch.setattr(export, "export_onnx", no_export)
    session = onnx_session(net(), required=True, threads=1)  # same weights: cache hit
    assert session is not None
    assert sorted(cache.iterdir()) == files and files[0].stat().st_mtime_ns == stamp
    with pytest.raises(RnnlabError, match="onnx backend unavailable: .*: exported again"):
        onnx_session(net(seed=1), required=True, threads=1)  # other weights: a new export
    assert onnx_session(net(seed=1), threads=1) is None  # not required: None, the caller uses torch


def test_different_weights_get_their_own_cache_file(cache: Path) -> None:
    onnx_session(net(0), required=True, threads=1)
    onnx_session(net(1), required=True, threads=1)
    assert len([p for p in cache.iterdir() if p.suffix == ".onnx"]) == 2
    assert not [p for p in cache.iterdir() if p.suffix != ".onnx"]  # no temp files


def test_cache_key_includes_the_architecture(cache: Path) -> None:
    onnx_session(net(pooling="max"), required=True, threads=1)
    mean = net(pooling="mean")  # same seed, same parameter shapes: identical weights
    session = onnx_session(mean, required=True, threads=1)
    ids, lens = batch([5, 9], np.random.default_rng(1))
    got = session.run(None, {"ids": ids, "lengths": lens})[0]
    assert np.abs(got - torch_logits(mean, ids, lens)).max() <= 1e-4


def test_unwritable_cache_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("RNNLAB_CACHE", str(blocker))
    assert onnx_session(net(), required=True, threads=1) is not None


def test_corrupt_cache_file_is_rebuilt(cache: Path, capsys: pytest.CaptureFixture) -> None:
    model = net()
    onnx_session(model, required=True, threads=1)
    (path,) = cache.iterdir()
    good = path.read_bytes()
    for broken in (b"garbage, not ONNX", good[: len(good) // 2]):
        path.write_bytes(broken)
        assert onnx_session(model, threads=1) is not None  # auto: onnx again, not torch forever
        assert path.read_bytes() == good  # the rebuilt export replaced the broken file
        path.write_bytes(broken)
        assert onnx_session(model, required=True, threads=1) is not None
        assert path.read_bytes() == good
    assert sorted(cache.iterdir()) == [path]  # no temporary files left
    assert capsys.readouterr().err == ""  # a rebuild that works needs no warning


def test_stale_cache_file_of_another_network_is_rebuilt(cache: Path) -> None:
    """A valid ONNX graph that does not match the weights fails the check and is replaced."""
    model, other = net(0), net(1)
    onnx_session(other, required=True, threads=1)
    (other_path,) = cache.iterdir()
    target = export.cache_path(model)
    target.write_bytes(other_path.read_bytes())
    session = onnx_session(model, required=True, threads=1)
    ids, lens = batch([4, 9], np.random.default_rng(2))
    got = session.run(None, {"ids": ids, "lengths": lens})[0]
    assert np.abs(got - torch_logits(model, ids, lens)).max() <= 1e-4
    assert target.read_bytes() != other_path.read_bytes()


def test_rebuild_that_fails_the_check_names_the_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    model = net(0)
    target = export.cache_path(model)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"corrupt")
    wrong = export.export_onnx(net(1))  # an export that cannot pass model's check
    monkeypatch.setattr(export, "export_onnx", lambda _net: wrong)
    with pytest.raises(RnnlabError, match=f"onnx backend unavailable: .*{target.name}.*differs"):
        onnx_session(model, required=True, threads=1)
    assert not target.exists()  # the failing file is not kept
    target.write_bytes(b"corrupt")
    assert onnx_session(model, threads=1) is None  # auto: torch, with a warning naming the file
    err = capsys.readouterr().err
    assert err.startswith("warning: cannot build the ONNX export ") and str(target) in err
    assert "with torch instead" in err and not target.exists()
