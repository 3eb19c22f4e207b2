"""Tests for the stacked recurrent block: reversal within length, padding invariance, pooling."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.config import ModelConfig
from rnnlab.models import SequenceClassifier, StackedRNN, length_mask, pool, reverse_within_length
from rnnlab.models.recurrent import POOLINGS, pooled_size

few = settings(max_examples=6, deadline=None)
some = settings(max_examples=40, deadline=None)

CELLS = ("rnn", "lstm", "gru")
TOL = 1e-6  # float32: padding must not change any output by more than this


@st.composite
def padded_batch(draw, max_n: int = 6, max_t: int = 12, dims: tuple[int, ...] = ()):
    lengths = draw(st.lists(st.integers(1, max_t), min_size=1, max_size=max_n))
    t = max(lengths) + draw(st.integers(0, 4))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), t, *dims, generator=g, dtype=torch.float64)
    return x, torch.tensor(lengths)


def reverse_reference(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    for n, length in enumerate(lengths.tolist()):
        for t in range(length):
            out[n, t] = x[n, length - 1 - t]
    return out


@some
@given(data=st.one_of(padded_batch(), padded_batch(dims=(3,))))
def test_reverse_within_length_matches_loop_and_is_an_involution(data) -> None:
    x, lengths = data
    rev = reverse_within_length(x, lengths)
    assert rev.shape == x.shape
    assert torch.equal(rev, reverse_reference(x, lengths))
    assert torch.equal(reverse_within_length(rev, lengths), x)
    pad = ~length_mask(lengths, x.shape[1])
    assert torch.equal(rev[pad], x[pad])  # padding positions untouched


def test_reverse_within_length_small_example() -> None:
    x = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0]])
    got = reverse_within_length(x, torch.tensor([3, 5, 1]))
    assert got.tolist() == [[3, 2, 1, 0, 0], [8, 7, 6, 5, 4], [9, 0, 0, 0, 0]]


def test_length_mask() -> None:
    mask = length_mask(torch.tensor([2, 0, 4]), 4)
    assert mask.tolist() == [
        [True, True, False, False],
        [False, False, False, False],
        [True, True, True, True],
    ]


def test_stacked_rnn_rejects_unknown_cell() -> None:
    with pytest.raises(ValueError, match="cell must be one of"):
        StackedRNN("transformer", 4, 4)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_rnn_output_shape(bidirectional: bool) -> None:
    rnn = StackedRNN("gru", 5, 7, num_layers=2, bidirectional=bidirectional)
    out = rnn(torch.randn(3, 9, 5), torch.tensor([9, 4, 1]))
    k = 2 if bidirectional else 1
    assert rnn.output_size == 7 * k
    assert out.shape == (3, 9, 7 * k)


def unpadded_reference(rnn: StackedRNN, x: torch.Tensor) -> torch.Tensor:
    """Run ``rnn``'s own layers directly on one unpadded (1, L, D) sequence."""
    for layer in range(rnn.num_layers):
        out, _ = rnn.forward_layers[layer](x)
        if rnn.bidirectional:
            back, _ = rnn.backward_layers[layer](x.flip(1))
            out = torch.cat([out, back.flip(1)], dim=-1)
        x = out
    return x


def padded(seqs: list[torch.Tensor], extra: int, fill: torch.Tensor | None) -> torch.Tensor:
    """Post-pad (L, ...) tensors to max length + ``extra`` with ``fill``'s values."""
    t = max(len(s) for s in seqs) + extra
    rows = []
    for i, s in enumerate(seqs):
        tail = (
            fill[i, : t - len(s)] if fill is not None else s.new_zeros((t - len(s), *s.shape[1:]))
        )
        rows.append(torch.cat([s, tail]))
    return torch.stack(rows)


lengths_st = st.lists(st.integers(1, 20), min_size=1, max_size=5)
pads_st = st.lists(st.integers(0, 50), min_size=1, max_size=3)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
@few
@given(lengths=lengths_st, pads=pads_st, seed=st.integers(0, 1000))
def test_stacked_rnn_outputs_do_not_depend_on_padding(
    cell: str, bidirectional: bool, num_layers: int, lengths: list[int], pads: list[int], seed: int
) -> None:
    torch.manual_seed(seed)
    rnn = StackedRNN(cell, 6, 8, num_layers, bidirectional, dropout=0.5).eval()
    seqs = [torch.randn(n, 6) for n in lengths]
    garbage = torch.randn(len(seqs), max(lengths) + 60, 6) * 10  # padding holds junk, not zeros
    lens = torch.tensor(lengths)
    with torch.no_grad():
        alone = [unpadded_reference(rnn, s.unsqueeze(0))[0] for s in seqs]
        for s, ref in zip(seqs, alone, strict=True):  # the block itself on an unpadded batch of 1
            assert torch.allclose(rnn(s.unsqueeze(0), torch.tensor([len(s)]))[0], ref, atol=TOL)
        for extra in [0, 7, 50, *pads]:
            out = rnn(padded(seqs, extra, garbage), lens)
            for i, ref in enumerate(alone):
                assert (out[i, : lengths[i]] - ref).abs().max() <= TOL
        # another batch composition: reversed order, the first sequence left out
        order = list(range(len(seqs)))[::-1][: max(1, len(seqs) - 1)]
        out = rnn(padded([seqs[i] for i in order], 3, garbage), lens[order])
        for row, i in enumerate(order):
            assert (out[row, : lengths[i]] - alone[i]).abs().max() <= TOL


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
@few
@given(lengths=lengths_st, pads=pads_st, seed=st.integers(0, 1000))
def test_classifier_logits_do_not_depend_on_padding(
    cell: str, bidirectional: bool, pooling: str, lengths: list[int], pads: list[int], seed: int
) -> None:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        cell=cell,
        hidden_size=8,
        num_layers=2,
        bidirectional=bidirectional,
        dropout=0.3,
        pooling=pooling,
    )
    net = SequenceClassifier(cfg, vocab_size=30, embedding_dim=8, num_classes=3).eval()
    seqs = [torch.randint(1, 30, (n,)) for n in lengths]
    junk = torch.randint(1, 30, (len(seqs), max(lengths) + 60))  # non-pad ids in the padding
    lens = torch.tensor(lengths)
    with torch.no_grad():
        alone = torch.cat([net(s.unsqueeze(0), torch.tensor([len(s)])) for s in seqs])
        for extra in [0, 7, 50, *pads]:
            for fill in (None, junk):
                logits = net(padded(seqs, extra, fill), lens)
                assert logits.shape == (len(seqs), 3)
                assert (logits - alone).abs().max() <= TOL
        perm = torch.randperm(len(seqs))
        logits = net(padded([seqs[i] for i in perm], 5, None), lens[perm])
        assert (logits - alone[perm]).abs().max() <= TOL


@pytest.mark.parametrize("cell", CELLS)
def test_backward_direction_reads_each_sequence_reversed(cell: str) -> None:
    torch.manual_seed(1)
    rnn = StackedRNN(cell, 4, 5, num_layers=1, bidirectional=True).eval()
    lengths = [7, 3, 1, 5]
    x = torch.randn(4, 9, 4)
    with torch.no_grad():
        out = rnn(x, torch.tensor(lengths))
        for i, n in enumerate(lengths):
            seq = x[i : i + 1, :n]
            fwd, _ = rnn.forward_layers[0](seq)
            back, h_n = rnn.backward_layers[0](seq.flip(1))
            h_n = h_n[0] if cell == "lstm" else h_n  # LSTM returns (h, c)
            assert torch.allclose(out[i, :n, :5], fwd[0], atol=TOL)
            # position 0 holds the backward state after reading the whole sequence
            assert torch.allclose(out[i, 0, 5:], h_n[0, 0], atol=TOL)
            assert torch.allclose(out[i, 0, 5:], back[0, n - 1], atol=TOL)
            # position t holds the backward state after reading steps n-1 .. t
            assert torch.allclose(out[i, :n, 5:], back[0].flip(0), atol=TOL)


def pool_reference(outputs: torch.Tensor, lengths: torch.Tensor, how: str, k: int):
    rows = []
    h = outputs.shape[2] // k
    for o, n in zip(outputs, lengths.tolist(), strict=True):
        seq = o[:n]
        if how == "last":
            row = seq[-1, :h] if k == 1 else torch.cat([seq[-1, :h], seq[0, h:]])
        elif how == "max":
            row = seq.max(dim=0).values
        elif how == "mean":
            row = seq.mean(dim=0)
        else:
            row = torch.cat([seq.max(dim=0).values, seq.mean(dim=0)])
        rows.append(row)
    return torch.stack(rows)


@pytest.mark.parametrize("directions", [1, 2])
@pytest.mark.parametrize("how", POOLINGS)
@some
@given(data=padded_batch(dims=(6,)))
def test_pool_matches_per_sequence_reference(how: str, directions: int, data) -> None:
    outputs, lengths = data
    junk = ~length_mask(lengths, outputs.shape[1])
    outputs = outputs.masked_fill(junk.unsqueeze(-1), 1e6)  # padding would dominate max/mean
    got = pool(outputs, lengths, how, directions)
    assert got.shape == (len(lengths), pooled_size(how, 6))
    assert torch.allclose(got, pool_reference(outputs, lengths, how, directions), atol=1e-12)


def test_pool_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="pooling must be one of"):
        pool(torch.zeros(1, 2, 4), torch.tensor([2]), "median", 1)
