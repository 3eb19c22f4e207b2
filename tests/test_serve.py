"""HTTP serving: the FastAPI app returns what the Python API returns."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from rnnlab.config import EmbeddingConfig, ModelConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.tasks.classify import load, train
from rnnlab.serve import MAX_TEXTS, create_app


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = random.Random(0)
    words = {0: ["awful", "boring", "dull"], 1: ["great", "superb", "fun"]}
    filler = "the film plot was a and of it".split()
    texts, labels = [], []
    for i in range(120):
        y = i % 2
        toks = [rng.choice(filler) for _ in range(6)] + [rng.choice(words[y])]
        rng.shuffle(toks)
        texts.append(" ".join(toks))
        labels.append(y)
    out = tmp_path_factory.mktemp("serve") / "model"
    train(
        TextDataset(texts, labels, ["neg", "pos"], "synthetic"),
        out,
        embedding=EmbeddingConfig(source="random", dim=8),
        model=ModelConfig(hidden_size=8, num_layers=1),
        training=TrainConfig(epochs=1, batch_size=32),
        progress=False,
        log=lambda _m: None,
    )
    return load(out, backend="torch")


def test_predict_matches_python_api(model):
    client = TestClient(create_app(model))
    texts = ["a great fun film", "dull and boring", ""]
    response = client.post("/predict", json={"texts": texts})
    assert response.status_code == 200
    got = response.json()["predictions"]
    want = model.predict(texts)
    assert [g["label"] for g in got] == [w["label"] for w in want]
    assert [g["score"] for g in got] == pytest.approx([w["score"] for w in want], abs=1e-9)


def test_health_and_model_info(model):
    client = TestClient(create_app(model))
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/model").json()
    assert info["labels"] == ["neg", "pos"]
    assert info["model"]["hidden_size"] == 8


def test_bad_requests_are_rejected(model):
    client = TestClient(create_app(model))
    assert client.post("/predict", json={"texts": "not a list"}).status_code == 422
    assert client.post("/predict", json={}).status_code == 422
    too_many = client.post("/predict", json={"texts": ["x"] * (MAX_TEXTS + 1)})
    assert too_many.status_code == 413
    assert "split the request" in too_many.json()["detail"]
