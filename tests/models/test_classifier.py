"""Tests for SequenceClassifier: shapes, embedding initialisation and freezing, the read-out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig
from rnnlab.models import SequenceClassifier

pytestmark = pytest.mark.slow  # trains models (seconds each)


def config(**kw) -> ModelConfig:
    base = {"hidden_size": 8, "num_layers": 1, "bidirectional": False, "dropout": 0.0}
    return ModelConfig(**{**base, **kw})


def batch(n: int = 4, t: int = 9, vocab: int = 20):
    lengths = torch.tensor([t] + [max(1, t - 2 * i) for i in range(1, n)])
    ids = torch.randint(1, vocab, (n, t))
    ids[torch.arange(t).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    return ids, lengths


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "maxmean"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_output_shape(cell: str, bidirectional: bool, pooling: str) -> None:
    cfg = config(cell=cell, bidirectional=bidirectional, pooling=pooling, num_layers=2)
    net = SequenceClassifier(cfg, vocab_size=20, embedding_dim=6, num_classes=3)
    ids, lengths = batch(n=5)
    assert net(ids, lengths).shape == (5, 3)
    k = 2 if bidirectional else 1
    assert net.head.in_features == 8 * k * (2 if pooling == "maxmean" else 1)


def test_embedding_copies_the_matrix_with_a_zero_pad_row() -> None:
    matrix = torch.randn(12, 5)
    kept = matrix.clone()
    net = SequenceClassifier(
        config(), vocab_size=12, embedding_dim=5, num_classes=2, embedding=matrix
    )
    weight = net.embedding.weight.detach()
    assert torch.equal(weight[1:], matrix[1:])
    assert torch.equal(weight[0], torch.zeros(5))
    assert torch.equal(matrix, kept)  # the caller's matrix is copied, not modified
    assert weight.data_ptr() != matrix.data_ptr()
    assert net.embedding.padding_idx == 0


def test_random_init_has_zero_pad_row() -> None:
    net = SequenceClassifier(config(), vocab_size=12, embedding_dim=5, num_classes=2)
    assert torch.equal(net.embedding.weight[0].detach(), torch.zeros(5))
    assert net.embedding.weight[1:].abs().sum() > 0


@pytest.mark.parametrize("shape", [(11, 5), (12, 4), (5,)])
def test_wrong_matrix_shape_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"embedding matrix must be \(12, 5\)"):
        SequenceClassifier(config(), 12, 5, 2, embedding=torch.zeros(shape))


@pytest.mark.parametrize("freeze", [False, True])
def test_freeze_embedding(freeze: bool) -> None:
    net = SequenceClassifier(
        config(), 20, 6, 2, embedding=torch.randn(20, 6), freeze_embedding=freeze
    )
    ids, lengths = batch()
    F.cross_entropy(net(ids, lengths), torch.tensor([0, 1, 0, 1])).backward()
    assert net.embedding.weight.requires_grad is not freeze
    if freeze:
        assert net.embedding.weight.grad is None
    else:
        grad = net.embedding.weight.grad
        assert grad is not None and grad[ids[ids > 0]].abs().sum() > 0
        assert torch.equal(grad[0], torch.zeros(6))  # the pad row never learns
    for name, p in net.named_parameters():
        if not name.startswith("embedding"):
            assert p.requires_grad and p.grad is not None, name


def test_last_pooling_is_the_guides_readout() -> None:
    """pooling="last", one direction: logits = h_N O + c for each sequence."""
    torch.manual_seed(0)
    net = SequenceClassifier(config(cell="rnn", pooling="last"), 20, 6, 2).eval()
    ids, lengths = batch(n=4, t=7)
    with torch.no_grad():
        logits = net(ids, lengths)
        for i, n in enumerate(lengths.tolist()):
            _, h_n = net.rnn.forward_layers[0](net.embedding(ids[i : i + 1, :n]))
            want = h_n[0, 0] @ net.head.weight.T + net.head.bias
            assert torch.allclose(logits[i], want, atol=1e-6)


def test_dropout_only_in_training_mode() -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(config(dropout=0.5, num_layers=2), 20, 6, 2)
    ids, lengths = batch()
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(ids, lengths), net(ids, lengths))
        net.train()
        assert not torch.equal(net(ids, lengths), net(ids, lengths))


def test_order_blind_baseline_ignores_word_order_and_padding() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(cell="none", hidden_size=8, pooling="mean", dropout=0.0)
    net = SequenceClassifier(cfg, vocab_size=20, embedding_dim=6, num_classes=2).eval()
    assert net.rnn is None
    ids = torch.tensor([[3, 4, 5, 6, 0, 0]])
    shuffled = torch.tensor([[6, 5, 3, 4, 0, 0]])
    padded_more = torch.tensor([[3, 4, 5, 6, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([4])
    out = net(ids, lengths)
    assert out.shape == (1, 2)
    torch.testing.assert_close(net(shuffled, lengths), out)
    torch.testing.assert_close(net(padded_more, lengths), out)
    # ...while a recurrent model does read the order
    rnn = SequenceClassifier(ModelConfig(dropout=0.0), 20, 6, 2).eval()
    assert not torch.allclose(rnn(ids, lengths), rnn(shuffled, lengths))
