"""Many-to-one: a sequence of tokens in, one class out (sentiment).

    ids (N, T) -> embedding (N, T, D) -> StackedRNN (N, T, K*H)
        -> pooling over time (N, P) -> dropout -> linear (N, C) logits

The guide's read-out is ``softmax(h_N O + c)``: ``pooling="last"`` with one
direction is exactly that (O, c are the linear layer). The default pools the
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
from rnnlab.models.recurrent import StackedRNN, pool, pooled_size


class SequenceClassifier(nn.Module):
    """Embedding -> stacked RNN/LSTM/GRU -> pooling -> linear head.

    Parameters
    ----------
    config : ModelConfig
    vocab_size : int
        V; row 0 of the embedding is padding and stays zero.
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
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
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
            return
        self.rnn = StackedRNN(
            config.cell,
            embedding_dim,
            config.hidden_size,
            config.num_layers,
            config.bidirectional,
            config.dropout,
        )
        self.head = nn.Linear(pooled_size(config.pooling, self.rnn.output_size), num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids (N, T) int64 post-padded, lengths (N,) int64 >= 1 -> logits (N, C)."""
        x = self.dropout(self.embedding(ids))  # (N, T, D)
        if self.rnn is None:  # order-blind: pool the word vectors, then a hidden layer
            pooled = pool(x, lengths, self.config.pooling, 1)  # (N, D) or (N, 2D)
            return self.head(self.dropout(self.hidden(pooled)))  # (N, C)
        out = self.rnn(x, lengths)  # (N, T, K*H)
        pooled = pool(out, lengths, self.config.pooling, self.rnn.directions)  # (N, P)
        return self.head(self.dropout(pooled))  # (N, C)
