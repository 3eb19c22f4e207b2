"""The CUDA path on a real GPU: packed sequences through cuDNN against the CPU's dense
kernel with the same weights, and a classifier trained on the GPU that loads and predicts
the same on the CPU.

Skipped where torch sees no GPU (CI has none); the rest of the suite runs its training
with ``device="auto"``, so on a GPU machine it trains there too.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from rnnlab.config import EmbeddingConfig, ModelConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.models import SequenceClassifier
from rnnlab.models.recurrent import StackedRNN, length_mask

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def _exact_float32():
    """cuDNN and cuBLAS may use TF32 (10-bit mantissas); parity wants plain float32."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def batch(n: int = 6, t: int = 11, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, d, generator=g)  # (N, T, D)
    lengths = torch.tensor([t, 1, 3, t - 2, 7, 4][:n])  # (N,), unsorted, one of length 1
    return x, lengths


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("separate", [False, True])
def test_packed_cudnn_matches_the_cpu_dense_stack(cell, separate) -> None:
    torch.manual_seed(0)
    cpu = StackedRNN(cell, 5, 4, num_layers=2, bidirectional=True, separate=separate)
    gpu = copy.deepcopy(cpu).cuda()
    x, lengths = batch()
    mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)  # (N, T, 1)

    xc = x.clone().requires_grad_(True)
    out_c = cpu(xc, lengths)  # dense on the CPU
    xg = x.cuda().requires_grad_(True)
    out_g = gpu(xg, lengths.cuda())  # packed through cuDNN
    assert out_g.is_cuda
    torch.testing.assert_close(
        (out_g * mask.cuda()).cpu(), out_c * mask, rtol=1e-5, atol=1e-5
    )  # padding positions are unspecified

    weights = torch.randn(out_c.shape)
    ((out_c * mask) * weights).sum().backward()
    ((out_g * mask.cuda()) * weights.cuda()).sum().backward()
    torch.testing.assert_close(xg.grad.cpu(), xc.grad, rtol=1e-4, atol=1e-5)
    for (name, pc), (_, pg) in zip(cpu.named_parameters(), gpu.named_parameters(), strict=True):
        torch.testing.assert_close(pg.grad.cpu(), pc.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_the_classifier_network_gives_the_cpu_logits_on_the_gpu() -> None:
    torch.manual_seed(0)
    config = ModelConfig(hidden_size=8, num_layers=2, pooling="maxmean", dropout=0.0)
    cpu = SequenceClassifier(config, vocab_size=30, embedding_dim=6, num_classes=2).eval()
    gpu = copy.deepcopy(cpu).cuda()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 30, (5, 9), generator=g)  # (N, T)
    lengths = torch.tensor([9, 2, 5, 1, 7])
    ids[length_mask(lengths, 9).logical_not()] = 0  # padding
    with torch.no_grad():
        torch.testing.assert_close(
            gpu(ids.cuda(), lengths.cuda()).cpu(), cpu(ids, lengths), rtol=1e-5, atol=1e-5
        )


def test_a_model_trained_on_the_gpu_predicts_the_same_on_the_cpu(reviews, tmp_path) -> None:
    from rnnlab.tasks.classify import load, train

    texts, labels = reviews(400, 100)
    test_texts, test_labels = reviews(200, 7)
    names = ["neg", "pos"]
    data = TextDataset(texts, [names.index(y) for y in labels], names, source="synthetic")
    result = train(
        data,
        tmp_path / "m",
        embedding=EmbeddingConfig(dim=16, min_count=1),
        model=ModelConfig(hidden_size=16, num_layers=1, dropout=0.0, wide_ngrams=2),
        training=TrainConfig(
            epochs=4, lr=1e-2, lr_decay=1.0, patience=2, val_fraction=0.2, device="cuda"
        ),
        progress=False,
        log=lambda _msg: None,
    )
    assert result.out.is_dir()
    on_gpu = load(result.out, backend="torch", device="cuda")
    on_cpu = load(result.out, backend="torch", device="cpu", threads=1)
    assert next(on_gpu.net.parameters()).is_cuda
    p_gpu, p_cpu = on_gpu.predict_proba(test_texts), on_cpu.predict_proba(test_texts)
    np.testing.assert_allclose(p_gpu, p_cpu, rtol=1e-4, atol=1e-5)
    accuracy = np.mean(np.array(names)[p_cpu.argmax(axis=1)] == np.array(test_labels))
    assert accuracy >= 0.9, accuracy
