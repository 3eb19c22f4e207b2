"""The model shipped inside the package: present, small, documented, and sane."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import rnnlab
from rnnlab.artifacts import read_config
from rnnlab.tasks.base import bundled_model_path

FIXTURES = Path(__file__).parent / "fixtures"

POSITIVE = [
    "One of the best films I have seen in years: moving, funny and beautifully shot.",
    "A wonderful, heartfelt story with superb acting. I loved every minute of it.",
    "Brilliant direction and a great cast. Highly recommended!",
]
NEGATIVE = [
    "A dull, predictable mess. I want those two hours back.",
    "The worst movie I have ever seen: terrible acting, boring plot, awful script.",
    "Waste of time. Poorly written and badly acted; I nearly walked out.",
]


@pytest.fixture(scope="module")
def model():
    return rnnlab.load(threads=1)


def test_bundled_model_is_complete_small_and_documented() -> None:
    path = bundled_model_path()
    config = read_config(path, kind="classifier")  # checks every file's sha256
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size <= 10_000_000, size
    card = (path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "rnnlab train" in card
    assert config["data"]["sha256"] in card
    metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    assert f"{metrics['test']['accuracy']:.4f}" in card
    assert metrics["test"]["n"] == 25000
    assert metrics["test"]["accuracy"] >= 0.896  # the linear baseline the card must beat
    assert config["label_names"] == ["neg", "pos"]


def test_bundled_model_reads_clear_reviews(model) -> None:
    results = model.predict(POSITIVE + NEGATIVE)
    labels = [r["label"] for r in results]
    assert labels == ["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)
    # clear reviews get a confident score (measured: >= 0.997 for every one of them);
    # a two-class argmax score >= 0.5 would hold for any model at all
    assert all(0.9 <= r["score"] <= 1.0 for r in results), results


def test_bundled_model_is_accurate_on_a_small_labelled_set(model) -> None:
    """40 hand-written clear reviews (tests/fixtures): measured 40/40 right; a broken
    model (random weights, a shuffled vocabulary) scores near 50%."""
    with open(FIXTURES / "labelled_reviews.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 40
    predicted = [r["label"] for r in model.predict([row["text"] for row in rows])]
    accuracy = sum(p == row["label"] for p, row in zip(predicted, rows, strict=True)) / len(rows)
    assert accuracy >= 0.95


def test_bundled_backends_agree(model) -> None:
    assert model.backend == "onnx"  # the default: a silent fallback would compare torch with torch
    torch_model = rnnlab.load(backend="torch", threads=1)
    assert torch_model.backend == "torch"
    a = model.predict_proba(POSITIVE + NEGATIVE)
    b = torch_model.predict_proba(POSITIVE + NEGATIVE)
    assert abs(a - b).max() < 1e-4
