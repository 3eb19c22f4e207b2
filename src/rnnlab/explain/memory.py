"""The LSTM's memory on a real text: its gates and cell state, token by token.

Shape legend: T tokens read, D the layer's input size, H hidden units.

The guide's LSTM block, one step per token ``x_t``::

    f_t = sigmoid(W_xf x_t + W_hf h_{t-1} + b_f)        forget gate
    i_t = sigmoid(W_xi x_t + W_hi h_{t-1} + b_i)        input gate
    c~_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c)          candidate
    c_t = f_t * c_{t-1} + i_t * c~_t                    cell state (the memory)
    o_t = sigmoid(W_xo x_t + W_ho h_{t-1} + b_o)        output gate
    h_t = o_t * tanh(c_t)                               hidden state

:func:`memory_view` re-runs one layer of a trained ``torch.nn.LSTM`` step by
step with these equations, from the layer's own weights, so that every gate is
visible (``nn.LSTM`` returns only ``h`` and the final ``c``). torch stores the
four blocks fused, in the order **i, f, g, o** (``g`` is the candidate c~):
``weight_ih_l0`` is ``[W_xi; W_xf; W_xc; W_xo]`` (4H, D), ``weight_hh_l0`` the
same for ``W_h*`` (4H, H), and it adds two biases, ``b = bias_ih + bias_hh``
(the guide's candidate has no bias; a model trained with
``candidate_bias=False`` holds that block at zero). The step-by-step ``h``
matches ``nn.LSTM``'s output (``tests/explain/test_memory.py``).

A forget gate near 1 keeps the cell's content, near 0 wipes it; an input gate
near 1 writes the candidate in. Units that switch at "not", "but" or the end
of a sentence show up as vertical stripes in the heatmap
(:func:`rnnlab.explain.render.memory_png`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.errors import RnnlabError
from rnnlab.explain.inputs import encode_text, model_input
from rnnlab.models.recurrent import reverse_within_length

DIRECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class MemoryView:
    """Gate and cell activations of one LSTM layer over one text.

    Every array is (T, H), one row per token the network read, in text order.
    For ``direction="backward"`` row t is the state after reading tokens
    T-1 down to t (right to left).
    """

    tokens: list[str]
    layer: int
    direction: str
    input_gate: np.ndarray  # i_t, in [0, 1]
    forget_gate: np.ndarray  # f_t, in [0, 1]
    output_gate: np.ndarray  # o_t, in [0, 1]
    candidate: np.ndarray  # c~_t, in [-1, 1]
    cell: np.ndarray  # c_t
    hidden: np.ndarray  # h_t = o_t * tanh(c_t)

    def to_dict(self) -> dict:
        """JSON-ready: lists of lists rounded to 4 decimals."""
        out: dict = {"tokens": self.tokens, "layer": self.layer, "direction": self.direction}
        for name in ("input_gate", "forget_gate", "output_gate", "candidate", "cell", "hidden"):
            out[name] = np.round(getattr(self, name), 4).tolist()
        return out


def lstm_steps(lstm: torch.nn.LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run a one-layer, unidirectional ``nn.LSTM`` over one sequence, one step at a time.

    ``x`` is (T, D). Returns (T, H) tensors ``i, f, g, o, c, h`` (g = candidate).
    """
    if lstm.num_layers != 1 or lstm.bidirectional or getattr(lstm, "proj_size", 0):
        raise ValueError("lstm_steps needs a one-layer, unidirectional nn.LSTM without projection")
    hsize = lstm.hidden_size
    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0  # (4H, D), (4H, H): blocks i, f, g, o
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0 if lstm.bias else 0.0  # (4H,)
    pre_x = x @ w_ih.T + bias  # (T, 4H): the input's part of every step, at once
    h = torch.zeros(hsize, dtype=x.dtype)
    c = torch.zeros(hsize, dtype=x.dtype)
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in "ifgoch"}
    for t in range(x.shape[0]):
        z = pre_x[t] + w_hh @ h  # (4H,)
        i, f, g, o = z.split(hsize)  # torch's gate order
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for key, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
            rows[key].append(value)
    return {k: torch.stack(v) if v else torch.zeros(0, hsize) for k, v in rows.items()}


def memory_view(clf, text: str, layer: int = 0, direction: str = "forward") -> MemoryView:
    """Gates and cell state of LSTM layer ``layer`` while the classifier reads ``text``.

    Parameters
    ----------
    clf : TextClassifier
        A recurrent classifier with ``cell="lstm"`` (``rnnlab.load(...)``).
    text : str
        One text; it is tokenized and truncated as for prediction.
    layer : int
        0 reads the word vectors; layer l > 0 reads layer l-1's outputs.
    direction : {"forward", "backward"}
        Which direction of a bidirectional layer ("forward" reads left to right).
    """
    net = clf.net
    rnn = getattr(net, "rnn", None)
    if rnn is None or rnn.cell != "lstm":
        cell = "none" if rnn is None else rnn.cell
        raise RnnlabError(f"the memory view shows LSTM gates; this model's cell is {cell!r}")
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < rnn.num_layers:
        raise RnnlabError(f"layer must be 0..{rnn.num_layers - 1} for this model, got {layer!r}")
    if direction not in DIRECTIONS or (direction == "backward" and not rnn.bidirectional):
        allowed = "forward or backward" if rnn.bidirectional else "forward (unidirectional model)"
        raise RnnlabError(f"direction must be {allowed}, got {direction!r}")
    if not isinstance(text, str):
        raise RnnlabError(f"text must be a string, got {type(text).__name__}")
    enc = encode_text(clf, text)
    if not enc.read_ids:
        raise RnnlabError("the text has no tokens to read; give a non-empty text")
    ids, lengths, positions = model_input(enc.read_ids, clf.text)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            x = net.layer_inputs(net.embedding(ids), lengths, layer)  # (1, T, D)
            lstm = (rnn.forward_layers if direction == "forward" else rnn.backward_layers)[layer]
            x = rnn.layer_input(layer, x, direction)  # separate stacks: that direction's half
            if direction == "backward":
                x = reverse_within_length(x, lengths)
            steps = lstm_steps(lstm, x[0])  # (T, H) each
            if direction == "backward":  # back into text order
                steps = {k: reverse_within_length(v[None], lengths)[0] for k, v in steps.items()}
    finally:
        net.train(was_training)
    pick = {k: v[positions].double().numpy() for k, v in steps.items()}  # (n, H)
    return MemoryView(
        tokens=enc.read_tokens,
        layer=layer,
        direction=direction,
        input_gate=pick["i"],
        forget_gate=pick["f"],
        output_gate=pick["o"],
        candidate=pick["g"],
        cell=pick["c"],
        hidden=pick["h"],
    )
