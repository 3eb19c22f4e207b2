"""Single cells: the guide's equations by hand for one step, float32, the guide's LSTM."""

from __future__ import annotations

import numpy as np

from rnnlab.scratch import GRUCell, LSTMCell, RecurrentStack, RNNCell, sigmoid

N, D, H = 2, 3, 4


def test_rnn_step_is_the_guide_equation():
    cell = RNNCell(D, H, rng=0)
    rng = np.random.default_rng(1)
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    (h,), _ = cell.step(x, (h_prev,))
    U, V, b = cell.params["U"], cell.params["V"], cell.params["b"]
    for n in range(N):  # one sequence at a time, unit by unit: h_j = tanh(sum_d x_d U_dj + ...)
        for j in range(H):
            a = sum(x[n, d] * U[d, j] for d in range(D)) + sum(
                h_prev[n, k] * V[k, j] for k in range(H)
            )
            assert np.isclose(h[n, j], np.tanh(a + b[j]), rtol=1e-14, atol=1e-15)


def test_lstm_gates_saturate_as_the_guide_describes():
    """Forget gate open and input gate shut: the memory c passes through unchanged."""
    cell = LSTMCell(D, H, rng=0)
    cell.params["b_f"][:] = 50.0  # f = 1: keep everything
    cell.params["b_i"][:] = -50.0  # i = 0: write nothing
    rng = np.random.default_rng(2)
    c_prev = rng.normal(size=(N, H))
    (h, c), cache = cell.step(rng.normal(size=(N, D)), (rng.normal(size=(N, H)), c_prev))
    np.testing.assert_allclose(c, c_prev, atol=1e-12)
    np.testing.assert_allclose(h, cache["o"] * np.tanh(c_prev), atol=1e-12)


def test_guide_lstm_equals_standard_lstm_with_zero_candidate_bias():
    guide = RecurrentStack("lstm", D, H, 2, rng=3, candidate_bias=False)
    standard = RecurrentStack("lstm", D, H, 2, rng=3)
    for g, s in zip(guide.layers, standard.layers, strict=True):
        assert "b_c" not in g.params
        s.cell.set_params({**g.params, "b_c": np.zeros(H)})
    x = np.random.default_rng(4).normal(size=(N, 5, D))
    np.testing.assert_array_equal(guide.forward(x)[0], standard.forward(x)[0])


def test_gru_update_gate_keeps_the_old_state():
    """z = 1 keeps h_{t-1} (torch's and Cho's convention), in both variants."""
    for reset_after in (True, False):
        cell = GRUCell(D, H, rng=0, reset_after=reset_after)
        cell.params["b_z"][:] = 50.0
        rng = np.random.default_rng(5)
        h_prev = rng.normal(size=(N, H))
        (h,), _ = cell.step(rng.normal(size=(N, D)), (h_prev,))
        np.testing.assert_allclose(h, h_prev, atol=1e-12)


def test_sigmoid_is_stable_and_exact():
    a = np.array([-800.0, -30.0, 0.0, 2.0, 800.0])
    with np.errstate(over="raise"):
        s = sigmoid(a)
    np.testing.assert_allclose(s[1:4], 1 / (1 + np.exp(-a[1:4])), rtol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0


def test_float32_runs_in_float32_and_agrees_with_float64():
    net64 = RecurrentStack("gru", D, H, 2, rng=6)
    net32 = RecurrentStack("gru", D, H, 2, rng=6, dtype=np.float32)
    x = np.random.default_rng(7).normal(size=(N, 5, D))
    out64, _, cache64 = net64.forward(x)
    out32, _, cache32 = net32.forward(x)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-6)
    g = np.ones_like(out64)
    dx64, _, grads64 = net64.backward(g, cache64)
    dx32, _, grads32 = net32.backward(g.astype(np.float32), cache32)
    assert dx32.dtype == np.float32 and all(v.dtype == np.float32 for v in grads32.values())
    np.testing.assert_allclose(dx32, dx64, atol=1e-5)
    for name in grads64:
        np.testing.assert_allclose(grads32[name], grads64[name], atol=1e-5)
