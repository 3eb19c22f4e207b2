"""Linear models are explained exactly: attributions + intercept = the decision function."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.explain import explain_linear, explain_model
from rnnlab.explain.attributions import ngram_occurrences
from rnnlab.models.linear import LinearConfig, LinearTextClassifier
from rnnlab.tasks.linear import LinearClassifier
from rnnlab.text import BagOfWords, tokenize

TEXTS = [
    "w1 great w2 great w3 and a film w1",
    "awful , dull . zzzunseen w5",
    "okay decent w7 but loved it",
    "",
]


@pytest.fixture(scope="module", params=[2, 3], ids=["2 classes", "3 classes"])
def fitted(request, reviews):
    classes = ("neg", "pos") if request.param == 2 else ("neg", "neu", "pos")
    texts, labels = reviews(120, seed=3, classes=classes)
    y = [classes.index(v) for v in labels]
    return {
        kind: LinearClassifier.fit(kind, texts, y, list(classes), LinearConfig(C=1.0))
        for kind in ("bow-logreg", "tfidf-logreg", "nbsvm")
    }


@pytest.mark.parametrize("kind", ["bow-logreg", "tfidf-logreg", "nbsvm"])
def test_attributions_plus_intercept_are_the_score(fitted, kind):
    clf = fitted[kind]
    z = clf.decision_function(TEXTS)  # (N, K)
    for text, e, zrow in zip(TEXTS, explain_linear(clf, TEXTS), z, strict=True):
        assert e["method"] == "exact-linear"
        t = clf.label_names.index(e["target"])
        if len(clf.label_names) == 2:  # one score row, for the second class
            sign = 1.0 if t == 1 else -1.0
            score, intercept = sign * zrow[0], sign * float(clf.intercept_[0])
            assert e["unit"] == "log-odds"
        else:
            score, intercept = zrow[t], float(clf.intercept_[t])
        total = sum(tok["attribution"] for tok in e["tokens"])
        assert total + intercept == pytest.approx(score, abs=1e-5)
        c = e["completeness"]
        assert c["sum_attributions"] + intercept == pytest.approx(score, abs=1e-6)  # 6 decimals
        assert c["relative_error"] < 1e-6
        assert [tok["token"] for tok in e["tokens"]] == tokenize(text)
        assert all(tok["read"] for tok in e["tokens"])


def test_trajectory_rescores_every_prefix(fitted):
    clf = fitted["nbsvm"]
    [e] = explain_linear(clf, [TEXTS[0]])
    tokens = tokenize(TEXTS[0])
    t = clf.label_names.index(e["target"])
    want = clf.predict_proba([" ".join(tokens[: i + 1]) for i in range(len(tokens))])[:, t]
    np.testing.assert_allclose([tok["trajectory"] for tok in e["tokens"]], want, atol=1e-6)
    assert e["tokens"][-1]["trajectory"] == pytest.approx(e["score"], abs=1e-6)
    assert e["trajectory_kind"] == "prefix-reruns"


def test_hand_computed_split_of_a_bigram_model():
    # z = 1.0 * #good - 0.5 * #not - 3.0 * #"not good" + 0.2, P(pos) = sigmoid(z)
    vocab = {"good": 0, "not": 1, "not good": 2}
    vec = BagOfWords.from_vocabulary(vocab, ngram_range=(1, 2))
    clf = LinearTextClassifier("bow-logreg", vec, [[1.0, -0.5, -3.0]], [0.2], ["neg", "pos"])
    [e] = explain_linear(clf, ["not good good"])
    # z = 2 - 0.5 - 3 + 0.2 = -1.3: "neg", whose log-odds is -z. "good" (count 2) gives
    # +1 to each occurrence; "not" -0.5; the bigram's -3 is halved over "not" and "good".
    assert e["label"] == "neg" and e["score"] == pytest.approx(1 / (1 + np.exp(-1.3)))
    got = [t["attribution"] for t in e["tokens"]]
    np.testing.assert_allclose(got, [0.5 + 1.5, -1.0 + 1.5, -1.0], atol=1e-12)
    assert e["completeness"]["f_x_minus_f_baseline"] == pytest.approx(1.5)
    assert ngram_occurrences(["not", "good", "good"], vocab, (1, 2)) == {
        1: (1, [0]),
        0: (1, [1, 2]),
        2: (2, [0]),
    }


def test_known_marks_tokens_the_model_has_features_for(fitted):
    [e] = explain_linear(fitted["bow-logreg"], [TEXTS[1]])
    known = {t["token"]: t["known"] for t in e["tokens"]}
    assert known["zzzunseen"] is False and known["awful"] is True


def test_explain_method_and_dispatch(fitted):
    clf = fitted["tfidf-logreg"]
    assert clf.explain(TEXTS) == explain_linear(clf, TEXTS) == explain_model(clf, TEXTS)
    with pytest.raises(RnnlabError, match="exactly"):
        explain_model(clf, TEXTS, method="ig")
    with pytest.raises(RnnlabError, match="wrap it in"):
        explain_linear(clf, TEXTS[0])


@pytest.mark.parametrize("tokenizer", ["chars", "subword"])
def test_models_with_their_own_tokenizer_are_explained_in_their_tokens(tokenizer):
    """A chars/subword model is explained over its own tokens: still exact, and the
    trajectory's last value is the prediction."""
    pos, neg = ["非常好看", "我很喜欢"], ["太无聊了", "非常难看"]
    texts = [f"这部电影{c}。" for c in pos * 20] + [f"这部电影{c}。" for c in neg * 20]
    y = [1] * 40 + [0] * 40
    clf = LinearClassifier.fit("nbsvm", texts, y, ["neg", "pos"], LinearConfig(tokenizer=tokenizer))
    [e] = explain_linear(clf, ["昨天的电影非常好看。"])
    assert [t["token"] for t in e["tokens"]] == clf.tokenizer("昨天的电影非常好看。")
    assert e["completeness"]["relative_error"] < 1e-6
    assert e["tokens"][-1]["trajectory"] == pytest.approx(e["score"], abs=1e-6)  # 6 decimals
