"""Bad input raises ValueError naming the parameter, what was expected and what was received."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.scratch import (
    LSTMCell,
    RecurrentLayer,
    RecurrentNetwork,
    RecurrentStack,
    RNNCell,
    softmax_cross_entropy,
)

N, T, D, H = 2, 5, 3, 4


@pytest.fixture
def lstm_stack() -> RecurrentStack:
    return RecurrentStack("lstm", D, H, num_layers=2, rng=0)


def zeros(*shape):
    return np.zeros(shape)


def test_wrong_input_width(lstm_stack):
    with pytest.raises(ValueError, match=r"^x must have shape \(N, T, D=3\); got \(2, 5, 4\)$"):
        lstm_stack.forward(zeros(N, T, 4))


def test_time_major_or_unbatched_input():
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D=3\); got \(5, 3\)"):
        RecurrentLayer(RNNCell(D, H)).forward(zeros(T, D))


def test_no_time_steps():
    with pytest.raises(
        ValueError, match=r"x must have at least one time step; got shape \(2, 0, 3\)"
    ):
        RecurrentLayer(RNNCell(D, H)).forward(zeros(N, 0, D))


def test_initial_state_must_be_a_tuple_of_the_right_arrays(lstm_stack):
    x = zeros(N, T, D)
    with pytest.raises(ValueError, match=r"state0 must be a tuple \(h, c\) of arrays; got ndarray"):
        lstm_stack.forward(x, zeros(2, N, H))
    with pytest.raises(
        ValueError, match=r"state0 must be a tuple \(h, c\) of arrays; got 1 arrays"
    ):
        lstm_stack.forward(x, (zeros(2, N, H),))
    with pytest.raises(
        ValueError, match=r"state0\[1\] \(c\) must have shape \(L=2, N=2, H=4\); got \(1, 2, 4\)"
    ):
        lstm_stack.forward(x, (zeros(2, N, H), zeros(1, N, H)))
    with pytest.raises(
        ValueError, match=r"state0\[0\] \(h\) must have shape \(N=2, H=4\); got \(3, 4\)"
    ):
        RecurrentLayer(RNNCell(D, H)).forward(x, (zeros(3, H),))


def test_cell_step_checks_its_inputs():
    cell = LSTMCell(D, H)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D=3\); got \(2, 4\)"):
        cell.step(zeros(N, 4), cell.zero_state(N))
    with pytest.raises(
        ValueError, match=r"state\[0\] \(h\) must have shape \(N=2, H=4\); got \(2, 5\)"
    ):
        cell.step(zeros(N, D), (zeros(N, 5), zeros(N, H)))


def test_backward_checks_upstream_gradients(lstm_stack):
    _, _, cache = lstm_stack.forward(zeros(N, T, D))
    with pytest.raises(
        ValueError, match=r"d_outputs must have shape \(N=2, T=5, H=4\); got \(2, 4, 4\)"
    ):
        lstm_stack.backward(zeros(N, T - 1, H), cache)
    with pytest.raises(ValueError, match=r"d_state\[0\] \(h\) must have shape \(L=2, N=2, H=4\)"):
        lstm_stack.backward(zeros(N, T, H), cache, (zeros(N, H), zeros(N, H)))
    with pytest.raises(ValueError, match="truncate must be a positive integer; got 0"):
        lstm_stack.backward(zeros(N, T, H), cache, truncate=0)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.zeros((N, T), int), r"y must have shape \(N,\) = \(2,\); got \(2, 5\)"),
        (np.array([0, 5]), r"y must hold class indices in \[0, 5\); got values in \[0, 5\]"),
        (np.array([0.0, 1.0]), "y must hold integer class indices; got dtype float64"),
    ],
)
def test_labels_are_checked(y, match):
    net = RecurrentNetwork("gru", D, H, 5, rng=0)
    with pytest.raises(ValueError, match=match):
        net.loss_and_grads(zeros(N, T, D), y)


def test_many_to_many_labels_need_a_time_axis():
    net = RecurrentNetwork("rnn", D, H, 5, head="many_to_many", rng=0)
    with pytest.raises(ValueError, match=r"y must have shape \(N, T\) = \(2, 5\); got \(2,\)"):
        net.loss_and_grads(zeros(N, T, D), np.zeros(N, int))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RecurrentStack("transformer", D, H), "cell must be one of"),
        (
            lambda: RecurrentStack("gru", D, H, candidate_bias=False),
            r"unknown option\(s\) \['candidate_bias'\]",
        ),
        (lambda: RecurrentStack("rnn", D, 0), "hidden_size must be a positive integer; got 0"),
        (
            lambda: RecurrentStack("rnn", D, H, num_layers=1.5),
            "num_layers must be a positive integer",
        ),
        (
            lambda: RecurrentStack("rnn", D, H, dtype=np.float16),
            "dtype must be float64 or float32; got float16",
        ),
        (lambda: RecurrentNetwork("rnn", D, H, 2, head="one_to_many"), "head must be one of"),
        (lambda: LSTMCell(D, H, candidate_bias="no"), "candidate_bias must be True or False"),
    ],
)
def test_bad_constructor_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_set_params_checks_names_and_shapes():
    cell = RNNCell(D, H)
    with pytest.raises(ValueError, match=r"params must have exactly the keys \['U', 'V', 'b'\]"):
        cell.set_params({"U": zeros(D, H)})
    with pytest.raises(
        ValueError, match=r"params\['U'\] must have shape \(rows=3, cols=4\); got \(4, 3\)"
    ):
        cell.set_params({"U": zeros(H, D), "V": zeros(H, H), "b": zeros(H)})


def test_strings_and_ragged_lists_are_named():
    layer = RecurrentLayer(RNNCell(D, H))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D=3\); got str"):
        layer.forward("the quick brown fox")
    with pytest.raises(ValueError, match="x must be a rectangular array"):
        layer.forward([[[0.0, 1.0, 2.0]], [[0.0]]])
    with pytest.raises(ValueError, match="logits must be a float array"):
        softmax_cross_entropy(np.zeros(3), np.zeros(3, int))
