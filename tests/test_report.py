"""report.html for every kind of model directory, the curves it draws, the worst examples."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from rnnlab.artifacts import read_config
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.errors import ArtifactError, RnnlabError
from rnnlab.report import render_report, worst_examples, write_report
from rnnlab.tasks.base import bundled_model_path
from rnnlab.training.metrics import classifier_curves

QUIET = {"progress": False, "log": lambda _m: None}


def external_refs(page: str) -> list[str]:
    """Every src/href/url() target that would be fetched from elsewhere (data: URIs are inline)."""
    targets = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page)
    targets += re.findall(r"url\(\s*['\"]?([^'\")]+)", page)
    return [t for t in targets if not t.startswith(("data:", "#"))]


def check_page(model_dir: Path, trained: bool = True) -> str:
    """The report training wrote is there; `rnnlab report` rewrites it the same way, complete
    and offline, leaving the checked files alone."""
    before = read_config(model_dir)  # verifies every recorded sha256
    if trained:  # every training run writes report.html into its model directory
        written = (model_dir / "report.html").read_text(encoding="utf-8")
        assert written.startswith("<!doctype html>") and external_refs(written) == []
    out = write_report(model_dir)
    assert out == model_dir / "report.html"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert external_refs(page) == []
    assert "report.html" not in before.get("files", {})
    read_config(model_dir)  # still verifies: the report is not a checked file
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp file left
    return page


def dataset(reviews, n: int, seed: int) -> TextDataset:
    texts, labels = reviews(n, seed)
    return TextDataset(texts, [["neg", "pos"].index(y) for y in labels], ["neg", "pos"], "synth")


# --------------------------------------------------------------------------- curves


def test_binary_curves_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p1 = np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1)
    probs = np.stack([1 - p1, p1], axis=1)
    c = classifier_curves(y, probs, ["neg", "pos"], max_points=50)
    roc = c["roc"]["pos"]
    assert list(c["roc"]) == ["pos"]
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert len(roc["fpr"]) <= 50 and (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    cal = c["calibration"]
    assert cal["of"] == "P(pos)" and sum(cal["count"]) == 500 and len(cal["count"]) == 10
    json.dumps(c)  # JSON-ready


def test_calibration_error_is_zero_when_frequencies_match():
    # P(pos) = 0.25 for four texts of which one is pos; 0.75 for four of which three are
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p1 = np.array([0.25] * 4 + [0.75] * 4)
    cal = classifier_curves(y, np.stack([1 - p1, p1], axis=1), ["neg", "pos"])["calibration"]
    assert cal["ece"] == pytest.approx(0.0, abs=1e-12)
    assert cal["observed"][2] == 0.25 and cal["observed"][7] == 0.75
    assert cal["count"][2] == 4 and cal["mean_predicted"][0] is None  # empty bin
    # always saying 0.75 for a 50/50 set is off by 0.25
    y2 = np.array([0, 1] * 4)
    p2 = np.full(8, 0.75)
    ece = classifier_curves(y2, np.stack([1 - p2, p2], 1), ["neg", "pos"])["calibration"]["ece"]
    assert ece == pytest.approx(0.25)


def test_multiclass_curves_are_one_vs_rest_and_confidence():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 30)
    probs = rng.dirichlet(np.ones(3), 90)
    probs[np.arange(90), y] += 0.5
    probs /= probs.sum(axis=1, keepdims=True)
    c = classifier_curves(y, probs, ["a", "b", "c"])
    assert set(c["roc"]) == {"a", "b", "c"}
    for k, name in enumerate("abc"):
        assert c["roc"][name]["auc"] == pytest.approx(skm.roc_auc_score(y == k, probs[:, k]))
    assert c["calibration"]["of"] == "confidence"
    absent = classifier_curves(np.zeros(5, int), np.full((5, 3), 1 / 3), ["a", "b", "c"])
    assert absent["roc"]["a"] is None  # every example is "a": no negatives, no curve
    with pytest.raises(ValueError, match="probs must be"):
        classifier_curves(y, probs[:, :2], ["a", "b", "c"])


# --------------------------------------------------------------------------- bundled model


def test_bundled_model_report_shows_what_exists(tmp_path):
    d = tmp_path / "imdb"
    shutil.copytree(bundled_model_path(), d)
    page = check_page(d, trained=False)  # shipped before reports existed
    assert "Learning curves" in page and page.count("data:image/png;base64,") == 1
    assert "Not stored in this model directory" in page  # no curve points in the old metrics
    assert "11563" in page  # the test confusion matrix
    assert "maxmean" in page and "word2vec" in page  # settings
    assert "confidently wrong" not in page  # no examples.json


def test_a_missing_or_broken_directory_is_one_error(tmp_path):
    with pytest.raises(ArtifactError, match="not found"):
        render_report(tmp_path / "nope")
    d = tmp_path / "imdb"
    shutil.copytree(bundled_model_path(), d)
    (d / "history.jsonl").write_text("{not json\n")
    with pytest.raises(ArtifactError, match="line 1"):
        write_report(d)
    assert not (d / "report.html").exists()


# --------------------------------------------------------------------------- every task kind


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory, reviews):
    from rnnlab.tasks.classify import train

    out = tmp_path_factory.mktemp("report") / "clf"
    train(
        dataset(reviews, 300, 100),
        out,
        embedding=EmbeddingConfig(dim=12, min_count=1),
        model=ModelConfig(hidden_size=12, num_layers=1, dropout=0.0),
        training=TrainConfig(epochs=4, lr=1e-2, lr_decay=1.0, patience=2, threads=1),
        **QUIET,
    )
    return out


@pytest.mark.slow
def test_worst_examples_are_the_most_confident_mistakes(classifier_dir, reviews):
    import rnnlab

    clf = rnnlab.load(classifier_dir, backend="torch", threads=1)
    texts, labels = reviews(40, 9)
    flipped = [("pos" if y == "neg" else "neg") if i % 8 == 0 else y for i, y in enumerate(labels)]
    worst = worst_examples(clf, texts, flipped, k=3)
    probs = clf.predict_proba(texts)
    pred = probs.argmax(axis=1)
    wrong = [i for i, y in enumerate(flipped) if clf.label_names[pred[i]] != y]
    want = sorted(wrong, key=lambda i: -probs[i].max())[:3]
    assert [w["index"] for w in worst] == want
    for w in worst:
        assert w["true"] != w["predicted"] == w["explanation"]["label"]
        assert w["score"] == pytest.approx(w["explanation"]["score"], abs=1e-6)
        assert w["text"] == texts[w["index"]]
    assert worst_examples(clf, texts, [clf.label_names.index(y) for y in flipped], k=3) == worst
    with pytest.raises(RnnlabError, match="one label per text"):
        worst_examples(clf, texts, flipped[:-1])
    with pytest.raises(RnnlabError, match="labels must be"):
        worst_examples(clf, texts[:2], ["neg", "meh"])


@pytest.mark.slow
def test_classifier_report_with_curves_and_examples(classifier_dir, reviews, tmp_path):
    """What the training template stores (curves, examples.json) ends up in the report."""
    import rnnlab

    d = tmp_path / "clf"
    shutil.copytree(classifier_dir, d)
    clf = rnnlab.load(d, backend="torch", threads=1)
    texts, labels = reviews(60, 11)
    y = np.array([clf.label_names.index(v) for v in labels])
    y[::10] = 1 - y[::10]  # a few deliberate mistakes
    metrics = json.loads((d / "metrics.json").read_text())
    metrics["validation"]["curves"] = classifier_curves(
        y, clf.predict_proba(texts), clf.label_names
    )
    (d / "metrics.json").write_text(json.dumps(metrics))
    (d / "examples.json").write_text(json.dumps(worst_examples(clf, texts, y.tolist())))
    page = check_page(d)
    assert page.count("data:image/png;base64,") == 3  # learning curves, ROC, calibration
    assert "Not stored" not in page
    assert "Most confidently wrong validation examples" in page
    assert page.count('class="example"') == 6 and 'class="tok' in page


@pytest.mark.slow
def test_linear_classifier_report(tmp_path, reviews):
    from rnnlab.tasks.linear import train

    out = tmp_path / "nbsvm"
    train(dataset(reviews, 200, 100), out, kind="nbsvm", test_data=dataset(reviews, 60, 7),
          log=lambda _m: None)  # fmt: skip
    page = check_page(out)
    assert "Heaviest n-grams" in page and "toward pos" in page and "toward neg" in page
    assert "No history.jsonl" in page
    assert "test" in page and "nbsvm" in page


@pytest.mark.slow
def test_tagger_report_has_per_tag_scores(tmp_path):
    from rnnlab.data.conllu import to_conllu_text
    from rnnlab.data.synthetic import toy_treebank
    from rnnlab.models.tagger import TaggerConfig
    from rnnlab.tasks.tag import train_tagger

    files = {}
    for name, n, seed in (("train", 60, 0), ("dev", 20, 1)):
        files[name] = tmp_path / f"{name}.conllu"
        files[name].write_text(to_conllu_text(toy_treebank(n, seed).sentences), encoding="utf-8")
    out = tmp_path / "tagger"
    train_tagger(
        files["train"],
        files["dev"],
        out=out,
        model=TaggerConfig(hidden_size=8, word_dim=8, char_dim=4, char_features=8),
        training=TrainConfig(epochs=2, batch_size=16, lr=1e-2, threads=1),
        **QUIET,
    )
    page = check_page(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert "Per-tag scores (dev)" in page and "Learning curves" in page
    for tag in metrics["dev"]["per_tag"]:
        assert f"<td>{tag}</td>" in page


@pytest.mark.slow
def test_seq2seq_report(tmp_path):
    from rnnlab.models.seq2seq import Seq2SeqConfig
    from rnnlab.tasks.seq2seq import Seq2SeqTextConfig, train_seq2seq

    words = ["red", "blue", "cat", "dog", "big"]
    pairs = [(f"{words[i % 5]} {words[(3 * i + 1) % 5]}", f"{words[(3 * i + 1) % 5]} x")
             for i in range(40)]  # fmt: skip
    out = tmp_path / "s2s"
    train_seq2seq(
        pairs[:30],
        out,
        test_data=pairs[30:],
        text=Seq2SeqTextConfig(level="word"),
        model=Seq2SeqConfig(embedding_dim=8, hidden_size=8, max_output_len=6),
        training=TrainConfig(epochs=1, batch_size=16, threads=1),
        **QUIET,
    )
    page = check_page(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert "exact_match" in page and "bleu" in page
    assert f"{metrics['test']['exact_match']:.4f}" in page  # a share: 4 decimals
    assert page.count("data:image/png;base64,") == 1  # learning curves


@pytest.mark.slow
def test_generator_report(tmp_path):
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import train_generator

    rng = random.Random(0)
    texts = [" ".join(rng.choice(["good", "bad", "film", "the"]) for _ in range(5)) + " ."
             for _ in range(80)]  # fmt: skip
    ds = TextDataset(texts, [i % 2 for i in range(80)], ["neg", "pos"], "toy")
    out = tmp_path / "gen"
    train_generator(
        ds,
        out,
        text=TextConfig(max_vocab=50, min_freq=1, maxlen=10, truncating="post"),
        generator=GeneratorConfig(embed_dim=8, hidden_size=8, condition_dim=4),
        training=TrainConfig(epochs=1, batch_size=16, threads=1),
        **QUIET,
    )
    page = check_page(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert "perplexity" in page
    ppl = metrics["validation"]["perplexity"]
    assert f"{ppl:.2f}" in page  # to 2 decimals (perplexity > 1)
    assert page.count("data:image/png;base64,") == 1  # learning curves
