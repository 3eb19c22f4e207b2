"""StackedRNN's packed path (what runs on CUDA) against its dense path (the CPU's).

Both read each sequence only within its length, so at the true positions they
must agree -- outputs and gradients -- for every cell, one or two directions,
one or more layers. Run on the CPU in float64 with ``packed`` forced both ways.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.config import ModelConfig
from rnnlab.models import SequenceClassifier, StackedRNN, length_mask
from rnnlab.models import recurrent as recurrent_mod

ATOL = 1e-6


def both_ways(rnn: StackedRNN, x: torch.Tensor, lengths: torch.Tensor):
    """``(dense, packed)`` outputs and parameter gradients of ``rnn`` at the true positions."""
    mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)  # (N, T, 1)
    results = []
    for packed in (False, True):
        rnn.packed = packed
        rnn.zero_grad()
        out = rnn(x, lengths) * mask  # (N, T, K*H)
        (out * torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)).sum().backward()
        grads = {name: p.grad.clone() for name, p in rnn.named_parameters()}
        results.append((out.detach(), grads))
    return results


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    bidirectional=st.booleans(),
    layers=st.integers(1, 2),
    lengths=st.lists(st.integers(1, 11), min_size=1, max_size=7),
    extra=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_packed_and_dense_agree_at_the_true_positions(
    cell, bidirectional, layers, lengths, extra, seed
) -> None:
    torch.manual_seed(seed)
    rnn = StackedRNN(cell, 4, 5, layers, bidirectional).double()
    t = max(lengths) + extra  # wider than the longest sequence: total_length keeps T
    x = torch.randn(len(lengths), t, 4, dtype=torch.float64)
    (dense, dense_grads), (packed, packed_grads) = both_ways(rnn, x, torch.tensor(lengths))
    assert packed.shape == dense.shape == (len(lengths), t, 5 * (2 if bidirectional else 1))
    torch.testing.assert_close(packed, dense, atol=ATOL, rtol=0)
    for name, grad in dense_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, atol=ATOL, rtol=0, msg=name)


def test_the_guides_lstm_without_candidate_bias_packs_too() -> None:
    torch.manual_seed(0)
    rnn = StackedRNN("lstm", 3, 4, 2, True, candidate_bias=False).double()
    lengths = torch.tensor([6, 1, 3, 6, 2])
    (dense, _), (packed, packed_grads) = both_ways(rnn, torch.randn(5, 6, 3).double(), lengths)
    torch.testing.assert_close(packed, dense, atol=ATOL, rtol=0)
    h = rnn.hidden_size
    assert all(  # the candidate's bias gradient is held at zero on this path as well
        packed_grads[name][2 * h : 3 * h].abs().max() == 0
        for name in packed_grads
        if ".bias_" in name
    )


def test_a_length_zero_row_does_not_break_packing() -> None:
    """pack_padded_sequence refuses length 0; the packed path reads it as 1 (a row whose
    outputs are unspecified anyway) and the other rows are untouched."""
    torch.manual_seed(1)
    rnn = StackedRNN("gru", 3, 4, 1, True).double()
    x, lengths = torch.randn(3, 5, 3).double(), torch.tensor([5, 0, 2])
    (dense, _), (packed, _) = both_ways(rnn, x, lengths)
    torch.testing.assert_close(packed, dense, atol=ATOL, rtol=0)


def test_the_classifier_gives_the_same_logits_on_both_paths() -> None:
    torch.manual_seed(2)
    cfg = ModelConfig(cell="lstm", hidden_size=6, num_layers=2, bidirectional=True, dropout=0.0)
    net = SequenceClassifier(cfg, vocab_size=30, embedding_dim=5, num_classes=3).double().eval()
    lengths = torch.tensor([9, 4, 1, 7])
    ids = torch.randint(2, 30, (4, 9)) * length_mask(lengths, 9)  # post-padded with id 0
    with torch.no_grad():
        net.rnn.packed = False
        dense = net(ids, lengths)
        net.rnn.packed = True
        packed = net(ids, lengths)
    torch.testing.assert_close(packed, dense, atol=ATOL, rtol=0)


def test_auto_means_dense_on_the_cpu(monkeypatch) -> None:
    """``packed=None`` picks by the input's device: the CPU never packs (3-4x slower there)."""
    calls = []
    real = recurrent_mod._packed_runner

    def spy(lengths, t):
        calls.append(t)
        return real(lengths, t)

    monkeypatch.setattr(recurrent_mod, "_packed_runner", spy)
    rnn = StackedRNN("lstm", 3, 4, 1, True)
    assert rnn.packed is None
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 3])
    rnn(x, lengths)
    assert calls == []
    rnn.packed = True
    rnn(x, lengths)
    assert calls == [5]


@pytest.mark.parametrize("packed", [None, True, False])
def test_packed_is_a_constructor_argument(packed) -> None:
    assert StackedRNN("gru", 2, 3, packed=packed).packed is packed
