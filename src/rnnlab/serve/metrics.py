"""Prometheus metrics of one server (``GET /metrics``), in a registry of its own.

Each app gets its own ``CollectorRegistry``, so several apps in one process
(tests, notebooks) do not share or clash over counters.
"""

from __future__ import annotations

import time

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The counters, histograms and gauge that ``/metrics`` exposes.

    ``rnnlab_http_requests_total{endpoint,method,status}``
        Every answered request, refused ones included.
    ``rnnlab_http_errors_total{endpoint,status}``
        Requests answered with a status >= 400 (or that raised).
    ``rnnlab_http_request_duration_seconds{endpoint}``
        Histogram of the time from receiving a request to its last byte sent.
    ``rnnlab_http_requests_in_progress``
        Requests being answered now.
    ``rnnlab_texts_total{endpoint}``
        Texts given to the model.
    ``rnnlab_model_call_duration_seconds{endpoint}``
        Histogram of the time spent inside the model (in its worker thread),
        without the wait for a free worker.
    """

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rnnlab_http_requests",
            "HTTP requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.errors = Counter(
            "rnnlab_http_errors",
            "HTTP requests answered with status >= 400, by endpoint and status.",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "rnnlab_http_request_duration_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "rnnlab_http_requests_in_progress", "Requests being answered now.", registry=r
        )
        self.texts = Counter(
            "rnnlab_texts", "Texts given to the model, by endpoint.", ["endpoint"], registry=r
        )
        self.model_seconds = Histogram(
            "rnnlab_model_call_duration_seconds",
            "Time spent inside the model per request (worker thread), by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def observe(self, endpoint: str, method: str, status: int, start: float) -> None:
        """Record one answered request that began at ``time.perf_counter() == start``."""
        self.requests.labels(endpoint, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(time.perf_counter() - start)

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
