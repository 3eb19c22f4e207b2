"""Sequence layers: run a cell over time, forward and backward (BPTT).

Shape legend: N batch, T time, D input features, H hidden units, L layers.
Inputs are batch-first (N, T, D). A state is a tuple, ``(h,)`` for RNN and
GRU, ``(h, c)`` for LSTM: (N, H) arrays for one layer, (L, N, H) for a stack
(torch's ``h_0`` / ``(h_0, c_0)`` layout).

Backpropagation through time. The loss reaches the hidden state ``h_t`` by
two paths: directly, through the output at step t (``d_outputs[:, t]``), and
through the next state ``h_{t+1}``. The backward pass walks t = T-1, ..., 0,
adds the two, and steps back through the cell; the weights are shared by all
steps, so their gradients are summed over time. Since the guide's sequence
loss is a sum, :math:`\\mathcal{L} = \\sum_t \\mathcal{L}^{<t>}`, its
gradient is the sum of the per-step gradients that arrive in ``d_outputs``.

Truncated BPTT (``truncate=k``): the backward pass visits only the last k
steps, t = T-k, ..., T-1, as if the state entering step T-k were a constant.
Gradients that the loss sends to earlier outputs are dropped, nothing reaches
``x[:, :T-k]`` or the initial state (their gradients are zero), and the
weights' gradients sum over the k visited steps only. ``k >= T`` is full BPTT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnlab.scratch.cells import Cell, Grads, State, make_cell
from rnnlab.scratch.checks import check_array, check_positive_int, check_state

LayerCache = list[dict[str, np.ndarray]]


class RecurrentLayer:
    """Run one cell over a batch-first sequence (Keras' ``RNN(cell)`` split).

    Parameters
    ----------
    cell : Cell
        ``RNNCell``, ``LSTMCell`` or ``GRUCell``; the layer owns no weights of
        its own, ``layer.params`` is ``cell.params``.
    """

    def __init__(self, cell: Cell) -> None:
        if not isinstance(cell, Cell):
            raise ValueError(f"cell must be an RNNCell, LSTMCell or GRUCell; got {cell!r}")
        self.cell = cell

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.cell.params

    def forward(
        self, x: object, state0: State | None = None
    ) -> tuple[np.ndarray, State, LayerCache]:
        """Run the sequence.

        Parameters
        ----------
        x : array (N, T, D)
        state0 : tuple of (N, H) arrays, optional
            ``(h0,)`` or ``(h0, c0)``; zeros by default.

        Returns
        -------
        outputs : (N, T, H)
            ``h_t`` at every step.
        state : tuple of (N, H)
            The final state, ``(h_T,)`` or ``(h_T, c_T)``.
        cache : list
            One entry per step, for ``backward``.
        """
        cell = self.cell
        x = check_array("x", x, (None, None, cell.input_size), ("N", "T", "D"), cell.dtype)
        n, t_len, _ = x.shape
        if t_len == 0:
            raise ValueError(f"x must have at least one time step; got shape {x.shape}")
        state = cell.zero_state(n) if state0 is None else self._check_state("state0", state0, n)
        outputs = np.empty((n, t_len, cell.hidden_size), cell.dtype)  # (N, T, H)
        cache = []
        for t in range(t_len):
            state, step_cache = cell.step(x[:, t], state)
            outputs[:, t] = state[0]
            cache.append(step_cache)
        return outputs, state, cache

    def backward(
        self,
        d_outputs: object,
        cache: LayerCache,
        d_state: State | None = None,
        truncate: int | None = None,
    ) -> tuple[np.ndarray, State, Grads]:
        """Backpropagation through time.

        Parameters
        ----------
        d_outputs : array (N, T, H) or None
            dL/d outputs, from the layer above or the head (None: zeros).
        cache : list
            From ``forward``.
        d_state : tuple of (N, H), optional
            dL/d final state, when the loss reads it directly (zeros by default).
        truncate : int, optional
            Backpropagate through the last ``truncate`` steps only (see the
            module docstring); None is full BPTT.

        Returns
        -------
        dx : (N, T, D)
        d_state0 : tuple of (N, H)
            dL/d initial state (zeros when truncated to fewer than T steps).
        grads : dict
            dL/d each weight, keyed as ``cell.params``.
        """
        cell = self.cell
        t_len, n = len(cache), cache[0]["x"].shape[0]
        if d_outputs is None:
            d_outputs = np.zeros((n, t_len, cell.hidden_size), cell.dtype)
        d_outputs = check_array(
            "d_outputs", d_outputs, (n, t_len, cell.hidden_size), ("N", "T", "H"), cell.dtype
        )
        d_state = (
            cell.zero_state(n) if d_state is None else self._check_state("d_state", d_state, n)
        )
        first = 0 if truncate is None else max(t_len - check_positive_int("truncate", truncate), 0)

        dx = np.zeros((n, t_len, cell.input_size), cell.dtype)  # (N, T, D)
        grads = {name: np.zeros_like(w) for name, w in cell.params.items()}
        for t in reversed(range(first, t_len)):
            # h_t reaches the loss through the output at t and through h_{t+1}
            d_state = (d_state[0] + d_outputs[:, t], *d_state[1:])
            dx[:, t], d_state, step_grads = cell.step_backward(d_state, cache[t])
            for name, g in step_grads.items():
                grads[name] += g  # shared weights: gradients add up over time
        if first > 0:  # truncated: the state entering step `first` was a constant
            d_state = cell.zero_state(n)
        return dx, d_state, grads

    def _check_state(self, name: str, state: object, n: int) -> State:
        cell = self.cell
        shape = (n, cell.hidden_size)
        return check_state(name, state, cell.state_names, shape, ("N", "H"), cell.dtype)


class RecurrentStack:
    """L recurrent layers, each reading the outputs of the one below (the guide's multi-layer RNN).

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    input_size : int
        D, features per time step of the first layer.
    hidden_size : int
        H, units of every layer (layer l > 0 reads (N, T, H)).
    num_layers : int, default 1
    rng : numpy.random.Generator, int or None
        Source of the initial weights.
    dtype : float64 (default) or float32
    **cell_options
        ``candidate_bias`` (LSTM) or ``reset_after`` (GRU).

    Shapes
    ------
    forward(x (N, T, D), state0) -> outputs (N, T, H), state, cache
    where state0 and state are tuples of (L, N, H) arrays: ``(h,)`` or ``(h, c)``.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: object = np.float64,
        **cell_options: object,
    ) -> None:
        num_layers = check_positive_int("num_layers", num_layers)
        input_size = check_positive_int("input_size", input_size)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        rng = np.random.default_rng(rng)  # one generator: layers get different weights
        cells = [
            make_cell(
                cell,
                input_size if layer == 0 else hidden_size,
                hidden_size,
                rng=rng,
                dtype=dtype,
                **cell_options,
            )
            for layer in range(num_layers)
        ]
        self._set_layers(cells)

    @classmethod
    def from_cells(cls, cells: Sequence[Cell]) -> RecurrentStack:
        """A stack of existing cells (same kind, sizes chained, same dtype)."""
        stack = cls.__new__(cls)
        stack._set_layers(list(cells))
        return stack

    def _set_layers(self, cells: list[Cell]) -> None:
        if not cells or not all(isinstance(c, Cell) for c in cells):
            raise ValueError(f"cells must be a non-empty list of cells; got {cells!r}")
        first = cells[0]
        for layer, c in enumerate(cells[1:], start=1):
            if (
                type(c) is not type(first)
                or c.dtype != first.dtype
                or _options(c) != _options(first)
            ):
                raise ValueError(f"cells[{layer}] must be like cells[0] ({first!r}); got {c!r}")
            if c.input_size != first.hidden_size or c.hidden_size != first.hidden_size:
                raise ValueError(
                    f"cells[{layer}] must have input_size={first.hidden_size} and "
                    f"hidden_size={first.hidden_size}; got {c!r}"
                )
        self.layers = [RecurrentLayer(c) for c in cells]
        self.kind, self.dtype = first.kind, first.dtype
        self.state_names = first.state_names
        self.input_size, self.hidden_size = first.input_size, first.hidden_size

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def parameters(self) -> dict[str, np.ndarray]:
        """Every weight, keyed ``layers.{l}.{name}`` (the arrays themselves, not copies)."""
        return {
            f"layers.{k}.{name}": w
            for k, layer in enumerate(self.layers)
            for name, w in layer.params.items()
        }

    def forward(
        self, x: object, state0: State | None = None
    ) -> tuple[np.ndarray, State, list[LayerCache]]:
        """Run every layer; layer l reads the outputs of layer l - 1.

        ``state0``: tuple of (L, N, H) arrays, zeros by default. Returns the top
        layer's outputs (N, T, H), the final state of every layer (tuple of
        (L, N, H)) and the per-layer caches.
        """
        x = check_array("x", x, (None, None, self.input_size), ("N", "T", "D"), self.dtype)
        if state0 is not None:
            shape, legend = (self.num_layers, x.shape[0], self.hidden_size), ("L", "N", "H")
            state0 = check_state("state0", state0, self.state_names, shape, legend, self.dtype)
        finals, caches = [], []
        for k, layer in enumerate(self.layers):
            layer_state0 = None if state0 is None else tuple(s[k] for s in state0)
            x, final, cache = layer.forward(x, layer_state0)  # (N, T, H)
            finals.append(final)
            caches.append(cache)
        state = tuple(
            np.stack([f[j] for f in finals]) for j in range(len(self.state_names))
        )  # (L, N, H)
        return x, state, caches

    def backward(
        self,
        d_outputs: object,
        caches: list[LayerCache],
        d_state: State | None = None,
        truncate: int | None = None,
    ) -> tuple[np.ndarray, State, Grads]:
        """BPTT through every layer, top to bottom.

        ``d_outputs`` (N, T, H) is dL/d top-layer outputs; ``d_state`` (tuple
        of (L, N, H)) dL/d final states. Returns dx (N, T, D), dL/d state0
        (tuple of (L, N, H)) and the gradients keyed as ``parameters()``.
        """
        n = caches[0][0]["x"].shape[0]
        if d_state is not None:
            shape, legend = (self.num_layers, n, self.hidden_size), ("L", "N", "H")
            d_state = check_state("d_state", d_state, self.state_names, shape, legend, self.dtype)
        layer_grads, d_state0 = [{}] * self.num_layers, [()] * self.num_layers
        d = d_outputs
        for k in reversed(range(self.num_layers)):
            layer_d_state = None if d_state is None else tuple(s[k] for s in d_state)
            d, d_state0[k], layer_grads[k] = self.layers[k].backward(
                d, caches[k], layer_d_state, truncate
            )  # d: (N, T, H) for the layer below, (N, T, D) at the bottom
        grads = {
            f"layers.{k}.{name}": g for k, lg in enumerate(layer_grads) for name, g in lg.items()
        }
        d_state0_stacked = tuple(
            np.stack([s[j] for s in d_state0]) for j in range(len(self.state_names))
        )  # (L, N, H)
        return d, d_state0_stacked, grads

    def __repr__(self) -> str:
        return f"RecurrentStack({self.layers[0].cell!r} x {self.num_layers})"


def _options(cell: Cell) -> tuple[object, object]:
    return getattr(cell, "candidate_bias", None), getattr(cell, "reset_after", None)
