"""The glass box: RNN, LSTM and GRU from scratch in NumPy, with hand-written BPTT.

A reference to read line by line next to the guide's equations; the tests in
``tests/scratch`` prove it equal to ``torch.nn.RNN/LSTM/GRU`` (outputs, states
and every gradient, in float64) and check every gradient by finite
differences. ``docs/glass-box.md`` maps each equation to its line of code.

Shape legend: N batch, T time, D input features, H hidden units, L layers,
V output classes. Batch-first (N, T, D) everywhere; float64 by default,
float32 allowed.

=================  =====================================================
module             what it holds
=================  =====================================================
``cells``          one step forward/backward: ``RNNCell`` (U, V, b),
                   ``LSTMCell`` (W_xf, W_hf, b_f, ...), ``GRUCell``
``layers``         ``RecurrentLayer`` runs a cell over time (BPTT, also
                   truncated); ``RecurrentStack`` stacks L layers
``heads``          ``softmax(h O + c)`` and the cross-entropy, summed over time
``network``        ``RecurrentNetwork``: stack + head, many-to-one or many-to-many
``optim``          ``clip_grad_norm``, ``SGD``, ``Adam``
``convert``        weights to and from torch state dicts (fused gate order)
=================  =====================================================

Example: train an LSTM to say which token a sequence started with::

    import numpy as np
    from rnnlab.scratch import Adam, RecurrentNetwork, clip_grad_norm

    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 4, size=(128, 8))         # (N, T)
    x, y = np.eye(4)[tokens], tokens[:, 0]             # (N, T, 4), (N,)
    net = RecurrentNetwork("lstm", 4, 16, 4, rng=0)    # many-to-one
    opt = Adam(net.parameters(), lr=0.03)
    for _ in range(100):
        loss, grads, _ = net.loss_and_grads(x, y)
        opt.step(clip_grad_norm(grads, 5.0)[0])

Copy the weights into torch and get the same numbers::

    from rnnlab.scratch import to_torch_module
    lstm = to_torch_module(net.stack)                  # torch.nn.LSTM, batch_first
"""

from __future__ import annotations

from rnnlab.scratch.cells import GRUCell, LSTMCell, RNNCell, make_cell, sigmoid
from rnnlab.scratch.convert import from_torch_state_dict, to_torch_module, to_torch_state_dict
from rnnlab.scratch.heads import SoftmaxHead, softmax, softmax_cross_entropy
from rnnlab.scratch.layers import RecurrentLayer, RecurrentStack
from rnnlab.scratch.network import RecurrentNetwork
from rnnlab.scratch.optim import SGD, Adam, clip_grad_norm, global_norm

__all__ = [
    "Adam",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "RecurrentLayer",
    "RecurrentNetwork",
    "RecurrentStack",
    "SGD",
    "SoftmaxHead",
    "clip_grad_norm",
    "from_torch_state_dict",
    "global_norm",
    "make_cell",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "to_torch_module",
    "to_torch_state_dict",
]
