import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from rnnlab.data.synthetic import NEGATIVE, POSITIVE, TEMPLATES, _review, order_sensitive_reviews


def test_deterministic_and_balanced():
    a = order_sensitive_reviews(2000, seed=3)
    b = order_sensitive_reviews(2000, seed=3)
    assert a.texts == b.texts and a.labels == b.labels
    assert a.texts != order_sensitive_reviews(2000, seed=4).texts
    assert 0.45 < np.mean(a.labels) < 0.55
    assert a.label_names == ["neg", "pos"]


@pytest.mark.parametrize("kind", TEMPLATES)
def test_swapping_adjectives_keeps_the_bag_and_flips_the_label(kind):
    for seed in range(20):
        pos, neg = POSITIVE[seed % len(POSITIVE)], NEGATIVE[seed % len(NEGATIVE)]
        t1, d1 = _review(kind, pos, neg, np.random.default_rng(seed))
        t2, d2 = _review(kind, neg, pos, np.random.default_rng(seed))
        assert sorted(t1.split()) == sorted(t2.split())
        label1 = (pos, neg)[d1] in POSITIVE
        label2 = (neg, pos)[d2] in POSITIVE
        assert label1 != label2


def test_bag_of_words_is_at_chance_but_bigrams_are_not():
    train = order_sensitive_reviews(4000, seed=0)
    test = order_sensitive_reviews(2000, seed=1)
    scores = {}
    for ngrams in ((1, 1), (1, 2)):
        vec = CountVectorizer(ngram_range=ngrams, token_pattern=r"[^ ]+")
        clf = LogisticRegression(max_iter=2000).fit(vec.fit_transform(train.texts), train.labels)
        scores[ngrams] = clf.score(vec.transform(test.texts), test.labels)
    assert abs(scores[(1, 1)] - 0.5) < 0.05  # chance by construction
    assert scores[(1, 2)] > 0.6  # local order leaks through bigrams


def test_bad_n():
    with pytest.raises(ValueError, match="n must be"):
        order_sensitive_reviews(1)
