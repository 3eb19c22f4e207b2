"""The FastAPI app: routes, request checks and the model's worker threads.

The served object is duck-typed: a model with ``tag_texts`` is a tagger, one
with ``translate`` a sequence-to-sequence model, one with ``predict`` a
classifier (``rnnlab.load`` returns one of these). ``/explain`` works when the
model has an ``explain`` method.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from rnnlab.errors import RnnlabError
from rnnlab.serve.limits import ServeLimits
from rnnlab.serve.metrics import ServerMetrics
from rnnlab.serve.middleware import ApiKey, BodyLimit, Metrics
from rnnlab.version import __version__

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SWAGGER = "/static/vendor/swagger-ui"

# Paths served without the API key: the health probe, the page and its files,
# and the API documentation (none of them touches the model).
OPEN_PATHS = ("/health", "/", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)
ENDPOINTS = ("/", "/health", "/model", "/predict", "/explain", "/metrics", "/docs", "/openapi.json")

PAGE_HEADERS = {
    # The page loads nothing from elsewhere and runs no inline script.
    "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class TextsRequest(BaseModel):
    """The body of ``POST /predict`` and ``POST /explain`` (documentation only:
    the routes check the body themselves, the count first, so that an oversized
    list is refused before its items are looked at)."""

    texts: list[str] = Field(
        ..., description="Texts to process, in order.", examples=[["What a wonderful film!"]]
    )


TEXTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TextsRequest.model_json_schema()}},
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or the model refused the input."},
    401: {"description": "The server needs an API key and none (or a wrong one) was sent."},
    413: {"description": "Too large: the body, the number of texts or one text."},
    422: {"description": 'Wrong shape or types: the body must be {"texts": ["..."]}.'},
}


def model_kind(model) -> str:
    """``"tagger"``, ``"seq2seq"`` or ``"classifier"``, from the model's methods."""
    if callable(getattr(model, "tag_texts", None)):
        return "tagger"
    if callable(getattr(model, "translate", None)):
        return "seq2seq"
    if callable(getattr(model, "predict", None)):
        return "classifier"
    raise RnnlabError(
        f"cannot serve a {type(model).__name__}: it has no predict, tag_texts or translate "
        "method; pass a model from rnnlab.load"
    )


def predict_with(model, kind: str, texts: list[str]) -> list[dict[str, Any]]:
    """One result dict per text, whatever the kind of model."""
    if kind == "tagger":
        return [
            {"tokens": [tok for tok, _ in pairs], "tags": [tag for _, tag in pairs]}
            for pairs in model.tag_texts(texts)
        ]
    if kind == "seq2seq":
        return [{"output": out} for out in model.translate(texts)]
    return model.predict(texts)


def to_plain(obj):
    """JSON-safe copy: numpy scalars and arrays become Python ones, NaN/inf become None."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy scalar or array
        return to_plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_type(value) -> str:
    """How a JSON value's type reads in an error message."""
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return names.get(type(value), "a number")


def parse_texts(body: bytes, max_texts: int, max_chars: int, count_flag: str) -> list[str]:
    """The ``texts`` of a JSON body, checked: count first, then each item's type and length.

    Raises ``HTTPException`` with a short message that never repeats the input.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise HTTPException(
            400,
            f'the body is not valid JSON{where}; send {{"texts": ["..."]}} with '
            "content-type application/json",
        ) from None
    if not isinstance(data, dict) or "texts" not in data:
        got = 'an object without a "texts" field' if isinstance(data, dict) else json_type(data)
        raise HTTPException(422, f'the body must be {{"texts": ["..."]}}, got {got}')
    texts = data["texts"]
    if not isinstance(texts, list):
        raise HTTPException(
            422,
            f'"texts" must be a list of strings, got {json_type(texts)}; wrap one text in [...]',
        )
    if len(texts) > max_texts:
        raise HTTPException(
            413,
            f"at most {max_texts:,} texts per request, got {len(texts):,}; split the request "
            f"(the server's limit is set by {count_flag})",
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise HTTPException(422, f"texts[{i}] must be a string, got {json_type(text)}")
        if len(text) > max_chars:
            raise HTTPException(
                413,
                f"texts[{i}] has {len(text):,} characters, the limit is {max_chars:,}; shorten "
                "or split it (the server's limit is set by --max-text-chars)",
            )
    return texts


class Served:
    """The model, the worker threads that call it, and the metrics.

    ``release()`` (at shutdown) waits for running model calls, stops the
    workers and drops the app's reference to the model.
    """

    def __init__(self, model, limits: ServeLimits) -> None:
        self.model = model
        self.kind = model_kind(model)
        self.limits = limits
        self.metrics = ServerMetrics()
        self.executor = ThreadPoolExecutor(limits.concurrency, thread_name_prefix="rnnlab-model")

    async def call(self, endpoint: str, fn: Callable[[Any, list[str]], Any], texts: list[str]):
        """``fn(model, texts)`` in a worker thread; the event loop stays free meanwhile."""
        model = self.model
        if model is None:
            raise HTTPException(503, "the server is shutting down; retry in a moment")
        seconds = self.metrics.model_seconds.labels(endpoint)

        def timed():
            start = time.perf_counter()
            try:
                return fn(model, texts)
            finally:
                seconds.observe(time.perf_counter() - start)

        try:
            future = self.executor.submit(timed)
        except RuntimeError:  # the executor was shut down
            raise HTTPException(503, "the server is shutting down; retry in a moment") from None
        self.metrics.texts.labels(endpoint).inc(len(texts))
        try:
            return await asyncio.wrap_future(future)
        except RnnlabError as exc:
            raise HTTPException(400, str(exc)) from None

    def release(self) -> None:
        self.executor.shutdown(wait=True)
        self.model = None


def endpoint_of(path: str) -> str:
    """The metrics label of a request path: a known route, ``/static`` or ``other``."""
    if path in ENDPOINTS:
        return path
    return "/static" if path.startswith("/static/") else "other"


def describe(served: Served) -> dict[str, Any]:
    """``GET /model``: what the page and clients need to know; no server paths."""
    model = served.model
    config = getattr(model, "config", None) or {}
    path = getattr(model, "path", None)
    return to_plain(
        {
            "name": Path(path).name if path else None,
            "kind": served.kind,
            "labels": getattr(model, "label_names", None),
            "tags": getattr(model, "tag_names", None),
            "backend": getattr(model, "backend", "torch"),
            "model": config.get("model") or config.get("model_type"),
            "rnnlab_version": config.get("rnnlab_version"),
            "explain": served.kind == "classifier" and callable(getattr(model, "explain", None)),
            "limits": served.limits.to_dict(),
        }
    )


def create_app(model, limits: ServeLimits | None = None, api_key: str | None = None) -> FastAPI:
    """A FastAPI app serving ``model`` (from ``rnnlab.load``), its page and its API.

    Parameters
    ----------
    model : object
        A classifier (``predict``), tagger (``tag_texts``) or seq2seq model
        (``translate``); ``explain`` is used when present.
    limits : ServeLimits, optional
        Body size, texts per request, characters per text, worker threads.
    api_key : str, optional
        When given, every path but the health probe, the page and the API
        docs needs ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.
    """
    limits = limits or ServeLimits()
    if api_key is not None and not api_key.strip():
        raise RnnlabError(
            "the API key is empty; pass a non-empty --api-key or unset RNNLAB_API_KEY"
        )
    served = Served(model, limits)

    @asynccontextmanager
    async def lifespan(_app):
        yield
        await asyncio.to_thread(served.release)

    app = FastAPI(
        title="rnnlab",
        version=__version__,
        description="Recurrent neural networks on text: classify, explain, tag or transform. "
        "The page at / uses this API.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.served = served

    @app.exception_handler(RequestValidationError)
    async def short_validation_error(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        parts = [
            ".".join(str(p) for p in e.get("loc", ()) if p != "body") + ": " + str(e.get("msg"))
            for e in errors[:3]
        ]
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return JSONResponse({"detail": "; ".join(parts) + more}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, _exc: Exception):
        return JSONResponse(
            {"detail": "internal error while answering; the server's log has the details"},
            status_code=500,
        )

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + app.openapi_url,
            title="rnnlab API",
            swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},  # no call to the online validator
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/health", summary="Liveness probe")
    def health() -> dict[str, str]:
        """Liveness: answers without the API key and without touching the model."""
        return {"status": "ok"}

    @app.get(
        "/model",
        summary="The served model and the limits",
        responses={401: ERRORS[401], 503: {"description": "Shutting down."}},
    )
    def info() -> dict[str, Any]:
        """The kind of model, its labels or tags, its settings and the server's limits."""
        if served.model is None:
            raise HTTPException(503, "the server is shutting down; retry in a moment")
        return describe(served)

    @app.post("/predict", summary="Predict", openapi_extra=TEXTS_BODY, responses=ERRORS)
    async def predict(request: Request) -> dict[str, Any]:
        """``{"texts": [...]}`` -> ``{"predictions": [...]}``, one per text, in order.

        A classifier gives ``{"label", "score"}``, a tagger ``{"tokens", "tags"}``
        and a seq2seq model ``{"output"}``.
        """
        texts = parse_texts(
            await request.body(), limits.max_texts, limits.max_text_chars, "--max-texts"
        )
        kind = served.kind
        result = await served.call("/predict", lambda m, t: predict_with(m, kind, t), texts)
        return {"predictions": to_plain(result)}

    @app.post("/explain", summary="Explain", openapi_extra=TEXTS_BODY, responses=ERRORS)
    async def explain(request: Request) -> dict[str, Any]:
        """``{"texts": [...]}`` -> ``{"explanations": [...]}``: per token attribution and
        the running probability of the predicted label (classifiers with ``explain``)."""
        if served.kind != "classifier" or not callable(getattr(served.model, "explain", None)):
            raise HTTPException(
                400,
                f"this {served.kind} model has no explanations (no explain method); "
                "use POST /predict",
            )
        texts = parse_texts(
            await request.body(),
            limits.max_explain_texts,
            limits.max_text_chars,
            "--max-explain-texts",
        )
        result = await served.call("/explain", lambda m, t: m.explain(t), texts)
        return {"explanations": to_plain(result)}

    @app.get("/metrics", summary="Prometheus metrics", responses={401: ERRORS[401]})
    def metrics() -> Response:
        """Prometheus metrics: requests by endpoint and status, latency, errors, texts."""
        body, content_type = served.metrics.render()
        return Response(body, media_type=content_type)

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    if api_key is not None:
        add_security_scheme(app)
    # add_middleware wraps what is there: the last added runs first.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if api_key is not None:
        app.add_middleware(ApiKey, key=api_key, open_paths=OPEN_PATHS, open_prefixes=OPEN_PREFIXES)
    app.add_middleware(Metrics, metrics=served.metrics, endpoint_of=endpoint_of)
    return app


def add_security_scheme(app: FastAPI) -> None:
    """Declare the API key in the OpenAPI document, so /docs has an Authorize button."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer"}
        schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        return schema

    app.openapi = openapi
