"""Encoder-decoder (sequence-to-sequence): input length S != output length M.

The guide's fourth configuration. An encoder RNN reads the whole source; a
decoder RNN then writes the target one token at a time, starting from
``<s>`` and stopping at ``</s>``::

    source ids ─ embed ─ encoder (StackedRNN, opt. bidirectional) ─ memory h_1..h_S
                                        │ last states
                                        └─ bridge: s_0 = tanh(W_b [h_S→; h_1←])
    y_{t-1} ─ embed ─┐
                     ├─ decoder cell (GRU/LSTM/RNN) ─ s_t ─ output ─ softmax over V_tgt
    context c_t ─────┘   c_t = sum_j a_tj h_j   (attention; none: no context)

Attention (``attention=``):

- ``"none"``: the decoder sees the source only through ``s_0`` (Sutskever et al.);
  ``o_t = s_t``.
- ``"bahdanau"`` (additive): ``e_tj = v^T tanh(W_s s_{t-1} + W_h h_j)``, computed
  from the *previous* decoder state; ``c_t`` is fed to the cell with the
  embedding, ``o_t = tanh(W_c [s_t; c_t])``.
- ``"luong"`` (multiplicative, "general"): ``e_tj = s_t^T W_a h_j`` from the
  *current* state; ``o_t = tanh(W_c [s_t; c_t])``, and ``o_{t-1}`` is fed back
  with the next input ("input feeding").

In both, ``a_t = softmax(e_t)`` over the true source positions only: padding
scores are set to ``-inf`` before the softmax, so padding never receives
weight. Logits are ``W_o o_t``.

Departures from the papers, for brevity: the decoder is one layer (the
encoder may be stacked); Bahdanau's maxout deep output is replaced by the
same ``tanh`` output layer as Luong's; the LSTM decoder's initial cell state
is zero.

Training uses teacher forcing: the decoder reads the true previous token.
Inference uses greedy decoding or beam search (:meth:`Seq2Seq.beam_search`);
a hypothesis' *model score* is the sum of the log-probabilities of its tokens
(``</s>`` included), without length normalisation.

Shape legend: N batch, S source length, M target length, E embedding size,
H encoder hidden units per direction, K encoder directions (1 or 2),
D = K*H memory size, Hd decoder hidden size, V target vocabulary,
B beam size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from rnnlab.config import Config, check_value
from rnnlab.models.recurrent import StackedRNN, length_mask, pool
from rnnlab.text import PAD

BOS = 2  # "<s>": the first regular id of a seq2seq vocabulary
EOS = 3  # "</s>"
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
ATTENTIONS = ("none", "bahdanau", "luong")
_CELLS = {"gru": nn.GRUCell, "lstm": nn.LSTMCell, "rnn": nn.RNNCell}


@dataclass(frozen=True)
class Seq2SeqConfig(Config):
    cell: str = "gru"  # "gru", "lstm" or "rnn" (tanh), for encoder and decoder
    embedding_dim: int = 64  # E, for source and target tokens
    hidden_size: int = 128  # H, encoder units per direction; the decoder has K*H
    num_layers: int = 1  # stacked encoder layers (the decoder has one)
    bidirectional: bool = True  # encoder reads both ways
    attention: str = "bahdanau"  # "none", "bahdanau" (additive) or "luong" (general)
    dropout: float = 0.1  # on embeddings, between encoder layers, before the output layer
    max_output_len: int = 64  # decoding stops after this many tokens without </s>

    def __post_init__(self) -> None:
        check_value(self.cell in _CELLS, "model.cell", "gru, lstm or rnn", self.cell)
        check_value(
            self.embedding_dim >= 1, "model.embedding_dim", "an integer >= 1", self.embedding_dim
        )
        check_value(self.hidden_size >= 1, "model.hidden_size", "an integer >= 1", self.hidden_size)
        check_value(self.num_layers >= 1, "model.num_layers", "an integer >= 1", self.num_layers)
        check_value(
            self.attention in ATTENTIONS,
            "model.attention",
            "none, bahdanau or luong",
            self.attention,
        )
        check_value(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check_value(
            self.max_output_len >= 1, "model.max_output_len", "an integer >= 1", self.max_output_len
        )


class Encoded(NamedTuple):
    """What the decoder reads from the encoder (batch-first, one row per hypothesis)."""

    memory: torch.Tensor  # (N, S, D) encoder outputs h_1..h_S
    keys: torch.Tensor  # (N, S, A) memory projected for attention scores (empty if none)
    mask: torch.Tensor  # (N, S) True at true source positions

    def select(self, idx: torch.Tensor) -> Encoded:
        return Encoded(self.memory[idx], self.keys[idx], self.mask[idx])


# Decoder state: (h (N, Hd), c (N, Hd) for LSTM else (N, 0), feed (N, Hd) for luong else (N, 0)).
State = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _select_state(state: State, idx: torch.Tensor) -> State:
    return tuple(s[idx] for s in state)  # type: ignore[return-value]


class Seq2Seq(nn.Module):
    """Encoder-decoder with optional attention, greedy decoding and beam search.

    Parameters
    ----------
    config : Seq2SeqConfig
    source_vocab_size, target_vocab_size : int
        Vocabulary sizes; target id ``BOS`` (2) is ``<s>`` and ``EOS`` (3) is
        ``</s>``, id 0 is padding.

    Shapes
    ------
    forward(src (N, S), src_lengths (N,), tgt_in (N, M)) -> logits (N, M, V)
    greedy(src, src_lengths) -> (list of N id lists without </s>, scores (N,))
    beam_search(src, src_lengths, beam_size) -> same
    """

    def __init__(self, config: Seq2SeqConfig, source_vocab_size: int, target_vocab_size: int):
        super().__init__()
        if target_vocab_size <= EOS:
            raise ValueError(f"target_vocab_size must be > {EOS} (<pad> <unk> <s> </s> ...)")
        self.config = config
        c = config
        k = 2 if c.bidirectional else 1
        d = k * c.hidden_size  # D, memory size
        hd = d  # Hd, decoder state size
        self.memory_size, self.decoder_size = d, hd
        self.src_embed = nn.Embedding(source_vocab_size, c.embedding_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(target_vocab_size, c.embedding_dim, padding_idx=PAD)
        self.encoder = StackedRNN(
            c.cell, c.embedding_dim, c.hidden_size, c.num_layers, c.bidirectional, c.dropout
        )
        self.bridge = nn.Linear(d, hd)
        cell_input = c.embedding_dim + (d if c.attention == "bahdanau" else 0)
        cell_input += hd if c.attention == "luong" else 0
        self.cell = _CELLS[c.cell](cell_input, hd)
        if c.attention == "bahdanau":
            self.W_h = nn.Linear(d, hd, bias=False)
            self.W_s = nn.Linear(hd, hd)
            self.v = nn.Linear(hd, 1, bias=False)
        elif c.attention == "luong":
            self.W_a = nn.Linear(d, hd, bias=False)
        if c.attention != "none":
            self.W_c = nn.Linear(hd + d, hd)
        self.dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(hd, target_vocab_size)

    # ------------------------------------------------------------------ encoder

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[Encoded, State]:
        """Read the source: memory for attention and the decoder's initial state."""
        x = self.dropout(self.src_embed(src))  # (N, S, E)
        memory = self.encoder(x, lengths)  # (N, S, D)
        mask = length_mask(lengths, src.shape[1])  # (N, S)
        memory = memory.masked_fill(~mask.unsqueeze(-1), 0.0)  # padding rows never matter
        last = pool(memory, lengths, "last", self.encoder.directions)  # (N, D)
        h0 = torch.tanh(self.bridge(last))  # (N, Hd)
        n = src.shape[0]
        lstm = self.config.cell == "lstm"
        c0 = h0.new_zeros(n, self.decoder_size if lstm else 0)
        feed = h0.new_zeros(n, self.decoder_size if self.config.attention == "luong" else 0)
        if self.config.attention == "bahdanau":
            keys = self.W_h(memory)  # (N, S, Hd)
        elif self.config.attention == "luong":
            keys = self.W_a(memory)  # (N, S, Hd)
        else:
            keys = memory.new_zeros(n, src.shape[1], 0)
        return Encoded(memory, keys, mask), (h0, c0, feed)

    # ------------------------------------------------------------------ decoder

    def _attend(self, query: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """Context (N, D) and weights (N, S) for decoder query (N, Hd)."""
        if self.config.attention == "bahdanau":
            e = self.v(torch.tanh(enc.keys + self.W_s(query).unsqueeze(1))).squeeze(-1)  # (N, S)
        else:
            e = torch.bmm(enc.keys, query.unsqueeze(-1)).squeeze(-1)  # (N, S)
        e = e.masked_fill(~enc.mask, float("-inf"))
        a = torch.softmax(e, dim=-1)  # (N, S)
        ctx = torch.bmm(a.unsqueeze(1), enc.memory).squeeze(1)  # (N, D)
        return ctx, a

    def step(
        self, y_prev: torch.Tensor, state: State, enc: Encoded
    ) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        """One decoder step: previous tokens (N,) -> logits (N, V), new state, attention (N, S)."""
        h, c, feed = state
        e = self.dropout(self.tgt_embed(y_prev))  # (N, E)
        attn = None
        kind = self.config.attention
        if kind == "bahdanau":
            ctx, attn = self._attend(h, enc)
            x = torch.cat([e, ctx], dim=-1)  # (N, E + D)
        elif kind == "luong":
            x = torch.cat([e, feed], dim=-1)  # (N, E + Hd)
        else:
            x = e
        if self.config.cell == "lstm":
            h, c = self.cell(x, (h, c))  # (N, Hd) each
        else:
            h = self.cell(x, h)  # (N, Hd)
        if kind == "luong":
            ctx, attn = self._attend(h, enc)
        if kind == "none":
            o = h
        else:
            o = torch.tanh(self.W_c(torch.cat([h, ctx], dim=-1)))  # (N, Hd)
        if kind == "luong":
            feed = o
        logits = self.out(self.dropout(o))  # (N, V)
        return logits, (h, c, feed), attn

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher forcing: ``tgt_in`` is ``<s> y_1 .. y_{M-1}`` (post-padded); logits (N, M, V)."""
        enc, state = self.encode(src, src_lengths)
        outputs = []
        for t in range(tgt_in.shape[1]):
            logits, state, _ = self.step(tgt_in[:, t], state, enc)
            outputs.append(logits)
        return torch.stack(outputs, dim=1)  # (N, M, V)

    def score(
        self, src: torch.Tensor, src_lengths: torch.Tensor, outputs: list[list[int]]
    ) -> torch.Tensor:
        """Model score (N,) of given outputs: sum of log p of each token and of ``</s>``."""
        seqs = [[*o, EOS] for o in outputs]
        m = max(len(s) for s in seqs)
        tgt = src.new_full((len(seqs), m), PAD)  # (N, M)
        for i, s in enumerate(seqs):
            tgt[i, : len(s)] = torch.as_tensor(s)
        tgt_in = torch.cat([src.new_full((len(seqs), 1), BOS), tgt[:, :-1]], dim=1)  # (N, M)
        logp = torch.log_softmax(self.forward(src, src_lengths, tgt_in), dim=-1)  # (N, M, V)
        picked = logp.gather(2, tgt.unsqueeze(-1)).squeeze(-1)  # (N, M)
        return (picked * (tgt != PAD)).sum(dim=1)

    # ------------------------------------------------------------------ inference

    def _log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """log-softmax over the vocabulary, with <pad> and <s> made impossible outputs."""
        logp = torch.log_softmax(logits, dim=-1)  # (N, V)
        logp[:, PAD] = float("-inf")
        logp[:, BOS] = float("-inf")
        return logp

    @torch.no_grad()
    def greedy(
        self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int | None = None
    ) -> tuple[list[list[int]], torch.Tensor]:
        """Most likely token at each step until ``</s>`` or ``max_len`` tokens.

        Returns the ids (``</s>`` removed) and the model score of each output.
        """
        max_len = max_len or self.config.max_output_len
        enc, state = self.encode(src, src_lengths)
        n = src.shape[0]
        y = src.new_full((n,), BOS)
        done = torch.zeros(n, dtype=torch.bool)
        scores = torch.zeros(n, dtype=torch.float32)
        out: list[list[int]] = [[] for _ in range(n)]
        for _ in range(max_len):
            logits, state, _ = self.step(y, state, enc)
            logp = self._log_probs(logits)  # (N, V)
            best, y = logp.max(dim=-1)  # (N,)
            scores += torch.where(done, torch.zeros_like(best), best)
            for i in (~done).nonzero().flatten().tolist():
                if int(y[i]) != EOS:
                    out[i].append(int(y[i]))
            done |= y == EOS
            if bool(done.all()):
                break
        return out, scores

    @torch.no_grad()
    def beam_search(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        beam_size: int = 5,
        max_len: int | None = None,
        keep_greedy: bool = True,
    ) -> tuple[list[list[int]], torch.Tensor]:
        """Beam search on the sum of token log-probabilities.

        Each step expands every live hypothesis by every token and keeps the
        ``2B`` best candidates per input: those ending in ``</s>`` among the
        first ``B`` are finished, the first ``B`` others stay live. An input is
        done once it has ``B`` finished hypotheses or its best finished one
        scores at least as well as its best live one (scores only fall). At
        ``max_len`` the best live hypothesis competes unfinished, as in
        :meth:`greedy`. With ``beam_size=1`` this is exactly greedy decoding.

        ``keep_greedy`` adds the greedy output to the candidates, so the result
        never has a lower model score than greedy decoding (plain beam search
        can prune the greedy path).
        """
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}")
        max_len = max_len or self.config.max_output_len
        n, b = src.shape[0], beam_size
        enc, state = self.encode(src, src_lengths)
        rows = torch.arange(n).repeat_interleave(b)  # (N*B,)
        enc, state = enc.select(rows), _select_state(state, rows)
        scores = torch.full((n, b), float("-inf"))  # (N, B) live scores
        scores[:, 0] = 0.0
        y = src.new_full((n * b,), BOS)
        tokens: list[torch.Tensor] = []  # per step (N, B): token of each live hypothesis
        parents: list[torch.Tensor] = []  # per step (N, B): live index it extends
        best = torch.full((n,), float("-inf"))  # best finished score
        best_at = torch.zeros(n, 2, dtype=torch.long)  # (step, parent) of that hypothesis
        n_finished = torch.zeros(n, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        for t in range(max_len):
            logits, state, _ = self.step(y, state, enc)
            logp = self._log_probs(logits)  # (N*B, V)
            v = logp.shape[1]
            cand = (scores.view(n * b, 1) + logp).view(n, b * v)  # (N, B*V)
            k = min(2 * b, b * v)
            top, idx = cand.topk(k, dim=1)  # (N, 2B), sorted
            tok, par = idx % v, idx // v  # (N, 2B)
            eos = (tok == EOS) & torch.isfinite(top)
            final = eos & (torch.arange(k) < b).unsqueeze(0) & ~done.unsqueeze(1)  # (N, 2B)
            fin_scores = top.masked_fill(~final, float("-inf"))
            fin_best, fin_arg = fin_scores.max(dim=1)  # (N,)
            better = fin_best > best
            best = torch.where(better, fin_best, best)
            best_at[better, 0] = t
            best_at[better, 1] = par.gather(1, fin_arg.unsqueeze(1)).squeeze(1)[better]
            n_finished += final.sum(dim=1)
            live = top.masked_fill(eos, float("-inf"))
            live_top, live_arg = live.topk(b, dim=1)  # (N, B) first B non-</s>, in order
            scores = live_top
            tok_live, par_live = tok.gather(1, live_arg), par.gather(1, live_arg)  # (N, B)
            tokens.append(tok_live)
            parents.append(par_live)
            done |= (n_finished >= b) | (best >= scores[:, 0])
            if bool(done.all()):
                break
            flat = (torch.arange(n).unsqueeze(1) * b + par_live).flatten()  # (N*B,)
            state = _select_state(state, flat)
            y = tok_live.flatten()
        steps = len(tokens)

        def trace(i: int, step: int, beam: int) -> list[int]:
            """Tokens of the live hypothesis ``beam`` after ``step`` steps, for input ``i``."""
            seq = []
            for s in range(step - 1, -1, -1):
                seq.append(int(tokens[s][i, beam]))
                beam = int(parents[s][i, beam])
            return seq[::-1]

        outputs: list[list[int]] = []
        final_scores = torch.empty(n)
        for i in range(n):
            unfinished = float(scores[i, 0]) if not bool(done[i]) else float("-inf")
            if unfinished > float(best[i]) or not torch.isfinite(best[i]):
                outputs.append(trace(i, steps, 0))
                final_scores[i] = scores[i, 0]
            else:
                outputs.append(trace(i, int(best_at[i, 0]), int(best_at[i, 1])))
                final_scores[i] = best[i]
        if keep_greedy and b > 1:
            g_out, g_scores = self.greedy(src, src_lengths, max_len)
            for i in range(n):
                if float(g_scores[i]) > float(final_scores[i]):
                    outputs[i], final_scores[i] = g_out[i], g_scores[i]
        return outputs, final_scores
