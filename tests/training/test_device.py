"""``--device``: the resolver, its place in TrainConfig and fit, and torchrun's backend.

No GPU is needed: the CUDA answers of ``torch.cuda`` are monkeypatched where a
test needs a machine that has GPUs (``torch.device("cuda", i)`` itself needs none).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.training import distributed as dist_mod
from rnnlab.training import fit, seed_everything
from rnnlab.training.distributed import DistContext, resolve_device, training_device
from rnnlab.training.loop import TRAJECTORY

from .test_loop import classifier, step, to_batches, toy_data

NO_GPU = (
    "--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False); "
    "use --device cpu or auto"
)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


# ------------------------------------------------------------------------ the resolver


def test_auto_and_cpu_mean_the_cpu_without_a_gpu(no_gpu) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("auto", local_rank=1) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_one_line_naming_the_fix(no_gpu, name) -> None:
    with pytest.raises(RnnlabError) as err:
        resolve_device(name)
    assert str(err.value) == NO_GPU.replace("--device cuda", f"--device {name}")
    assert "\n" not in str(err.value)


def test_with_gpus_auto_and_cuda_take_the_local_rank(two_gpus) -> None:
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")  # a GPU is never forced on anyone


def test_a_gpu_index_past_the_last_is_refused(two_gpus) -> None:
    with pytest.raises(RnnlabError, match=r"--device cuda:2: GPU 2 asked for, but torch sees 2"):
        resolve_device("cuda:2")


@pytest.mark.parametrize(
    "name", ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:\u0663", "mps", "", 0]
)
def test_unknown_device_names_are_refused(name) -> None:
    with pytest.raises(RnnlabError, match="--device must be auto, cpu, cuda or cuda:N"):
        resolve_device(name)  # type: ignore[arg-type]


def test_under_nccl_each_rank_trains_on_its_own_gpu(two_gpus) -> None:
    rank1 = DistContext(rank=1, world_size=2, local_rank=1, backend="nccl")
    for name in ("auto", "cuda", "cuda:1"):
        assert training_device(name, rank1) == torch.device("cuda", 1)
    for name in ("cpu", "cuda:0"):
        with pytest.raises(RnnlabError, match="each process trains on its own GPU"):
            training_device(name, rank1)
    gloo = DistContext(rank=1, world_size=2, local_rank=1, backend="gloo")
    assert training_device("cpu", gloo) == torch.device("cpu")
    assert training_device("cuda", gloo) == torch.device("cuda", 1)


@pytest.mark.parametrize(
    ("device", "backend"), [("auto", "nccl"), ("cuda", "nccl"), ("cpu", "gloo")]
)
def test_torchrun_backend_follows_the_device(two_gpus, monkeypatch, device, backend) -> None:
    """--device cpu on a GPU machine joins a gloo group (NCCL cannot move CPU tensors)."""
    import torch.distributed as dist

    env = {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}
    for key, value in {**env, "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(key, value)
    joined = {}
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda **kw: joined.update(kw))
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: None)
    ctx = dist_mod.init_distributed(device=device)
    assert joined["backend"] == ctx.backend == backend


def test_more_processes_than_gpus_is_one_line_offering_the_cpu(two_gpus, monkeypatch) -> None:
    """torchrun --nproc-per-node 3 beside two GPUs (device auto): rank 2 has no GPU."""
    env = {"RANK": "2", "WORLD_SIZE": "3", "LOCAL_RANK": "2", "MASTER_ADDR": "127.0.0.1"}
    for key, value in {**env, "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RnnlabError) as err:
        dist_mod.init_distributed(device="auto")
    assert str(err.value) == (
        "LOCAL_RANK=2 but this machine has 2 GPU(s); give torchrun --nproc-per-node at most "
        "the number of GPUs, or pass --device cpu to train on the CPU"
    )


# ------------------------------------------------------------------------ TrainConfig


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_train_config_takes_every_device_name(name) -> None:
    assert TrainConfig.from_dict({"device": name}).device == name


def test_train_config_device_defaults_to_auto() -> None:
    assert TrainConfig().device == "auto"


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:-1", "cuda:1.0", "cuda:²", None, 1])
def test_train_config_refuses_other_devices(name) -> None:
    with pytest.raises(RnnlabError, match=r"train.device must be 'auto', 'cpu', 'cuda' or"):
        TrainConfig(device=name)  # type: ignore[arg-type]


def test_the_device_is_not_part_of_the_trajectory() -> None:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(TRAJECTORY) <= fields
    assert "device" not in TRAJECTORY


# ------------------------------------------------------------------------ fit


def _fit(cfg: TrainConfig, checkpoint_dir: Path | None = None, resume: bool = False):
    seed_everything(cfg.seed)
    net = classifier()
    seqs, labels = toy_data(64, 0)
    vseqs, vlabels = toy_data(32, 1)
    history = fit(
        net,
        lambda e: to_batches(seqs, labels, 16, True, e),
        to_batches(vseqs, vlabels, 64, False, 0),
        step,
        cfg,
        checkpoint_dir=checkpoint_dir,
        progress=False,
        resume=resume,
        log=lambda _msg: None,
    )
    return net, history


def test_fit_refuses_cuda_without_a_gpu_before_training(no_gpu) -> None:
    net = classifier()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    seqs, labels = toy_data(16, 0)
    batches = to_batches(seqs, labels, 16, False, 0)
    with pytest.raises(RnnlabError) as err:
        fit(net, lambda e: batches, batches, step, TrainConfig(device="cuda"), progress=False)
    assert str(err.value) == NO_GPU
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_fit_on_auto_trains_on_the_cpu_and_leaves_the_model_there(no_gpu) -> None:
    cfg = TrainConfig(epochs=2, lr=1e-2, lr_decay=1.0, patience=5, device="auto")
    net, history = _fit(cfg)
    assert len(history.epochs) == 2
    assert {p.device.type for p in net.parameters()} == {"cpu"}
    explicit, _ = _fit(cfg.replace(device="cpu"))
    for (name, a), b in zip(net.state_dict().items(), explicit.state_dict().values(), strict=True):
        assert torch.equal(a, b), name  # auto is exactly cpu here


def test_a_checkpoint_resumes_under_another_device_setting(tmp_path: Path, no_gpu) -> None:
    """Not in the fingerprint: a run started with --device cpu goes on with --device auto."""
    cfg = TrainConfig(epochs=1, lr=1e-2, lr_decay=1.0, patience=5, device="cpu")
    _fit(cfg, tmp_path / "ckpt")
    net, history = _fit(cfg.replace(epochs=2, device="auto"), tmp_path / "ckpt", resume=True)
    assert history.resumed_from is not None
    assert [e["epoch"] for e in history.epochs] == [1, 2]
    straight, _ = _fit(cfg.replace(epochs=2))
    for (name, a), b in zip(net.state_dict().items(), straight.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
