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
from rnnlab.models.generator import ConditionalLM, GeneratorConfig
from rnnlab.tasks import load as load_any
from rnnlab.tasks.base import TrainResult, bundled_model_path
from rnnlab.tasks.generate import (
    DEFAULT_SAMPLE,
    Generator,
    SampleConfig,
    build_vocab,
    conditioning_check,
    detokenize,
    evaluate_generator,
    lm_batches,
    lm_sequences,
    lm_step,
    load,
    train_generator,
)
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


def untrained(**kw) -> Generator:
    """A generator with random weights (for errors that need no training)."""
    ds = corpus(30)
    vocab = build_vocab([tokenize(t) for t in ds.texts], TEXT)
    torch.manual_seed(0)
    cfg = GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4, **kw)
    return Generator(ConditionalLM(cfg, len(vocab), 2), vocab, TEXT, ["neg", "pos"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "model"
    lines: list[str] = []
    result = train_generator(
        corpus(),
        out,
        text=TEXT,
        generator=SMALL,
        training=TRAIN,
        test_data=corpus(100, seed=1),
        progress=False,
        log=lines.append,
    )
    result.log = lines
    return result


@pytest.mark.slow
def test_samples_follow_the_condition(trained):
    gen = trained.model
    for sentiment, own, other in (("positive", POS, NEG), ("neg", NEG, POS)):
        words = [w for t in gen.generate(sentiment, n=40, seed=0, guidance=0) for w in tokenize(t)]
        n_own = sum(w in own for w in words)
        n_other = sum(w in other for w in words)
        # untrained: ~0.5. Calibrated over corpus/training seeds 0-2 (4 and 8 epochs):
        # the other class's share of cue words was 0.01-0.13
        assert n_other / (n_own + n_other) < 0.2, (sentiment, n_own, n_other)
        assert n_own > 60


@pytest.mark.slow
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


@pytest.mark.slow
def test_save_load_round_trip(trained):
    loaded = load(trained.out, threads=1)
    kw = {"n": 5, "seed": 7, "rating": 9}
    assert loaded.generate("pos", **kw) == trained.model.generate("pos", **kw)
    assert loaded.vocab == trained.model.vocab
    test = corpus(50, seed=3)
    assert loaded.perplexity(test) == trained.model.perplexity(test)
    # what training keeps in memory is what config.json holds
    assert loaded.config == trained.model.config


@pytest.mark.slow
def test_train_returns_the_shared_result_and_the_registry_loads_it(trained):
    assert isinstance(trained, TrainResult)
    assert isinstance(trained.model, Generator) and trained.model.path == trained.out
    assert 1 <= trained.best_epoch <= TRAIN.epochs
    via_registry = load_any(trained.out, threads=1)  # dispatches on kind "generator"
    assert isinstance(via_registry, Generator)
    kw = {"n": 3, "seed": 2}
    assert via_registry.generate("neg", **kw) == trained.model.generate("neg", **kw)


@pytest.mark.slow
@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (2, 2), (0, None)])
def test_load_sets_threads_as_the_template_does(trained, threads, expected):
    import os

    load(trained.out, threads=threads)
    assert torch.get_num_threads() == (expected or os.cpu_count())


@pytest.mark.slow
def test_load_rejects_a_bad_thread_count(trained):
    with pytest.raises(RnnlabError, match="threads must be"):
        load(trained.out, threads=-1)


@pytest.mark.slow
def test_epoch_log_shows_perplexities(trained):
    epochs = [line for line in trained.log if line.startswith("epoch ")]
    assert len(epochs) == TRAIN.epochs
    for line, record in zip(epochs, trained.history, strict=True):
        assert f"train loss {record['train_loss']:.4f} " in line
        assert f"(ppl {math.exp(record['train_loss']):.1f})" in line
        assert f"(ppl {math.exp(record['val_loss']):.1f})" in line
    assert f"kept epoch {trained.best_epoch} (lowest validation loss)" in trained.log
    best = trained.history[trained.best_epoch - 1]
    assert trained.metrics["validation"]["perplexity"] == pytest.approx(math.exp(best["val_loss"]))


@pytest.mark.slow
def test_same_seed_same_text_different_seed_different(trained):
    gen = trained.model
    assert gen.generate("pos", n=4, seed=1) == gen.generate("pos", n=4, seed=1)
    assert gen.generate("pos", n=4, seed=1) != gen.generate("pos", n=4, seed=2)
    greedy = gen.generate("pos", n=2, temperature=0)
    assert gen.generate("pos", n=2, top_k=1, seed=5) == greedy


@pytest.mark.slow
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


@pytest.mark.slow
def test_conditioning_check(trained):
    result = conditioning_check(trained.model, n=30, classifier=WordClassifier())
    assert result["shares"]["positive"] >= 0.9
    assert result["shares"]["negative"] >= 0.9
    per_rating = result["rating_p_pos"]
    assert set(per_rating) == {"1", "2", "3", "4", "7", "8", "9", "10"}
    assert all(per_rating[r]["mean_p_pos"] < 0.3 for r in "1234")
    assert all(per_rating[r]["mean_p_pos"] > 0.7 for r in ("7", "8", "9", "10"))


@pytest.mark.slow
def test_evaluate_generator_perplexity_and_check(trained):
    data = corpus(40, seed=5)
    result = evaluate_generator(trained.out, data, n=30, classifier=WordClassifier())
    assert result["model"] == str(trained.out)
    assert result["perplexity"]["perplexity"] == trained.model.perplexity(data)["perplexity"]
    # the same samples as the check run directly (same seeds and defaults)
    assert result["conditioning"] == conditioning_check(trained.model, WordClassifier(), n=30)
    assert result["conditioning"]["guidance"] == 1.5  # the two-label default, as sampled
    assert "conditioning" not in evaluate_generator(trained.model, data, check=False)


def test_the_check_needs_a_sentiment_classifier():
    gen = untrained()
    with pytest.raises(RnnlabError, match="needs a sentiment classifier"):
        evaluate_generator(gen, corpus(10), n=2)
    with pytest.raises(RnnlabError, match="needs a sentiment classifier"):
        conditioning_check(gen, None, n=2)


@pytest.mark.slow
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
        conditioning_check(result.model, n=2, classifier=WordClassifier())
    assert len(result.model.generate("news", n=2)) == 2  # guided by default (two labels)
    assert result.model.generate("news", n=2, guidance=0) != result.model.generate("news", n=2)


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
def test_generate_errors(kw, needle):
    with pytest.raises(RnnlabError, match=needle):
        untrained(use_rating=True).generate(**kw)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": 2.5}, "top_k must be an integer"),
        ({"max_len": 1.5}, "max_len"),
        ({"guidance": float("inf")}, "guidance"),
        ({"max_run": True}, "max_run"),
    ],
)
def test_sample_config_rejects_bad_values(kw, needle):
    with pytest.raises(RnnlabError, match=needle):
        SampleConfig(**kw)


def test_sampling_defaults_live_in_one_place():
    import inspect

    for fn in (Generator.generate, Generator.generate_ids, conditioning_check, evaluate_generator):
        params = inspect.signature(fn).parameters
        assert {"temperature", "top_k", "max_len", "guidance"} <= set(params), fn.__name__
        for name, value in DEFAULT_SAMPLE.to_dict().items():
            if name in params:
                assert params[name].default == value, (fn.__name__, name)


def test_lm_step_counts_only_real_tokens():
    torch.manual_seed(0)
    net = ConditionalLM(GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4), 12, 2).eval()
    batch = lm_batches([[2, 5, 6, 3], [2, 7, 3]], [0, 1], None, batch_size=2)[0]
    loss, correct, n = lm_step(net, batch)
    assert n == 5  # 3 + 2 targets; the padded position is not counted
    assert 0 <= correct <= n
    x, t, y, r = batch
    logp = torch.log_softmax(net(x, y, r), -1)  # (N, T, V)
    real = t != 0
    expected = -logp.gather(-1, t.unsqueeze(-1)).squeeze(-1)[real].mean()
    torch.testing.assert_close(loss, expected)


def test_the_generator_refuses_a_non_word_tokenizer(tmp_path):
    with pytest.raises(RnnlabError, match="word-level"):
        train_generator(
            corpus(20), tmp_path / "m", text=TEXT.replace(tokenizer="chars"), progress=False
        )
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
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
        result.model.generate("pos", rating=8)


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
        load(bundled_model_path())
