"""``--device`` on the training commands and ``tag predict``: help, one-line errors, wiring."""

from __future__ import annotations

import inspect

import pytest
import torch

from rnnlab.tasks.base import TrainResult

from .helpers import assert_user_error, cli

TRAIN_COMMANDS = {  # command: the arguments it needs besides --out
    ("train",): ["--data", "reviews.csv"],
    ("tag", "train"): ["--train", "a.conllu", "--dev", "b.conllu"],
    ("seq2seq", "train"): ["--data", "dates:10"],
    ("generate", "train"): ["--data", "reviews.csv"],
    ("pretrain",): ["--data", "reviews.csv"],
}


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("command", [*TRAIN_COMMANDS, ("tag", "predict")])
def test_help_offers_the_device(command) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert "--device" in result.output
    assert "cuda:N" in result.output


@pytest.mark.parametrize("command", TRAIN_COMMANDS)
def test_cuda_without_a_gpu_is_one_line_before_any_work(command, no_gpu, tmp_path) -> None:
    out = tmp_path / "m"
    result = cli(*command, *TRAIN_COMMANDS[command], "--out", out, "--device", "cuda")
    err = assert_user_error(result, "no CUDA GPU is visible to torch", code=1)
    assert err == (
        "error: --device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is "
        "False); use --device cpu or auto"
    )
    assert not out.exists() and not (tmp_path / "m.checkpoints").exists()


def test_a_misspelt_device_is_one_line(tmp_path) -> None:
    result = cli("train", "--data", "x.csv", "--out", tmp_path / "m", "--device", "gpu")
    assert_user_error(result, "--device must be auto, cpu, cuda or cuda:N, got 'gpu'", code=1)


def test_tag_predict_refuses_cuda_without_a_gpu(no_gpu, tmp_path) -> None:
    result = cli("tag", "predict", tmp_path, "A sentence.", "--device", "cuda:1")
    assert_user_error(result, "--device cuda:1: no CUDA GPU is visible to torch", code=1)


@pytest.mark.parametrize(
    ("command", "module", "function"),
    [
        (("train",), "rnnlab.tasks.classify", "train"),
        (("tag", "train"), "rnnlab.tasks.tag", "train_tagger"),
        (("seq2seq", "train"), "rnnlab.tasks.seq2seq", "train_seq2seq"),
        (("generate", "train"), "rnnlab.tasks.generate", "train_generator"),
    ],
)
def test_the_flag_reaches_train_config(command, module, function, monkeypatch, tmp_path) -> None:
    """Left out, the library's default ("auto") applies; given, TrainConfig.device is it."""
    import importlib

    mod = importlib.import_module(module)
    signature = inspect.signature(getattr(mod, function))
    seen = []

    def record(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        seen.append(bound.arguments["training"].device)
        metrics = {"validation": {"perplexity": 1.0}} if command[0] == "generate" else {}
        return TrainResult(tmp_path, metrics, [], 0.0, 0)

    monkeypatch.setattr(mod, function, record)
    args = [*command, *TRAIN_COMMANDS[command], "--out", tmp_path / "m"]
    for flag in ([], ["--device", "cpu"]):
        result = cli(*args, *flag)
        assert result.exit_code == 0, (result.output, result.exception)
    assert seen == ["auto", "cpu"]


def test_pretrain_passes_the_flag_to_its_config(monkeypatch, tmp_path) -> None:
    """``rnnlab pretrain --device``: PretrainConfig.device, and the loop's TrainConfig.device."""
    import rnnlab.tasks.pretrain as mod

    seen = []

    def record(data, out, text, embedding, model, pretrain, **kwargs):
        seen.append((pretrain.device, pretrain.training().device))
        return TrainResult(tmp_path, {}, [], 0.0, 0)

    monkeypatch.setattr(mod, "train_encoder", record)
    for flag in ([], ["--device", "cpu"], ["--device", "cuda:0"]):
        if flag[-1:] == ["cuda:0"]:
            monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
            monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
        result = cli("pretrain", "--data", "x.csv", "--out", tmp_path / "e", *flag)
        assert result.exit_code == 0, (result.output, result.exception)
    assert seen == [("auto", "auto"), ("cpu", "cpu"), ("cuda:0", "cuda:0")]
