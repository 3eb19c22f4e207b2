"""Weights to and from torch state dicts: fused gate order, transposes, bias sums."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.scratch import (
    RecurrentStack,
    from_torch_state_dict,
    to_torch_module,
    to_torch_state_dict,
)

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
D, H = 3, 4


def torch_module(cell: str, num_layers: int, dtype=torch.float64, **kwargs) -> torch.nn.Module:
    torch.manual_seed(num_layers)
    return TORCH[cell](D, H, num_layers=num_layers, batch_first=True, dtype=dtype, **kwargs)


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_torch_to_scratch_to_torch(cell, num_layers):
    """Weights come back bit for bit; summed biases come back as (b_ih + b_hh, 0)."""
    original = torch_module(cell, num_layers).state_dict()
    stack = from_torch_state_dict(original, cell)
    back = to_torch_state_dict(stack)
    assert set(back) == set(original)
    h = H
    for key, value in original.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        if key.startswith("weight"):
            assert torch.equal(back[key], value), key
    for k in range(num_layers):
        b_ih, b_hh = original[f"bias_ih_l{k}"], original[f"bias_hh_l{k}"]
        if cell == "gru":  # r, z summed; n keeps both biases
            assert torch.equal(back[f"bias_ih_l{k}"][: 2 * h], b_ih[: 2 * h] + b_hh[: 2 * h])
            assert torch.equal(back[f"bias_ih_l{k}"][2 * h :], b_ih[2 * h :])
            assert torch.equal(back[f"bias_hh_l{k}"][2 * h :], b_hh[2 * h :])
            assert not back[f"bias_hh_l{k}"][: 2 * h].any()
        else:
            assert torch.equal(back[f"bias_ih_l{k}"], b_ih + b_hh)
            assert not back[f"bias_hh_l{k}"].any()
    # ... which is a fixed point: a second round trip is exact
    again = to_torch_state_dict(from_torch_state_dict(back, cell))
    assert all(torch.equal(again[key], back[key]) for key in back)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(
    ("cell", "options"), [("rnn", {}), ("lstm", {}), ("gru", {})], ids=["rnn", "lstm", "gru"]
)
def test_scratch_to_torch_to_scratch_is_exact(cell, options, num_layers):
    stack = RecurrentStack(cell, D, H, num_layers, rng=5, **options)
    back = from_torch_state_dict(to_torch_state_dict(stack), cell)
    ours, theirs = stack.parameters(), back.parameters()
    assert list(ours) == list(theirs)
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_converted_module_computes_the_same_function(cell):
    module = torch_module(cell, 2)
    stack = from_torch_state_dict(module.state_dict(), cell)
    x = np.random.default_rng(0).normal(size=(2, 6, D))
    with torch.no_grad():
        expected = module(torch.tensor(x))[0].numpy()
        rebuilt = to_torch_module(stack)(torch.tensor(x))[0].numpy()
    np.testing.assert_allclose(stack.forward(x)[0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rebuilt, expected, rtol=1e-12, atol=1e-12)


def test_fused_gate_order_is_documented_order():
    """LSTM rows (i, f, g, o) and GRU rows (r, z, n) land on the right names."""
    lstm = RecurrentStack("lstm", D, H, rng=0)
    sd = to_torch_state_dict(lstm)
    p = lstm.layers[0].params
    for j, gate in enumerate("ifco"):  # torch's g is the candidate c~
        assert np.array_equal(sd["weight_ih_l0"][j * H : (j + 1) * H].numpy(), p[f"W_x{gate}"].T)
        assert np.array_equal(sd["weight_hh_l0"][j * H : (j + 1) * H].numpy(), p[f"W_h{gate}"].T)
    gru = RecurrentStack("gru", D, H, rng=0)
    sd, p = to_torch_state_dict(gru), gru.layers[0].params
    for j, gate in enumerate("rzn"):
        assert np.array_equal(sd["weight_ih_l0"][j * H : (j + 1) * H].numpy(), p[f"W_x{gate}"].T)
    rnn = RecurrentStack("rnn", D, H, rng=0)
    assert np.array_equal(
        to_torch_state_dict(rnn)["weight_ih_l0"].numpy(), rnn.layers[0].params["U"].T
    )


def test_guide_lstm_converts_with_zero_candidate_bias():
    stack = RecurrentStack("lstm", D, H, rng=0, candidate_bias=False)
    sd = to_torch_state_dict(stack)
    assert not sd["bias_ih_l0"][2 * H : 3 * H].any() and not sd["bias_hh_l0"].any()
    back = from_torch_state_dict(sd, "lstm")  # comes back as a standard LSTM with b_c = 0
    assert back.layers[0].cell.candidate_bias and not back.layers[0].params["b_c"].any()
    x = np.random.default_rng(1).normal(size=(2, 5, D))
    np.testing.assert_array_equal(back.forward(x)[0], stack.forward(x)[0])


def test_float32_is_kept():
    module = torch_module("lstm", 2, dtype=torch.float32)
    stack = from_torch_state_dict(module.state_dict(), "lstm")
    assert stack.dtype == np.float32
    assert all(w.dtype == np.float32 for w in stack.parameters().values())
    assert all(t.dtype == torch.float32 for t in to_torch_state_dict(stack).values())
    x = np.random.default_rng(0).normal(size=(2, 5, D)).astype(np.float32)
    out = stack.forward(x)[0]
    assert out.dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(out, module(torch.tensor(x))[0].numpy(), atol=1e-6)


def test_cho_gru_cannot_go_to_torch():
    stack = RecurrentStack("gru", D, H, reset_after=False)
    with pytest.raises(ValueError, match="reset_after=True"):
        to_torch_state_dict(stack)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bidirectional": True}, "_reverse"),
        ({"bias": False}, "bias_ih_l0"),
    ],
)
def test_unsupported_torch_modules_are_refused(kwargs, match):
    sd = torch_module("gru", 1, **kwargs).state_dict()
    with pytest.raises(ValueError, match=match):
        from_torch_state_dict(sd, "gru")


def test_projection_and_wrong_cell_are_refused():
    lstm = torch.nn.LSTM(D, H, proj_size=2, batch_first=True)
    with pytest.raises(ValueError, match="weight_hr_l0"):
        from_torch_state_dict(lstm.state_dict(), "lstm")
    gru = torch_module("gru", 1).state_dict()
    with pytest.raises(ValueError, match=r"weight_ih_l0 must have shape \(4H, D\)"):
        from_torch_state_dict(gru, "lstm")
    with pytest.raises(ValueError, match="cell must be one of"):
        from_torch_state_dict(gru, "transformer")
