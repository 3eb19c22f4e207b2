"""Many-to-one: a sequence of tokens in, one class out (sentiment).

    ids (N, T) -> embedding (N, T, D) -> StackedRNN (N, T, K*H)
        -> pooling over time (N, P) -> dropout -> linear (N, C) logits

The guide's read-out is ``softmax(h_N O + c)``: ``pooling="last"`` with one
direction is exactly that (O, c are the linear layer); with
``candidate_bias=False`` the LSTM is the guide's too (its candidate c̃ has no
bias), so the network equals the NumPy glass box, ``rnnlab.scratch`` with
``LSTMCell(candidate_bias=False)``. ``init="keras"`` starts from Keras'
default weights (see ``rnnlab.models.recurrent.keras_init``). The default pools the
outputs of every step (masked max and mean), which trains faster and is
measurably more accurate on long reviews.

``cell="none"`` is the order-blind baseline the guide contrasts with an RNN:
the same embedding, pooled over time (``pooling="mean"``: averaged word
vectors), then one hidden fully connected layer (``hidden_size`` units, ReLU)
and the linear head. Shuffling a text's words cannot change its output.

Shape legend: N batch, T time, D embedding size, H hidden, K directions,
P pooled features, C classes, V vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.config import ModelConfig
from rnnlab.models.recurrent import StackedRNN, pool, pooled_size, reverse_within_length


class SequenceClassifier(nn.Module):
    """Embedding -> stacked RNN/LSTM/GRU -> pooling -> linear head.

    Parameters
    ----------
    config : ModelConfig
    vocab_size : int
        V; row 0 of the embedding is padding: zero, and kept at zero unless
        ``config.learn_padding`` (Keras-style padding read as input).
    embedding_dim : int
        D.
    num_classes : int
        C >= 2 (binary problems use two logits and a softmax, as in the guide).
    embedding : torch.Tensor, optional
        (V, D) initial embedding matrix (e.g. from Word2Vec).
    freeze_embedding : bool
        Keep the embedding fixed while training.
    """

    def __init__(
        self,
        config: ModelConfig,
        vocab_size: int,
        embedding_dim: int,
        num_classes: int,
        embedding: torch.Tensor | None = None,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        # row 0 (padding) starts at zero; padding_idx keeps it there unless learn_padding
        pad = None if config.learn_padding else 0
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad)
        if pad is None:
            with torch.no_grad():
                self.embedding.weight[0].zero_()
        if embedding is not None:
            if tuple(embedding.shape) != (vocab_size, embedding_dim):
                raise ValueError(
                    f"embedding matrix must be ({vocab_size}, {embedding_dim}), "
                    f"got {tuple(embedding.shape)}"
                )
            with torch.no_grad():
                self.embedding.weight.copy_(embedding)
                self.embedding.weight[0].zero_()
        self.embedding.weight.requires_grad_(not freeze_embedding)
        self.dropout = nn.Dropout(config.dropout)
        if config.cell == "none":
            self.rnn = None
            self.hidden = nn.Sequential(
                nn.Linear(pooled_size(config.pooling, embedding_dim), config.hidden_size),
                nn.ReLU(),
            )
            self.head = nn.Linear(config.hidden_size, num_classes)
            if config.init == "keras":  # Keras' Dense: Glorot-uniform weights, zero bias
                for layer in (self.hidden[0], self.head):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)
            return
        self.rnn = StackedRNN(
            config.cell,
            embedding_dim,
            config.hidden_size,
            config.num_layers,
            config.bidirectional,
            config.dropout,
            candidate_bias=config.candidate_bias,
            init=config.init,
            separate=config.separate_directions,
        )
        self.head = nn.Linear(pooled_size(config.pooling, self.rnn.output_size), num_classes)
        if config.init == "keras":  # Keras' Dense: Glorot-uniform weights, zero bias
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids (N, T) int64 post-padded, lengths (N,) int64 >= 1 -> logits (N, C)."""
        return self.forward_embedded(self.embedding(ids), lengths)

    def forward_embedded(
        self, emb: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The network after the embedding lookup: word vectors (N, T, D) -> logits (N, C).

        ``forward(ids, lengths) == forward_embedded(embedding(ids), lengths)``;
        attribution methods (:mod:`rnnlab.explain`) differentiate the logits with
        respect to ``emb``. ``lengths=None``: no padding, every sequence has
        length T, so the backward direction simply flips time (faster than
        reversing each sequence within its own length).
        """
        x = self.dropout(emb)  # (N, T, D)
        full = lengths is None
        if full:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64, device=x.device)
        if self.rnn is None:  # order-blind: pool the word vectors, then a hidden layer
            pooled = pool(x, lengths, self.config.pooling, 1)  # (N, D) or (N, 2D)
            return self.head(self.dropout(self.hidden(pooled)))  # (N, C)
        if full:
            out = x
            for layer in range(self.rnn.num_layers):  # as StackedRNN.forward, flipping time
                out = _layer(self.rnn, layer, self.rnn.dropout(out) if layer else out, _flip)
        else:
            out = self.rnn(x, lengths)  # (N, T, K*H)
        pooled = pool(out, lengths, self.config.pooling, self.rnn.directions)  # (N, P)
        return self.head(self.dropout(pooled))  # (N, C)

    def layer_inputs(self, emb: torch.Tensor, lengths: torch.Tensor, layer: int) -> torch.Tensor:
        """What recurrent layer ``layer`` reads (the memory view of :mod:`rnnlab.explain`).

        ``emb`` (N, T, D) for layer 0; the (N, T, K*H) outputs of layer
        ``layer - 1`` otherwise (both directions concatenated, as the stack
        feeds them upward).
        """
        if self.rnn is None:
            raise ValueError("this classifier has no recurrent layers (cell 'none')")
        if not 0 <= layer < self.rnn.num_layers:
            raise ValueError(f"layer must be in 0..{self.rnn.num_layers - 1}, got {layer}")
        x = self.dropout(emb)  # (N, T, D)
        for below in range(layer):
            x = _layer(
                self.rnn,
                below,
                self.rnn.dropout(x) if below else x,
                lambda v: reverse_within_length(v, lengths),
            )
        return x

    @property
    def reads_left_to_right(self) -> bool:
        """True when the output after token i depends on tokens 0..i only (no backward pass)."""
        return self.rnn is None or not self.rnn.bidirectional

    def prefix_logits(self, emb: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        """Logits after each prefix of one unpadded text: emb (1, T, D) -> (T, C).

        Row i equals ``forward_embedded(emb[:, : i + 1], [i + 1])``: the output
        had the text ended after token i. A unidirectional (or order-blind)
        network reads left to right, so ONE pass gives every row: its outputs at
        steps <= i never see later tokens, and the pooling becomes a running one
        (``h_i`` itself for "last", running max, running mean). A backward
        direction reads each prefix from that prefix's own end, so a
        bidirectional network is RE-RUN on every prefix, ``chunk`` prefixes per
        batch (each padded to the chunk's longest); only the first layer's
        forward direction, which never looks ahead, is run once and shared.
        """
        if emb.dim() != 3 or emb.shape[0] != 1:
            raise ValueError(f"emb must be (1, T, D) for one text, got {tuple(emb.shape)}")
        how = self.config.pooling
        x = self.dropout(emb)  # (1, T, D)
        if self.rnn is None:
            pooled = running_pool(x[0], how)  # (T, P)
            return self.head(self.dropout(self.hidden(pooled)))  # (T, C)
        t = x.shape[1]
        if not self.rnn.bidirectional:
            out = self.rnn(x, torch.tensor([t]))  # (1, T, H)
            return self.head(self.dropout(running_pool(out[0], how)))  # (T, C)
        forward0, _ = self.rnn.forward_layers[0](x)  # (1, T, H): shared by every prefix
        logits = []
        for lo in range(0, t, chunk):
            hi = min(lo + chunk, t)
            lengths = torch.arange(lo + 1, hi + 1)  # (B,) prefix lengths, B = hi - lo
            steps = torch.arange(hi).unsqueeze(0)  # (1, hi)
            rev = lengths.unsqueeze(1) - 1 - steps  # (B, hi)
            rev = torch.where(rev >= 0, rev, steps)  # each prefix reversed within its length
            flat = (rev + hi * torch.arange(hi - lo).unsqueeze(1)).reshape(-1)  # (B*hi,)

            def reverse(v: torch.Tensor, flat=flat) -> torch.Tensor:
                """``reverse_within_length`` as one row gather: (B, hi, F) -> (B, hi, F)."""
                return v.reshape(-1, v.shape[2]).index_select(0, flat).view(v.shape)

            xb = x[0, :hi].index_select(0, rev.reshape(-1)).view(hi - lo, hi, -1)  # (B, hi, D)
            back, _ = self.rnn.backward_layers[0](xb)  # each prefix read from its own end
            out = torch.cat(
                [forward0[:, :hi].expand(hi - lo, hi, -1), reverse(back)], dim=-1
            )  # (B, hi, 2H)
            for layer in range(1, self.rnn.num_layers):
                out = _layer(self.rnn, layer, self.rnn.dropout(out), reverse)  # (B, hi, 2H)
            pooled = pool(out, lengths, how, 2)  # (B, P)
            logits.append(self.head(self.dropout(pooled)))  # (B, C)
        return torch.cat(logits)  # (T, C)


def _layer(rnn: StackedRNN, layer: int, x: torch.Tensor, reverse) -> torch.Tensor:
    """One layer of ``rnn`` (both directions when bidirectional), as ``StackedRNN.forward`` runs it.

    ``reverse`` reverses each sequence of the batch within its length.
    """
    out, _ = rnn.forward_layers[layer](rnn.layer_input(layer, x, "forward"))  # (N, T, H)
    if rnn.bidirectional:
        back, _ = rnn.backward_layers[layer](reverse(rnn.layer_input(layer, x, "backward")))
        out = torch.cat([out, reverse(back)], dim=-1)  # (N, T, 2H)
    return out


def _flip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(1)  # (N, T, F): reversed in time


def running_pool(outputs: torch.Tensor, how: str) -> torch.Tensor:
    """The pooling of every prefix of one sequence: (T, F) -> (T, P).

    Row i is ``pool`` applied to ``outputs[: i + 1]`` with one direction:
    ``outputs[i]`` for "last", the running max and/or the running mean.
    """
    t = outputs.shape[0]
    parts = []
    if how == "last":
        return outputs
    if how in ("max", "maxmean"):
        parts.append(torch.cummax(outputs, dim=0).values)  # (T, F)
    if how in ("mean", "maxmean"):
        steps = torch.arange(1, t + 1, dtype=outputs.dtype).unsqueeze(1)  # (T, 1)
        parts.append(torch.cumsum(outputs, dim=0) / steps)  # (T, F)
    if not parts:
        raise ValueError(f"pooling must be one of last, max, mean, maxmean; got {how!r}")
    return torch.cat(parts, dim=-1)
