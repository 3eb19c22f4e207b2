"""Integrated gradients and occlusion: completeness, exact cases, the contract's dict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.config import TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.explain import explain_classifier, explain_model
from rnnlab.explain.attributions import integrated_gradients, log_odds, occlusion

TEXT = "not great , but a wonderful ending . it was loved"
CONTRACT_KEYS = {
    "label",
    "score",
    "target",
    "method",
    "tokens",
    "trajectory_kind",
    "completeness",
    "known_share",
}
TOKEN_KEYS = {"token", "attribution", "trajectory", "known", "read"}


def f_of(clf, text_ids: list[int], target: int, zero: bool = False) -> float:
    """Log-odds of ``target`` computed directly from the network (zero: the baseline)."""
    net = clf.net.eval()
    with torch.no_grad():
        emb = net.embedding(torch.tensor([text_ids]))
        if zero:
            emb = torch.zeros_like(emb)
        logits = net.forward_embedded(emb, torch.tensor([len(text_ids)]))
        return float(log_odds(logits, target)[0])


@pytest.mark.parametrize(
    "cell, bidirectional, pooling",
    [
        ("lstm", True, "maxmean"),
        ("lstm", False, "last"),
        ("gru", True, "max"),
        ("rnn", False, "mean"),
        ("none", False, "mean"),
    ],
)
def test_integrated_gradients_are_complete(make_classifier, cell, bidirectional, pooling):
    clf = make_classifier(cell, bidirectional, pooling, classes=("neg", "neu", "pos"))
    [e] = explain_classifier(clf, [TEXT])
    c = e["completeness"]
    assert c["relative_error"] <= 0.05
    total = sum(t["attribution"] for t in e["tokens"])
    assert total == pytest.approx(c["sum_attributions"], abs=1e-4)
    # f(x) - f(baseline), recomputed from the network: the baseline is the all-zero input
    ids = clf.vocab.encode(TEXT.split())
    target = clf.label_names.index(e["target"])
    delta = f_of(clf, ids, target) - f_of(clf, ids, target, zero=True)
    assert c["f_x_minus_f_baseline"] == pytest.approx(delta, abs=1e-4)
    assert abs(total - delta) <= 0.05 * max(abs(delta), 0.01) + 1e-5


def test_steps_are_raised_until_complete(make_classifier):
    clf = make_classifier()
    [coarse] = explain_classifier(clf, [TEXT], steps=1)
    assert coarse["completeness"]["relative_error"] <= 0.05
    assert coarse["completeness"]["steps"] > 1  # one interval is not enough for this network


def test_trapezoid_is_exact_when_the_gradient_is_linear_along_the_path():
    # f(x) = sum x^2 (class 1's log-odds): a_i = x_i * integral 2 alpha x_i = x_i^2 exactly
    x = torch.tensor([[[1.0, -2.0], [0.5, 3.0], [0.0, 1.0]]])  # (1, T=3, D=2)

    def forward(v):
        return torch.stack([torch.zeros(len(v)), (v**2).sum(dim=(1, 2))], dim=1)  # (A, 2)

    attr = integrated_gradients(forward, x, torch.zeros_like(x), target=1, steps=1)
    np.testing.assert_allclose(attr.values, (x[0] ** 2).sum(dim=1).numpy(), rtol=1e-6)
    assert attr.steps == 1


def test_doubling_converges_on_a_curved_path():
    # f(x) = sum x^3: a_i = x_i^3 exactly; the trapezoid rule needs more intervals
    x = torch.tensor([[[1.5, -1.0], [2.0, 0.5]]])

    def forward(v):
        return torch.stack([torch.zeros(len(v)), (v**3).sum(dim=(1, 2))], dim=1)

    attr = integrated_gradients(forward, x, torch.zeros_like(x), target=1, steps=1)
    exact = (x[0] ** 3).sum(dim=1).numpy()
    assert attr.steps > 1
    assert abs(attr.values.sum() - exact.sum()) <= 0.05 * abs(exact.sum())
    np.testing.assert_allclose(attr.values, exact, rtol=0.1)


def test_occlusion_is_the_drop_when_a_word_is_blanked(make_classifier):
    clf = make_classifier(classes=("neg", "neu", "pos"))
    [e] = explain_classifier(clf, [TEXT], method="occlusion")
    assert e["method"] == "occlusion"
    target = clf.label_names.index(e["target"])
    tokens = TEXT.split()
    ids = clf.vocab.encode(tokens)
    net = clf.net.eval()
    with torch.no_grad():
        emb = net.embedding(torch.tensor([ids]))
        f_x = log_odds(net.forward_embedded(emb, torch.tensor([len(ids)])), target)
        for k in (0, 5, len(ids) - 1):
            blanked = emb.clone()
            blanked[0, k] = 0.0
            f_k = log_odds(net.forward_embedded(blanked, torch.tensor([len(ids)])), target)
            assert e["tokens"][k]["attribution"] == pytest.approx(float(f_x - f_k), abs=1e-5)


def test_occlusion_equals_integrated_gradients_for_an_additive_model():
    # logits [0, sum_i w . x_i]: each word's effect is its own term, for both methods
    torch.manual_seed(0)
    x, w = torch.randn(1, 6, 4), torch.randn(4)

    def forward(v):
        return torch.stack([torch.zeros(len(v)), (v @ w).sum(dim=1)], dim=1)

    base = torch.zeros_like(x)
    ig = integrated_gradients(forward, x, base, target=1, steps=4)
    occ = occlusion(forward, x, base, torch.arange(6), target=1)
    np.testing.assert_allclose(ig.values, (x[0] @ w).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(occ.values, ig.values, rtol=1e-5, atol=1e-6)
    assert occ.completeness()["relative_error"] < 1e-5


def test_the_dict_follows_the_contract(make_classifier):
    clf = make_classifier()
    texts = [TEXT, "boring", "a zzzunknown film"]
    explanations = explain_classifier(clf, texts)
    preds = clf.predict(texts)
    for e, p, text in zip(explanations, preds, texts, strict=True):
        assert CONTRACT_KEYS <= set(e)
        assert set(e["completeness"]) >= {
            "sum_attributions",
            "f_x_minus_f_baseline",
            "relative_error",
        }
        assert e["label"] == p["label"] == e["target"]
        assert e["score"] == pytest.approx(p["score"])
        assert e["method"] == "integrated-gradients"
        assert [t["token"] for t in e["tokens"]] == text.split()
        for t in e["tokens"]:
            assert set(t) == TOKEN_KEYS
    unknown = explanations[2]
    assert [t["known"] for t in unknown["tokens"]] == [True, False, True]
    assert unknown["known_share"] == pytest.approx(2 / 3, abs=1e-6)


def test_explaining_restores_training_mode_and_ignores_dropout(make_classifier):
    clf = make_classifier()
    clf.net.train()
    a = explain_classifier(clf, [TEXT])
    b = explain_classifier(clf, [TEXT])
    assert clf.net.training  # put back as it was
    assert a == b  # dropout (p=0.3) was off while explaining


@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_tokens_cut_by_maxlen_are_not_read(make_classifier, truncating):
    clf = make_classifier(text=TextConfig(maxlen=4, truncating=truncating))
    tokens = TEXT.split()  # 11 tokens, 4 read
    [e] = explain_classifier(clf, [TEXT])
    read = [t["read"] for t in e["tokens"]]
    expect = [i >= len(tokens) - 4 for i in range(len(tokens))]
    if truncating == "post":
        expect = [i < 4 for i in range(len(tokens))]
    assert read == expect
    for t in e["tokens"]:
        if not t["read"]:
            assert t["attribution"] == 0.0 and t["trajectory"] is None
        else:
            assert t["trajectory"] is not None
    assert e["completeness"]["relative_error"] <= 0.05
    # the read window explains the same prediction as that window alone
    window = " ".join(tok for tok, r in zip(tokens, read, strict=True) if r)
    [alone] = explain_classifier(clf, [window])
    kept = [t["attribution"] for t in e["tokens"] if t["read"]]
    np.testing.assert_allclose(kept, [t["attribution"] for t in alone["tokens"]], atol=1e-5)


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_models_that_read_padding(make_classifier, padding):
    clf = make_classifier(bidirectional=False, text=TextConfig(maxlen=16, padding=padding))
    [e] = explain_classifier(clf, [TEXT])
    assert e["completeness"]["relative_error"] <= 0.05
    assert e["trajectory_kind"] == "prefix-reruns"
    assert e["tokens"][-1]["trajectory"] == pytest.approx(e["score"], abs=1e-5)


def test_an_empty_text_has_nothing_to_attribute(make_classifier):
    clf = make_classifier()
    [e] = explain_classifier(clf, [""])
    assert e["tokens"] == [] and e["trajectory_kind"] == "none"
    assert e["label"] == clf.predict([""])[0]["label"]


def test_input_errors(make_classifier):
    clf = make_classifier()
    with pytest.raises(RnnlabError, match="wrap it in"):
        explain_classifier(clf, TEXT)
    with pytest.raises(RnnlabError, match="must be strings"):
        explain_classifier(clf, [TEXT, 3])
    with pytest.raises(RnnlabError, match="method must be"):
        explain_classifier(clf, [TEXT], method="shap")
    with pytest.raises(RnnlabError, match="steps must be"):
        explain_classifier(clf, [TEXT], steps=0)
    with pytest.raises(RnnlabError, match="text classifiers"):
        explain_model(object(), [TEXT])


def test_explain_model_dispatches_to_the_recurrent_explainer(make_classifier):
    clf = make_classifier()
    assert explain_model(clf, [TEXT]) == explain_classifier(clf, [TEXT])
    [occ] = explain_model(clf, [TEXT], method="occlusion")
    assert occ["method"] == "occlusion"


def test_same_result_with_the_trajectory_beside_or_after_the_attributions(
    make_classifier, monkeypatch
):
    clf = make_classifier()
    beside = explain_classifier(clf, [TEXT, "boring"])  # tests run torch on 1 thread
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # no core to spare: one after the other
    assert explain_classifier(clf, [TEXT, "boring"]) == beside


def test_tokens_are_the_classifiers_own(make_classifier):
    clf = make_classifier(text=TextConfig(tokenizer="chars"))
    [e] = explain_classifier(clf, ["not bad"])
    assert [t["token"] for t in e["tokens"]] == clf.tokenizer("not bad")
    assert len(e["tokens"]) == 7  # n, o, t, a run of space, b, a, d
    assert e["completeness"]["relative_error"] <= 0.05
