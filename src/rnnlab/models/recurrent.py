"""The shared stacked recurrent block: 1..N layers of RNN, LSTM or GRU.

Every input/output configuration of the guide (many-to-one, many-to-many,
encoder-decoder, one-to-many) sits on this block, so the recurrent part is
written once.

Shape legend: N batch, T time (padded length), D input features,
H hidden units per direction, K directions (1 or 2).

Padding. Batches are *post*-padded dense tensors plus the true length of each
sequence. A forward-direction cell reads a sequence left to right, so its
outputs at the true positions never see the padding. The backward direction
is run as a forward cell over each sequence reversed *within its own length*
(``reverse_within_length``), so it also never sees padding; its outputs are
reversed back into place. Together with masked pooling this makes a model's
output independent of how much padding a batch carries, without
``pack_padded_sequence`` (measured 3-4x slower on CPU than dense batches).

On CUDA each layer and direction reads a ``PackedSequence`` instead: cuDNN's
fused kernel then skips the padded steps. The backward direction is still
reversed within length first, so both paths compute the same outputs at the
true positions (``packed`` selects one by hand; tests compare them).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
INITS = ("torch", "keras")


def keras_init(module: nn.RNNBase) -> None:
    """Give a torch RNN/LSTM/GRU Keras' default initial weights.

    Keras' ``LSTM``/``GRU``/``SimpleRNN`` draw the fused input matrix ``kernel``
    (D, G*H) Glorot-uniform, the fused recurrent matrix ``recurrent_kernel``
    (H, G*H) orthogonal, and set every bias to 0 except, for the LSTM, the
    forget gate's, set to 1 (``unit_forget_bias=True``). torch stores the
    transposes, ``weight_ih`` (G*H, D) and ``weight_hh`` (G*H, H), so the
    same draws give ``weight_hh`` orthonormal *columns*:
    ``weight_hh.T @ weight_hh = I`` (H, H). As in Keras the whole fused matrix
    is orthogonal, not each gate's (H, H) block. torch adds two biases; the
    forget gate's 1 goes into ``bias_ih`` (gate order i, f, g, o).
    """
    h = module.hidden_size
    for name, p in module.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(p)  # fan_in D, fan_out G*H, as Keras' (D, G*H) kernel
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(p)  # (G*H, H): orthonormal columns
        elif name.startswith("bias"):
            nn.init.zeros_(p)
            if isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                nn.init.ones_(p[h : 2 * h])  # forget gate: keep the cell state at first


def _zero_candidate_rows(grad: torch.Tensor, h: int) -> torch.Tensor:
    grad = grad.clone()
    grad[2 * h : 3 * h] = 0.0  # gate order i, f, g, o: g is the candidate
    return grad


class NoCandidateBiasLSTM(nn.LSTM):
    """``torch.nn.LSTM`` with the guide's candidate, c~ = tanh(x W_xc + h W_hc): no bias.

    torch's LSTM has no switch for it, so the g block (gate order i, f, g, o)
    of every ``bias_ih_l*`` and ``bias_hh_l*`` starts at zero and a gradient
    hook zeroes its gradient: no optimizer moves it (Adam with or without
    weight decay, AdamW, SGD with momentum all leave a parameter at 0 whose
    gradient is always 0). The weights keep torch's names and layout, so
    ``rnnlab.scratch.convert`` and the ONNX export read it as any LSTM.
    Tensor hooks are not copied by ``copy.deepcopy`` or pickling; both
    rebuild the module through ``__setstate__``, which registers them again.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        h = self.hidden_size
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("bias_"):
                    p[2 * h : 3 * h] = 0.0
        self._hold_candidate_bias()

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._hold_candidate_bias()

    def _hold_candidate_bias(self) -> None:
        for name, p in self.named_parameters():
            if name.startswith("bias_"):
                p.register_hook(functools.partial(_zero_candidate_rows, h=self.hidden_size))


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of a post-padded batch within its true length.

    ``x`` is (N, T, ...) and ``lengths`` (N,). Position ``t < lengths[n]`` of
    sequence ``n`` receives position ``lengths[n] - 1 - t``; padding positions
    stay where they are. Applying it twice gives ``x`` back.
    """
    n, t = x.shape[0], x.shape[1]
    steps = torch.arange(t, device=x.device).unsqueeze(0).expand(n, t)  # (N, T)
    rev = lengths.unsqueeze(1) - 1 - steps  # (N, T)
    idx = torch.where(rev >= 0, rev, steps)  # (N, T)
    # rows of the flattened batch: index_select is 2-4x faster than gather on CPU
    flat = (idx + torch.arange(n, device=x.device).unsqueeze(1) * t).reshape(-1)  # (N*T,)
    return x.reshape(n * t, *x.shape[2:]).index_select(0, flat).reshape(x.shape)


def length_mask(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """Boolean (N, T) mask, True at the true (non-padding) positions."""
    return torch.arange(t, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class StackedRNN(nn.Module):
    """``num_layers`` recurrent layers, each optionally bidirectional.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
        ``torch.nn.RNN`` (tanh), ``torch.nn.LSTM`` or ``torch.nn.GRU``.
    input_size : int
        D, features per time step.
    hidden_size : int
        H, units per direction.
    num_layers : int
        Stacked layers; layer l > 0 reads the (N, T, K*H) outputs of layer l-1.
    bidirectional : bool
        Add a backward direction (run on sequences reversed within their length).
    dropout : float
        Dropout between layers (not after the last one).
    candidate_bias : bool
        ``False`` (LSTM only): the guide's candidate without bias, held at
        zero through training (see ``NoCandidateBiasLSTM``).
    init : {"torch", "keras"}
        torch's default initial weights, or Keras' (see ``keras_init``).
    separate : bool
        Bidirectional only: the two directions form separate stacks (ELMo's
        biLM): layer l > 0 of each reads that direction's half of layer l - 1's
        outputs (H features) instead of both (2H). The outputs keep the same
        (N, T, 2H) layout, forward half first.
    packed : bool, optional
        Run each layer on packed sequences (``True``) or on the dense padded
        batch (``False``); None (default): packed when the input is on CUDA,
        dense on the CPU, each where it is fastest. Also an attribute, so a
        loaded model can be switched.

    Shapes
    ------
    forward(x: (N, T, D), lengths: (N,)) -> outputs (N, T, K*H)
    Positions at or after ``lengths[n]`` hold unspecified values: mask them.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        candidate_bias: bool = True,
        init: str = "torch",
        packed: bool | None = None,
        separate: bool = False,
    ) -> None:
        super().__init__()
        if separate and not bidirectional:
            raise ValueError("separate=True needs bidirectional=True")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not candidate_bias and cell != "lstm":
            raise ValueError(f"candidate_bias=False needs cell 'lstm', got {cell!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.directions = 2 if bidirectional else 1
        self.separate = separate
        cls = CELLS[cell] if candidate_bias else NoCandidateBiasLSTM
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size * (1 if separate else self.directions)
            self.forward_layers.append(cls(d_in, hidden_size, batch_first=True))
            if bidirectional:
                self.backward_layers.append(cls(d_in, hidden_size, batch_first=True))
        if init == "keras":
            for module in [*self.forward_layers, *self.backward_layers]:
                keras_init(module)  # leaves a NoCandidateBiasLSTM's candidate bias at 0
        self.dropout = nn.Dropout(dropout)
        self.packed = packed

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.directions

    def layer_input(self, layer: int, x: torch.Tensor, direction: str) -> torch.Tensor:
        """What ``direction`` ("forward"/"backward") of ``layer`` reads, given the stack's
        input ``x`` (layer 0) or layer ``layer - 1``'s (N, T, K*H) outputs: all of ``x``,
        or, with separate stacks above layer 0, that direction's half (N, T, H)."""
        if layer == 0 or not self.separate:
            return x
        h = self.hidden_size
        return x[..., :h] if direction == "forward" else x[..., h:]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = x.is_cuda if self.packed is None else self.packed
        run = _packed_runner(lengths, x.shape[1]) if packed else _dense
        for layer in range(self.num_layers):
            if layer > 0:
                x = self.dropout(x)
            out = run(self.forward_layers[layer], self.layer_input(layer, x, "forward"))  # (N,T,H)
            if self.bidirectional:
                xb = reverse_within_length(self.layer_input(layer, x, "backward"), lengths)
                back = run(self.backward_layers[layer], xb)
                out = torch.cat([out, reverse_within_length(back, lengths)], dim=-1)  # (N, T, 2H)
            x = out
        return x


def _dense(module: nn.RNNBase, x: torch.Tensor) -> torch.Tensor:
    """One recurrent layer over the whole padded batch: (N, T, D) -> (N, T, H)."""
    return module(x)[0]


def _packed_runner(lengths: torch.Tensor, t: int):
    """One recurrent layer over packed sequences: (N, T, D) -> (N, T, H), zero past lengths.

    ``pack_padded_sequence`` wants the lengths on the CPU and >= 1: they are
    copied once per batch (one device sync), and a length 0 is read as 1 (its
    outputs are unspecified anyway). ``total_length`` keeps T when the longest
    sequence is shorter than the batch is wide.
    """
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    on_cpu = lengths.detach().to("cpu", torch.int64).clamp(min=1)  # (N,)

    def run(module: nn.RNNBase, x: torch.Tensor) -> torch.Tensor:
        seqs = pack_padded_sequence(x, on_cpu, batch_first=True, enforce_sorted=False)
        out, _ = module(seqs)
        return pad_packed_sequence(out, batch_first=True, total_length=t)[0]  # (N, T, H)

    return run


def pool(outputs: torch.Tensor, lengths: torch.Tensor, how: str, directions: int) -> torch.Tensor:
    """Reduce (N, T, K*H) outputs to one vector per sequence, ignoring padding.

    ``last``: the forward state at the true last step (and, if bidirectional,
    the backward state after reading the whole sequence, at position 0) — the
    guide's many-to-one read-out ``h_N``. ``max``/``mean``: masked max or mean
    over time. ``maxmean``: both, concatenated.
    """
    n, t, _ = outputs.shape
    if how == "last":
        h = outputs.shape[2] // directions
        last = (lengths - 1).clamp(min=0).view(n, 1, 1).expand(n, 1, h)  # (N, 1, H)
        fwd = torch.gather(outputs[:, :, :h], 1, last).squeeze(1)  # (N, H)
        if directions == 1:
            return fwd
        return torch.cat([fwd, outputs[:, 0, h:]], dim=-1)  # (N, 2H)
    mask = length_mask(lengths, t).unsqueeze(-1)  # (N, T, 1)
    parts = []
    if how in ("max", "maxmean"):
        parts.append(outputs.masked_fill(~mask, float("-inf")).amax(dim=1))
    if how in ("mean", "maxmean"):
        total = (outputs * mask).sum(dim=1)
        parts.append(total / lengths.clamp(min=1).unsqueeze(1).to(outputs.dtype))
    if not parts:
        raise ValueError(f"pooling must be one of last, max, mean, maxmean; got {how!r}")
    return torch.cat(parts, dim=-1)


POOLINGS = ("last", "max", "mean", "maxmean")


def pooled_size(how: str, output_size: int) -> int:
    return output_size * (2 if how == "maxmean" else 1)
