"""Truncated BPTT: k >= T is full BPTT; k < T visits the last k steps only.

(``test_gradcheck`` also proves the truncated gradient is the exact gradient
of the last k steps started from a constant state, by finite differences.)
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.scratch import RecurrentNetwork

N, T, D, H, V = 3, 6, 3, 4, 5


def case(cell: str, head: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    net = RecurrentNetwork(cell, D, H, V, 2, head=head, rng=rng)
    x = rng.normal(size=(N, T, D))
    y = rng.integers(0, V, size=(N,) if head == "many_to_one" else (N, T))
    state0 = tuple(rng.normal(size=(2, N, H)) for _ in net.stack.state_names)
    return net, x, y, state0


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncation_at_or_beyond_t_is_full_bptt(cell, head):
    net, x, y, state0 = case(cell, head)
    loss, grads, d_inputs = net.loss_and_grads(x, y, state0)
    for k in (T, T + 3):
        loss_k, grads_k, d_inputs_k = net.loss_and_grads(x, y, state0, truncate=k)
        assert loss_k == loss
        assert all(np.array_equal(grads_k[name], grads[name]) for name in grads)
        assert all(np.array_equal(d_inputs_k[name], d_inputs[name]) for name in d_inputs)


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncation_stops_gradients_before_the_window(cell, head):
    net, x, y, state0 = case(cell, head, seed=1)
    _, full, full_inputs = net.loss_and_grads(x, y, state0)
    k = 2
    _, grads, d_inputs = net.loss_and_grads(x, y, state0, truncate=k)
    # nothing reaches steps before T-k, nor the initial state ...
    assert not d_inputs["x"][:, : T - k].any()
    assert all(not d_inputs[f"{s}0"].any() for s in net.stack.state_names)
    # ... where full BPTT does send gradient (so the test above can fail)
    assert np.abs(full_inputs["x"][:, : T - k]).min() > 0
    assert np.abs(full_inputs["h0"]).max() > 1e-6
    # the weights' gradients differ from full BPTT; the head's do not (it is not recurrent)
    first = next(iter(net.stack.parameters()))  # layers.0.U / W_xf / W_xr
    assert not np.allclose(grads[first], full[first])
    for name in ("O", "c"):
        np.testing.assert_array_equal(grads[name], full[name])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_equals_full_bptt_of_the_window(cell):
    """Many-to-one: truncating to k steps equals full BPTT over x[:, T-k:] from the state at T-k."""
    net, x, y, state0 = case(cell, "many_to_one", seed=2)
    k = 3
    _, grads, d_inputs = net.loss_and_grads(x, y, state0, truncate=k)
    _, state_k, _ = net.stack.forward(x[:, : T - k], state0)  # state entering step T-k
    _, window, window_inputs = net.loss_and_grads(x[:, T - k :], y, state_k)
    for name in grads:
        np.testing.assert_allclose(grads[name], window[name], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(
        d_inputs["x"][:, T - k :], window_inputs["x"], rtol=1e-13, atol=1e-15
    )
