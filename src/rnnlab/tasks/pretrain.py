"""Self-supervised pretraining of the classifier's encoder: ``rnnlab pretrain``.

The embedding and recurrent layers of the text classifier learn from the
training texts alone, no labels, and are saved as an *encoder* directory that
``rnnlab train --encoder DIR`` fine-tunes (or another task starts from)::

    from rnnlab.tasks.pretrain import train_encoder
    train_encoder("imdb", out="models/encoder")            # IMDB: its train split only
    enc = rnnlab.load("models/encoder")                    # an Encoder
    enc.encode(["A wonderful film.", "Dull."])             # (2, P) pooled features

Steps: texts (labels ignored; 5% held out, seeded, for the validation loss)
-> tokenizer and vocabulary (held-out texts excluded) -> Word2Vec on the
training texts -> ids truncated to ``maxlen`` -> length-bucketed batches ->
:class:`PretrainNet` (``embedding`` and ``rnn`` built exactly as
``SequenceClassifier`` builds them, so a classifier of the same ``ModelConfig``
loads ``embedding.*`` and ``rnn.*`` by name, plus the objective's head
``proj``) -> the shared template (:mod:`rnnlab.tasks.base`) -> model
directory of kind ``"encoder"``.

Objectives (``PretrainConfig.objective``)
-----------------------------------------
``"mlm"``, masked tokens: a share ``mask`` of the known tokens of each text is
replaced by ``<unk>`` (the vocabulary has no mask token, so that it stays the
classifier's) and the whole stack predicts the original token from both sides:
``h_t = proj(rnn(x)_t)`` (D,). ``"lm"``, two language models in the ULMFiT /
SA-LSTM / ELMo manner: the forward direction predicts the next token and the
backward direction the previous one, each through its own ``proj``. With
``model.separate_directions`` (the default encoder, :data:`ENCODER_MODEL`) the
two directions are separate stacks, so the top of each is a language model and
every layer is trained; otherwise a layer above the first reads both directions
(it would see the token it predicts), so only layer 0 is trained by "lm".

Output layer: a sampled softmax over the tied word vectors. The score of
token ``w`` is ``s(w) = h . E_w - log Q(w)``, where ``E`` is the embedding
matrix and ``Q`` the proposal ``count(w)^power`` (normalised; ``<pad>`` and
``<unk>`` have ``Q = 0`` and are never targets). Each batch draws
``negatives`` ids from ``Q`` (with replacement); the loss is the cross-entropy
of the true token against them, ``-log softmax([s(y), s(n_1), .., s(n_S)])_0``,
with a negative equal to the target removed ("accidental hits"). Subtracting
``log Q`` makes the sampled loss an estimate of the full softmax's (Jean et
al., 2015); a full softmax over 20k words is what 2 cores cannot afford.
"acc" is how often the true token outscores every sampled negative.

Learning rate: Adam with a warm-up from 0 to ``lr`` over the first ``warmup``
share of all steps, then a linear decay to ``final_lr * lr`` at the last step,
set before every optimizer step (:func:`scheduled_lr`).

Determinism: training masks and negatives come from torch's global generator,
which the training loop seeds and checkpoints, so a ``--resume``\\d run ends
with the same weights, bit for bit, as one never stopped; each validation
batch carries its own seed, so the validation loss of every epoch is measured
on the same masks and negatives.

Shape legend: N batch, T time, D embedding size, H hidden units per direction,
K directions, M predicted tokens in a batch, S sampled negatives, V
vocabulary, P pooled features.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.config import (
    Config,
    EmbeddingConfig,
    ModelConfig,
    TextConfig,
    TrainConfig,
    check_value,
    is_device_name,
)
from rnnlab.data import TextDataset, read_split
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.recurrent import length_mask, pool, pooled_size, reverse_within_length
from rnnlab.recipes import ENCODER_MODEL
from rnnlab.tasks.base import (
    Built,
    Task,
    TrainResult,
    apply_threads,
    load_state,
    open_model_dir,
    run,
)
from rnnlab.tasks.prepare import TOKENIZER, embedding_step, tokenizer_file, truncate
from rnnlab.tasks.prepare import encode as encode_ids
from rnnlab.text import OOV, Vocab
from rnnlab.text.tokenizers import make_tokenizer, restore_tokenizer
from rnnlab.training.batching import padded_batches

KIND = "encoder"

OBJECTIVES = ("mlm", "lm")
# texts per validation batch: its (targets, 1 + S) logits are the run's largest tensor
# (256 texts peaked ~0.9 GB above the training steps)
VAL_BATCH = 64
ENCODE_BATCH = 64  # texts per batch in Encoder.encode


def _number(value: Any) -> bool:
    """A finite real number (bool excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PretrainConfig(Config):
    """Every setting of a pretraining run (saved as ``"pretrain"`` in config.json)."""

    # "lm" (next/previous token, layer 0) or "mlm" (masked tokens, whole stack). On IMDB
    # (benchmarks/pretrain_explore.py) lm gained more per CPU-minute: see docs/pretraining.md.
    objective: str = "lm"
    mask: float = 0.15  # mlm: share of the known tokens replaced by <unk> and predicted
    negatives: int = 512  # S, sampled-softmax negatives drawn per batch
    power: float = 0.75  # proposal Q(w) ~ count(w)^power (word2vec's 0.75)
    epochs: int = 4  # passes over the training texts (the schedule spans all of them)
    lr: float = 2e-3  # Adam's peak learning rate
    warmup: float = 0.05  # share of all steps over which the rate rises linearly from 0
    final_lr: float = 0.1  # the rate then falls linearly to this share of lr at the last step
    batch_size: int = 32
    clip_norm: float = 5.0  # gradient-norm clipping (0 disables)
    val_fraction: float = 0.05  # texts held out (seeded) for the validation loss
    seed: int = 0
    threads: int = 0  # torch threads (0: all cores)
    precision: str = "float32"  # "float32", "bfloat16" or "auto", as train.precision
    device: str = "auto"  # "auto", "cpu", "cuda" or "cuda:N", as train.device
    checkpoint_every_s: float = 300.0  # resumable checkpoints, as train.checkpoint_every_s
    checkpoint_every_steps: int = 0  # ... and every this many batches (0: none by count)

    def __post_init__(self) -> None:
        check_value(
            self.objective in OBJECTIVES, "pretrain.objective", "'mlm' or 'lm'", self.objective
        )
        check_value(
            _number(self.mask) and 0 < self.mask < 1, "pretrain.mask", "in (0, 1)", self.mask
        )
        for name in ("negatives", "epochs", "batch_size"):
            value = getattr(self, name)
            check_value(
                _integer(value) and value >= 1, f"pretrain.{name}", "an integer >= 1", value
            )
        check_value(_number(self.power) and self.power >= 0, "pretrain.power", ">= 0", self.power)
        check_value(_number(self.lr) and self.lr > 0, "pretrain.lr", "> 0", self.lr)
        check_value(
            _number(self.warmup) and 0 <= self.warmup < 1, "pretrain.warmup", "in [0, 1)",
            self.warmup,
        )  # fmt: skip
        check_value(
            _number(self.final_lr) and 0 <= self.final_lr <= 1,
            "pretrain.final_lr",
            "in [0, 1]",
            self.final_lr,
        )
        check_value(
            _number(self.clip_norm) and self.clip_norm >= 0,
            "pretrain.clip_norm",
            ">= 0",
            self.clip_norm,
        )
        check_value(
            _number(self.val_fraction) and 0 < self.val_fraction < 0.5,
            "pretrain.val_fraction",
            "in (0, 0.5)",
            self.val_fraction,
        )
        check_value(_integer(self.seed), "pretrain.seed", "an integer", self.seed)
        check_value(
            is_device_name(self.device),
            "pretrain.device",
            "'auto', 'cpu', 'cuda' or 'cuda:N'",
            self.device,
        )
        check_value(
            _integer(self.threads) and self.threads >= 0,
            "pretrain.threads",
            "an integer >= 0",
            self.threads,
        )

    def training(self) -> TrainConfig:
        """The training loop's settings: the rate is scheduled per step (see
        :func:`scheduled_lr`), so the loop's per-epoch decay is off, and every epoch of
        the planned schedule runs (the best epoch's weights are still the ones kept)."""
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            lr_decay=1.0,
            clip_norm=self.clip_norm,
            patience=self.epochs,
            val_fraction=self.val_fraction,
            seed=self.seed,
            threads=self.threads,
            precision=self.precision,
            device=self.device,
            checkpoint_every_s=self.checkpoint_every_s,
            checkpoint_every_steps=self.checkpoint_every_steps,
            extra={"schedule": "per step: warm-up, then linear decay (see pretrain)"},
        )


def scheduled_lr(config: PretrainConfig, step: int, total: int) -> float:
    """The learning rate before optimizer step ``step`` (0-based) of ``total``.

    ``lr * min(1, f / warmup) * (1 - f * (1 - final_lr))`` with ``f = step / total``:
    0 at the first step, a linear rise to (nearly) ``lr`` over the warm-up, then a
    linear fall to ``final_lr * lr``. The prototype's (``benchmarks/pretrain_explore.py``)
    defaults: warm-up 5% (``min(1, 20 f)``), final 10% (``1 - 0.9 f``).
    """
    f = step / max(total, 1)
    warm = min(1.0, f / config.warmup) if config.warmup > 0 else 1.0
    return config.lr * warm * (1.0 - f * (1.0 - config.final_lr))


# --------------------------------------------------------------------------- network


def sampled_softmax_logits(hid, targets, weight, log_q, negatives) -> torch.Tensor:
    """Scores of the true token (column 0) and of the sampled negatives, ``log Q``
    subtracted, accidental hits (a negative equal to the target) pushed to -1e4.

    hid (M, D), targets (M,), weight (V, D), log_q (V,), negatives (S,) -> (M, 1 + S).
    """
    true = (hid * weight[targets]).sum(-1, keepdim=True) - log_q[targets].unsqueeze(1)
    scores = hid @ weight[negatives].T - log_q[negatives].unsqueeze(0)  # (M, S)
    hits = targets.unsqueeze(1) == negatives.unsqueeze(0)  # (M, S) accidental hits
    return torch.cat([true, scores.masked_fill(hits, -1e4)], dim=1)


class PretrainNet(nn.Module):
    """The classifier's embedding and recurrent stack, plus the objective's head.

    Parameters
    ----------
    config : ModelConfig
        The classifier's; ``embedding`` and ``rnn`` are taken from a
        ``SequenceClassifier`` built with it, so names, shapes and initialisation
        are the classifier's by construction (its head is dropped).
    vocab_size, embedding_dim : int
        V and D.
    pretrain : PretrainConfig
        The objective, mask share and number of negatives.
    counts : array (V,), optional
        Token counts of the training ids for the proposal Q (training only;
        a loaded encoder only encodes, and gets a uniform one).
    embedding : torch.Tensor, optional
        (V, D) initial embedding matrix (e.g. from Word2Vec).
    freeze_embedding : bool
        Keep the embedding fixed (it still scores the targets and negatives).

    Shapes
    ------
    forward(ids (N, T), lengths (N,), mask (N, T) bool or None, negatives (S,))
        -> logits (M, 1 + S), column 0 the true token; targets (M,)
    features(ids (N, T), lengths (N,)) -> (N, P), the classifier's pooling
    """

    def __init__(
        self,
        config: ModelConfig,
        vocab_size: int,
        embedding_dim: int,
        pretrain: PretrainConfig,
        counts: np.ndarray | None = None,
        embedding: torch.Tensor | None = None,
        freeze_embedding: bool = False,
    ) -> None:
        from rnnlab.models import SequenceClassifier

        super().__init__()
        if config.cell == "none":
            raise RnnlabError(
                "pretraining needs a recurrent encoder; model.cell must be rnn, lstm or gru, "
                "got 'none'"
            )
        base = SequenceClassifier(
            config, vocab_size, embedding_dim, 2, embedding, freeze_embedding
        )  # the classifier's own construction; only its head is left behind
        self.config, self.pretrain = config, pretrain
        self.embedding, self.dropout, self.rnn = base.embedding, base.dropout, base.rnn
        h, d = self.rnn.hidden_size, embedding_dim
        if pretrain.objective == "mlm":
            self.proj = nn.Linear(self.rnn.output_size, d)  # (K*H) -> D
        else:  # one head per direction of layer 0
            self.proj = nn.ModuleList([nn.Linear(h, d) for _ in range(self.rnn.directions)])
        q = np.ones(vocab_size) if counts is None else np.asarray(counts, dtype=np.float64)
        q = q**pretrain.power  # (V,)
        q[: OOV + 1] = 0.0  # <pad> and <unk> are never targets nor negatives
        if not q.sum() > 0:
            raise DataError(
                "no token to predict: every training token is <unk>; lower --min-freq or "
                "give more texts"
            )
        self.proposal = torch.from_numpy((q / q.sum()).astype(np.float32))  # (V,), CPU
        log_q = torch.from_numpy(np.log(np.maximum(q / q.sum(), 1e-12)).astype(np.float32))
        self.register_buffer("log_q", log_q, persistent=False)  # not a weight: not saved

    def draw_mask(self, ids: torch.Tensor, lengths: torch.Tensor, generator=None):
        """mlm: (N, T) bool, True where a known token is masked; None for "lm"."""
        if self.pretrain.objective != "mlm":
            return None
        u = torch.rand(ids.shape, generator=generator).to(ids.device)  # (N, T)
        valid = length_mask(lengths, ids.shape[1])  # (N, T)
        return (u < self.pretrain.mask) & valid & (ids > OOV)

    def draw_negatives(self, generator=None) -> torch.Tensor:
        """(S,) ids drawn from the proposal Q, with replacement."""
        return torch.multinomial(
            self.proposal, self.pretrain.negatives, replacement=True, generator=generator
        )

    def forward(self, ids, lengths, mask, negatives):
        if self.pretrain.objective == "mlm":
            x = self.embedding(ids.masked_fill(mask, OOV))  # (N, T, D)
            out = self.rnn(self.dropout(x), lengths)  # (N, T, K*H)
            hid = self.proj(out[mask])  # (M, D)
            targets = ids[mask]  # (M,)
        else:
            hid, targets = self._lm_hidden(ids, lengths)
        logits = sampled_softmax_logits(
            hid, targets, self.embedding.weight, self.log_q, negatives.to(ids.device)
        )  # tied word vectors
        return logits, targets  # (M, 1 + S), (M,)

    def _lm_hidden(self, ids: torch.Tensor, lengths: torch.Tensor):
        """The forward outputs at t predict token t+1; the backward outputs at t (having
        read t..end) predict token t-1. Those of the top layer when the directions are
        separate stacks (every layer a language model), else of layer 0.
        -> hidden (M, D), targets (M,)."""
        rnn = self.rnn
        nxt = length_mask(lengths, ids.shape[1])[:, 1:]  # (N, T-1): t+1 is a true token
        x = self.dropout(self.embedding(ids))  # (N, T, D)
        back = None  # (N, T, H), in place, when bidirectional
        if rnn.separate:
            out = rnn(x, lengths)  # (N, T, 2H): [forward stack, backward stack]
            fwd, back = out[..., : rnn.hidden_size], out[..., rnn.hidden_size :]
        else:
            fwd, _ = rnn.forward_layers[0](x)  # (N, T, H)
            if rnn.bidirectional:
                back, _ = rnn.backward_layers[0](reverse_within_length(x, lengths))
                back = reverse_within_length(back, lengths)
        hid = [self.proj[0](fwd[:, :-1][nxt])]
        targets = [ids[:, 1:][nxt]]
        if back is not None:
            hid.append(self.proj[1](back[:, 1:][nxt]))
            targets.append(ids[:, :-1][nxt])
        hid_all, tgt = torch.cat(hid), torch.cat(targets)  # (M', D), (M',)
        keep = tgt > OOV
        return hid_all[keep], tgt[keep]

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(N, P): the recurrent outputs pooled as the classifier pools them."""
        out = self.rnn(self.dropout(self.embedding(ids)), lengths)  # (N, T, K*H)
        return pool(out, lengths, self.config.pooling, self.rnn.directions)  # (N, P)


def pretrain_step(model, batch):
    """One batch: sampled-softmax loss, true tokens ranked first, tokens predicted.

    ``batch`` is ``(ids, lengths, seed)``; ``seed`` None (training) draws masks and
    negatives from torch's global generator, an int (validation) from its own.
    """
    ids, lengths, seed = batch
    net = getattr(model, "module", model)  # DistributedDataParallel wraps it
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    mask = net.draw_mask(ids, lengths, gen)
    negatives = net.draw_negatives(gen)
    logits, targets = model(ids, lengths, mask, negatives)  # (M, 1 + S), (M,)
    m = len(targets)
    if m == 0:  # nothing masked in this batch: a zero loss that still has a graph
        return logits.sum() * 0.0, 0.0, 0.0
    loss = F.cross_entropy(logits.float(), torch.zeros(m, dtype=torch.long, device=ids.device))
    first = (logits[:, :1] > logits[:, 1:]).all(dim=1)  # (M,)
    return loss, float(first.sum()), float(m)


# ------------------------------------------------------------------------------ task


def _texts_sha256(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for t in texts:
        digest.update(t.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def _train_batches(seqs, text: TextConfig, batch_size: int, seed: int):
    return [
        (ids, lens, None) for _, ids, lens in padded_batches(seqs, text, batch_size, True, seed)
    ]


class EncoderTask(Task):
    """Texts without labels -> vocabulary -> Word2Vec -> PretrainNet -> encoder directory."""

    kind = KIND

    def __init__(self, data, text, embedding, model, pretrain, text_col, cache_dir) -> None:
        super().__init__(pretrain.training())
        self.source, self.text, self.embedding, self.model = data, text, embedding, model
        self.pretrain, self.text_col, self.cache_dir = pretrain, text_col, cache_dir
        self.total_steps = 0  # optimizer steps the schedule spans, set by build
        self.val_batches: list = []  # set by build

    def read(self, log):
        if self.model.cell == "none":
            raise RnnlabError(
                "pretraining needs a recurrent encoder; model.cell must be rnn, lstm or gru, "
                "got 'none'"
            )
        source = self.embedding.source
        if source not in ("word2vec", "random") and not Path(source).exists():
            raise RnnlabError(
                f"embedding file not found: {source}; use --embedding word2vec, random, "
                "a folder written by `rnnlab embed train`, or a word2vec/GloVe vector file"
            )
        data = self.source
        if isinstance(data, list | tuple):
            data = TextDataset(list(data), [], [], source="<texts>")
        ds = read_split(data, "train", self.text_col, None, self.cache_dir)  # labels unused
        texts = list(ds.texts)
        if len(texts) < 2:
            raise DataError(
                f"{ds.source}: pretraining needs at least 2 texts (some are held out for the "
                f"validation loss), got {len(texts)}"
            )
        rng = np.random.default_rng(self.pretrain.seed)
        order = rng.permutation(len(texts))
        n_val = max(1, round(len(texts) * self.pretrain.val_fraction))
        val = [texts[i] for i in np.sort(order[:n_val])]
        train = [texts[i] for i in np.sort(order[n_val:])]
        log(f"data: {len(train)} training / {len(val)} held-out texts ({ds.source})")
        return {"train": train, "val": val, "source": str(ds.source), "sha256": ds.sha256 or ""}

    def build(self, data, log) -> Built:
        text, cfg = self.text, self.pretrain
        tokenizer = make_tokenizer(text).fit(data["train"])
        train_tokens = tokenizer.batch(data["train"])
        vocab = Vocab.build(train_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
        log(f"vocabulary: {len(vocab)} entries (max {text.max_vocab}, min_freq {text.min_freq})")
        matrix, coverage, dim, seconds = embedding_step(
            self.embedding, train_tokens, vocab, cfg.seed, log
        )
        train_seqs = [truncate(vocab.encode(tokens), text) for tokens in train_tokens]
        del train_tokens
        val_seqs = encode_ids(data["val"], vocab, text, tokenizer)
        counts = np.bincount(
            np.fromiter((i for s in train_seqs for i in s), dtype=np.int64), minlength=len(vocab)
        )
        net = PretrainNet(
            self.model,
            len(vocab),
            dim,
            cfg,
            counts=counts,
            embedding=None if matrix is None else torch.from_numpy(matrix),
            freeze_embedding=self.embedding.freeze,
        )
        self.total_steps = cfg.epochs * len(_train_batches(train_seqs, text, cfg.batch_size, 0))
        val_batches = [
            (ids, lens, cfg.seed * 1_000_003 + k)  # a fixed draw per validation batch
            for k, (_, ids, lens) in enumerate(padded_batches(val_seqs, text, VAL_BATCH))
        ]
        self.val_batches = val_batches
        config = {
            "tokenizer": TOKENIZER if text.tokenizer == "words" else text.tokenizer,
            "vocab_size": len(vocab),
            "embedding_dim": dim,
            "feature_size": pooled_size(self.model.pooling, net.rnn.output_size),
            "text": text.to_dict(),
            "embedding": self.embedding.to_dict(),
            "model": self.model.to_dict(),
            "pretrain": cfg.to_dict(),
            "data": {
                "source": data["source"],
                "sha256": data["sha256"] or _texts_sha256(data["train"] + data["val"]),
                "text_col": self.text_col,
                "n_train": len(data["train"]),
                "n_validation": len(data["val"]),
            },
            "embedding_coverage": None if coverage is None else coverage.to_dict(),
        }
        return Built(
            net,
            config,
            {"vocab.json": vocab.save, **tokenizer_file(tokenizer)},
            train_batches=lambda epoch: _train_batches(
                train_seqs, text, cfg.batch_size, cfg.seed + epoch
            ),
            val_batches=val_batches,
            timing={"word2vec_seconds": round(seconds, 1)},
            state={"vocab": vocab, "tokenizer": tokenizer, "n_val": len(data["val"])},
        )

    step = staticmethod(pretrain_step)

    def fit(self, built, checkpoint_dir, progress, log, resume=False):
        """The template's loop, with the learning rate set before every optimizer step.

        The loop decays the rate per epoch only; a pre-hook on the optimizer
        step of *this* network (its parameters are checked, so no other
        optimizer is touched) sets :func:`scheduled_lr` from the optimizer's
        own step count, which checkpoints save and ``--resume`` restores.
        """
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        ours = {id(p) for p in built.net.parameters()}
        cfg, total = self.pretrain, self.total_steps

        def schedule(optimizer, args, kwargs):
            params = [p for g in optimizer.param_groups for p in g["params"]]
            if not params or id(params[0]) not in ours:
                return None
            done = max((int(s["step"]) for s in optimizer.state.values() if "step" in s), default=0)
            lr = scheduled_lr(cfg, done, total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            return None

        handle = register_optimizer_step_pre_hook(schedule)
        try:
            return super().fit(built, checkpoint_dir, progress, log, resume)
        finally:
            handle.remove()

    def fingerprint(self, built):
        """The run's settings and data; threads, the device and the checkpoint cadence may
        change on ``--resume`` (epochs may not: the schedule spans them)."""
        pretrain = {
            k: v
            for k, v in built.config["pretrain"].items()
            if k not in ("threads", "device", "checkpoint_every_s", "checkpoint_every_steps")
        }
        return {"kind": self.kind, **built.config, "pretrain": pretrain}

    def predictor(self, built):
        state = built.state
        return Encoder(built.net.eval(), state["vocab"], self.text, state["tokenizer"])

    def evaluate(self, model, data, log):
        """The kept epoch's held-out loss and accuracy (the loop measured them)."""
        history = self.history
        best = next((r for r in history.epochs if r["epoch"] == history.best_epoch), None)
        if best is None:  # no epoch recorded: measure the weights in hand
            from rnnlab.training.loop import evaluate_loss

            figures = evaluate_loss(model.net, self.val_batches, self.step)
            return {"validation": {**figures, "n_texts": len(data["val"])}}
        figures = {
            "loss": best["val_loss"],
            "accuracy": best["val_accuracy"],
            "epoch": history.best_epoch,
            "n_texts": len(data["val"]),
        }
        log(
            f"held-out: sampled-softmax loss {figures['loss']:.4f}, true token first "
            f"{figures['accuracy']:.4f} ({self.pretrain.negatives} negatives)"
        )
        return {"validation": figures}


def train_encoder(
    data: str | Path | TextDataset | Sequence[str] = "imdb",
    out: str | Path = "encoder",
    text: TextConfig | None = None,
    embedding: EmbeddingConfig | None = None,
    model: ModelConfig | None = None,
    pretrain: PretrainConfig | None = None,
    text_col: str = "text",
    cache_dir: str | Path | None = None,
    progress: bool = True,
    log=print,
    resume: bool = False,
) -> TrainResult:
    """Pretrain the classifier's encoder without labels and write an encoder directory.

    Parameters
    ----------
    data : "imdb", a path (IMDB archive/folder, CSV, TSV, JSONL), a TextDataset or texts
        Only the texts are read (no label column is needed); IMDB: its train
        split only, never the test split.
    out : path
        Encoder directory to create (replaced atomically if it exists).
    text, embedding, model : configs
        Defaults: the classifier's text and embedding settings (``TextConfig()``,
        ``EmbeddingConfig()``) and :data:`ENCODER_MODEL` (2 x BiLSTM(96), separate
        direction stacks: the best recipe's network); ``rnnlab train --encoder``
        takes the network settings from the encoder.
    pretrain : PretrainConfig
        Objective, negatives, schedule and run settings (default: ``PretrainConfig()``).
    resume : bool
        Continue a killed or interrupted run from its newest valid checkpoint
        (``<out>.checkpoints``); the result is bit-identical to an uninterrupted run.
    """
    task = EncoderTask(
        data,
        text or TextConfig(),
        embedding or EmbeddingConfig(),
        model or ENCODER_MODEL,
        pretrain or PretrainConfig(),
        text_col,
        cache_dir,
    )
    return run(task, out, progress=progress, log=log, resume=resume)


# --------------------------------------------------------------------------- loading


class Encoder:
    """A pretrained encoder: ``encode(texts) -> (N, P)`` pooled recurrent features.

    Obtain one with :func:`load` (``rnnlab.load(path)``) or from
    :func:`train_encoder` (``result.model``). ``vocab``, ``text``, ``tokenizer``,
    ``net`` (a :class:`PretrainNet`) and ``config`` (config.json) are what a task
    that starts from it needs; :func:`encoder_state` gives the weights alone.
    """

    def __init__(
        self,
        net: PretrainNet,
        vocab: Vocab,
        text: TextConfig,
        tokenizer=None,
        path: Path | None = None,
        config: dict | None = None,
    ) -> None:
        self.net = net.eval()
        self.vocab = vocab
        self.text = text
        self.tokenizer = tokenizer if tokenizer is not None else make_tokenizer(text)
        self.path = path
        self.config = config or {}
        self.batch_size = ENCODE_BATCH

    def __repr__(self) -> str:
        return (
            f"Encoder(path={self.path}, objective={self.net.pretrain.objective!r}, "
            f"vocab={len(self.vocab)}, features={self.feature_size})"
        )

    @property
    def feature_size(self) -> int:
        """P, the size of one text's features."""
        return pooled_size(self.net.config.pooling, self.net.rnn.output_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, P) float32 features of ``texts``, in input order: tokenized, truncated
        to ``text.maxlen`` and pooled (``model.pooling``) as the classifier reads them."""
        seqs = encode_ids(texts, self.vocab, self.text, self.tokenizer)
        out = np.zeros((len(seqs), self.feature_size), dtype=np.float32)  # (N, P)
        with torch.inference_mode():
            for idx, ids, lens in padded_batches(seqs, self.text, self.batch_size):
                out[idx] = self.net.features(ids, lens).float().numpy()  # (B, P)
        return out


def _open(path: str | Path) -> tuple[Path, dict, PretrainNet, Vocab, Any, TextConfig]:
    """Verify an encoder directory and build its network from the weights."""
    path, config = open_model_dir(path, KIND)
    try:
        text = TextConfig.from_dict(config["text"])
        model_cfg = ModelConfig.from_dict(config["model"])
        pretrain = PretrainConfig.from_dict(config["pretrain"])
        vocab = Vocab.load(path / "vocab.json")
        if len(vocab) != config["vocab_size"]:
            raise ArtifactError(
                f"{path}: vocab.json has {len(vocab)} entries, config says "
                f"{config['vocab_size']}; the directory is inconsistent: pretrain it again or "
                "restore its directory"
            )
        tokenizer = restore_tokenizer(config["text"], path)
        sizes = config["vocab_size"], config["embedding_dim"]
    except (KeyError, TypeError) as exc:
        raise ArtifactError(
            f"cannot load encoder from {path}: {str(exc).splitlines()[0]}"
        ) from None
    net = load_state(lambda: PretrainNet(model_cfg, *sizes, pretrain), path)
    return path, config, net, vocab, tokenizer, text


def load(path: str | Path, threads: int | None = None) -> Encoder:
    """Load an encoder directory (``rnnlab.load`` dispatches here on kind "encoder").

    ``threads``: see :func:`rnnlab.tasks.base.resolve_threads` (default: half the cores).
    """
    path, config, net, vocab, tokenizer, text = _open(path)
    apply_threads(threads)
    return Encoder(net, vocab, text, tokenizer, path, config)


class EncoderState(NamedTuple):
    """What a task starting from an encoder needs (unpacks as a 4-tuple)."""

    config: dict[str, Any]  # the encoder's config.json ("text", "embedding", "model", ...)
    vocab: Vocab
    tokenizer: Any
    state: dict[str, torch.Tensor]  # "embedding.*" and "rnn.*", as SequenceClassifier names them


def encoder_state(path: str | Path) -> EncoderState:
    """The verified contents of an encoder directory, for ``rnnlab train --encoder DIR``.

    The directory is checked as :func:`load` checks it (config.json, every
    file's sha256, the weights' names and shapes against the config); the
    state holds only the tensors a ``SequenceClassifier`` of the same
    ``ModelConfig`` shares (``embedding.*``, ``rnn.*``), not the head ``proj``.
    Torch's thread count is left alone.
    """
    _, config, net, vocab, tokenizer, _ = _open(path)
    state = {k: v for k, v in net.state_dict().items() if k.startswith(("embedding.", "rnn."))}
    return EncoderState(config, vocab, tokenizer, state)
