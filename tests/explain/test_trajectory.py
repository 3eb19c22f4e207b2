"""The trajectory is P(target) on each prefix: one pass (unidirectional) or re-runs (BiLSTM)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.explain import explain_classifier
from rnnlab.models import SequenceClassifier

TEXT = "the film was not great , but the ending was wonderful"


def prefix_probabilities(clf, tokens: list[str], target: int) -> np.ndarray:
    """P(target) of the classifier's own predict on every prefix text (the definition)."""
    return clf.predict_proba([" ".join(tokens[: i + 1]) for i in range(len(tokens))])[:, target]


@pytest.mark.parametrize("cell, pooling", [("lstm", "last"), ("gru", "maxmean"), ("none", "max")])
def test_unidirectional_trajectory_is_one_pass(make_classifier, cell, pooling):
    clf = make_classifier(cell, bidirectional=False, pooling=pooling)
    [e] = explain_classifier(clf, [TEXT])
    assert e["trajectory_kind"] == "one-pass"
    traj = [t["trajectory"] for t in e["tokens"]]
    assert len(traj) == len(TEXT.split())
    assert traj[-1] == pytest.approx(e["score"], abs=1e-6)  # the whole text: predict's P
    target = clf.label_names.index(e["target"])
    np.testing.assert_allclose(traj, prefix_probabilities(clf, TEXT.split(), target), atol=1e-5)


def test_bidirectional_trajectory_reruns_every_prefix(make_classifier):
    clf = make_classifier("lstm", bidirectional=True, pooling="maxmean")
    [e] = explain_classifier(clf, [TEXT])
    assert e["trajectory_kind"] == "prefix-reruns"
    traj = np.array([t["trajectory"] for t in e["tokens"]])
    target = clf.label_names.index(e["target"])
    np.testing.assert_allclose(traj, prefix_probabilities(clf, TEXT.split(), target), atol=1e-5)
    # not the full pass's states pooled up to i: those have read the rest of the text
    net = clf.net
    ids = torch.tensor([clf.vocab.encode(TEXT.split())])
    with torch.no_grad():
        full = net.rnn(net.embedding(ids), torch.tensor([ids.shape[1]]))[0]  # (T, 2H)
        from rnnlab.models.classifier import running_pool

        peek = torch.softmax(net.head(running_pool(full, "maxmean")), dim=1)[:, target]
    assert not np.allclose(traj[:-1], peek.numpy()[:-1], atol=1e-3)


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "none"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "maxmean"])
def test_prefix_logits_match_running_the_network_on_each_prefix(bidirectional, cell, pooling):
    if cell == "none" and pooling == "last":
        pytest.skip("the order-blind baseline has no last state")
    torch.manual_seed(1)
    cfg = ModelConfig(
        cell=cell, hidden_size=5, num_layers=2, bidirectional=bidirectional, pooling=pooling
    )
    net = SequenceClassifier(cfg, 20, 4, 3).eval()
    emb = torch.randn(1, 9, 4)
    with torch.no_grad():
        got = net.prefix_logits(emb, chunk=4)  # chunks of 4 prefixes: 3 batches
        want = torch.cat(
            [net.forward_embedded(emb[:, : i + 1], torch.tensor([i + 1])) for i in range(9)]
        )
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert net.reads_left_to_right == (cell == "none" or not bidirectional)


def test_forward_is_forward_embedded_after_the_lookup():
    torch.manual_seed(0)
    net = SequenceClassifier(ModelConfig(hidden_size=4), 30, 6, 2).eval()
    ids = torch.tensor([[3, 4, 5, 0], [7, 8, 0, 0]])
    lengths = torch.tensor([3, 2])
    with torch.no_grad():
        torch.testing.assert_close(
            net(ids, lengths), net.forward_embedded(net.embedding(ids), lengths)
        )


@pytest.mark.parametrize("cell, bidirectional", [("lstm", True), ("gru", True), ("rnn", False)])
def test_unpadded_batches_flip_time_instead_of_reversing_within_lengths(cell, bidirectional):
    torch.manual_seed(2)
    cfg = ModelConfig(cell=cell, hidden_size=5, num_layers=2, bidirectional=bidirectional)
    net = SequenceClassifier(cfg, 20, 4, 2).eval()
    emb = torch.randn(3, 7, 4)
    with torch.no_grad():
        torch.testing.assert_close(
            net.forward_embedded(emb), net.forward_embedded(emb, torch.full((3,), 7))
        )
