import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from rnnlab.data.conllu import load_conllu, to_conllu_text
from rnnlab.data.synthetic import (
    AMBIGUOUS,
    NEGATIVE,
    POSITIVE,
    SUFFIX_TAGS,
    TEMPLATES,
    _review,
    order_sensitive_reviews,
    toy_treebank,
)


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


# ---------------------------------------------------------------------------- toy treebank


def test_toy_treebank_is_deterministic_and_has_its_three_shapes():
    a, b = toy_treebank(40, seed=5), toy_treebank(40, seed=5)
    assert [s.forms for s in a.sentences] == [s.forms for s in b.sentences]
    assert a.sha256 == b.sha256 != toy_treebank(40, seed=6).sha256
    assert [s.forms for s in a.sentences] != [s.forms for s in toy_treebank(40, 6).sentences]
    assert len(a) == 40 and a.n_words == sum(len(s.forms) for s in a.sentences)
    lengths = [len(s.forms) for s in a.sentences]
    # shares 1/4, 1/4, 1/2: sentence i has shape min(i % 4, 2) -> 7, 5, 4 tokens
    assert lengths == [[7, 5, 4, 4][i % 4] for i in range(40)]
    for s in a.sentences:
        assert len(s.forms) == len(s.upos) == len(s.lemmas)
        assert s.forms[0][0].isupper() and s.forms[-1] == "." and s.upos[-1] == "PUNCT"


def test_toy_treebank_tags_follow_context_and_endings():
    tb = toy_treebank(200, seed=0)
    made_up = []
    for s in tb.sentences:
        for i, (form, tag) in enumerate(zip(s.forms, s.upos, strict=True)):
            if form.lower() in AMBIGUOUS:  # the left neighbour decides
                assert tag == {"to": "VERB", "the": "NOUN"}[s.forms[i - 1].lower()]
            if i > 0 and s.forms[i - 1] == "ran":  # a made-up word: its ending decides
                suffix = next(x for x in SUFFIX_TAGS if form.endswith(x))
                assert tag == SUFFIX_TAGS[suffix]
                made_up.append(form)
    assert len(made_up) == 100
    assert len(set(made_up)) > 90  # made up per sentence, so almost never seen twice


def test_toy_treebank_round_trips_through_conllu(tmp_path):
    tb = toy_treebank(12, seed=3)
    path = tmp_path / "toy-ud-test.conllu"
    path.write_text(to_conllu_text(tb.sentences), encoding="utf-8")
    back = load_conllu(path)
    assert [(s.forms, s.upos) for s in back.sentences] == [(s.forms, s.upos) for s in tb.sentences]
