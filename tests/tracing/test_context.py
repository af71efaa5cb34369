"""Trace context without a running service: the envelope, the stored context, log lines,
and what the API answers with tracing off."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext

from tests.support import Api
from wallet.outbox.core import OutboxEvent, build_envelope, stored_traceparent
from wallet.tracing import _default_sampler
from wallet.tracing.logs import TraceContextFilter
from wallet.tracing.server import ServerSpan

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _event(*, trace_id: str = "ride-42", traceparent: str | None = None) -> OutboxEvent:
    return OutboxEvent(
        id=1,
        event_id=uuid4(),
        event_type="wallet.deposit.completed",
        wallet_id=uuid4(),
        sequence=2,
        payload={},
        trace_id=trace_id,
        created_at=datetime.now(UTC),
        traceparent=traceparent,
    )


def test_the_stored_column_wins_then_a_trace_id_that_is_a_traceparent() -> None:
    other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert stored_traceparent(_event(trace_id=TRACEPARENT, traceparent=other)) == other
    assert stored_traceparent(_event(trace_id=TRACEPARENT)) == TRACEPARENT
    assert stored_traceparent(_event(trace_id="ride-42")) is None
    zero_trace = "00-" + "0" * 32 + "-00f067aa0ba902b7-01"
    assert stored_traceparent(_event(trace_id=zero_trace)) is None
    assert stored_traceparent(_event(trace_id=TRACEPARENT.upper())) is None


def test_the_envelope_carries_the_traceparent_extension_only_when_given() -> None:
    event = _event()
    assert "traceparent" not in build_envelope(event, source="urn:test")
    envelope = build_envelope(event, source="urn:test", traceparent=TRACEPARENT)
    assert envelope["traceparent"] == TRACEPARENT
    assert envelope["traceid"] == "ride-42"  # the service's own trace id stays as it was


def test_log_records_inside_a_span_carry_its_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    log_filter = TraceContextFilter()
    outside = logging.LogRecord("t", logging.INFO, __file__, 1, "outside", None, None)
    log_filter.filter(outside)
    assert not hasattr(outside, "trace_id")
    with tracer.start_as_current_span("work") as span:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "inside", None, None)
        own = logging.LogRecord("t", logging.INFO, __file__, 1, "own", None, None)
        own.trace_id = "ride-42"
        log_filter.filter(record)
        log_filter.filter(own)
    context = span.get_span_context()
    fields = ("trace_id", "span_id", "otel_trace_id")
    assert [getattr(record, name, None) for name in fields] == [
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        None,
    ]
    assert [getattr(own, name) for name in fields] == [
        "ride-42",
        f"{context.span_id:016x}",
        f"{context.trace_id:032x}",
    ]


async def test_with_tracing_off_no_traceparent_is_made_up(api: Api) -> None:
    response = await api.http.get("/healthz", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert "traceparent" not in response.headers
    assert len(response.headers["x-trace-id"]) == 32  # generated as before


def test_the_default_sampler_follows_the_caller_and_samples_a_tenth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    sampler = _default_sampler()
    assert sampler is not None
    assert "ParentBased" in sampler.get_description() and "0.1" in sampler.get_description()
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert _default_sampler() is None  # the SDK reads the standard variable itself


def test_below_an_unsampled_server_span_instrumentation_is_suppressed() -> None:
    unsampled = NonRecordingSpan(
        SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=False)
    )
    recorded = TracerProvider().get_tracer("test").start_span("POST")
    for span, suppressed in ((unsampled, True), (recorded, False)):
        server = ServerSpan(span, "POST")
        token = server.enter()
        try:
            assert trace.get_current_span() is span
            assert is_instrumentation_enabled() is not suppressed
        finally:
            server.leave(token)
        assert is_instrumentation_enabled()
        assert trace.get_current_span() is not span
    assert ServerSpan(unsampled, "POST").traceparent == (
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    )
