"""A whole network: a recurrent stack plus the softmax read-out, with its loss and gradients.

Shape legend: N batch, T time, D input features, H hidden units, L layers,
V output classes.
"""

from __future__ import annotations

import numpy as np

from rnnlab.scratch.cells import State
from rnnlab.scratch.heads import SoftmaxHead, softmax, softmax_cross_entropy
from rnnlab.scratch.layers import RecurrentStack

HEADS = ("many_to_one", "many_to_many")


class RecurrentNetwork:
    """``RecurrentStack`` + ``SoftmaxHead``: the guide's architectures, end to end.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    input_size, hidden_size : int
        D and H.
    output_size : int
        V, number of classes.
    num_layers : int, default 1
    head : {"many_to_one", "many_to_many"}
        ``"many_to_one"``: one prediction per sequence from the top layer's
        last state, :math:`\\mathrm{softmax}(h^{<T>} O + c)`, labels (N,).
        ``"many_to_many"``: one prediction per step, labels (N, T), and the
        loss is summed over the steps.
    rng, dtype, **cell_options
        As for ``RecurrentStack``.

    Attributes
    ----------
    stack : RecurrentStack
    head : SoftmaxHead
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        num_layers: int = 1,
        *,
        head: str = "many_to_one",
        rng: np.random.Generator | int | None = None,
        dtype: object = np.float64,
        **cell_options: object,
    ) -> None:
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}; got {head!r}")
        rng = np.random.default_rng(rng)
        self.head_kind = head
        self.stack = RecurrentStack(
            cell, input_size, hidden_size, num_layers, rng=rng, dtype=dtype, **cell_options
        )
        self.head = SoftmaxHead(hidden_size, output_size, rng=rng, dtype=dtype)

    def parameters(self) -> dict[str, np.ndarray]:
        """Every weight (the arrays themselves): ``layers.{l}.{name}``, then ``O`` and ``c``."""
        return {**self.stack.parameters(), **self.head.params}

    def forward(self, x: object, state0: State | None = None) -> tuple[np.ndarray, dict]:
        """Logits (N, V) for many-to-one, (N, T, V) for many-to-many, and a cache."""
        outputs, state, stack_cache = self.stack.forward(x, state0)  # (N, T, H)
        read = outputs[:, -1] if self.head_kind == "many_to_one" else outputs  # (N, H) | (N, T, H)
        logits = self.head.forward(read)
        return logits, {"outputs": outputs, "read": read, "stack": stack_cache}

    def predict_proba(self, x: object, state0: State | None = None) -> np.ndarray:
        """softmax(logits): class probabilities, (N, V) or (N, T, V)."""
        return softmax(self.forward(x, state0)[0])

    def loss_and_grads(
        self,
        x: object,
        y: object,
        state0: State | None = None,
        truncate: int | None = None,
    ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Forward, loss and backward in one call.

        Parameters
        ----------
        x : array (N, T, D)
        y : int array (N,) for many-to-one, (N, T) for many-to-many
        state0 : tuple of (L, N, H), optional
            ``(h0,)`` or ``(h0, c0)``; zeros by default.
        truncate : int, optional
            Truncated BPTT through the last ``truncate`` steps (see
            ``rnnlab.scratch.layers``). The head is not recurrent: ``O`` and
            ``c`` always get the gradient of the whole loss.

        Returns
        -------
        loss : float
            Summed over time steps, averaged over the batch.
        grads : dict
            Keyed as ``parameters()``.
        d_inputs : dict
            ``"x"`` (N, T, D), and ``"h0"`` (L, N, H) (and ``"c0"`` for LSTM).
        """
        logits, cache = self.forward(x, state0)
        loss, d_logits = softmax_cross_entropy(logits, y)
        d_read, head_grads = self.head.backward(d_logits, cache["read"])
        if self.head_kind == "many_to_one":
            d_outputs = np.zeros_like(cache["outputs"])  # (N, T, H)
            d_outputs[:, -1] = d_read  # only h_T is read
        else:
            d_outputs = d_read  # (N, T, H)
        dx, d_state0, grads = self.stack.backward(d_outputs, cache["stack"], truncate=truncate)
        d_inputs = {
            "x": dx,
            **{f"{s}0": d for s, d in zip(self.stack.state_names, d_state0, strict=True)},
        }
        return loss, {**grads, **head_grads}, d_inputs

    def __repr__(self) -> str:
        return (
            f"RecurrentNetwork({self.stack!r}, head={self.head_kind!r}, "
            f"output_size={self.head.output_size})"
        )
