"""The encoder-decoder: learning, greedy vs beam search, padding, shapes and config checks."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models.losses import masked_token_loss
from rnnlab.models.seq2seq import BOS, EOS, Seq2Seq, Seq2SeqConfig
from rnnlab.text import PAD
from rnnlab.training import bucket_batches, collate, fit, seed_everything

V = 10  # ids 4..9 are symbols; 0 <pad>, 1 <unk>, 2 <s>, 3 </s>


def make_pairs(n: int, seed: int, task: str = "reverse", max_len: int = 6):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = [rng.randint(4, V - 1) for _ in range(rng.randint(1, max_len))]
        out.append((s, s[::-1] if task == "reverse" else list(s)))
    return out


def batches(pairs, batch_size: int, shuffle: bool, seed: int):
    src = [s for s, _ in pairs]
    y_in = [[BOS, *t] for _, t in pairs]
    y_out = [[*t, EOS] for _, t in pairs]
    lengths = np.array([len(s) for s in src])
    out = []
    for idx in bucket_batches(lengths, batch_size, shuffle, seed):
        ids, lens = collate(src, idx)
        out.append((ids, lens, collate(y_in, idx)[0], collate(y_out, idx)[0]))
    return out


def step(model, batch):
    ids, lens, y_in, y_out = batch
    return masked_token_loss(model(ids, lens, y_in), y_out, PAD)  # logits (N, M, V)


def train_model(task: str, attention: str, cell: str, seed: int = 0) -> Seq2Seq:
    seed_everything(seed)
    cfg = Seq2SeqConfig(
        cell=cell,
        embedding_dim=16,
        hidden_size=32,
        attention=attention,
        dropout=0.0,
        max_output_len=10,
    )
    model = Seq2Seq(cfg, V, V)
    train = make_pairs(1200, seed, task, max_len=5)
    val = make_pairs(100, seed + 100, task, max_len=5)
    config = TrainConfig(epochs=6, batch_size=32, lr=1e-2, lr_decay=0.8, patience=6, threads=1)
    fit(
        model,
        lambda e: batches(train, 32, True, e),
        batches(val, 100, False, 0),
        step,
        config,
        progress=False,
    )
    return model.eval()


def exact_match(model: Seq2Seq, pairs) -> float:
    ids, lens = collate([s for s, _ in pairs], np.arange(len(pairs)))
    outputs, _ = model.greedy(ids, lens)
    return float(np.mean([o == t for o, (_, t) in zip(outputs, pairs, strict=True)]))


# Calibration (1 thread, seeds 0-2, 1200 pairs of length 1-5, 6 epochs): held-out exact match
# reverse/bahdanau/gru 1.00, 1.00, 1.00; copy/luong/lstm 0.980, 0.977, 0.997. Floor 0.95.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "attention", "cell"), [("reverse", "bahdanau", "gru"), ("copy", "luong", "lstm")]
)
def test_learns_copy_and_reverse_with_attention(task, attention, cell):
    model = train_model(task, attention, cell)
    assert exact_match(model, make_pairs(300, 999, task, max_len=5)) >= 0.95


def random_model(attention: str, cell: str = "gru", seed: int = 0, vocab: int = 12) -> Seq2Seq:
    torch.manual_seed(seed)
    cfg = Seq2SeqConfig(
        cell=cell, embedding_dim=8, hidden_size=8, attention=attention, max_output_len=7
    )
    return Seq2Seq(cfg, vocab, vocab).eval()  # untrained: outputs of varied lengths


def random_batch(n: int = 24, seed: int = 0, vocab: int = 12):
    rng = random.Random(seed)
    seqs = [[rng.randint(4, vocab - 1) for _ in range(rng.randint(1, 9))] for _ in range(n)]
    return seqs, *collate(seqs, np.arange(n))


ALL = [(a, c) for a in ("none", "bahdanau", "luong") for c in ("gru", "lstm")]


@pytest.mark.parametrize(("attention", "cell"), ALL)
def test_beam_one_is_greedy(attention, cell):
    for seed in range(3):
        model = random_model(attention, cell, seed)
        _, ids, lens = random_batch(seed=seed)
        greedy, g_scores = model.greedy(ids, lens)
        beam, b_scores = model.beam_search(ids, lens, beam_size=1, keep_greedy=False)
        assert beam == greedy
        assert torch.allclose(b_scores, g_scores, atol=1e-5)


@pytest.mark.parametrize(("attention", "cell"), ALL)
def test_beam_never_scores_below_greedy_and_scores_are_model_scores(attention, cell):
    better = 0
    for seed in range(3):
        model = random_model(attention, cell, seed)
        _, ids, lens = random_batch(seed=seed)
        greedy, g_scores = model.greedy(ids, lens)
        for beam_size in (2, 4):
            beam, b_scores = model.beam_search(ids, lens, beam_size=beam_size)
            assert bool((b_scores >= g_scores - 1e-5).all())
            with torch.no_grad():
                rescored = model.score(ids, lens, beam)
            finished = [len(o) < model.config.max_output_len for o in beam]
            assert torch.allclose(rescored[finished], b_scores[finished], atol=1e-4)
            better += int((b_scores > g_scores + 1e-4).sum())
        with torch.no_grad():
            assert torch.allclose(
                model.score(ids, lens, greedy)[[len(o) < 7 for o in greedy]],
                g_scores[[len(o) < 7 for o in greedy]],
                atol=1e-4,
            )
    assert better > 0  # the search does find better outputs than greedy somewhere


@pytest.mark.parametrize(("attention", "cell"), ALL)
def test_source_padding_does_not_change_outputs(attention, cell):
    model = random_model(attention, cell, seed=1)
    seqs, ids, lens = random_batch(seed=5)
    alone = [model.greedy(*collate([s], np.arange(1))) for s in seqs]
    batched, scores = model.greedy(ids, lens)
    assert batched == [out[0] for out, _ in alone]
    assert torch.allclose(scores, torch.cat([s for _, s in alone]), atol=1e-5)
    # extra padding columns change nothing either, for beam search too
    wide = torch.cat([ids, torch.zeros(ids.shape[0], 5, dtype=ids.dtype)], dim=1)  # (N, S+5)
    b1, s1 = model.beam_search(ids, lens, 3)
    b2, s2 = model.beam_search(wide, lens, 3)
    assert b1 == b2 and torch.allclose(s1, s2, atol=1e-5)


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_attention_gives_no_weight_to_padding(attention):
    model = random_model(attention)
    _, ids, lens = random_batch(seed=2)
    with torch.no_grad():
        enc, state = model.encode(ids, lens)
        _, _, attn = model.step(ids.new_full((ids.shape[0],), BOS), state, enc)
    assert attn.shape == ids.shape  # (N, S)
    assert torch.allclose(attn.sum(dim=1), torch.ones(ids.shape[0]))
    assert float(attn[~enc.mask].abs().sum()) == 0.0


def test_forward_shapes_and_max_output_len():
    model = random_model("luong")
    _, ids, lens = random_batch(n=5)
    y_in = torch.full((5, 4), BOS)
    assert model(ids, lens, y_in).shape == (5, 4, 12)  # (N, M, V)
    outputs, _ = model.greedy(ids, lens, max_len=3)
    assert all(len(o) <= 3 for o in outputs)
    assert all(t not in (0, BOS, EOS) for o in outputs for t in o)


def test_config_and_argument_errors():
    with pytest.raises(RnnlabError, match="model.attention"):
        Seq2SeqConfig(attention="dot")
    with pytest.raises(RnnlabError, match="model.cell"):
        Seq2SeqConfig(cell="transformer")
    with pytest.raises(RnnlabError, match="unknown Seq2SeqConfig"):
        Seq2SeqConfig.from_dict({"hidden": 3})
    model = random_model("none")
    _, ids, lens = random_batch(n=2)
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(ids, lens, beam_size=0)
    with pytest.raises(ValueError, match="target_vocab_size"):
        Seq2Seq(Seq2SeqConfig(), 10, 3)
