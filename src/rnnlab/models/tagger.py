"""Many-to-many aligned: one tag out for every token in (part-of-speech tagging).

    word ids (N, T) -> word embedding (N, T, E)  ─┐
    char ids (N, T, L) -> char encoder (N, T, F) ─┴> concat (N, T, E+F)
        -> dropout -> StackedRNN (N, T, K*H) -> dropout -> linear (N, T, C) tag logits

The guide's many-to-many read-out is ``y_t = softmax(h_t O + c)`` at every
step: the per-token linear layer is ``O, c`` applied to every ``h_t``. A
bidirectional RNN lets ``h_t`` see the words on both sides, which a tagger
needs ("to *book*" is a VERB, "the *book*" a NOUN).

Words are looked up lowercased (one row for "The" and "the"); the character
encoder reads each word with its original casing, so a capital letter, a
digit or a suffix ("-ly", "-ing") still informs the tag of a rare or unknown
word. Two encoders are available: a character CNN (default: filters of width
3 max-pooled over the word, fast) or a character BiLSTM (the last states of
both directions), each over ``<w> c1 ... cn </w>``.

Padding: sentences are post-padded; ``StackedRNN`` never lets padding leak
into true positions, the character encoder masks padded characters, and the
loss/accuracy ignore padded positions (:func:`tagging_step`). So a sentence's
tags do not depend on what else is in its batch.

Shape legend: N batch (sentences), T time (padded sentence length), L padded
word length in characters, E word embedding size, F character features,
H hidden per direction, K directions, C tags, V word vocabulary, W words in
a batch (true positions only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.config import Config, check_value
from rnnlab.models.losses import masked_token_loss
from rnnlab.models.recurrent import StackedRNN, length_mask, pool
from rnnlab.text import OOV, PAD

CHAR_ENCODERS = ("cnn", "lstm")
IGNORE = -100  # target of padded positions: ignored by the loss and the accuracy


@dataclass(frozen=True)
class TaggerConfig(Config):
    """Settings of a :class:`SequenceTagger` and its vocabularies."""

    cell: str = "lstm"  # "rnn" (tanh), "lstm" or "gru"
    hidden_size: int = 128  # H, units per direction
    num_layers: int = 1  # stacked layers (1 keeps EWT training within 15 min on 1 thread)
    bidirectional: bool = True  # a tagger needs the right context too
    dropout: float = 0.33  # on the RNN input, between layers and before the output layer
    word_dim: int = 100  # E, word embedding size
    max_vocab: int = 50000  # word vocabulary size, <pad> and <unk> included
    min_freq: int = 2  # rarer (lowercased) training words share <unk>
    # Training: a known word is read as <unk> with this probability. Off: on EWT (seed 0,
    # 10 epochs) 0.05 gave 94.66% test accuracy (unknown words 80.4%) against 95.00% (81.3%)
    # without; rare words already teach <unk> (min_freq=2).
    word_dropout: float = 0.0
    char: bool = True  # add the character encoder
    char_encoder: str = "cnn"  # "cnn" (filters of width 3, max-pooled) or "lstm" (BiLSTM)
    char_dim: int = 32  # character embedding size
    char_features: int = 64  # F: CNN filters, or 2 x BiLSTM hidden units
    max_word_len: int = 24  # longer words keep their first and last max_word_len/2 chars

    def __post_init__(self) -> None:
        check_value(
            self.cell in ("rnn", "lstm", "gru"), "model.cell", "rnn, lstm or gru", self.cell
        )
        check_value(self.hidden_size >= 1, "model.hidden_size", "an integer >= 1", self.hidden_size)
        check_value(self.num_layers >= 1, "model.num_layers", "an integer >= 1", self.num_layers)
        check_value(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check_value(self.word_dim >= 1, "model.word_dim", "an integer >= 1", self.word_dim)
        check_value(self.max_vocab >= 3, "model.max_vocab", "an integer >= 3", self.max_vocab)
        check_value(self.min_freq >= 1, "model.min_freq", "an integer >= 1", self.min_freq)
        check_value(
            0.0 <= self.word_dropout < 1.0, "model.word_dropout", "in [0, 1)", self.word_dropout
        )
        check_value(
            self.char_encoder in CHAR_ENCODERS,
            "model.char_encoder",
            "'cnn' or 'lstm'",
            self.char_encoder,
        )
        check_value(self.char_dim >= 1, "model.char_dim", "an integer >= 1", self.char_dim)
        check_value(
            self.char_features >= 2 and self.char_features % 2 == 0,
            "model.char_features",
            "an even integer >= 2",
            self.char_features,
        )
        check_value(
            self.max_word_len >= 2, "model.max_word_len", "an integer >= 2", self.max_word_len
        )


class CharEncoder(nn.Module):
    """One vector per word from its characters.

    ``forward(chars (W, L)) -> (W, F)``; character id 0 is padding. The CNN
    takes the max over the word's true positions of ``relu(conv3(x))``; the
    BiLSTM concatenates the forward state after the last character and the
    backward state after the first (``pool(..., "last")``).
    """

    def __init__(self, n_chars: int, kind: str, char_dim: int, features: int) -> None:
        super().__init__()
        if kind not in CHAR_ENCODERS:
            raise ValueError(f"kind must be one of {CHAR_ENCODERS}, got {kind!r}")
        self.kind = kind
        self.embedding = nn.Embedding(n_chars, char_dim, padding_idx=PAD)
        if kind == "cnn":
            self.conv = nn.Conv1d(char_dim, features, kernel_size=3, padding=1)
        else:
            self.rnn = StackedRNN("lstm", char_dim, features // 2, 1, bidirectional=True)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lengths = (chars != PAD).sum(dim=1).clamp(min=1)  # (W,)
        x = self.embedding(chars)  # (W, L, D)
        if self.kind == "lstm":
            out = self.rnn(x, lengths)  # (W, L, F)
            return pool(out, lengths, "last", 2)  # (W, F)
        # Padding chars embed to zero, exactly what the conv's own zero padding adds,
        # so a word's features do not depend on the batch's L.
        h = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (W, L, F)
        mask = length_mask(lengths, chars.shape[1]).unsqueeze(-1)  # (W, L, 1)
        return h.masked_fill(~mask, float("-inf")).amax(dim=1)  # (W, F)


class SequenceTagger(nn.Module):
    """Word (+ character) embeddings -> stacked RNN/LSTM/GRU -> a tag per token.

    Parameters
    ----------
    config : TaggerConfig
    vocab_size : int
        V, rows of the (lowercased) word embedding; row 0 is padding.
    n_chars : int
        Size of the character vocabulary (ignored when ``config.char`` is False).
    num_tags : int
        C.

    Shapes
    ------
    forward(words (N, T), lengths (N,), chars (N, T, L) or None) -> logits (N, T, C).
    Positions at or after ``lengths[n]`` hold unspecified values.
    """

    def __init__(self, config: TaggerConfig, vocab_size: int, n_chars: int, num_tags: int) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.word_dim, padding_idx=PAD)
        self.chars = (
            CharEncoder(n_chars, config.char_encoder, config.char_dim, config.char_features)
            if config.char
            else None
        )
        d_in = config.word_dim + (config.char_features if config.char else 0)
        self.rnn = StackedRNN(
            config.cell,
            d_in,
            config.hidden_size,
            config.num_layers,
            config.bidirectional,
            config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.rnn.output_size, num_tags)

    def forward(
        self, words: torch.Tensor, lengths: torch.Tensor, chars: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & (words > OOV), OOV)  # (N, T)
        x = self.embedding(words)  # (N, T, E)
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger reads characters: pass chars (N, T, L)")
            n, t, wl = chars.shape
            mask = length_mask(lengths, t).reshape(-1)  # (N*T,)
            flat = chars.reshape(n * t, wl)[mask]  # (W, L)
            feats = self.chars(flat)  # (W, F)
            per_pos = feats.new_zeros(n * t, feats.shape[1])  # (N*T, F)
            per_pos[mask] = feats
            x = torch.cat([x, per_pos.view(n, t, -1)], dim=-1)  # (N, T, E+F)
        out = self.rnn(self.dropout(x), lengths)  # (N, T, K*H)
        return self.head(self.dropout(out))  # (N, T, C)


def tagging_step(model: SequenceTagger, batch) -> tuple[torch.Tensor, float, float]:
    """One batch for :func:`rnnlab.training.fit`: token-level cross-entropy and accuracy.

    ``batch`` is ``(words (N, T), lengths (N,), chars (N, T, L) or None, tags (N, T))``
    with ``tags`` equal to ``IGNORE`` at padded positions, which count neither
    in the loss nor in the accuracy.
    """
    words, lengths, chars, tags = batch
    logits = model(words, lengths, chars)  # (N, T, C)
    return masked_token_loss(logits, tags, IGNORE)
