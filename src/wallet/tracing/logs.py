"""Trace ids on log lines, so a log line leads to its trace and back."""

from __future__ import annotations

import logging

from opentelemetry import trace


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex) of the current span to every record.

    A record that already names a ``trace_id`` (the service's own, from ``X-Trace-Id``) keeps
    it; the span's then goes in ``otel_trace_id``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            trace_id = trace.format_trace_id(span_context.trace_id)
            key = "otel_trace_id" if hasattr(record, "trace_id") else "trace_id"
            setattr(record, key, trace_id)
            record.span_id = trace.format_span_id(span_context.span_id)
        return True


def install_log_correlation() -> None:
    """On the root logger's handlers: configure_logging has installed the JSON one."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TraceContextFilter) for f in handler.filters):
            handler.addFilter(TraceContextFilter())
