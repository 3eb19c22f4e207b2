"""Wide & deep: NBSVM's features in torch, added to the recurrent logits, trained jointly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig, TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.models.linear import LinearConfig, LinearTextClassifier, log_count_ratio
from rnnlab.models.wide import (
    WideAndDeep,
    WideConfig,
    WideFeatures,
    WideLinear,
    bag_tensors,
    build_wide,
    wide_batches,
    wide_deep_step,
)
from rnnlab.tasks.classify import encode, padded_batches
from rnnlab.text import Vocab, tokenize


def corpus(reviews, n, seed, classes=("neg", "pos")):
    texts, labels = reviews(n, seed, classes)
    return texts, np.asarray([classes.index(y) for y in labels], dtype=np.int64)


def deep_part(texts, num_classes, seed=0):
    text = TextConfig(maxlen=40)
    vocab = Vocab.build([tokenize(t) for t in texts], max_size=200, min_freq=1)
    torch.manual_seed(seed)
    net = SequenceClassifier(ModelConfig(hidden_size=8, num_layers=1), len(vocab), 8, num_classes)
    return net, vocab, text


def test_features_and_ratios_are_nbsvms(reviews):
    texts, y = corpus(reviews, 120, 0)
    cfg = WideConfig(ngram_range=(1, 2))
    feats, wide = build_wide(texts, y, tokenize, cfg)
    nb = LinearTextClassifier.fit("nbsvm", texts, y, ["neg", "pos"], cfg.linear_config())
    held, _ = corpus(reviews, 30, 1)
    assert feats.terms == nb.vectorizer.get_feature_names_out().tolist()
    X = feats(held)
    assert (X != nb.vectorizer.transform(held)).nnz == 0
    r = log_count_ratio(nb.vectorizer.transform(texts), y == 1, cfg.nb_alpha)
    np.testing.assert_allclose(wide.r[:, 0].numpy(), r, rtol=1e-6)
    assert not torch.any(wide.weight)  # init="zero"
    again = WideFeatures.from_terms(feats.terms, json.loads(json.dumps(feats.params())))
    assert (again(held) != X).nnz == 0  # saved as JSON, rebuilt: the same features


@pytest.mark.parametrize("classes", [("neg", "pos"), ("neg", "neu", "pos")])
def test_nbsvm_warm_start_scores_like_nbsvm(reviews, classes):
    """init="nbsvm": the wide part alone is the fitted NBSVM, two classes or one-vs-rest."""
    texts, y = corpus(reviews, 150, 0, classes)
    cfg = WideConfig(ngram_range=(1, 2), init="nbsvm")
    feats, wide = build_wide(texts, y, tokenize, cfg, num_classes=len(classes))
    nb = LinearTextClassifier.fit("nbsvm", texts, y, list(classes), cfg.linear_config())
    held, _ = corpus(reviews, 40, 3, classes)
    with torch.no_grad():
        z = wide.eval()(*bag_tensors(feats(held))).double().numpy()  # (N, C)
    expected = nb.decision_function(held)  # (N, K)
    if len(classes) == 2:
        np.testing.assert_allclose(z[:, 0], 0.0)
        z = z[:, 1:]
    np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-4)


def test_forward_is_deep_plus_wide_and_gradients_reach_both(reviews):
    texts, y = corpus(reviews, 64, 0)
    feats, wide = build_wide(texts, y, tokenize, WideConfig(ngram_range=(1, 2), init="nbsvm"))
    net, vocab, text = deep_part(texts, 2)
    model = WideAndDeep(net, wide).eval()
    idx, ids, lens = next(iter(padded_batches(encode(texts, vocab, text), text, 16)))
    bag = bag_tensors(feats([texts[i] for i in idx]))
    with torch.no_grad():
        joint = model(ids, lens, *bag)
        torch.testing.assert_close(joint, net(ids, lens) + wide(*bag))
        model.use_wide = False
        torch.testing.assert_close(model(ids, lens, *bag), net(ids, lens))
        model.use_wide, model.use_deep = True, False
        torch.testing.assert_close(model(ids, lens, *bag), wide(*bag))
    model.use_deep = True
    loss, _, _ = wide_deep_step(model.train(), (ids, lens, *bag, torch.as_tensor(y[idx])))
    loss.backward()
    assert net.embedding.weight.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.rnn.parameters())
    grad = wide.weight.grad[:, 0]
    present = torch.zeros(wide.n_features, dtype=torch.bool)
    present[bag[0]] = True
    assert grad[present].abs().sum() > 0 and wide.bias.grad.abs().sum() > 0
    assert not torch.any(grad[~present])  # n-grams absent from the batch get no gradient


def test_feature_dropout_only_while_training(reviews):
    texts, y = corpus(reviews, 60, 0)
    feats, wide = build_wide(texts, y, tokenize, WideConfig(init="nbsvm", feature_dropout=0.5))
    bag = bag_tensors(feats(texts[:8]))
    wide.eval()
    torch.testing.assert_close(wide(*bag), wide(*bag))
    wide.train()
    torch.manual_seed(0)
    assert not torch.allclose(wide(*bag), wide.eval()(*bag))


@pytest.mark.slow
def test_wide_part_learns_a_bag_of_words_signal(reviews):
    """The cue words carry the label wherever they stand: the wide part, started at
    zero and trained jointly, must learn them. Calibrated with corpus, network and
    shuffling seeds 0-4: held-out wide-only accuracy 1.00 in every run (limit 0.9)."""
    texts, y = corpus(reviews, 240, 0)
    held, y_held = corpus(reviews, 100, 1)
    cfg = WideConfig(ngram_range=(1, 1))
    feats, wide = build_wide(texts, y, tokenize, cfg)
    net, vocab, text = deep_part(texts, 2)
    model = WideAndDeep(net, wide)
    opt = torch.optim.AdamW(model.param_groups(1e-2, cfg), weight_decay=0.0)
    seqs = encode(texts, vocab, text)
    for epoch in range(4):
        for batch in wide_batches(seqs, feats(texts), y, text, 16, True, epoch):
            loss, _, _ = wide_deep_step(model, batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval().use_deep = False
    (ids, lens, *bag, y_batch), *_ = wide_batches(
        encode(held, vocab, text), feats(held), y_held, text, 1000, False, 0
    )  # one batch: every held-out text
    with torch.no_grad():
        pred = model(ids, lens, *bag).argmax(dim=1)
    assert (pred == y_batch).float().mean() >= 0.9
    effective = (wide.r * wide.weight)[:, 0]  # (V,) r_j w_j
    col = {t: j for j, t in enumerate(feats.terms)}
    assert all(effective[col[w]] > 0 for w in ("great", "wonderful", "excellent", "loved"))
    assert all(effective[col[w]] < 0 for w in ("awful", "terrible", "boring", "hated"))


def test_bad_settings_are_one_line_errors(reviews):
    texts, y = corpus(reviews, 20, 0)
    with pytest.raises(RnnlabError, match="wide.feature_dropout"):
        WideConfig(feature_dropout=1.0)
    with pytest.raises(RnnlabError, match="wide.init"):
        WideConfig(init="random")
    with pytest.raises(RnnlabError, match="tokenizer 'words'"):
        build_wide(texts, y, str.split, WideConfig())
    with pytest.raises(RnnlabError, match="one label per text"):
        build_wide(texts, y[:5], tokenize, WideConfig())
    with pytest.raises(ValueError, match="r must have 1 row"):
        WideLinear(np.zeros((3, 5)), num_classes=2)
    assert WideConfig(ngram_range=[1, 2]).ngram_range == (1, 2)
    assert WideConfig().linear_config() == LinearConfig(ngram_range=(1, 3), max_features=0,
                                                        C=1.0, beta=0.25)  # fmt: skip
