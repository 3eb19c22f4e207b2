"""The NumPy reference equals torch.nn.RNN/LSTM/GRU with copied weights (float64).

Outputs, final states and every gradient (weights, inputs, initial states)
agree within TOL. torch is driven with the same loss: for the stack alone
``L = sum(outputs * G) + sum(h_n * G_h) [+ sum(c_n * G_c)]`` with random G,
so that our ``backward(G, d_state=(G_h, G_c))`` is the same derivative; for
the heads, ``nn.Linear`` (weight ``O.T``, bias ``c``) + ``F.cross_entropy``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.scratch import (
    GRUCell,
    RecurrentNetwork,
    RecurrentStack,
    to_torch_module,
)
from rnnlab.scratch.convert import TORCH_GATES

TOL = 1e-10  # absolute and relative (assert_allclose(atol=TOL, rtol=TOL)); float64
N, T, D, H, V = 3, 5, 3, 4, 5

TORCH_CELLS = [
    ("rnn", {}),
    ("lstm", {}),
    ("lstm", {"candidate_bias": False}),  # the guide's candidate: torch with a zero g-bias
    ("gru", {}),  # reset_after=True, torch's form
]
CELL_IDS = ["rnn", "lstm", "lstm-guide", "gru"]


def close(ours: np.ndarray, theirs: torch.Tensor, what: str) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=TOL, atol=TOL, err_msg=what)


def torch_grads(module: torch.nn.Module, stack: RecurrentStack) -> dict[str, torch.Tensor]:
    """torch's parameter gradients under the guide's names (``layers.{k}.{name}``).

    Fused blocks are split in torch's gate order and transposed. A summed bias
    ``b = bias_ih + bias_hh`` has dL/db = dL/dbias_ih = dL/dbias_hh.
    """
    h, gates, out = stack.hidden_size, TORCH_GATES[stack.kind], {}
    ours = stack.parameters()
    for k in range(stack.num_layers):
        g_ih, g_hh, gb_ih, gb_hh = (
            getattr(module, f"{name}_l{k}").grad
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        for j, gate in enumerate(gates):
            rows = slice(j * h, (j + 1) * h)
            wx, wh, b = (
                ("U", "V", "b")
                if stack.kind == "rnn"
                else (f"W_x{gate}", f"W_h{gate}", f"b_{gate}")
            )
            out[f"layers.{k}.{wx}"], out[f"layers.{k}.{wh}"] = g_ih[rows].T, g_hh[rows].T
            if stack.kind == "gru" and gate == "n":
                out[f"layers.{k}.b_xn"], out[f"layers.{k}.b_hn"] = gb_ih[rows], gb_hh[rows]
            elif f"layers.{k}.{b}" in ours:
                close(gb_ih[rows].numpy(), gb_hh[rows], f"bias_ih vs bias_hh grad, layer {k}")
                out[f"layers.{k}.{b}"] = gb_ih[rows]
    return out


def random_state(rng, stack):
    return tuple(rng.normal(scale=0.5, size=(stack.num_layers, N, H)) for _ in stack.state_names)


def torch_forward(module, x, state0):
    """Run torch with leaf tensors for x and the initial state; return them too."""
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in state0]
    out, final = module(xt, tuple(st) if len(st) == 2 else st[0])
    final = final if isinstance(final, tuple) else (final,)
    return out, final, xt, st


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(("cell", "options"), TORCH_CELLS, ids=CELL_IDS)
def test_stack_matches_torch(cell, options, num_layers):
    rng = np.random.default_rng(num_layers)
    stack = RecurrentStack(cell, D, H, num_layers, rng=rng, **options)
    module = to_torch_module(stack)
    x, state0 = rng.normal(size=(N, T, D)), random_state(rng, stack)
    g_out, g_state = rng.normal(size=(N, T, H)), random_state(rng, stack)

    outputs, state, cache = stack.forward(x, state0)
    dx, d_state0, grads = stack.backward(g_out, cache, g_state)

    out, final, xt, st = torch_forward(module, x, state0)
    loss = (out * torch.tensor(g_out)).sum()
    loss = loss + sum((f * torch.tensor(g)).sum() for f, g in zip(final, g_state, strict=True))
    loss.backward()

    close(outputs, out, "outputs")
    for name, ours, theirs in zip(stack.state_names, state, final, strict=True):
        close(ours, theirs, f"final {name}")
    close(dx, xt.grad, "dL/dx")
    for name, ours, theirs in zip(stack.state_names, d_state0, st, strict=True):
        close(ours, theirs.grad, f"dL/d{name}0")
    reference = torch_grads(module, stack)
    assert set(reference) == set(grads)
    for name, g in grads.items():
        close(g, reference[name], name)


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(("cell", "options"), TORCH_CELLS, ids=CELL_IDS)
def test_network_loss_and_grads_match_torch(cell, options, num_layers, head):
    rng = np.random.default_rng(10 + num_layers)
    net = RecurrentNetwork(cell, D, H, V, num_layers, head=head, rng=rng, **options)
    module = to_torch_module(net.stack)
    linear = torch.nn.Linear(H, V, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(net.head.params["O"].T))  # (V, H)
        linear.bias.copy_(torch.tensor(net.head.params["c"]))
    x, state0 = rng.normal(size=(N, T, D)), random_state(rng, net.stack)
    y = rng.integers(0, V, size=(N,) if head == "many_to_one" else (N, T))

    loss, grads, d_inputs = net.loss_and_grads(x, y, state0)
    probs = net.predict_proba(x, state0)

    out, _, xt, st = torch_forward(module, x, state0)
    if head == "many_to_one":  # softmax(h_T O + c), batch mean
        logits = linear(out[:, -1])  # (N, V)
        torch_loss = F.cross_entropy(logits, torch.tensor(y))
    else:  # the guide's L = sum_t L_t, then the batch mean
        logits = linear(out)  # (N, T, V)
        flat = logits.reshape(-1, V)  # (N*T, V)
        torch_loss = F.cross_entropy(flat, torch.tensor(y).reshape(-1), reduction="sum") / N
    torch_loss.backward()

    assert abs(loss - torch_loss.item()) <= TOL * max(1.0, abs(loss))
    close(probs, torch.softmax(logits, dim=-1), "probabilities")
    close(d_inputs["x"], xt.grad, "dL/dx")
    for name, theirs in zip(net.stack.state_names, st, strict=True):
        close(d_inputs[f"{name}0"], theirs.grad, f"dL/d{name}0")
    reference = torch_grads(module, net.stack)
    reference["O"], reference["c"] = linear.weight.grad.T, linear.bias.grad
    assert set(reference) == set(grads)
    for name, g in grads.items():
        close(g, reference[name], name)


def cho_gru_reference(cell: GRUCell, x: np.ndarray, h0: np.ndarray):
    """Cho et al.'s GRU written with torch ops, differentiated by autograd."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in cell.params.items()}
    xt, h = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    h_t = h
    for t in range(x.shape[1]):
        x_t = xt[:, t]
        r = torch.sigmoid(x_t @ p["W_xr"] + h_t @ p["W_hr"] + p["b_r"])
        z = torch.sigmoid(x_t @ p["W_xz"] + h_t @ p["W_hz"] + p["b_z"])
        n = torch.tanh(x_t @ p["W_xn"] + (r * h_t) @ p["W_hn"] + p["b_n"])
        h_t = (1 - z) * n + z * h_t
    return h_t, p, xt, h


def test_cho_gru_matches_autograd_of_its_equations():
    """torch has no reset-before GRU: compare with autograd of the equations instead."""
    rng = np.random.default_rng(3)
    stack = RecurrentStack("gru", D, H, rng=rng, reset_after=False)
    x, h0, g = rng.normal(size=(N, T, D)), rng.normal(size=(1, N, H)), rng.normal(size=(N, H))
    _, (h_n,), cache = stack.forward(x, (h0,))
    dx, (dh0,), grads = stack.backward(None, cache, (g[None],))

    h_ref, p, xt, ht = cho_gru_reference(stack.layers[0].cell, x, h0[0])
    (h_ref * torch.tensor(g)).sum().backward()
    close(h_n[0], h_ref, "h_T")
    close(dx, xt.grad, "dL/dx")
    close(dh0[0], ht.grad, "dL/dh0")
    for name, w in p.items():
        close(grads[f"layers.0.{name}"], w.grad, name)


def test_gru_variants_differ():
    """The two GRU forms are different functions (else the tests above prove less)."""
    before = RecurrentStack("gru", D, H, rng=0, reset_after=False)
    after = RecurrentStack("gru", D, H, rng=0, reset_after=True)
    p = after.layers[0].params
    before.layers[0].cell.set_params(
        {**{k: v for k, v in p.items() if k not in ("b_xn", "b_hn")}, "b_n": p["b_xn"] + p["b_hn"]}
    )
    x = np.random.default_rng(0).normal(size=(N, T, D))
    assert np.abs(before.forward(x)[0] - after.forward(x)[0]).max() > 1e-3
