"""One-to-many: a conditional word-level LSTM language model.

The guide's one-to-many configuration: one non-sequence input (here a class
label, and optionally a 1-10 star rating) produces a sequence (a review). The
condition is embedded and mapped to the *initial state* of every LSTM layer::

    z   = [E_label[y] ; E_rating[r]]                    condition vector (N, C)
    h_0^l, c_0^l = split(tanh(W_init z + b_init))       for each layer l
    x_t = E_word[w_{t-1}]  (optionally [x_t ; z])       (N, T, D)
    h_t = LSTM(x_t, h_{t-1}, c_{t-1})                    (N, T, H)
    p(w_t | w_<t, z) = softmax(W_out h_t + b_out)        (N, T, V)

With ``condition_every_step`` the condition vector is also concatenated to
every input step (a departure from the pure one-to-many picture, offered so
its effect can be measured). With ``tie_weights`` the output matrix is the
word-embedding matrix (Press & Wolf, 2017); when D != H a linear projection
H -> D is put in between.

Sampling (:meth:`ConditionalLM.sample`) runs the LSTM one step at a time from
the conditioned initial state, feeding back each sampled token, until every
sequence has produced ``</s>`` or ``max_len`` tokens.

Shape legend: N batch, T time (padded length), D word-embedding size,
C condition size, H hidden units, L layers, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.config import Config, check_value

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
NO_RATING = 0  # rating-embedding row used for "rating not given"
MAX_RATING = 10


@dataclass(frozen=True)
class GeneratorConfig(Config):
    embed_dim: int = 256  # D, word-embedding size
    hidden_size: int = 256  # H, LSTM units
    num_layers: int = 1  # stacked LSTM layers (1-2)
    condition_dim: int = 32  # size of the label (and of the rating) embedding
    use_rating: bool = False  # condition on the 1-10 star rating as well as the label
    # also concatenate the condition to every input step; measured on IMDB (docs/generation.md):
    # without it the samples barely follow the condition after one epoch
    condition_every_step: bool = True
    tie_weights: bool = True  # output layer shares the word-embedding matrix
    dropout: float = 0.1  # on embeddings and LSTM outputs
    rating_dropout: float = 0.2  # training share whose rating is hidden (so rating is optional)

    def __post_init__(self) -> None:
        check_value(self.embed_dim >= 1, "generator.embed_dim", "an integer >= 1", self.embed_dim)
        check_value(
            self.hidden_size >= 1, "generator.hidden_size", "an integer >= 1", self.hidden_size
        )
        check_value(self.num_layers in (1, 2), "generator.num_layers", "1 or 2", self.num_layers)
        check_value(
            self.condition_dim >= 1,
            "generator.condition_dim",
            "an integer >= 1",
            self.condition_dim,
        )
        check_value(0.0 <= self.dropout < 1.0, "generator.dropout", "in [0, 1)", self.dropout)
        check_value(
            0.0 <= self.rating_dropout < 1.0,
            "generator.rating_dropout",
            "in [0, 1)",
            self.rating_dropout,
        )


class ConditionalLM(nn.Module):
    """Word-level LSTM language model whose initial state encodes a condition.

    Parameters
    ----------
    config : GeneratorConfig
        Sizes and switches (see its field comments).
    vocab_size : int
        V, including ``<pad>``, ``<unk>``, ``<s>`` and ``</s>``.
    n_labels : int
        Number of label values (2 for neg/pos).

    Shapes
    ------
    forward(ids (N, T), labels (N,), ratings (N,) or None) -> logits (N, T, V)
    ``ratings`` hold 1..10, or 0 for "not given"; ignored unless ``use_rating``.
    """

    def __init__(self, config: GeneratorConfig, vocab_size: int, n_labels: int) -> None:
        super().__init__()
        if vocab_size < 5:
            raise ValueError(f"vocab_size must be >= 5 (4 specials + 1 word), got {vocab_size}")
        if n_labels < 1:
            raise ValueError(f"n_labels must be >= 1, got {n_labels}")
        self.config = config
        self.vocab_size = vocab_size
        self.n_labels = n_labels
        c, h, layers = config.condition_dim, config.hidden_size, config.num_layers
        self.label_embedding = nn.Embedding(n_labels, c)
        self.rating_embedding = nn.Embedding(MAX_RATING + 1, c) if config.use_rating else None
        self.cond_size = c * (2 if config.use_rating else 1)  # C
        # condition -> (h_0, c_0) of every layer: the one-to-many part
        self.init_state = nn.Linear(self.cond_size, 2 * layers * h)
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=0)
        step_input = config.embed_dim + (self.cond_size if config.condition_every_step else 0)
        self.lstm = nn.LSTM(
            step_input,
            h,
            num_layers=layers,
            batch_first=True,
            dropout=config.dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.projection = (
            nn.Linear(h, config.embed_dim, bias=False)
            if config.tie_weights and config.embed_dim != h
            else None
        )
        # tied: logits = out @ E_word^T + b_out (one matrix, so safetensors stores it once)
        self.output = None if config.tie_weights else nn.Linear(h, vocab_size)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size)) if config.tie_weights else None

    def condition(self, labels: torch.Tensor, ratings: torch.Tensor | None = None) -> torch.Tensor:
        """Condition vectors z (N, C) from labels (N,) and ratings (N,) (0 = not given)."""
        z = self.label_embedding(labels)  # (N, c)
        if self.rating_embedding is not None:
            if ratings is None:
                ratings = torch.full_like(labels, NO_RATING)
            z = torch.cat([z, self.rating_embedding(ratings)], dim=-1)  # (N, 2c)
        return z

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h_0, c_0), each (L, N, H), from condition vectors z (N, C)."""
        layers, h = self.config.num_layers, self.config.hidden_size
        s = torch.tanh(self.init_state(z))  # (N, 2LH)
        s = s.view(z.shape[0], 2, layers, h).permute(1, 2, 0, 3)  # (2, L, N, H)
        return s[0].contiguous(), s[1].contiguous()

    def _step_inputs(self, ids: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embedding(ids))  # (N, T, D)
        if self.config.condition_every_step:
            zt = z.unsqueeze(1).expand(-1, ids.shape[1], -1)  # (N, T, C)
            x = torch.cat([x, zt], dim=-1)  # (N, T, D + C)
        return x

    def _logits(self, out: torch.Tensor) -> torch.Tensor:
        out = self.drop(out)  # (N, T, H)
        if self.projection is not None:
            out = self.projection(out)  # (N, T, D)
        if self.output is None:
            return nn.functional.linear(out, self.embedding.weight, self.output_bias)  # (N, T, V)
        return self.output(out)  # (N, T, V)

    def forward(
        self, ids: torch.Tensor, labels: torch.Tensor, ratings: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Next-token logits (N, T, V) for input ids (N, T) (teacher forcing).

        Padding is at the end of each row, so it never reaches the outputs at
        the true positions of a forward-only LSTM; mask the loss there.
        """
        z = self.condition(labels, ratings)  # (N, C)
        state = self.initial_state(z)
        out, _ = self.lstm(self._step_inputs(ids, z), state)  # (N, T, H)
        return self._logits(out)

    @torch.inference_mode()
    def sample(
        self,
        labels: torch.Tensor,
        ratings: torch.Tensor | None,
        bos: int,
        eos: int,
        max_len: int = 80,
        temperature: float = 1.0,
        top_k: int = 0,
        seed: int = 0,
        banned: tuple[int, ...] = (),
        guidance: float = 0.0,
        contrast: tuple[torch.Tensor, torch.Tensor | None] | None = None,
        max_run: int = 0,
    ) -> list[list[int]]:
        """Sample one sequence per condition, token by token.

        Parameters
        ----------
        labels, ratings : (N,) int64 tensors
            The condition of each sequence (``ratings`` may be None).
        bos, eos : int
            Ids of ``<s>`` (first input) and ``</s>`` (stops a sequence; not returned).
        max_len : int
            Most tokens per sequence.
        temperature : float
            Logits are divided by it; 0 means greedy (argmax).
        top_k : int
            Sample among the k most likely tokens only; 0 keeps all. 1 is greedy.
        seed : int
            Seed of the sampler's own generator (the global RNG is untouched).
        banned : tuple of int
            Ids never produced (e.g. ``<pad>``, ``<s>``, ``<unk>``).
        guidance : float
            Contrastive guidance weight g (0: plain sampling). A second stream
            runs the same tokens under the ``contrast`` condition and the step
            scores become ``(1 + g) log p(w | z) - g log p(w | z_contrast)``,
            which favours words that tell the two conditions apart (the
            classifier-free-guidance trick, with the other label as contrast).
        contrast : (labels (N,), ratings (N,) or None), optional
            The contrast condition; required when ``guidance > 0``.
        max_run : int
            No token more than ``max_run`` times in a row (0: no limit); stops
            runs such as ``. . . . . .``.

        Returns
        -------
        list of list of int
            Generated ids of each sequence, without ``<s>`` and ``</s>``.
        """
        if max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        if guidance < 0 or (guidance > 0 and contrast is None):
            raise ValueError(f"guidance must be >= 0 and needs a contrast, got {guidance}")
        was_training = self.training
        self.eval()
        gen = torch.Generator().manual_seed(seed)
        n = labels.shape[0]
        z = self.condition(labels, ratings)  # (N, C)
        state = self.initial_state(z)
        if guidance > 0:
            z_other = self.condition(*contrast)  # (N, C)
            state_other = self.initial_state(z_other)
        token = torch.full((n, 1), bos, dtype=torch.long)  # (N, 1)
        done = torch.zeros(n, dtype=torch.bool)
        steps: list[torch.Tensor] = []
        ban = torch.tensor(list(banned), dtype=torch.long)
        for _ in range(max_len):
            out, state = self.lstm(self._step_inputs(token, z), state)  # (N, 1, H)
            logits = self._logits(out)[:, 0, :].float()  # (N, V)
            if guidance > 0:
                out_o, state_other = self.lstm(self._step_inputs(token, z_other), state_other)
                other = torch.log_softmax(self._logits(out_o)[:, 0, :].float(), dim=-1)  # (N, V)
                logits = (1 + guidance) * torch.log_softmax(logits, dim=-1) - guidance * other
            if len(ban):
                logits[:, ban] = -torch.inf
            if 0 < max_run <= len(steps):
                last = torch.stack(steps[-max_run:], dim=1)  # (N, max_run)
                rows = (last == last[:, :1]).all(dim=1).nonzero()[:, 0]  # (R,)
                logits[rows, last[rows, 0]] = -torch.inf
            if temperature == 0 or top_k == 1:
                nxt = logits.argmax(dim=-1)  # (N,)
            else:
                logits = logits / temperature
                if 0 < top_k < logits.shape[1]:
                    kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (N, 1)
                    logits = logits.masked_fill(logits < kth, -torch.inf)
                probs = torch.softmax(logits, dim=-1)  # (N, V)
                nxt = torch.multinomial(probs, 1, generator=gen)[:, 0]  # (N,)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            steps.append(nxt)
            done |= nxt == eos
            if bool(done.all()):
                break
            token = nxt.unsqueeze(1)  # (N, 1)
        ids = torch.stack(steps, dim=1).tolist()  # (N, steps)
        self.train(was_training)
        return [row[: row.index(eos)] if eos in row else row for row in ids]
