"""Frozen, validated settings, saved as JSON beside a model's weights.

Each dataclass rejects bad values in ``__post_init__`` with a message naming
the field, what was expected and what was received; ``from_dict`` rejects
unknown keys, so a typo in a config file never passes silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rnnlab.errors import RnnlabError

T = TypeVar("T")


def check_value(cond: bool, name: str, expected: str, got: Any) -> None:
    if not cond:
        raise RnnlabError(f"{name} must be {expected}, got {got!r}")


class Config:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise RnnlabError(
                f"unknown {cls.__name__} key(s): {', '.join(unknown)}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def replace(self: T, **changes: Any) -> T:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class TextConfig(Config):
    max_vocab: int = 20000  # vocabulary size, <pad> and <unk> included
    min_freq: int = 2  # a token must occur this often in the training texts
    maxlen: int = 400  # tokens kept per text
    truncating: str = "pre"  # "pre" keeps the last maxlen tokens (Keras' default)
    # "bucket": length-bucketed batches, padding masked (never read by the network).
    # "pre" / "post": Keras-style, every text padded to maxlen on that side and the
    # network reads the padding as input (no mask) -- kept to measure the padding trap.
    padding: str = "bucket"
    # "words": rnnlab.text.tokenize (Unicode-aware words; Han/kana/Thai one character each);
    # "chars": grapheme clusters; "subword": BPE learned from the training texts and
    # saved as tokenizer.json in the model directory (rnnlab.text.tokenizers).
    tokenizer: str = "words"

    def __post_init__(self) -> None:
        check_value(self.max_vocab >= 3, "text.max_vocab", "an integer >= 3", self.max_vocab)
        check_value(self.min_freq >= 1, "text.min_freq", "an integer >= 1", self.min_freq)
        check_value(self.maxlen >= 1, "text.maxlen", "an integer >= 1", self.maxlen)
        check_value(
            self.truncating in ("pre", "post"),
            "text.truncating",
            "'pre' or 'post'",
            self.truncating,
        )
        check_value(
            self.padding in ("bucket", "pre", "post"),
            "text.padding",
            "'bucket', 'pre' or 'post'",
            self.padding,
        )
        check_value(
            self.tokenizer in ("words", "chars", "subword"),
            "text.tokenizer",
            "'words', 'chars' or 'subword'",
            self.tokenizer,
        )


@dataclass(frozen=True)
class EmbeddingConfig(Config):
    source: str = "word2vec"  # "word2vec" (trained on the training texts), "random" or a file path
    dim: int = 100  # vector size (for a file: read from the file)
    algorithm: str = "cbow"  # Word2Vec: "cbow" or "skipgram"
    window: int = 5  # Word2Vec context window
    min_count: int = 2  # Word2Vec: ignore rarer tokens
    epochs: int = 10  # Word2Vec passes over the texts
    freeze: bool = False  # keep the embedding fixed while training the network

    def __post_init__(self) -> None:
        check_value(
            bool(self.source), "embedding.source", "word2vec, random or a path", self.source
        )
        check_value(self.dim >= 1, "embedding.dim", "an integer >= 1", self.dim)
        check_value(
            self.algorithm in ("cbow", "skipgram"),
            "embedding.algorithm",
            "'cbow' or 'skipgram'",
            self.algorithm,
        )
        check_value(self.window >= 1, "embedding.window", "an integer >= 1", self.window)
        check_value(self.min_count >= 1, "embedding.min_count", "an integer >= 1", self.min_count)
        check_value(self.epochs >= 1, "embedding.epochs", "an integer >= 1", self.epochs)


@dataclass(frozen=True)
class ModelConfig(Config):
    cell: str = "lstm"  # "rnn" (tanh), "lstm", "gru", or "none" (order-blind baseline:
    # pooled embeddings -> one hidden fully connected layer; no recurrence)
    hidden_size: int = 48  # H, units per direction
    num_layers: int = 2  # stacked recurrent layers
    bidirectional: bool = True  # add a backward direction
    # True (bidirectional only): ELMo's biLM layout, a forward stack and a backward stack that
    # meet only at the top (layer l > 0 of each direction reads that direction's layer l - 1),
    # so every layer of each is a language model `rnnlab pretrain` can train. False: layer
    # l > 0 reads both directions of layer l - 1 (torch's bidirectional nn.LSTM).
    separate_directions: bool = False
    dropout: float = 0.3  # between layers and before the output layer
    pooling: str = "maxmean"  # "last" (the guide's h_N), "max", "mean" or "maxmean"
    # False: the guide's LSTM, whose candidate c~ = tanh(x W_xc + h W_hc) has no bias (its
    # entries are held at zero through training); True: torch's and Keras' LSTM (LSTM only).
    candidate_bias: bool = True
    # Initial weights: "torch" (torch's defaults) or "keras" (Keras' defaults: Glorot-uniform
    # input matrices, orthogonal recurrent matrices, zero biases but the LSTM forget gate's 1).
    init: str = "torch"
    # True: the padding id's embedding row is trained like any other (Keras' Embedding without
    # mask_zero); False: it stays zero (torch's padding_idx). Matters only when the padding is
    # read as input (text.padding "pre"/"post").
    learn_padding: bool = False
    # n-gram evidence beside the network ("wide & deep"): NBSVM over word 1..wide_ngrams-grams,
    # fitted on the training split; its log-probabilities are fused with the network's by weights
    # fitted on the validation split (rnnlab.models.fusion). 0: the recurrent network alone.
    wide_ngrams: int = 3
    wide_max_features: int = 1_000_000  # the most frequent n-grams kept (model size); 0: all

    def __post_init__(self) -> None:
        check_value(
            isinstance(self.wide_ngrams, int) and 0 <= self.wide_ngrams <= 5,
            "model.wide_ngrams",
            "an integer in 0..5 (0: no n-gram part)",
            self.wide_ngrams,
        )
        check_value(
            isinstance(self.wide_max_features, int) and self.wide_max_features >= 0,
            "model.wide_max_features",
            "an integer >= 0 (0: no cap)",
            self.wide_max_features,
        )
        check_value(
            self.cell in ("rnn", "lstm", "gru", "none"),
            "model.cell",
            "rnn, lstm, gru or none",
            self.cell,
        )
        check_value(self.hidden_size >= 1, "model.hidden_size", "an integer >= 1", self.hidden_size)
        check_value(self.num_layers >= 1, "model.num_layers", "an integer >= 1", self.num_layers)
        check_value(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check_value(
            self.pooling in ("last", "max", "mean", "maxmean"),
            "model.pooling",
            "last, max, mean or maxmean",
            self.pooling,
        )
        check_value(
            isinstance(self.candidate_bias, bool),
            "model.candidate_bias",
            "true or false",
            self.candidate_bias,
        )
        check_value(
            self.candidate_bias or self.cell == "lstm",
            "model.candidate_bias",
            f"true for model.cell {self.cell!r} (only the guide's LSTM drops it)",
            self.candidate_bias,
        )
        check_value(self.init in ("torch", "keras"), "model.init", "'torch' or 'keras'", self.init)
        check_value(
            isinstance(self.separate_directions, bool)
            and (self.bidirectional or not self.separate_directions),
            "model.separate_directions",
            "true or false, and true only with model.bidirectional",
            self.separate_directions,
        )
        check_value(
            isinstance(self.learn_padding, bool),
            "model.learn_padding",
            "true or false",
            self.learn_padding,
        )


def _finite(value: Any) -> bool:
    """A real number (bool excluded) that is neither NaN nor infinite."""
    import math

    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_cuda_index(name: str) -> bool:
    """``"cuda:N"`` with N a non-negative integer (one GPU by index)."""
    head, _, index = name.partition(":")
    return head == "cuda" and index.isascii() and index.isdigit()


def is_device_name(value: Any) -> bool:
    """A valid ``device`` setting: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    return isinstance(value, str) and (value in ("auto", "cpu", "cuda") or _is_cuda_index(value))


@dataclass(frozen=True)
class TrainConfig(Config):
    epochs: int = 5  # upper bound; early stopping usually ends sooner
    batch_size: int = 32
    lr: float = 2e-3  # Adam learning rate
    lr_decay: float = 0.5  # the learning rate is multiplied by this after each epoch
    weight_decay: float = 0.0
    clip_norm: float = 5.0  # gradient-norm clipping (0 disables)
    patience: int = 0  # worse-than-best epochs tolerated; 0 stops at the first one
    val_fraction: float = 0.1  # stratified validation split carved from train
    seed: int = 0
    threads: int = 0  # torch threads (0: all cores)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes kept in config.json
    # Resumable checkpoints (rnnlab.training.checkpoint): one at each epoch end and, within
    # an epoch, one every this many seconds (0: none by time) ...
    checkpoint_every_s: float = 300.0
    # ... and one every this many batches (0: none by count); whichever is due first.
    checkpoint_every_steps: int = 0
    # Training arithmetic: "float32", "bfloat16" (torch.autocast; on a CPU only where it
    # reports AVX512_BF16 or AMX, else refused) or "auto" (bfloat16 where the CPU has it,
    # else float32). Prediction always runs in float32.
    precision: str = "float32"
    # Where to train: "auto" (a CUDA GPU when torch sees one, else the CPU), "cpu", "cuda"
    # (under torchrun: each process its own GPU, cuda:LOCAL_RANK) or "cuda:N". Not part of
    # a checkpoint's fingerprint: a run may resume on another device.
    device: str = "auto"

    def __post_init__(self) -> None:
        check_value(
            self.precision in ("float32", "bfloat16", "auto"),
            "train.precision",
            "'float32', 'bfloat16' or 'auto'",
            self.precision,
        )
        check_value(
            is_device_name(self.device),
            "train.device",
            "'auto', 'cpu', 'cuda' or 'cuda:N'",
            self.device,
        )
        for name in ("lr", "lr_decay", "weight_decay", "clip_norm", "val_fraction"):
            value = getattr(self, name)  # NaN/inf compare False/True in surprising ways
            check_value(_finite(value), f"train.{name}", "a finite number", value)
        check_value(
            _finite(self.checkpoint_every_s) and self.checkpoint_every_s >= 0,
            "train.checkpoint_every_s",
            "a finite number of seconds >= 0 (0: no timed checkpoints)",
            self.checkpoint_every_s,
        )
        check_value(
            isinstance(self.checkpoint_every_steps, int)
            and not isinstance(self.checkpoint_every_steps, bool)
            and self.checkpoint_every_steps >= 0,
            "train.checkpoint_every_steps",
            "an integer >= 0 (0: no checkpoints by batch count)",
            self.checkpoint_every_steps,
        )
        check_value(self.epochs >= 1, "train.epochs", "an integer >= 1", self.epochs)
        check_value(self.batch_size >= 1, "train.batch_size", "an integer >= 1", self.batch_size)
        check_value(self.lr > 0, "train.lr", "> 0", self.lr)
        check_value(0 < self.lr_decay <= 1, "train.lr_decay", "in (0, 1]", self.lr_decay)
        check_value(self.weight_decay >= 0, "train.weight_decay", ">= 0", self.weight_decay)
        check_value(self.clip_norm >= 0, "train.clip_norm", ">= 0", self.clip_norm)
        check_value(self.patience >= 0, "train.patience", "an integer >= 0", self.patience)
        check_value(
            0.0 < self.val_fraction < 0.5, "train.val_fraction", "in (0, 0.5)", self.val_fraction
        )
        check_value(self.threads >= 0, "train.threads", "an integer >= 0", self.threads)
