"""HTTP serving: the app returns what the Python API returns, and holds its limits.

Every limit is tried as a hostile client would: oversized bodies (declared and
streamed), a million-item list, a 5 MB wrong-typed string, missing keys. Error
answers are short JSON that never repeat the input.
"""

from __future__ import annotations

import gc
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import weakref

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from typer.testing import CliRunner

import rnnlab
from rnnlab.cli import app as cli_app
from rnnlab.config import EmbeddingConfig, ModelConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.errors import RnnlabError
from rnnlab.serve import ServeLimits, create_app, serve_in_thread
from rnnlab.serve.middleware import BodyLimit
from rnnlab.tasks.classify import load, train

BIG = 5_000_000  # a 5 MB string


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, reviews):
    texts, labels = reviews(120, 0)
    out = tmp_path_factory.mktemp("serve") / "model"
    train(
        TextDataset(texts, [["neg", "pos"].index(y) for y in labels], ["neg", "pos"], "synthetic"),
        out,
        embedding=EmbeddingConfig(source="random", dim=8),
        model=ModelConfig(hidden_size=8, num_layers=1),
        training=TrainConfig(epochs=1, batch_size=32, threads=1),
        progress=False,
        log=lambda _m: None,
    )
    return out


@pytest.fixture(scope="module")
def model(model_dir):
    return load(model_dir, backend="torch", threads=1)


class PredictOnly:
    """A classifier without ``explain`` (what every model was before it was wired)."""

    def __init__(self, model) -> None:
        self.model = model
        self.label_names = model.label_names
        self.path = model.path
        self.config = model.config

    def predict(self, texts):
        return self.model.predict(texts)


class Gated(PredictOnly):
    """A classifier whose ``predict`` waits for ``release`` and counts calls running at once."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def predict(self, texts):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.entered.release()
        try:
            self.release.wait(30)
            return self.model.predict(texts)
        finally:
            with self.lock:
                self.running -= 1


def short_error(response, status: int) -> str:
    """The ``detail`` of a short JSON error answer with ``status``."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.content) < 400, response.text[:400]
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    return body["detail"]


def metric(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


# ---------------------------------------------------------------- predictions


def test_predict_matches_python_api(model):
    client = TestClient(create_app(model))
    texts = ["a great fun film", "dull and boring", ""]
    response = client.post("/predict", json={"texts": texts})
    assert response.status_code == 200
    got = response.json()["predictions"]
    want = model.predict(texts)
    assert [g["label"] for g in got] == [w["label"] for w in want]
    assert [g["score"] for g in got] == pytest.approx([w["score"] for w in want], abs=1e-9)


def test_health_and_model_info_without_server_paths(model, model_dir):
    client = TestClient(create_app(model))
    assert client.get("/health").json() == {"status": "ok"}
    response = client.get("/model")
    info = response.json()
    assert info["labels"] == ["neg", "pos"] and info["kind"] == "classifier"
    assert info["model"]["hidden_size"] == 8
    assert info["name"] == model_dir.name
    assert info["limits"] == ServeLimits().to_dict()
    assert str(model_dir.parent) not in response.text and "path" not in info


def test_explain_needs_an_explain_method(model):
    client = TestClient(create_app(PredictOnly(model)))
    assert client.get("/model").json()["explain"] is False
    detail = short_error(client.post("/explain", json={"texts": ["fine"]}), 400)
    assert "no explain" in detail and "/predict" in detail


def test_explain_passes_the_model_answer_through_and_has_its_own_count_limit(model):
    calls = []

    class Explained(PredictOnly):
        def explain(self, texts):
            calls.append(list(texts))
            return [{"label": "pos", "tokens": [{"token": t, "attribution": 0.5}]} for t in texts]

    limits = ServeLimits(max_explain_texts=2)
    client = TestClient(create_app(Explained(model), limits))
    assert client.get("/model").json()["explain"] is True
    response = client.post("/explain", json={"texts": ["a", "b"]})
    assert response.status_code == 200 and calls == [["a", "b"]]
    assert response.json()["explanations"][1]["tokens"] == [{"token": "b", "attribution": 0.5}]
    detail = short_error(client.post("/explain", json={"texts": ["a", "b", "c"]}), 413)
    assert "at most 2 texts" in detail and "--max-explain-texts" in detail


# ---------------------------------------------------------------- request checks


def test_wrong_shapes_and_types_are_422_with_what_to_fix(model):
    client = TestClient(create_app(model))
    assert "wrap one text in [...]" in short_error(
        client.post("/predict", json={"texts": "not a list"}), 422
    )
    assert '"texts"' in short_error(client.post("/predict", json={}), 422)
    assert "got a list" in short_error(client.post("/predict", json=["a"]), 422)
    assert "texts[1] must be a string, got a number" in short_error(
        client.post("/predict", json={"texts": ["a", 3]}), 422
    )
    assert "not valid JSON" in short_error(client.post("/predict", content=b"{texts: 1"), 400)
    assert "not valid JSON" in short_error(client.post("/predict", content=b"[" * 200_000), 400)


def test_too_many_texts_is_413_before_items_are_validated(model):
    client = TestClient(create_app(model))
    too_many = client.post("/predict", json={"texts": ["x"] * (ServeLimits.max_texts + 1)})
    assert "split the request" in short_error(too_many, 413)
    # A million and one wrong-typed items (2 MB): refused by the body limit by default ...
    body = b'{"texts": [' + b"1," * 1_000_000 + b"1]}"
    assert "--max-body-bytes" in short_error(client.post("/predict", content=body), 413)
    # ... and, with a larger body limit, by the count, before any item's type is looked at.
    roomy = TestClient(create_app(model, ServeLimits(max_body_bytes=10_000_000)))
    detail = short_error(roomy.post("/predict", content=body), 413)
    assert "at most 1,000 texts per request, got 1,000,001" in detail


def test_a_5mb_string_is_never_echoed(model):
    client = TestClient(create_app(model, ServeLimits(max_body_bytes=2 * BIG)))
    detail = short_error(client.post("/predict", json={"texts": "x" * BIG}), 422)
    assert "xxxx" not in detail
    detail = short_error(client.post("/predict", json={"texts": ["ok", "y" * BIG]}), 413)
    assert "texts[1] has 5,000,000 characters, the limit is 100,000" in detail
    assert "yyyy" not in detail
    # Under the default body limit the same request never gets read.
    default = TestClient(create_app(model))
    assert "1,000,000 bytes" in short_error(
        default.post("/predict", json={"texts": "x" * BIG}), 413
    )


class Typed(BaseModel):
    texts: list[str]


def test_validation_errors_of_typed_routes_are_short(model):
    app = create_app(model, ServeLimits(max_body_bytes=2 * BIG))

    @app.post("/typed")
    def typed(body: Typed) -> dict:
        return {"n": len(body.texts)}

    client = TestClient(app)
    assert client.post("/typed", json={"texts": ["a"]}).json() == {"n": 1}
    detail = short_error(client.post("/typed", json={"texts": "z" * BIG}), 422)
    assert detail.startswith("texts: ") and "zzzz" not in detail
    many = short_error(client.post("/typed", json={"texts": [1, 2, 3, 4, 5]}), 422)
    assert "(and 2 more)" in many


# ---------------------------------------------------------------- body size


def test_body_over_the_limit_is_413_json(model):
    client = TestClient(create_app(model, ServeLimits(max_body_bytes=1000)))
    assert client.post("/predict", json={"texts": ["a" * 900]}).status_code == 200
    detail = short_error(client.post("/predict", json={"texts": ["a" * 1000]}), 413)
    assert "larger than 1,000 bytes" in detail and "--max-body-bytes" in detail


def run_asgi(app, chunks, headers):
    """Call an ASGI app with a body in ``chunks``; returns (status, body, chunks pulled)."""
    import asyncio

    pulled = 0
    sent = []

    async def receive():
        nonlocal pulled
        pulled += 1
        more = pulled < len(chunks)
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": more}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": headers}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, pulled


def test_body_limit_stops_reading_a_streamed_body_early():
    async def read_all(scope, receive, send):  # an app that reads the whole body
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    limited = BodyLimit(read_all, max_bytes=100_000)
    chunks = [b"x" * 10_000] * 1000  # 10 MB, no Content-Length (chunked)
    status, body, pulled = run_asgi(limited, chunks, [])
    assert status == 413 and pulled == 11  # stopped right after passing 100,000 bytes
    assert "100,000 bytes" in json.loads(body)["detail"]
    # A declared Content-Length over the limit: not one chunk is read.
    status, _, pulled = run_asgi(limited, chunks, [(b"content-length", b"10000000")])
    assert status == 413 and pulled == 0
    assert run_asgi(limited, [b"x" * 10_000] * 5, [])[:2] == (200, b"read")


def test_real_server_answers_413_before_the_body_is_sent(model):
    with serve_in_thread(create_app(model)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000000\r\n\r\n"
            )
            answer = b""  # nothing of the 100 MB body is sent
            while chunk := conn.recv(4096):  # the server closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"--max-body-bytes" in answer


# ---------------------------------------------------------------- API key, metrics


def test_api_key_is_required_except_for_health_and_the_page(model):
    client = TestClient(create_app(model, api_key="s3cret"))
    body = {"texts": ["great"]}
    assert client.get("/health").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/docs").status_code == 200
    detail = short_error(client.post("/predict", json=body), 401)
    assert "Authorization: Bearer KEY" in detail and "X-API-Key" in detail
    assert client.post("/predict", json=body).headers["www-authenticate"] == "Bearer"
    short_error(client.post("/predict", json=body, headers={"X-API-Key": "wrong"}), 401)
    short_error(client.get("/model"), 401)
    short_error(client.get("/metrics"), 401)
    for headers in ({"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}):
        assert client.post("/predict", json=body, headers=headers).status_code == 200
        assert client.get("/metrics", headers=headers).status_code == 200
    # The key is checked before the body is read: an oversized body gets 401, not 413.
    short_error(client.post("/predict", content=b"x" * 2_000_000), 401)
    schema = client.get("/openapi.json").json()
    assert {"bearer", "apiKey"} <= set(schema["components"]["securitySchemes"])
    with pytest.raises(RnnlabError, match="API key is empty"):
        create_app(model, api_key="  ")


def test_metrics_count_requests_errors_latency_and_texts(model):
    client = TestClient(create_app(model))
    client.post("/predict", json={"texts": ["a", "b", "c"]})
    client.post("/predict", json={"texts": ["d"]})
    client.post("/predict", json={"texts": 7})
    client.post("/predict", content=b"x" * 2_000_000)
    client.get("/nowhere/12345")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    requests = "rnnlab_http_requests_total"
    assert metric(text, requests, endpoint="/predict", status="200") == 2
    assert metric(text, requests, endpoint="/predict", status="422") == 1
    assert metric(text, requests, endpoint="other", status="404") == 1  # no label per URL
    assert metric(text, "rnnlab_http_errors_total", endpoint="/predict", status="413") == 1
    assert metric(text, "rnnlab_http_errors_total", endpoint="/predict") == 1  # first: 422
    assert metric(text, "rnnlab_http_request_duration_seconds_count", endpoint="/predict") == 4
    assert metric(text, "rnnlab_texts_total", endpoint="/predict") == 4
    assert metric(text, "rnnlab_model_call_duration_seconds_count", endpoint="/predict") == 2
    assert "nowhere" not in text


# ---------------------------------------------------------------- threads, shutdown


def test_inference_runs_off_the_event_loop_and_is_bounded(model):
    gated = Gated(model)
    with TestClient(create_app(gated, ServeLimits(concurrency=2))) as client:
        results = []
        threads = [
            threading.Thread(
                target=lambda: results.append(client.post("/predict", json={"texts": ["a"]}))
            )
            for _ in range(5)
        ]
        for t in threads:
            t.start()
        assert gated.entered.acquire(timeout=30) and gated.entered.acquire(timeout=30)
        # Two predictions are blocked inside the model; the loop still answers.
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200
        time.sleep(0.2)
        assert gated.running == 2 and not results
        gated.release.set()
        for t in threads:
            t.join(30)
    assert [r.status_code for r in results] == [200] * 5
    assert gated.most == 2


def test_shutdown_waits_for_the_model_and_releases_it(model):
    app = create_app(PredictOnly(model))
    ref = weakref.ref(app.state.served.model)
    with TestClient(app) as client:
        assert client.post("/predict", json={"texts": ["a"]}).status_code == 200
    served = app.state.served
    assert served.model is None
    with pytest.raises(RuntimeError):  # the worker threads are stopped
        served.executor.submit(print)
    gc.collect()
    assert ref() is None
    short_error(TestClient(app).post("/predict", json={"texts": ["a"]}), 503)


# ---------------------------------------------------------------- page and docs


def test_page_and_offline_docs(model):
    client = TestClient(create_app(model))
    page = client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn." not in docs and "https://" not in docs.split("<body>")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200
    assert "validatorUrl" in docs and '"validatorUrl": null' in docs


# ---------------------------------------------------------------- other kinds of model


@pytest.mark.slow
def test_a_tagger_answers_tokens_and_tags(tmp_path):
    from rnnlab.data.conllu import to_conllu_text
    from rnnlab.data.synthetic import toy_treebank
    from rnnlab.models.tagger import TaggerConfig
    from rnnlab.tasks.tag import train_tagger

    files = []
    for name, n, seed in (("train", 40, 0), ("dev", 10, 1)):
        path = tmp_path / f"toy-{name}.conllu"
        path.write_text(to_conllu_text(toy_treebank(n, seed).sentences), encoding="utf-8")
        files.append(path)
    train_tagger(
        *files,
        out=tmp_path / "tagger",
        model=TaggerConfig(hidden_size=8, word_dim=8, char_dim=4, char_features=8),
        training=TrainConfig(epochs=1, batch_size=16, threads=1),
        progress=False,
        log=lambda _m: None,
    )
    tagger = rnnlab.load(tmp_path / "tagger", threads=1)
    client = TestClient(create_app(tagger))
    info = client.get("/model").json()
    assert info["kind"] == "tagger" and info["tags"] == tagger.tag_names
    assert info["explain"] is False
    texts = ["The cat sat.", "Dogs run"]
    got = client.post("/predict", json={"texts": texts}).json()["predictions"]
    want = tagger.tag_texts(texts)
    assert [list(zip(p["tokens"], p["tags"], strict=True)) for p in got] == want
    short_error(client.post("/explain", json={"texts": texts}), 400)


@pytest.mark.slow
def test_a_seq2seq_model_answers_its_output(tmp_path):
    from rnnlab.tasks.seq2seq import Seq2SeqConfig, Seq2SeqTextConfig, train_seq2seq

    pairs = [(f"{a} {b}", f"{b} {a}") for a in ("red", "cat", "big") for b in ("dog", "blue")]
    train_seq2seq(
        pairs * 4,
        tmp_path / "s2s",
        text=Seq2SeqTextConfig(level="word"),
        model=Seq2SeqConfig(embedding_dim=8, hidden_size=8, max_output_len=6),
        training=TrainConfig(epochs=1, batch_size=8, threads=1),
        progress=False,
        log=lambda _m: None,
    )
    translator = rnnlab.load(tmp_path / "s2s", threads=1)
    client = TestClient(create_app(translator))
    assert client.get("/model").json()["kind"] == "seq2seq"
    texts = ["red dog", "big blue"]
    got = client.post("/predict", json={"texts": texts}).json()["predictions"]
    assert [p["output"] for p in got] == translator.translate(texts)


# ---------------------------------------------------------------- the command


def test_port_in_use_is_one_line_and_exit_1(model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["serve", str(model_dir), "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is in use; pass --port with a free port "
        f"(e.g. --port {port + 1}) or stop the other server\n"
    )
    assert "serving" not in result.output


def test_bad_limits_are_one_line_errors(model_dir):
    result = CliRunner().invoke(cli_app, ["serve", str(model_dir), "--max-texts", "0"])
    assert result.exit_code == 1
    assert result.stderr == "error: --max-texts must be a positive integer, got 0\n"
    with pytest.raises(RnnlabError, match="--graceful-timeout"):
        ServeLimits(graceful_timeout_s=-1)


def test_serve_command_serves_then_stops_on_sigterm(model_dir):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnlab",
            "serve",
            str(model_dir),
            "--port",
            "0",
            "--backend",
            "torch",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        while line and not line.startswith("serving "):  # skip any library warning
            line = proc.stderr.readline()
        url = re.search(r"on (http://127\.0\.0\.1:\d+)/ ", line).group(1)
        assert "(classifier, " in line
        with urllib.request.urlopen(url + "/health", timeout=30) as response:
            assert json.load(response) == {"status": "ok"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert proc.stderr.read().endswith("stopped\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
