"""Pure ASGI middleware for the server: metrics, API key and body size.

They wrap the app in this order, outermost first::

    Metrics -> ApiKey -> BodyLimit -> FastAPI routes

so that a refused request (401, 413) is still counted, and a request without
the key is refused before a byte of its body is read. Each one answers with
the same JSON error shape as the routes: ``{"detail": "what is wrong; what to do"}``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_json_error(
    send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send ``{"detail": detail}`` with ``status`` as a complete response."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lowercase), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class BodyTooLarge(Exception):
    """Raised from ``receive`` when the streamed body passes the limit."""


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, without reading them whole.

    A Content-Length over the limit is refused before the body is read at all;
    a body without one (chunked) is counted as it streams in, and refused as
    soon as the count passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return (
            f"the request body is larger than {self.max_bytes:,} bytes; send fewer or shorter "
            "texts per request (the server's limit is set by --max-body-bytes)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_json_error(send, 413, self._detail(), [(b"connection", b"close")])
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # too late for a clean answer: drop the connection
                raise
            await send_json_error(send, 413, self._detail(), [(b"connection", b"close")])


class ApiKey:
    """Require ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` outside ``open_paths``.

    ``open_paths`` are exact paths; ``open_prefixes`` open whole folders (the
    page's static files). The key is compared in constant time.
    """

    def __init__(
        self,
        app: ASGIApp,
        key: str,
        open_paths: Iterable[str] = (),
        open_prefixes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.key = key.encode()
        self.open_paths = frozenset(open_paths)
        self.open_prefixes = tuple(open_prefixes)

    def _allowed(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        if path in self.open_paths or path.startswith(self.open_prefixes):
            return True
        given = header(scope, b"x-api-key")
        if given is None:
            auth = header(scope, b"authorization") or b""
            scheme, _, token = auth.partition(b" ")
            given = token.strip() if scheme.lower() == b"bearer" else None
        return given is not None and hmac.compare_digest(given, self.key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await send_json_error(
            send,
            401,
            "missing or wrong API key; send the header 'Authorization: Bearer KEY' or "
            "'X-API-Key: KEY' with the key the server was started with (--api-key or "
            "RNNLAB_API_KEY)",
            [(b"www-authenticate", b"Bearer")],
        )


class Metrics:
    """Count requests and time them into Prometheus metrics.

    ``endpoint_of(path)`` maps a path to a bounded set of label values (so a
    scan of random URLs cannot blow up the number of time series).
    """

    def __init__(self, app: ASGIApp, metrics, endpoint_of: Callable[[str], str]) -> None:
        self.app = app
        self.metrics = metrics
        self.endpoint_of = endpoint_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.endpoint_of(scope.get("path", ""))
        status = 500  # unless a response starts
        start = time.perf_counter()

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, status_send)
        finally:
            self.metrics.in_progress.dec()
            self.metrics.observe(endpoint, scope.get("method", ""), status, start)
