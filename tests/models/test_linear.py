"""Linear classifiers: NBSVM's ratios, parity with scikit-learn, pickle-free save/load."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

import rnnlab
from rnnlab.artifacts import sha256_file
from rnnlab.data import TextDataset
from rnnlab.errors import ArtifactError, RnnlabError
from rnnlab.models.linear import (
    KINDS,
    LinearConfig,
    LinearTextClassifier,
    log_count_ratio,
    make_vectorizer,
)
from rnnlab.tasks.classify import evaluate
from rnnlab.tasks.linear import train, train_linear
from rnnlab.text import BagOfWords, TfIdf
from rnnlab.text.tokenizers import TOKENIZER_FILE, CharTokenizer

pytestmark = pytest.mark.slow  # trains models (seconds each)

QUIET = {"log": lambda _msg: None}


def dataset(reviews, n, seed, classes=("neg", "pos"), source="mem") -> TextDataset:
    texts, labels = reviews(n, seed, classes)
    return TextDataset(texts, [classes.index(y) for y in labels], list(classes), source)


@pytest.fixture(scope="module")
def corpus(reviews):
    return dataset(reviews, 240, 0), dataset(reviews, 200, 1, source="held-out")


def test_log_count_ratio_by_hand():
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]]))  # (N=3, V=3) binary
    positive = np.array([True, True, False])
    r = log_count_ratio(X, positive, alpha=1.0)
    p = np.array([1 + 2, 1 + 1, 1 + 0])  # alpha + counts over positive rows
    q = np.array([1 + 0, 1 + 1, 1 + 1])
    np.testing.assert_allclose(r, np.log((p / p.sum()) / (q / q.sum())))
    assert r[0] > 0 > r[2]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_learns_the_cue_words(kind, corpus):
    # Calibration: corpora seeded 0-9 (train 2s, test 2s+1) give held-out accuracy 0.98-1.00 for
    # every kind (chance is 0.5); the floor 0.85 leaves room for solver changes.
    train_ds, test_ds = corpus
    res = train_linear(kind, train_ds, test_dataset=test_ds, **QUIET)
    assert res.metrics["test"]["accuracy"] >= 0.85
    assert res.metrics["validation"]["n"] == 24
    assert res.n_train == 216
    assert res.timings["fit_seconds"] >= 0 and res.timings["test_reviews_per_second"] > 0
    clf = res.classifier
    assert clf.n_parameters >= clf.n_features
    assert [p["label"] for p in clf.predict(["superb excellent", "awful terrible"])] == [
        "pos",
        "neg",
    ]


def test_nbsvm_ratios_point_at_the_right_class(corpus):
    clf = LinearTextClassifier.fit("nbsvm", corpus[0].texts, corpus[0].labels, ["neg", "pos"])
    vocab = clf.vectorizer.vocabulary_
    r = clf.r_[0]
    assert all(r[vocab[w]] > 0 for w in ("great", "wonderful", "excellent"))
    assert all(r[vocab[w]] < 0 for w in ("awful", "terrible", "boring"))
    assert set(np.unique(clf.vectorizer.transform(corpus[1].texts).data)) == {1}  # binarized


def test_bow_logreg_matches_scikit_learn(corpus):
    texts, y = corpus[0].texts, corpus[0].labels
    cfg = LinearConfig(ngram_range=(1, 1), C=0.5)
    clf = LinearTextClassifier.fit("bow-logreg", texts, y, ["neg", "pos"], cfg)
    X = make_vectorizer("bow-logreg", cfg.resolve("bow-logreg")).fit_transform(texts)
    ref = LogisticRegression(C=0.5, solver="liblinear", random_state=0).fit(X, y)  # primal
    new = corpus[1].texts
    Xn = clf.vectorizer.transform(new)
    np.testing.assert_allclose(clf.predict_proba(new), ref.predict_proba(Xn), atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_multiclass_probabilities_sum_to_one(kind, reviews):
    ds = dataset(reviews, 180, 2, ("neg", "neu", "pos"))
    clf = LinearTextClassifier.fit(kind, ds.texts, ds.labels, ds.label_names)
    assert clf.coef_.shape == (3, clf.n_features)
    probs = clf.predict_proba(["superb", "okay average", "awful", ""])
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert list(probs[:3].argmax(axis=1)) == [2, 1, 0]


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_gives_identical_probabilities(kind, corpus, tmp_path):
    train_ds, test_ds = corpus
    result = train(train_ds, tmp_path / kind, kind, test_data=test_ds, **QUIET)
    fresh = train_linear(kind, train_ds, **QUIET).classifier  # same seed: same model
    loaded = rnnlab.load(tmp_path / kind)
    assert isinstance(loaded, LinearTextClassifier)
    assert loaded.backend == "numpy" and loaded.path == tmp_path / kind
    assert loaded.config["kind"] == "linear-classifier" and loaded.config["model_type"] == kind
    assert loaded.label_names == ["neg", "pos"]
    np.testing.assert_array_equal(
        loaded.predict_proba(test_ds.texts), fresh.predict_proba(test_ds.texts)
    )
    files = {p.name for p in (tmp_path / kind).iterdir()}
    assert {"config.json", "vocab.json", "model.safetensors", "metrics.json"} <= files
    assert "confusion_matrix.png" in files
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in (tmp_path / kind).iterdir())
    metrics = evaluate(rnnlab.load(tmp_path / kind), test_ds)
    assert metrics["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    assert metrics["backend"] == "numpy"


def test_training_is_deterministic(corpus):
    a = LinearTextClassifier.fit("nbsvm", corpus[0].texts, corpus[0].labels, ["neg", "pos"])
    b = LinearTextClassifier.fit("nbsvm", corpus[0].texts, corpus[0].labels, ["neg", "pos"])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.r_, b.r_)


def test_max_features_caps_the_model(corpus):
    cfg = LinearConfig(max_features=50)
    clf = LinearTextClassifier.fit("tfidf-logreg", corpus[0].texts, corpus[0].labels,
                                   ["neg", "pos"], cfg)  # fmt: skip
    assert clf.n_features == 50 and clf.coef_.shape == (1, 50)
    assert clf.n_parameters == 50 + 1 + 50  # weights, intercept, idf


def test_corrupted_or_inconsistent_directories_are_refused(corpus, tmp_path):
    out = train(corpus[0], tmp_path / "m", "bow-logreg", **QUIET).out
    vocab = out / "vocab.json"
    doc = json.loads(vocab.read_text())
    doc["terms"] = doc["terms"][:-1]
    vocab.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="corrupted"):
        rnnlab.load(out)  # sha256 recorded at training no longer matches
    config = json.loads((out / "config.json").read_text())
    config["files"]["vocab.json"] = sha256_file(vocab)  # a consistent sha, to reach the shape check
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="expected"):
        rnnlab.load(out)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ds: train_linear("svm", ds), "one of bow-logreg"),
        (lambda ds: LinearConfig(C=0), "linear.C"),
        (lambda ds: LinearConfig(ngram_range=(2, 1)), "linear.ngram_range"),
        (lambda ds: LinearConfig.from_dict({"ngrams": [1, 2]}), "unknown LinearConfig key"),
        (lambda ds: LinearConfig(beta=1.5), "linear.beta"),
        (
            lambda ds: train_linear("nbsvm", ds).classifier.predict("one text"),
            "single str",
        ),
        (
            lambda ds: LinearTextClassifier.fit("nbsvm", ds.texts, [0] * len(ds), ["neg", "pos"]),
            "every class",
        ),
    ],
)
def test_bad_input_names_the_problem(call, message, corpus):
    with pytest.raises(RnnlabError, match=message):
        call(corpus[0])


def test_linear_model_refuses_torch_backends(corpus, tmp_path):
    out = train(corpus[0], tmp_path / "m", "nbsvm", **QUIET).out
    with pytest.raises(RnnlabError, match="runs with numpy"):
        rnnlab.load(out, backend="onnx")


# -- --tokenizer words|chars|subword ------------------------------------------------------

ZH = {  # cue phrases and filler of Chinese reviews, written without spaces
    "pos": ["非常好看", "我很喜欢", "精彩极了", "感人至深"],
    "neg": ["太无聊了", "非常难看", "浪费时间", "令人失望"],
    "filler": ["这部电影", "演员", "故事", "导演", "音乐", "昨天", "我们", "看了"],
}


def zh_reviews(n: int, seed: int, source: str = "zh") -> TextDataset:
    """``n`` Chinese reviews (as tests/tasks/test_languages.py makes them): 3-7 filler
    phrases and one cue phrase of the label, joined without spaces."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        parts = [rng.choice(ZH["filler"]) for _ in range(rng.randint(3, 7))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(ZH[("neg", "pos")[label]]))
        texts.append("".join(parts) + "。")
        labels.append(label)
    return TextDataset(texts, labels, ["neg", "pos"], source)


@pytest.fixture(scope="module")
def zh_corpus():
    return zh_reviews(600, 0), zh_reviews(200, 1, "zh-held-out")


@pytest.mark.parametrize("tokenizer", ["chars", "subword"])
@pytest.mark.parametrize("kind", KINDS)
def test_chars_and_subword_learn_chinese_reviews(kind, tokenizer, zh_corpus):
    # Calibration (600 training reviews seeded 2s, 200 held-out seeded 2s+1, solver seed s,
    # s = 0-4): chars 1.000 in every run for every kind; subword bow-logreg 0.915-0.960,
    # tfidf-logreg 0.975-0.990, nbsvm 0.975-1.000 (on 240 reviews subword bow-logreg fell
    # to 0.82, hence 600). The test runs s = 0 and asks >= 0.9.
    train_ds, test_ds = zh_corpus
    cfg = LinearConfig(tokenizer=tokenizer)
    res = train_linear(kind, train_ds, cfg, test_dataset=test_ds, **QUIET)
    assert res.metrics["test"]["accuracy"] >= 0.9
    assert res.config.tokenizer == tokenizer
    assert res.classifier.tokenizer.name == tokenizer
    terms = res.classifier.vectorizer.get_feature_names_out().tolist()
    if tokenizer == "chars":  # single characters and pairs of them
        assert "好" in terms and "好 看" in terms
    else:  # learned pieces, some longer than one character
        assert any(len(t) > 2 and " " not in t for t in terms)


@pytest.mark.parametrize("kind", KINDS)
def test_words_default_is_the_plain_tokenize_path(kind, corpus):
    """The default ("words") gives the features and probabilities of the vectorizer
    built on rnnlab.text.tokenize, as every linear model before --tokenizer had."""
    train_ds, test_ds = corpus
    clf = LinearTextClassifier.fit(kind, train_ds.texts, train_ds.labels, ["neg", "pos"])
    assert clf.tokenizer.name == "words"
    params = clf.vectorizer_params()
    assert "tokenizer" not in params  # config.json's "vectorizer" stays as it was
    plain = (TfIdf if kind == "tfidf-logreg" else BagOfWords)(**{**params, "tokenizer": None})
    plain.fit(train_ds.texts)
    assert plain.vocabulary_ == clf.vectorizer.vocabulary_
    A, B = clf.vectorizer.transform(test_ds.texts), plain.transform(test_ds.texts)
    assert (A != B).nnz == 0 and A.dtype == B.dtype
    before = LinearTextClassifier(kind, plain, clf.coef_, clf.intercept_, clf.label_names, clf.r_)
    np.testing.assert_array_equal(before.predict_proba(test_ds.texts),
                                  clf.predict_proba(test_ds.texts))  # fmt: skip
    assert before.known_share(test_ds.texts) == clf.known_share(test_ds.texts)


@pytest.mark.parametrize("tokenizer", ["words", "chars", "subword"])
def test_tokenizer_json_only_for_subword_and_checksummed(tokenizer, zh_corpus, tmp_path):
    train_ds, test_ds = zh_corpus
    out = train(train_ds, tmp_path / tokenizer, "nbsvm", LinearConfig(tokenizer=tokenizer),
                **QUIET).out  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["linear"]["tokenizer"] == tokenizer
    assert config["tokenizer"] == ("rnnlab.tokenize/1" if tokenizer == "words" else tokenizer)
    saved = (out / TOKENIZER_FILE).exists()
    assert saved == (tokenizer == "subword")
    assert (TOKENIZER_FILE in config["files"]) == saved  # sha256 recorded
    fresh = train_linear("nbsvm", train_ds, LinearConfig(tokenizer=tokenizer), **QUIET).classifier
    loaded = rnnlab.load(out)
    assert loaded.tokenizer == fresh.tokenizer
    np.testing.assert_array_equal(
        loaded.predict_proba(test_ds.texts), fresh.predict_proba(test_ds.texts)
    )
    assert loaded.known_share(test_ds.texts) == fresh.known_share(test_ds.texts)
    if saved:
        path = out / TOKENIZER_FILE
        path.write_text(path.read_text().replace('"min_frequency": 2', '"min_frequency": 3'))
        with pytest.raises(ArtifactError, match="corrupted"):
            rnnlab.load(out)
        path.unlink()
        with pytest.raises(ArtifactError):
            rnnlab.load(out)


def test_old_directories_without_a_tokenizer_load_as_words(corpus, tmp_path):
    out = train(corpus[0], tmp_path / "m", "tfidf-logreg", **QUIET).out
    want = rnnlab.load(out).predict_proba(corpus[1].texts)
    config = json.loads((out / "config.json").read_text())
    del config["linear"]["tokenizer"]  # as written before linear.tokenizer existed
    (out / "config.json").write_text(json.dumps(config))
    loaded = rnnlab.load(out)
    assert loaded.tokenizer.name == "words"
    np.testing.assert_array_equal(loaded.predict_proba(corpus[1].texts), want)
    assert LinearConfig.from_dict({}).tokenizer == "words"
    config["linear"]["tokenizer"] = "bpe"
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="linear.tokenizer 'bpe'"):
        rnnlab.load(out)


def test_known_share_counts_the_models_own_tokens(corpus):
    train_ds, _ = corpus
    words = LinearTextClassifier.fit("nbsvm", train_ds.texts, train_ds.labels, ["neg", "pos"])
    chars = LinearTextClassifier.fit("nbsvm", train_ds.texts, train_ds.labels, ["neg", "pos"],
                                     LinearConfig(tokenizer="chars"))  # fmt: skip
    text = "qwertyx asdfgx"  # unseen words made of letters the training texts hold
    assert words.known_share([text]) == [0.0]
    tokens = CharTokenizer()(text)
    share = sum(t in chars.vectorizer.vocabulary_ for t in tokens) / len(tokens)
    assert chars.known_share([text]) == [pytest.approx(share)] and share > 0.5


def test_bad_tokenizer_names_the_problem():
    with pytest.raises(RnnlabError, match="linear.tokenizer"):
        LinearConfig(tokenizer="bpe")
