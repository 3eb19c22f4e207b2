"""Prediction over HTTP: a web page and a small JSON API around a loaded model.

    rnnlab serve [MODEL_DIR] --port 8000          # then open http://127.0.0.1:8000/
    curl -s localhost:8000/predict -H 'content-type: application/json' \\
         -d '{"texts": ["What a film!"]}'
    # {"predictions": [{"label": "pos", "score": 0.97}]}

In Python::

    import rnnlab
    from rnnlab.serve import create_app, ServeLimits
    app = create_app(rnnlab.load(), ServeLimits(max_texts=100), api_key="secret")

Endpoints: ``GET /`` (the page), ``POST /predict``, ``POST /explain``,
``GET /model``, ``GET /health``, ``GET /metrics`` (Prometheus), ``GET /docs``
(OpenAPI, served offline). Limits, API key and the rest: ``docs/serving.md``.

Modules: :mod:`~rnnlab.serve.limits` (defaults, no FastAPI import),
:mod:`~rnnlab.serve.app` (routes), :mod:`~rnnlab.serve.middleware` (body
limit, API key, metrics as pure ASGI), :mod:`~rnnlab.serve.metrics`
(Prometheus registry), :mod:`~rnnlab.serve.server` (listening socket, uvicorn).
"""

from __future__ import annotations

from rnnlab.serve.limits import ServeLimits

__all__ = ["ServeLimits", "create_app", "bind_socket", "run_server", "serve_in_thread"]


def __getattr__(name: str):
    # FastAPI and uvicorn are imported on first use, not by `import rnnlab.serve`
    # (the CLI imports the limits' defaults for its --help).
    if name == "create_app":
        from rnnlab.serve.app import create_app

        return create_app
    if name in ("bind_socket", "run_server", "serve_in_thread"):
        from rnnlab.serve import server

        return getattr(server, name)
    raise AttributeError(f"module 'rnnlab.serve' has no attribute {name!r}")
