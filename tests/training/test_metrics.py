"""Tests for classification_metrics (against scikit-learn) and the PNG plots."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from rnnlab.training.metrics import classification_metrics, plot_confusion, plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def random_probs(n: int, c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), y] += 1.0  # better than chance, not perfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_against_sklearn(seed: int) -> None:
    y, probs = random_probs(200, 2, seed)
    pred = probs.argmax(axis=1)
    m = classification_metrics(y, probs, ["neg", "pos"])
    assert m["n"] == 200
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label=1))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label=1))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label=1))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert m["labels"] == ["neg", "pos"]
    assert "pos" in m["average"]
    neg = m["per_class"]["neg"]
    assert neg["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert neg["support"] == int((y == 0).sum())


def test_three_class_against_sklearn() -> None:
    y, probs = random_probs(300, 3, 7)
    pred = probs.argmax(axis=1)
    m = classification_metrics(y, probs, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"))
    assert m["average"] == "macro"
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    f1s = skm.f1_score(y, pred, average=None)
    for i, name in enumerate("abc"):
        assert m["per_class"][name]["f1"] == pytest.approx(f1s[i])
        assert m["per_class"][name]["support"] == int((y == i).sum())


@pytest.mark.filterwarnings("ignore:Only one class is present")
def test_confusion_matrix_keeps_classes_never_seen() -> None:
    y = np.array([0, 0, 1])
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    m = classification_metrics(y, probs, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_binary_auc_undefined_with_one_class() -> None:
    m = classification_metrics(np.array([1, 1]), np.array([[0.3, 0.7], [0.6, 0.4]]), ["n", "p"])
    assert m["roc_auc"] is None
    assert m["accuracy"] == 0.5


def test_multiclass_auc_undefined_is_none_not_nan() -> None:
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = classification_metrics(y, probs, ["a", "b", "c"])["roc_auc"]
    assert auc is None or not math.isnan(auc)


def test_plots_write_png_files(tmp_path: Path) -> None:
    y, probs = random_probs(50, 3, 0)
    m = classification_metrics(y, probs, ["a", "b", "c"])
    plot_confusion(m, tmp_path / "cm.png")
    epochs = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "train_accuracy": 0.5 + e / 10,
            "val_accuracy": 0.45 + e / 10,
        }
        for e in (1, 2, 3)
    ]
    plot_history(epochs, tmp_path / "curve.png", best_epoch=2)
    for name in ("cm.png", "curve.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png", "curve.png"]  # no temp files
