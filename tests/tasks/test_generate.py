"""Conditional generation end to end on a tiny corpus: training, sampling, perplexity, artifacts."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch

from rnnlab.artifacts import read_config
from rnnlab.config import TextConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.tasks.generate import (
    Generator,
    build_vocab,
    conditioning_check,
    detokenize,
    lm_batches,
    lm_sequences,
    load_generator,
    train_generator,
)
from rnnlab.models.generator import ConditionalLM, GeneratorConfig
from rnnlab.tasks.classify import bundled_model_path
from rnnlab.text import tokenize

NEG = ["awful", "boring", "hated", "dull", "terrible"]
POS = ["great", "wonderful", "loved", "superb", "excellent"]
SHARED = ["the", "film", "was", "a"]


def corpus(n: int = 400, seed: int = 0) -> TextDataset:
    """Label 0 texts use NEG words, label 1 texts POS words, both some SHARED words.

    Ratings: 1-4 for label 0, 7-10 for label 1 (as in IMDB).
    """
    rng = random.Random(seed)
    texts, labels, ratings = [], [], []
    for i in range(n):
        y = i % 2
        words = POS if y else NEG
        toks = [rng.choice(words + SHARED) for _ in range(rng.randint(3, 9))]
        texts.append(" ".join(toks) + " .")
        labels.append(y)
        ratings.append(rng.choice([7, 8, 9, 10]) if y else rng.choice([1, 2, 3, 4]))
    return TextDataset(texts, labels, ["neg", "pos"], "toy", ratings=ratings)


TEXT = TextConfig(max_vocab=100, min_freq=1, maxlen=20, truncating="post")
TRAIN = TrainConfig(epochs=4, batch_size=16, lr=1e-2, threads=1, val_fraction=0.1)
# the pure one-to-many model: the condition only sets the initial state
SMALL = GeneratorConfig(
    embed_dim=16, hidden_size=32, condition_dim=8, use_rating=True, condition_every_step=False
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "model"
    result = train_generator(
        corpus(),
        out,
        text=TEXT,
        generator=SMALL,
        training=TRAIN,
        test_data=corpus(100, seed=1),
        progress=False,
        log=lambda _m: None,
    )
    return result


def test_samples_follow_the_condition(trained):
    gen = trained.generator
    for sentiment, own, other in (("positive", POS, NEG), ("neg", NEG, POS)):
        words = [w for t in gen.generate(sentiment, n=40, seed=0, guidance=0) for w in tokenize(t)]
        n_own = sum(w in own for w in words)
        n_other = sum(w in other for w in words)
        # untrained: ~0.5. Calibrated over corpus/training seeds 0-2 (4 and 8 epochs):
        # the other class's share of cue words was 0.01-0.13
        assert n_other / (n_own + n_other) < 0.2, (sentiment, n_own, n_other)
        assert n_own > 60


def test_training_figures_and_model_directory(trained):
    m = trained.metrics
    # uniform over the 13 real targets would be perplexity ~13; the cue words halve it
    assert 1 < m["validation"]["perplexity"] < 9
    assert 1 < m["test"]["perplexity"] < 9
    assert m["test"]["n_texts"] == 100
    files = {p.name for p in trained.out.iterdir()}
    assert {"config.json", "vocab.json", "model.safetensors", "metrics.json"} <= files
    assert {"history.jsonl", "learning_curve.png"} <= files
    config = read_config(trained.out, kind="generator")
    assert config["label_names"] == ["neg", "pos"]
    assert config["ratings_seen"] == {str(r): "neg" for r in range(1, 5)} | {
        str(r): "pos" for r in range(7, 11)
    }
    assert len(trained.history) == TRAIN.epochs
    assert json.loads((trained.out / "metrics.json").read_text()) == json.loads(json.dumps(m))


def test_save_load_round_trip(trained):
    loaded = load_generator(trained.out)
    kw = {"n": 5, "seed": 7, "rating": 9}
    assert loaded.generate("pos", **kw) == trained.generator.generate("pos", **kw)
    assert loaded.vocab == trained.generator.vocab
    test = corpus(50, seed=3)
    assert loaded.perplexity(test) == trained.generator.perplexity(test)


def test_same_seed_same_text_different_seed_different(trained):
    gen = trained.generator
    assert gen.generate("pos", n=4, seed=1) == gen.generate("pos", n=4, seed=1)
    assert gen.generate("pos", n=4, seed=1) != gen.generate("pos", n=4, seed=2)
    greedy = gen.generate("pos", n=2, temperature=0)
    assert gen.generate("pos", n=2, top_k=1, seed=5) == greedy


def test_training_is_deterministic_given_a_seed(tmp_path):
    kw = {
        "text": TEXT,
        "generator": GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4),
        "training": TRAIN.replace(epochs=1),
        "progress": False,
        "log": lambda _m: None,
    }
    a = train_generator(corpus(100), tmp_path / "a", **kw)
    b = train_generator(corpus(100), tmp_path / "b", **kw)
    assert a.metrics["validation"] == b.metrics["validation"]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()


def test_perplexity_of_a_zero_output_layer_is_the_vocabulary_size():
    ds = corpus(30)
    vocab = build_vocab([tokenize(t) for t in ds.texts], TEXT)
    cfg = GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4, tie_weights=False)
    net = ConditionalLM(cfg, len(vocab), 2)
    with torch.no_grad():
        net.output.weight.zero_()
        net.output.bias.zero_()
    ppl = Generator(net, vocab, TEXT, ["neg", "pos"]).perplexity(ds)
    assert ppl["perplexity"] == pytest.approx(len(vocab), rel=1e-9)
    # every text fits in maxlen, so each has its words plus </s> as targets
    assert ppl["tokens"] == sum(len(tokenize(t)) + 1 for t in ds.texts)


def test_perplexity_matches_a_hand_computation():
    """Batched, padded perplexity == exp(mean -log p) summed one text at a time."""
    ds = corpus(20)
    text = TEXT.replace(maxlen=6)  # some texts are cut (no </s>), some are not
    vocab = build_vocab([tokenize(t) for t in ds.texts], text)
    torch.manual_seed(0)
    net = ConditionalLM(
        GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4), len(vocab), 2
    ).eval()
    seqs = lm_sequences([tokenize(t) for t in ds.texts], vocab, text.maxlen)
    nll, count = 0.0, 0
    with torch.no_grad():
        for seq, y in zip(seqs, ds.labels, strict=True):
            logp = torch.log_softmax(net(torch.tensor([seq[:-1]]), torch.tensor([y]))[0], -1)
            for t, target in enumerate(seq[1:]):
                nll -= float(logp[t, target])
                count += 1
    got = Generator(net, vocab, text, ["neg", "pos"]).perplexity(ds, batch_size=7)
    assert got["tokens"] == count
    assert got["perplexity"] == pytest.approx(math.exp(nll / count), rel=1e-5)


def test_sequences_end_only_when_the_text_ended():
    vocab = build_vocab([["a", "b", "c"]], TEXT)
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    bos, eos = 2, 3
    a, b, c = (vocab.stoi[w] for w in "abc")
    assert lm_sequences([["a", "b"], ["a", "b", "c"], ["a", "zz"]], vocab, maxlen=2) == [
        [bos, a, b, eos],
        [bos, a, b],  # cut: no false end
        [bos, a, 1, eos],  # unknown word -> <unk>
    ]
    del c


def test_batches_shift_targets_and_hide_a_share_of_ratings():
    seqs = [[2, 5, 6, 3], [2, 7, 3], [2, 8, 9, 10, 3]]
    batches = lm_batches(seqs, [0, 1, 0], [1, 9, 2], batch_size=3)
    x, t, y, r = batches[0]
    for row in range(3):
        n = int((x[row] != 0).sum())
        assert t[row, : n - 1].tolist() == x[row, 1:n].tolist()
        assert int(t[row, n - 1]) == 3
    hidden = lm_batches(seqs * 200, [0, 1, 0] * 200, [1, 9, 2] * 200, 600, rating_dropout=0.25)
    share = float((hidden[0][3] == 0).float().mean())
    assert 0.18 < share < 0.32


def test_detokenize():
    toks = "i loved it , really ( truly ) ! it cost $ 5 . what ? i'm sure".split()
    assert detokenize(toks) == "I loved it, really (truly)! It cost $5. What? I'm sure"


class WordClassifier:
    """Stands in for the sentiment model: P(pos) = share of POS among cue words."""

    label_names = ["neg", "pos"]

    def predict_proba(self, texts):
        out = []
        for t in texts:
            words = tokenize(t)
            p, n = sum(w in POS for w in words), sum(w in NEG for w in words)
            q = (p + 0.5) / (p + n + 1)
            out.append([1 - q, q])
        return np.asarray(out)

    def predict(self, texts):
        probs = self.predict_proba(texts)
        return [{"label": self.label_names[int(k)]} for k in probs.argmax(1)]


def test_conditioning_check(trained):
    result = conditioning_check(trained.generator, n=30, classifier=WordClassifier())
    assert result["shares"]["positive"] >= 0.9
    assert result["shares"]["negative"] >= 0.9
    per_rating = result["rating_p_pos"]
    assert set(per_rating) == {"1", "2", "3", "4", "7", "8", "9", "10"}
    assert all(per_rating[r]["mean_p_pos"] < 0.3 for r in "1234")
    assert all(per_rating[r]["mean_p_pos"] > 0.7 for r in ("7", "8", "9", "10"))


def test_conditioning_check_needs_sentiment_labels(trained, tmp_path):
    ds = corpus(60)
    ds = TextDataset(ds.texts, ds.labels, ["sports", "news"], "toy")
    result = train_generator(
        ds,
        tmp_path / "m",
        text=TEXT,
        generator=GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4),
        training=TRAIN.replace(epochs=1),
        progress=False,
        log=lambda _m: None,
    )
    with pytest.raises(RnnlabError, match="neg/pos"):
        conditioning_check(result.generator, n=2, classifier=WordClassifier())
    assert len(result.generator.generate("news", n=2)) == 2  # guided by default (two labels)
    assert result.generator.generate("news", n=2, guidance=0) != result.generator.generate(
        "news", n=2
    )


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"sentiment": "meh"}, "unknown sentiment 'meh'.*pos \\(positive\\)"),
        ({"sentiment": "pos", "rating": 11}, "rating must be from 1 to 10"),
        ({"sentiment": "pos", "rating": 0}, "rating must be from 1 to 10"),
        ({"sentiment": "pos", "rating": 2.5}, "integer"),
        ({"sentiment": "pos", "n": 0}, "n must be"),
        ({"sentiment": "pos", "temperature": -1}, "temperature"),
        ({"sentiment": "pos", "max_len": 0}, "max_len"),
        ({"sentiment": "pos", "guidance": -1.0}, "guidance"),
        ({"sentiment": "pos", "max_run": -1}, "max_run"),
    ],
)
def test_generate_errors(trained, kw, needle):
    with pytest.raises(RnnlabError, match=needle):
        trained.generator.generate(**kw)


def test_rating_on_a_model_without_ratings(tmp_path):
    result = train_generator(
        corpus(60),
        tmp_path / "m",
        text=TEXT,
        generator=GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4),
        training=TRAIN.replace(epochs=1),
        progress=False,
        log=lambda _m: None,
    )
    with pytest.raises(RnnlabError, match="without ratings"):
        result.generator.generate("pos", rating=8)


def test_use_rating_needs_ratings(tmp_path):
    csv = tmp_path / "d.csv"
    ds = corpus(40)
    csv.write_text(
        "text,label\n"
        + "".join(f"{t},{ds.label_names[y]}\n" for t, y in zip(ds.texts, ds.labels, strict=True))
    )
    with pytest.raises(DataError, match="no ratings"):
        train_generator(csv, tmp_path / "m", generator=SMALL, progress=False, log=lambda _m: None)
    assert not (tmp_path / "m").exists()


def test_loading_a_model_of_another_kind():
    with pytest.raises(ArtifactError, match="'classifier' model, expected 'generator'"):
        load_generator(bundled_model_path())
