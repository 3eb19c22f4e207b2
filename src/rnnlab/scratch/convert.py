"""Copy weights between the NumPy reference and ``torch.nn.RNN/LSTM/GRU``.

Shape legend: D input features, H hidden units, k layer index.

torch keeps, per layer k, two fused matrices and two bias vectors:
``weight_ih_l{k}`` (G*H, D), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (G*H,), with the G gates stacked in this order:

=======  ====  ==================================================
cell     G     rows of ``weight_ih`` (each block H rows)
=======  ====  ==================================================
RNN      1     ``U.T``
LSTM     4     ``W_xi.T | W_xf.T | W_xc.T | W_xo.T``  (i, f, g, o)
GRU      3     ``W_xr.T | W_xz.T | W_xn.T``           (r, z, n)
=======  ====  ==================================================

and ``weight_hh`` likewise with ``V`` / ``W_h*``. The guide multiplies row
vectors, ``x U`` with ``U`` (D, H), so every matrix is transposed:
``U = weight_ih.T``.

Biases. The guide has one bias per gate, torch two that are always added
together, so ``b = bias_ih + bias_hh``; going back, ``b`` becomes
``(bias_ih, bias_hh) = (b, 0)``. The GRU candidate is the exception: its two
biases sit on either side of the reset gate, so ``b_xn`` is the n-block of
``bias_ih`` and ``b_hn`` the n-block of ``bias_hh``, both kept. Hence
scratch -> torch -> scratch is exact, and torch -> scratch -> torch gives the
same weights and the same bias sums (the same function) but moves every
summed bias into ``bias_ih``.

Only unidirectional modules with biases and without projections convert.
torch's ``nn.RNN(nonlinearity="relu")`` has the same weights but another
function: ``RNNCell`` is tanh only. A GRUCell with ``reset_after=False`` (Cho
et al.) has no torch equivalent. An LSTM without candidate bias converts to
torch with a zero g-bias. torch is imported only when a function needs it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rnnlab.scratch.cells import Cell, GRUCell, LSTMCell, make_cell
from rnnlab.scratch.layers import RecurrentStack

TORCH_GATES = {"rnn": ("",), "lstm": ("i", "f", "c", "o"), "gru": ("r", "z", "n")}
KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)")


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.array(value)  # a copy


def _names(kind: str, gate: str) -> tuple[str, str, str]:
    """The guide's names of gate ``gate``'s input weights, recurrent weights and bias."""
    return ("U", "V", "b") if kind == "rnn" else (f"W_x{gate}", f"W_h{gate}", f"b_{gate}")


def from_torch_state_dict(state_dict: dict[str, Any], cell: str) -> RecurrentStack:
    """Build a ``RecurrentStack`` holding the weights of a torch RNN/LSTM/GRU.

    Parameters
    ----------
    state_dict : dict
        ``module.state_dict()`` of a unidirectional ``torch.nn.RNN`` (tanh),
        ``LSTM`` or ``GRU`` with biases, any ``num_layers`` (tensors or arrays).
    cell : {"rnn", "lstm", "gru"}

    Returns
    -------
    RecurrentStack
        Same dtype as the tensors; LSTM cells have ``candidate_bias=True``,
        GRU cells ``reset_after=True``.
    """
    if cell not in TORCH_GATES:
        raise ValueError(f"cell must be one of {sorted(TORCH_GATES)}; got {cell!r}")
    bad = [k for k in state_dict if not KEY.fullmatch(k)]
    if bad:
        raise ValueError(
            f"state_dict must hold only weight_ih_l{{k}}, weight_hh_l{{k}}, bias_ih_l{{k}}, "
            f"bias_hh_l{{k}} (unidirectional, with biases, no projection); got also {bad}"
        )
    layers = sorted({int(KEY.fullmatch(k).group(2)) for k in state_dict})  # type: ignore[union-attr]
    if not layers or layers != list(range(len(layers))):
        raise ValueError(f"state_dict must hold layers 0..L-1; got layers {layers}")
    gates = TORCH_GATES[cell]
    cells: list[Cell] = []
    for k in layers:
        try:
            w_ih, w_hh, b_ih, b_hh = (
                _to_numpy(state_dict[f"{name}_l{k}"])
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
        except KeyError as err:
            raise ValueError(
                f"state_dict is missing {err.args[0]!r} (biases are required)"
            ) from err
        h = w_hh.shape[1]
        if w_ih.shape[0] != len(gates) * h or w_hh.shape != (len(gates) * h, h):
            raise ValueError(
                f"weight_ih_l{k} must have shape ({len(gates)}H, D) and weight_hh_l{k} "
                f"({len(gates)}H, H) for cell {cell!r}; got {w_ih.shape} and {w_hh.shape}"
            )
        new = make_cell(cell, w_ih.shape[1], h, dtype=w_ih.dtype)
        params = {}
        for j, gate in enumerate(gates):
            rows = slice(j * h, (j + 1) * h)  # gate j's block of H rows
            wx, wh, b = _names(cell, gate)
            params[wx], params[wh] = w_ih[rows].T, w_hh[rows].T  # (D, H), (H, H)
            if cell == "gru" and gate == "n":  # the reset gate sits between the two
                params["b_xn"], params["b_hn"] = b_ih[rows], b_hh[rows]
            else:
                params[b] = b_ih[rows] + b_hh[rows]
        new.set_params(params)
        cells.append(new)
    return RecurrentStack.from_cells(cells)


def to_torch_state_dict(stack: RecurrentStack) -> dict[str, Any]:
    """The torch state dict (``weight_ih_l{k}``, ...) of a ``RecurrentStack``.

    Load it into ``torch.nn.{RNN,LSTM,GRU}(D, H, num_layers=L, batch_first=True)``
    of the stack's dtype (see ``to_torch_module``). Summed biases go to
    ``bias_ih``, ``bias_hh`` holds zeros (except the GRU's ``b_hn``).
    """
    import torch

    if not isinstance(stack, RecurrentStack):
        raise ValueError(f"stack must be a RecurrentStack; got {type(stack).__name__}")
    kind, gates, h = stack.kind, TORCH_GATES[stack.kind], stack.hidden_size
    out = {}
    for k, layer in enumerate(stack.layers):
        cell, p = layer.cell, layer.params
        if isinstance(cell, GRUCell) and not cell.reset_after:
            raise ValueError(
                "stack must use GRUCell(reset_after=True): torch.nn.GRU applies the reset gate "
                "after the recurrent product; the Cho et al. variant has no torch equivalent"
            )
        zeros = np.zeros(h, stack.dtype)
        w_ih, w_hh, b_ih, b_hh = [], [], [], []
        for gate in gates:
            wx, wh, b = _names(kind, gate)
            w_ih.append(p[wx].T)  # (H, D)
            w_hh.append(p[wh].T)  # (H, H)
            if kind == "gru" and gate == "n":
                b_ih.append(p["b_xn"])
                b_hh.append(p["b_hn"])
            else:
                no_bias = isinstance(cell, LSTMCell) and not cell.candidate_bias and gate == "c"
                b_ih.append(zeros if no_bias else p[b])
                b_hh.append(zeros)
        for name, blocks in (("weight_ih", w_ih), ("weight_hh", w_hh)):
            out[f"{name}_l{k}"] = torch.from_numpy(np.concatenate(blocks, axis=0))  # (G*H, D|H)
        for name, blocks in (("bias_ih", b_ih), ("bias_hh", b_hh)):
            out[f"{name}_l{k}"] = torch.from_numpy(np.concatenate(blocks))  # (G*H,)
    return out


def to_torch_module(stack: RecurrentStack) -> Any:
    """A ``torch.nn.RNN/LSTM/GRU`` (``batch_first=True``) computing the same function."""
    import torch

    state_dict = to_torch_state_dict(stack)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[stack.kind]
    dtype = torch.float64 if stack.dtype == np.float64 else torch.float32
    module = cls(
        stack.input_size,
        stack.hidden_size,
        num_layers=stack.num_layers,
        batch_first=True,
        dtype=dtype,
    )
    module.load_state_dict(state_dict)
    return module
