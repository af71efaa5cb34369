"""OpenTelemetry traces: the SDK's set-up and the few spans the service makes by hand.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) or
``WALLET_OTEL_ENABLED`` is set. Then every process (API server, worker) exports over OTLP/HTTP
and the SDK reads the standard ``OTEL_*`` variables itself: service name, resource
attributes, sampler, exporter endpoint, headers and batching.

Where spans come from: FastAPI's native telemetry makes the request's server span, the asyncpg
instrumentation one span per database call, ``tracing.batcher`` the posting batch, and
``publish_span`` the outbox publish. The publish happens later, in a worker: it joins the
request's trace through the trace context stored with the outbox row, and passes its own
context on in the event (CloudEvents' ``traceparent`` extension).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from wallet.config import Settings
from wallet.outbox.core import OutboxEvent, stored_traceparent
from wallet.tracing.server import PROPAGATOR, traceparent_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.sampling import Sampler

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATIO = 0.1
_tracer = trace.get_tracer("wallet")
_configured = False


def tracing_requested(settings: Settings) -> bool:
    return settings.otel_enabled or any(
        os.environ.get(name)
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(settings: Settings) -> bool:
    """Install the SDK for this process once; returns whether tracing is on."""
    global _configured
    if _configured or not tracing_requested(settings):
        return _configured
    # Imported here: a process with tracing off never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from wallet.tracing.logs import install_log_correlation

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the provider reads
    # OTEL_TRACES_SAMPLER(_ARG) when set; the exporter reads OTEL_EXPORTER_OTLP_*.
    defaults = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "wallet-service"}
    provider = TracerProvider(resource=Resource.create(defaults), sampler=_default_sampler())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    install_log_correlation()
    _configured = True
    logger.info("tracing on: exporting spans over OTLP/HTTP")
    return True


def _default_sampler() -> Sampler | None:
    """Our default when OTEL_TRACES_SAMPLER is unset: follow the caller's decision, and sample
    a tenth of the traces that start here. The SDK's own default (every trace) costs about a
    third of a transfer's CPU (docs/operations.md, "Tracing"). The standard
    ``parentbased_traceidratio`` with a valid ratio is the same rule at another ratio. None:
    the SDK reads the variables and decides every span itself.
    """
    from wallet.tracing.sampling import default_sampler

    name = os.environ.get("OTEL_TRACES_SAMPLER")
    if not name:
        return default_sampler(DEFAULT_SAMPLE_RATIO)
    if name.strip().lower() == "parentbased_traceidratio":
        try:
            ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0"))
        except ValueError:
            return None  # the SDK warns about it and falls back as the specification says
        if 0.0 <= ratio <= 1.0:
            return default_sampler(ratio)
    return None


def flush_tracing() -> None:
    """Export what is still buffered, as a server or worker stops (the SDK also flushes at
    interpreter exit, which a killed worker process may not reach)."""
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if _configured and force_flush is not None:
        force_flush()


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, if there is a valid one."""
    span = trace.get_current_span()
    return traceparent_of(span) if span.get_span_context().is_valid else None


@contextmanager
def background_work() -> Iterator[None]:
    """Periodic tasks poll the database many times a second: no root span for each query.

    Spans made on purpose (the outbox publish) are still made inside.
    """
    if not _configured:
        yield
        return
    with suppress_instrumentation():
        yield


@contextmanager
def publish_span(event: OutboxEvent) -> Iterator[str | None]:
    """The span of one event's publish, a child of the trace stored with the event.

    Yields the traceparent the message must carry: the publish span's own context, or, with
    tracing off here, the stored context unchanged so the consumer still joins the trace.
    """
    stored = stored_traceparent(event)
    if not _configured:
        yield stored
        return
    parent = PROPAGATOR.extract({"traceparent": stored}) if stored else context.Context()
    with _tracer.start_as_current_span(
        f"{event.event_type} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "send",
            "messaging.destination.name": event.event_type,
            "messaging.message.id": str(event.event_id),
            "wallet.id": str(event.wallet_id),
            "wallet.event.sequence": event.sequence,
        },
    ):
        yield current_traceparent()
