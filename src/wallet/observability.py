"""Metrics, trace ids and JSON logs."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uuid_utils import uuid7

from wallet.tracing.server import start_server_span

TRACE_HEADER = "x-trace-id"
_TRACE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
BALANCE_CHANGES = Counter(
    "wallet_balance_changes_total",
    "Journals posted that changed wallet balances or holds, by journal type.",
    ["type"],
)
TRANSFER_FAILURES = Counter(
    "transfer_failures_total",
    "Money movements refused, by journal type and reason code.",
    ["type", "reason"],
)

DATABASE_UP = Gauge(
    "wallet_database_up",
    "1 when the last readiness check reached the database, else 0.",
    multiprocess_mode="livemin",
)


def trace_id_from(header_value: str | None) -> str:
    """The caller's trace id when it is well formed, otherwise a fresh one."""
    if header_value and _TRACE_ID_PATTERN.match(header_value):
        return header_value
    return uuid7().hex


class TraceAndMetricsMiddleware:
    """Accepts or generates ``X-Trace-Id``, echoes it, and times every request.

    With tracing on, it makes the request's server span (tracing/server.py) and runs the
    request inside it: the response also carries that span's ``traceparent``, and a request
    without ``X-Trace-Id`` takes the traceparent as its trace id, so the records it writes
    (journal, outbox row) name the span that wrote them.

    Plain ASGI rather than BaseHTTPMiddleware: it sits on every request of the money path.
    """

    def __init__(self, app: ASGIApp, *, tracing: bool = False) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        caller_traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-trace-id" and incoming is None:
                incoming = value.decode("latin-1")
            elif name == b"traceparent" and caller_traceparent is None:
                caller_traceparent = value.decode("latin-1")
        server_span = None
        traceparent = None
        if self.tracing:
            server_span = start_server_span(
                method=scope["method"],
                path=scope["path"],
                scheme=scope.get("scheme", "http"),
                traceparent=caller_traceparent,
            )
            traceparent = server_span.traceparent
        trace_id = trace_id_from(incoming or traceparent)
        state = scope.setdefault("state", {})
        state["trace_id"] = trace_id
        # For the posting path to store with the outbox row (outbox.traceparent).
        state["traceparent"] = traceparent
        extra_headers = [(b"x-trace-id", trace_id.encode())]
        if traceparent is not None:
            extra_headers.append((b"traceparent", traceparent.encode()))
        started = time.perf_counter()
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        try:
            if server_span is None:
                await self.app(scope, receive, send_with_trace)
            else:
                token = server_span.enter()
                try:
                    await self.app(scope, receive, send_with_trace)
                finally:
                    server_span.leave(token)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            if server_span is not None:
                server_span.finish(route=template, status=status)
            REQUEST_LATENCY.labels(scope["method"], template or "unmatched", str(status)).observe(
                time.perf_counter() - started
            )


def configure_logging(level: str) -> None:
    """One JSON object per line on stderr, for log shippers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


async def current_trace_id(request: Request) -> str:
    """The trace id the middleware settled on for this request."""
    trace_id: str = request.state.trace_id
    return trace_id


TraceId = Annotated[str, Depends(current_trace_id)]


async def request_traceparent(request: Request) -> str | None:
    """The request's server span as a W3C traceparent; None with tracing off."""
    traceparent: str | None = getattr(request.state, "traceparent", None)
    return traceparent


Traceparent = Annotated[str | None, Depends(request_traceparent)]
"""What a posting stores in ``outbox.traceparent``, so its events join the request's trace."""
