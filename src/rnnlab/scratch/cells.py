"""One time step of an RNN, LSTM or GRU cell, forward and backward, in NumPy.

A cell does one step; ``rnnlab.scratch.layers`` runs it over a sequence. Each
cell keeps its weights in ``cell.params``, named as in the guide's equations,
and offers two methods:

- ``step(x, state) -> (state, cache)``: the guide's equations for one step;
- ``step_backward(d_state, cache) -> (dx, d_state_prev, grads)``: the chain
  rule through that step, by hand.

Shape legend: N batch, D input features, H hidden units. A state is a tuple:
``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM, each array (N, H).

Convention. The guide writes the RNN with row vectors, ``x U`` with ``x``
(N, D) and ``U`` (D, H), and the LSTM with column vectors, ``W_{xf} x``.
Here every cell uses the row form ``x @ W_xf`` with ``W_xf`` (D, H), so one
batch is one matrix product. ``torch.nn`` stores the transposes:
``U = weight_ih.T`` (see ``rnnlab.scratch.convert``).
"""

from __future__ import annotations

import numpy as np

from rnnlab.scratch.checks import check_array, check_dtype, check_positive_int, check_state

State = tuple[np.ndarray, ...]
Cache = dict[str, np.ndarray]
Grads = dict[str, np.ndarray]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^{-a}), written so that exp never overflows."""
    e = np.exp(-np.abs(a))  # in (0, 1]
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Cell:
    """What every cell shares: sizes, dtype, weight initialisation, input checks.

    Parameters
    ----------
    input_size : int
        D, features per time step.
    hidden_size : int
        H, hidden units.
    rng : numpy.random.Generator, int or None
        Source of the initial weights, drawn like torch's from
        U(-1/sqrt(H), 1/sqrt(H)).
    dtype : float64 (default) or float32
        Precision of the weights and of every computation.
    """

    kind = ""
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: object = np.float64,
    ) -> None:
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.dtype = check_dtype(dtype)
        self._rng = np.random.default_rng(rng)
        self.params: dict[str, np.ndarray] = {}

    def _uniform(self, *shape: int) -> np.ndarray:
        bound = 1.0 / np.sqrt(self.hidden_size)
        return self._rng.uniform(-bound, bound, size=shape).astype(self.dtype)

    def zero_state(self, n: int) -> State:
        """The default initial state: zeros, one (N, H) array per state name."""
        return tuple(np.zeros((n, self.hidden_size), self.dtype) for _ in self.state_names)

    def set_params(self, params: dict[str, object]) -> None:
        """Replace every weight; names and shapes must match ``self.params`` exactly."""
        if set(params) != set(self.params):
            raise ValueError(
                f"params must have exactly the keys {sorted(self.params)}; got {sorted(params)}"
            )
        legend = {1: ("H",), 2: ("rows", "cols")}
        for name, old in self.params.items():
            new = check_array(
                f"params[{name!r}]", params[name], old.shape, legend[old.ndim], self.dtype
            )
            self.params[name] = new.copy()

    def check_step(self, x: object, state: object) -> tuple[np.ndarray, State]:
        """Check one step's input ``x`` (N, D) and ``state`` (tuple of (N, H))."""
        x = check_array("x", x, (None, self.input_size), ("N", "D"), self.dtype)
        state = check_state(
            "state", state, self.state_names, (x.shape[0], self.hidden_size), ("N", "H"), self.dtype
        )
        return x, state

    def step(self, x: np.ndarray, state: State) -> tuple[State, Cache]:
        raise NotImplementedError

    def step_backward(self, d_state: State, cache: Cache) -> tuple[np.ndarray, State, Grads]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"
        )


def gate_backward(
    params: dict[str, np.ndarray], gate: str, da: np.ndarray, x: np.ndarray, h_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Grads]:
    """Backward through ``a = x @ W_x{gate} + h_prev @ W_h{gate} + b_{gate}``.

    ``da`` (N, H) is dL/da. Returns dL/dx (N, D), dL/dh_prev (N, H) and the
    gradients of the gate's weights (no bias gradient if the gate has none).
    """
    grads = {f"W_x{gate}": x.T @ da, f"W_h{gate}": h_prev.T @ da}  # (D, H), (H, H)
    if f"b_{gate}" in params:
        grads[f"b_{gate}"] = da.sum(axis=0)  # (H,)
    return da @ params[f"W_x{gate}"].T, da @ params[f"W_h{gate}"].T, grads


class RNNCell(Cell):
    """The guide's Elman RNN cell.

    .. math:: h^{<t>} = \\tanh(x^{<t>} U + h^{<t-1>} V + b)

    Weights: ``U`` (D, H) input-to-hidden, ``V`` (H, H) hidden-to-hidden,
    ``b`` (H,). torch's ``nn.RNN`` has two biases, ``bias_ih + bias_hh = b``.
    """

    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, **kwargs: object) -> None:
        super().__init__(input_size, hidden_size, **kwargs)  # type: ignore[arg-type]
        d, h = self.input_size, self.hidden_size
        self.params = {"U": self._uniform(d, h), "V": self._uniform(h, h), "b": self._uniform(h)}

    def step(self, x: np.ndarray, state: State) -> tuple[State, Cache]:
        x, (h_prev,) = self.check_step(x, state)
        p = self.params
        h = np.tanh(x @ p["U"] + h_prev @ p["V"] + p["b"])  # (N, H)
        return (h,), {"x": x, "h_prev": h_prev, "h": h}

    def step_backward(self, d_state: State, cache: Cache) -> tuple[np.ndarray, State, Grads]:
        (dh,) = d_state
        x, h_prev, h = cache["x"], cache["h_prev"], cache["h"]
        p = self.params
        da = dh * (1.0 - h**2)  # through tanh: tanh' = 1 - tanh^2
        grads = {"U": x.T @ da, "V": h_prev.T @ da, "b": da.sum(axis=0)}
        return da @ p["U"].T, (da @ p["V"].T,), grads


class LSTMCell(Cell):
    """The guide's LSTM cell: forget, input and output gates and a cell state.

    .. math::
        f^{<t>} &= \\sigma(x^{<t>} W_{xf} + h^{<t-1>} W_{hf} + b_f)          \\\\
        i^{<t>} &= \\sigma(x^{<t>} W_{xi} + h^{<t-1>} W_{hi} + b_i)          \\\\
        \\tilde c^{<t>} &= \\tanh(x^{<t>} W_{xc} + h^{<t-1>} W_{hc} [+ b_c])  \\\\
        c^{<t>} &= c^{<t-1>} \\odot f^{<t>} + i^{<t>} \\odot \\tilde c^{<t>}   \\\\
        o^{<t>} &= \\sigma(x^{<t>} W_{xo} + h^{<t-1>} W_{ho} + b_o)          \\\\
        h^{<t>} &= o^{<t>} \\odot \\tanh(c^{<t>})

    Parameters
    ----------
    input_size, hidden_size, rng, dtype
        As for ``Cell``.
    candidate_bias : bool, default True
        Departure from the guide: the guide's candidate equation has no bias
        (:math:`\\tilde c = \\tanh(W_{xc} x + W_{hc} h)`). Standard LSTMs
        (torch, Keras) have one, ``b_c``; ``candidate_bias=False`` gives the
        guide's form exactly.

    Weights ``W_x*`` are (D, H), ``W_h*`` (H, H), ``b_*`` (H,). torch fuses the
    gates in the order (i, f, g, o), g being the candidate c̃:
    ``weight_ih = [W_xi | W_xf | W_xc | W_xo].T`` (4H, D).
    """

    kind = "lstm"
    state_names = ("h", "c")

    def __init__(
        self, input_size: int, hidden_size: int, *, candidate_bias: bool = True, **kwargs: object
    ) -> None:
        super().__init__(input_size, hidden_size, **kwargs)  # type: ignore[arg-type]
        if not isinstance(candidate_bias, bool):
            raise ValueError(f"candidate_bias must be True or False; got {candidate_bias!r}")
        self.candidate_bias = candidate_bias
        d, h = self.input_size, self.hidden_size
        for gate in "fico":
            self.params[f"W_x{gate}"] = self._uniform(d, h)
            self.params[f"W_h{gate}"] = self._uniform(h, h)
            if gate != "c" or candidate_bias:
                self.params[f"b_{gate}"] = self._uniform(h)

    def step(self, x: np.ndarray, state: State) -> tuple[State, Cache]:
        x, (h_prev, c_prev) = self.check_step(x, state)
        p = self.params
        f = sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + p["b_f"])  # forget gate
        i = sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + p["b_i"])  # input gate
        a_c = x @ p["W_xc"] + h_prev @ p["W_hc"]  # the guide's candidate has no bias
        c_tilde = np.tanh(a_c + p["b_c"] if self.candidate_bias else a_c)  # candidate
        c = c_prev * f + i * c_tilde  # new cell state
        o = sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p["b_o"])  # output gate
        tanh_c = np.tanh(c)
        h = o * tanh_c
        cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "f": f, "i": i}
        cache.update({"c_tilde": c_tilde, "o": o, "tanh_c": tanh_c})
        return (h, c), cache

    def step_backward(self, d_state: State, cache: Cache) -> tuple[np.ndarray, State, Grads]:
        dh, dc = d_state
        x, h_prev, c_prev = cache["x"], cache["h_prev"], cache["c_prev"]
        f, i, c_tilde, o, tanh_c = (cache[k] for k in ("f", "i", "c_tilde", "o", "tanh_c"))
        # h = o * tanh(c): c reaches the loss through c_{t+1} (dc) and through h (dh)
        do = dh * tanh_c
        dc = dc + dh * o * (1.0 - tanh_c**2)
        # c = c_prev * f + i * c_tilde
        df, di, dc_tilde, dc_prev = dc * c_prev, dc * c_tilde, dc * i, dc * f
        # through the nonlinearities: sigma' = s (1 - s), tanh' = 1 - tanh^2
        pre = {
            "f": df * f * (1.0 - f),
            "i": di * i * (1.0 - i),
            "c": dc_tilde * (1.0 - c_tilde**2),
            "o": do * o * (1.0 - o),
        }
        dx, dh_prev, grads = np.zeros_like(x), np.zeros_like(h_prev), {}
        for gate, da in pre.items():
            dx_g, dh_g, grads_g = gate_backward(self.params, gate, da, x, h_prev)
            dx += dx_g
            dh_prev += dh_g
            grads.update(grads_g)
        return dx, (dh_prev, dc_prev), grads

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, candidate_bias={self.candidate_bias})"


class GRUCell(Cell):
    """A GRU cell: reset gate r, update gate z, new-state candidate n.

    .. math::
        r^{<t>} &= \\sigma(x^{<t>} W_{xr} + h^{<t-1>} W_{hr} + b_r)  \\\\
        z^{<t>} &= \\sigma(x^{<t>} W_{xz} + h^{<t-1>} W_{hz} + b_z)  \\\\
        h^{<t>} &= (1 - z^{<t>}) \\odot n^{<t>} + z^{<t>} \\odot h^{<t-1>}

    and the candidate in one of its two published variants:

    - ``reset_after=True`` (default; cuDNN, ``torch.nn.GRU``, Keras' default):
      the reset gate scales the recurrent product *after* it is taken,
      :math:`n = \\tanh(x W_{xn} + b_{xn} + r \\odot (h^{<t-1>} W_{hn} + b_{hn}))`,
      with two biases ``b_xn`` and ``b_hn``;
    - ``reset_after=False`` (Cho et al. 2014, the original GRU): the reset gate
      is applied to the state *before* the product,
      :math:`n = \\tanh(x W_{xn} + (r \\odot h^{<t-1>}) W_{hn} + b_n)`.
      torch has no equivalent, so this variant cannot be converted.

    The guide names the two gates but gives no equations. As in torch and in
    Cho et al., z = 1 keeps the old state: :math:`h = (1 - z) n + z h^{<t-1>}`.

    Weights ``W_x*`` are (D, H), ``W_h*`` (H, H), biases (H,). torch fuses the
    gates in the order (r, z, n): ``weight_ih = [W_xr | W_xz | W_xn].T`` (3H, D).
    """

    kind = "gru"

    def __init__(
        self, input_size: int, hidden_size: int, *, reset_after: bool = True, **kwargs: object
    ) -> None:
        super().__init__(input_size, hidden_size, **kwargs)  # type: ignore[arg-type]
        if not isinstance(reset_after, bool):
            raise ValueError(f"reset_after must be True or False; got {reset_after!r}")
        self.reset_after = reset_after
        d, h = self.input_size, self.hidden_size
        for gate in "rzn":
            self.params[f"W_x{gate}"] = self._uniform(d, h)
            self.params[f"W_h{gate}"] = self._uniform(h, h)
            if gate != "n":
                self.params[f"b_{gate}"] = self._uniform(h)
        if reset_after:
            self.params["b_xn"], self.params["b_hn"] = self._uniform(h), self._uniform(h)
        else:
            self.params["b_n"] = self._uniform(h)

    def step(self, x: np.ndarray, state: State) -> tuple[State, Cache]:
        x, (h_prev,) = self.check_step(x, state)
        p = self.params
        r = sigmoid(x @ p["W_xr"] + h_prev @ p["W_hr"] + p["b_r"])  # reset gate
        z = sigmoid(x @ p["W_xz"] + h_prev @ p["W_hz"] + p["b_z"])  # update gate
        cache = {"x": x, "h_prev": h_prev, "r": r, "z": z}
        if self.reset_after:  # cuDNN / torch: r scales h W_hn + b_hn
            cache["hn"] = h_prev @ p["W_hn"] + p["b_hn"]  # (N, H)
            n = np.tanh(x @ p["W_xn"] + p["b_xn"] + r * cache["hn"])
        else:  # Cho et al. 2014: r scales h before the product
            n = np.tanh(x @ p["W_xn"] + (r * h_prev) @ p["W_hn"] + p["b_n"])
        h = (1.0 - z) * n + z * h_prev
        cache["n"] = n
        return (h,), cache

    def step_backward(self, d_state: State, cache: Cache) -> tuple[np.ndarray, State, Grads]:
        (dh,) = d_state
        x, h_prev, r, z, n = (cache[k] for k in ("x", "h_prev", "r", "z", "n"))
        p = self.params
        # h = (1 - z) n + z h_prev
        dn, dz, dh_prev = dh * (1.0 - z), dh * (h_prev - n), dh * z
        da_n = dn * (1.0 - n**2)  # through tanh
        grads = {"W_xn": x.T @ da_n}
        dx = da_n @ p["W_xn"].T
        if self.reset_after:  # a_n = x W_xn + b_xn + r * (h_prev W_hn + b_hn)
            grads["b_xn"] = da_n.sum(axis=0)
            dr = da_n * cache["hn"]
            d_hn = da_n * r
            grads["W_hn"], grads["b_hn"] = h_prev.T @ d_hn, d_hn.sum(axis=0)
            dh_prev += d_hn @ p["W_hn"].T
        else:  # a_n = x W_xn + (r * h_prev) W_hn + b_n
            grads["b_n"] = da_n.sum(axis=0)
            grads["W_hn"] = (r * h_prev).T @ da_n
            d_rh = da_n @ p["W_hn"].T
            dr = d_rh * h_prev
            dh_prev += d_rh * r
        for gate, da in (("r", dr * r * (1.0 - r)), ("z", dz * z * (1.0 - z))):
            dx_g, dh_g, grads_g = gate_backward(p, gate, da, x, h_prev)
            dx += dx_g
            dh_prev += dh_g
            grads.update(grads_g)
        return dx, (dh_prev,), grads

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, reset_after={self.reset_after})"


CELLS: dict[str, type[Cell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(cell: str, input_size: int, hidden_size: int, **options: object) -> Cell:
    """Build a cell by name: ``"rnn"``, ``"lstm"`` (``candidate_bias``) or ``"gru"`` (``reset_after``)."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
    allowed = {"rnn": set(), "lstm": {"candidate_bias"}, "gru": {"reset_after"}}[cell]
    unknown = set(options) - allowed - {"rng", "dtype"}
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for cell {cell!r}; allowed: {sorted(allowed)}"
        )
    return CELLS[cell](input_size, hidden_size, **options)
