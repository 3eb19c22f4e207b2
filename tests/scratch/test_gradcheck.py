"""Every hand-written gradient against centred finite differences, in float64.

Numerical gradient: the fourth-order centred difference
``(8 (L(w+e) - L(w-e)) - (L(w+2e) - L(w-2e))) / (12 e)`` with e = 1e-3, whose
error (~1e-12 here: truncation ~e^4, round-off ~1e-16 / e) is ~10x below the
plain ``(L(w+e) - L(w-e)) / 2e`` at its best step.

Relative error, per array: ``max_i |a_i - n_i| / max(|a_i| + |n_i|, FLOOR)``,
the elementwise maximum, with ``a`` the analytic (BPTT) gradient and ``n``
the numerical one. FLOOR = 1e-8 only guards entries that are ~0 in both; a
missing or wrong term is O(|gradient|) and shows at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rnnlab.scratch import RecurrentNetwork, softmax_cross_entropy

EPS = 1e-3
FLOOR = 1e-8
TOL = 1e-6
N, T, D, H, V = 2, 4, 3, 4, 5

CELLS = [
    ("rnn", {}),
    ("lstm", {}),
    ("lstm", {"candidate_bias": False}),  # the guide's bias-less candidate
    ("gru", {}),  # reset after the product (torch / cuDNN)
    ("gru", {"reset_after": False}),  # reset before the product (Cho et al. 2014)
]
CELL_IDS = ["rnn", "lstm", "lstm-guide", "gru-torch", "gru-cho"]


def numerical_gradient(loss: Callable[[], float], array: np.ndarray) -> np.ndarray:
    """dL/d array by fourth-order centred differences, perturbing ``array`` in place."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        values = []
        for step in (EPS, -EPS, 2 * EPS, -2 * EPS):
            array[idx] = old + step
            values.append(loss())
        array[idx] = old
        grad[idx] = (8 * (values[0] - values[1]) - (values[2] - values[3])) / (12 * EPS)
    return grad


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), FLOOR)
    return float(np.max(np.abs(analytic - numeric) / scale))


def check_network(net: RecurrentNetwork, x, y, state0) -> dict[str, float]:
    """Relative error of every parameter, of x and of each initial state."""
    _, grads, d_inputs = net.loss_and_grads(x, y, state0)

    def loss() -> float:
        return softmax_cross_entropy(net.forward(x, state0)[0], y)[0]

    errors = {
        name: rel_error(grads[name], numerical_gradient(loss, w))
        for name, w in net.parameters().items()
    }
    errors["x"] = rel_error(d_inputs["x"], numerical_gradient(loss, x))
    for name, s in zip(net.stack.state_names, state0, strict=True):
        errors[f"{name}0"] = rel_error(d_inputs[f"{name}0"], numerical_gradient(loss, s))
    return errors


def make_case(cell, options, num_layers, head, seed=0):
    rng = np.random.default_rng(seed)
    net = RecurrentNetwork(cell, D, H, V, num_layers, head=head, rng=rng, **options)
    x = rng.normal(size=(N, T, D))
    y = rng.integers(0, V, size=(N,) if head == "many_to_one" else (N, T))
    # a non-zero initial state, so that dL/dh0 (and dL/dc0) are not trivially small
    state0 = tuple(rng.normal(scale=0.5, size=(num_layers, N, H)) for _ in net.stack.state_names)
    return net, x, y, state0


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_bptt_gradients_match_finite_differences(cell, options, num_layers, head):
    net, x, y, state0 = make_case(cell, options, num_layers, head)
    errors = check_network(net, x, y, state0)
    expected = set(net.parameters()) | {"x"} | {f"{s}0" for s in net.stack.state_names}
    assert set(errors) == expected  # every parameter, the inputs and every initial state
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize(("cell", "options"), CELLS[:2] + CELLS[3:4], ids=["rnn", "lstm", "gru"])
def test_truncated_bptt_is_the_gradient_of_the_detached_graph(cell, options):
    """Truncation to k steps is exact BPTT of the last k steps from a constant state.

    Finite differences on the whole sequence cannot see a truncated gradient,
    so differentiate the loss of ``x[:, T-k:]`` started from the state at step
    T-k (a constant), and compare the recurrent weights' gradients.
    """
    net, x, y, state0 = make_case(cell, options, 2, "many_to_many", seed=1)
    k = 2
    _, grads, d_inputs = net.loss_and_grads(x, y, state0, truncate=k)
    _, state_k, _ = net.stack.forward(x[:, : T - k], state0)  # the state entering step T-k
    x_tail, y_tail = x[:, T - k :].copy(), y[:, T - k :]

    def tail_loss() -> float:
        return softmax_cross_entropy(net.forward(x_tail, state_k)[0], y_tail)[0]

    for name, w in net.stack.parameters().items():
        assert rel_error(grads[name], numerical_gradient(tail_loss, w)) < TOL, name
    assert rel_error(d_inputs["x"][:, T - k :], numerical_gradient(tail_loss, x_tail)) < TOL
    assert not d_inputs["x"][:, : T - k].any()
    assert not any(d_inputs[f"{s}0"].any() for s in net.stack.state_names)
