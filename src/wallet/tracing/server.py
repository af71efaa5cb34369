"""The request's server span, made by the service's own middleware (observability.py).

FastAPI's native telemetry used to make it. Under load, tracing on with a tenth of the traces
sampled cost a third of the throughput of uniform transfers (bench/transfers.py with and
without ``OTEL_EXPORTER_OTLP_ENDPOINT``), and most of that was spent on requests that were not
sampled: the native middleware's per-message wrappers, and a non-recording span for every
database call and posting batch below it. Here a request that its sampler leaves out gets a
span context (so it carries, stores and returns its ``traceparent`` as before) and nothing
else: instrumentation is suppressed for its whole handling, and with the default sampler that
context is made without the SDK (tracing/sampling.py).
"""

from __future__ import annotations

from contextvars import Token
from dataclasses import dataclass

from opentelemetry import context, trace

# The key the instrumentations check (opentelemetry.instrumentation.utils.
# is_instrumentation_enabled); set in the span's own context rather than by a second context
# manager, since this runs on every request.
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from wallet.tracing.sampling import draw_server_root

PROPAGATOR = TraceContextTextMapPropagator()  # W3C traceparent, for every reader here
_tracer = trace.get_tracer("wallet")


def traceparent_of(span: Span) -> str:
    """The span's W3C traceparent (version 00), written out without a carrier."""
    span_context = span.get_span_context()
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


@dataclass(frozen=True, slots=True)
class ServerSpan:
    span: Span
    method: str
    recording: bool  # sampled: the SDK records it; otherwise only its context goes around
    traceparent: str

    @classmethod
    def of(cls, span: Span, method: str) -> ServerSpan:
        return cls(span, method, span.is_recording(), traceparent_of(span))

    def enter(self) -> Token[Context]:
        """Make the span current (one context change, and suppressing instrumentation below
        an unsampled span in the same one); returns what ``leave`` takes."""
        if self.recording:
            return context.attach(trace.set_span_in_context(self.span))
        # What set_span_in_context and set_value would make, in one copy rather than two:
        # this runs for nine requests in ten.
        return context.attach(
            Context(
                {**context.get_current(), _SPAN_KEY: self.span, _SUPPRESS_INSTRUMENTATION_KEY: True}
            )
        )

    @staticmethod
    def leave(token: Token[Context]) -> None:
        context.detach(token)

    def finish(self, *, route: str | None, status: int) -> None:
        """Named by its route template once routing has chosen it; status 5xx is an error."""
        if not self.recording:
            return  # a span the SDK does not record has nothing to end
        if route is not None:
            self.span.update_name(f"{self.method} {route}")
            self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self.span.set_attribute("error.type", str(status))
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()


def start_server_span(
    *, method: str, path: str, scheme: str, traceparent: str | None
) -> ServerSpan:
    """The server span of a request, continuing the caller's ``traceparent`` if it sent one."""
    parent = PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else context.Context()
    left_out = draw_server_root(parent if traceparent else None)
    if left_out is not None:
        return ServerSpan.of(left_out, method)
    span = _tracer.start_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path, "url.scheme": scheme},
    )
    return ServerSpan.of(span, method)
