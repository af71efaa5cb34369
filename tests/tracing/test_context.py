"""Trace context without a running service: the envelope, the stored context, log lines,
and what the API answers with tracing off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind

from tests.support import Api
from wallet.outbox.core import OutboxEvent, build_envelope, stored_traceparent
from wallet.tracing import _default_sampler
from wallet.tracing.logs import TraceContextFilter
from wallet.tracing.sampling import (
    ServerDrawnRoots,
    default_sampler,
    draw_server_root,
    stop_drawing,
)
from wallet.tracing.server import PROPAGATOR, ServerSpan

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _event(*, trace_id: str = "ride-42", traceparent: str | None = None) -> OutboxEvent:
    return OutboxEvent(
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
    try:
        sampler = _default_sampler()
        assert sampler is not None
        assert "ParentBased" in sampler.get_description() and "0.1" in sampler.get_description()
        # Installing it turns the middleware's draw on (the tests below say how it draws).
        assert any(draw_server_root(None) is not None for _ in range(200))
    finally:
        stop_drawing()
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert _default_sampler() is None  # the SDK reads the standard variable itself
    assert draw_server_root(None) is None  # and the middleware leaves every span to it
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    for name, drawn in (("parentbased_traceidratio", True), ("traceidratio", False)):
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", name)
        try:
            sampler = _default_sampler()
            assert (sampler is not None) is drawn
            assert (sampler is None) or "0.25" in sampler.get_description()
            assert any(draw_server_root(None) is not None for _ in range(200)) is drawn
        finally:
            stop_drawing()
    for invalid in ("many", "1.5"):  # left to the SDK, which warns and uses its default
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", invalid)
        assert _default_sampler() is None


@pytest.fixture
def drawing() -> Iterator[None]:
    default_sampler(0.1)
    try:
        yield
    finally:
        stop_drawing()


@pytest.mark.usefixtures("drawing")
def test_the_middleware_draws_a_tenth_of_new_traces_and_makes_the_rest_itself() -> None:
    draws = [draw_server_root(None) for _ in range(4000)]
    left_out = [span for span in draws if span is not None]
    # 3,600 expected; 5 standard deviations (19 each) either side.
    assert 3505 <= len(left_out) <= 3695
    contexts = [span.get_span_context() for span in left_out]
    assert all(c.is_valid and not c.trace_flags.sampled and not c.is_remote for c in contexts)
    # Flagged as the SDK flags its own unsampled roots: the trace id was drawn at random.
    assert all(c.trace_flags.random_trace_id for c in contexts)
    assert len({c.trace_id for c in contexts}) == len(contexts)


@pytest.mark.usefixtures("drawing")
def test_the_middleware_follows_the_callers_decision() -> None:
    not_sampled = PROPAGATOR.extract({"traceparent": TRACEPARENT[:-2] + "00"})
    left_out = draw_server_root(not_sampled)
    assert left_out is not None
    context = left_out.get_span_context()
    assert f"{context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{context.span_id:016x}" != TRACEPARENT.split("-")[2]
    assert not context.trace_flags.sampled
    sampled = PROPAGATOR.extract({"traceparent": TRACEPARENT})
    assert all(draw_server_root(sampled) is None for _ in range(50))


def test_the_sdk_records_drawn_server_spans_and_samples_other_roots_by_trace_id() -> None:
    roots = ServerDrawnRoots(0.1)
    limit = TraceIdRatioBased.get_bound_for_rate(0.1)
    low, high = limit - 1, limit + 1  # trace ids just inside and outside the ratio's bound
    for trace_id in (low, high):
        server = roots.should_sample(None, trace_id, "POST", SpanKind.SERVER)
        assert server.decision is Decision.RECORD_AND_SAMPLE
    by_trace_id = {
        trace_id: roots.should_sample(None, trace_id, "publish", SpanKind.PRODUCER).decision
        for trace_id in (low, high)
    }
    assert by_trace_id == {low: Decision.RECORD_AND_SAMPLE, high: Decision.DROP}
    assert "0.1" in roots.get_description()


def test_below_an_unsampled_server_span_instrumentation_is_suppressed() -> None:
    unsampled = NonRecordingSpan(
        SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=False)
    )
    recorded = TracerProvider().get_tracer("test").start_span("POST")
    for span, suppressed in ((unsampled, True), (recorded, False)):
        server = ServerSpan.of(span, "POST")
        token = server.enter()
        try:
            assert trace.get_current_span() is span
            assert is_instrumentation_enabled() is not suppressed
        finally:
            server.leave(token)
        assert is_instrumentation_enabled()
        assert trace.get_current_span() is not span
    assert ServerSpan.of(unsampled, "POST").traceparent == (
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    )
