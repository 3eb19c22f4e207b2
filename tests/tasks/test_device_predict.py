"""``device=`` of the prediction objects: the CPU by default, CUDA refused without a GPU,
and onnxruntime (CPU only) never combined with a GPU."""

from __future__ import annotations

import pytest
import torch

from rnnlab.config import ModelConfig, TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.tasks.classify import TextClassifier
from rnnlab.text import Vocab, tokenize

TEXTS = ["a fine film", "a dull film", "fine fine fine"]


def classifier(**kw) -> TextClassifier:
    torch.manual_seed(0)
    vocab = Vocab.build([tokenize(t) for t in TEXTS], max_size=50, min_freq=1)
    cfg = ModelConfig(hidden_size=4, num_layers=1, dropout=0.0)
    net = SequenceClassifier(cfg, len(vocab), 3, 2).eval()
    return TextClassifier(net, vocab, TextConfig(), ["neg", "pos"], None, **kw)


def test_the_cpu_is_the_default_and_auto_is_the_cpu_without_a_gpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    default = classifier(backend="torch")
    auto = classifier(backend="torch", device="auto")
    assert default.device == auto.device == torch.device("cpu")
    assert default.predict(TEXTS) == auto.predict(TEXTS)


def test_cuda_without_a_gpu_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RnnlabError, match=r"--device cuda: no CUDA GPU is visible to torch"):
        classifier(backend="torch", device="cuda")


def test_onnx_on_a_gpu_is_refused_before_anything_moves(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(RnnlabError, match="backend onnx runs on the CPU; with device 'cuda'"):
        classifier(backend="onnx", device="cuda")


def test_explain_needs_the_cpu() -> None:
    clf = classifier(backend="torch")
    clf.device = torch.device("cuda", 0)  # as a GPU-loaded model has it
    with pytest.raises(RnnlabError, match="explain runs on the CPU"):
        clf.explain(["a fine film"])
