"""Explanations of a fused model (network + n-gram part): the weighted sum of both parts'."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.explain import explain_classifier, explain_linear
from rnnlab.models.fusion import Fusion
from rnnlab.models.linear import LinearConfig, LinearTextClassifier

from .conftest import WORDS

TEXTS = ["the film was not great but a wonderful ending .", "boring dull awful it", "loved it"]


@pytest.fixture()
def fused(make_classifier):
    clf = make_classifier()
    rng = np.random.default_rng(0)
    train = [" ".join(rng.choice(WORDS, 8)) for _ in range(60)]
    labels = [int("loved" in t or "wonderful" in t) for t in train]
    cfg = LinearConfig(ngram_range=(1, 3), max_features=0)
    clf.wide = LinearTextClassifier.fit("nbsvm", train, labels, ["neg", "pos"], cfg)
    clf.fusion = Fusion(0.7, 1.9, (-0.2, 0.2))
    return clf


def test_attributions_are_the_weighted_sum_of_both_parts_and_complete(fused):
    both = explain_classifier(fused, TEXTS)
    wide, fusion = fused.wide, fused.fusion
    fused.wide = None
    try:
        net_alone = explain_classifier(fused, TEXTS)
    finally:
        fused.wide = wide
    ngrams = explain_linear(wide, TEXTS)
    for e, n, g, p in zip(both, net_alone, ngrams, fused.predict(TEXTS), strict=True):
        assert e["label"] == p["label"] and e["score"] == pytest.approx(p["score"])
        assert e["parts"] == {"network_weight": 0.7, "ngram_weight": 1.9}
        if n["label"] == e["label"] == g["label"]:  # same target: same parts
            want = [0.7 * a["attribution"] + 1.9 * b["attribution"]
                    for a, b in zip(n["tokens"], g["tokens"], strict=True)]  # fmt: skip
            assert [t["attribution"] for t in e["tokens"]] == pytest.approx(want, abs=2e-6)
        assert e["completeness"]["relative_error"] <= 0.05
        # the fused trajectory ends at the fused prediction
        assert e["tokens"][-1]["trajectory"] == pytest.approx(e["score"], abs=1e-5)
    assert fusion is fused.fusion
