"""The default sampling, decided for requests before the SDK is asked for a span.

With our default (follow the caller; otherwise sample a fraction of new traces), nine requests
in ten are left out. Asking the SDK for each of those spans (parent lookup, id generation, the
sampler's call, the attributes it is shown) was most of what tracing cost a request that is
not recorded. So the server span's middleware draws first (``draw_server_root``): a request
left out gets a span context made here, with the SDK's id scheme, and the SDK is asked only
for the ones that are recorded. Its sampler (``ServerDrawnRoots``) then takes a root server
span as already drawn, and samples every other root span (a worker's publish with no stored
context, say) at the same ratio by trace id, as ``TraceIdRatioBased`` does.

With ``OTEL_TRACES_SAMPLER`` set, the SDK's own sampler decides every span and nothing here
is used.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    get_current_span,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE, TraceState
from opentelemetry.util.types import Attributes

# The root ratio when our default sampler is installed; None: the SDK decides every span.
_server_root_ratio: float | None = None


class ServerDrawnRoots(Sampler):
    """A root sampler: server spans were drawn by ``draw_server_root``, others by trace id."""

    def __init__(self, ratio: float) -> None:
        self._by_trace_id = TraceIdRatioBased(ratio)
        self.ratio = ratio

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.SERVER:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
        return self._by_trace_id.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"ServerDrawnRoots{{{self.ratio}}}"


def default_sampler(ratio: float) -> Sampler:
    """Follow the caller's decision; draw new traces at ``ratio``. Installing it turns on the
    middleware's early draw, which this sampler's server-span rule relies on."""
    global _server_root_ratio
    _server_root_ratio = ratio
    return ParentBased(ServerDrawnRoots(ratio))


def stop_drawing() -> None:
    """Back to the SDK deciding every span (for tests that install another provider)."""
    global _server_root_ratio
    _server_root_ratio = None


def draw_server_root(parent: Context | None) -> NonRecordingSpan | None:
    """The span context of a request that sampling leaves out, or None when the SDK is to make
    its span (it is sampled, or the SDK's own sampler decides)."""
    ratio = _server_root_ratio
    if ratio is None:
        return None
    caller = get_current_span(parent).get_span_context() if parent is not None else None
    if caller is not None and caller.is_valid:
        if caller.trace_flags.sampled:
            return None
        trace_id, trace_state = caller.trace_id, caller.trace_state
        flags = caller.trace_flags & TraceFlags.RANDOM_TRACE_ID
    else:
        # Sampling, not security: the draw and the ids need no cryptographic source (the SDK's
        # own RandomIdGenerator uses the same module).
        if random.random() < ratio:  # noqa: S311  # nosec B311
            return None
        trace_id, trace_state = _random_id(128, INVALID_TRACE_ID), DEFAULT_TRACE_STATE
        flags = TraceFlags.RANDOM_TRACE_ID  # as the SDK marks a trace id it drew at random
    span_id = _random_id(64, INVALID_SPAN_ID)
    return NonRecordingSpan(
        SpanContext(
            trace_id,
            span_id,
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=trace_state,
        )
    )


def _random_id(bits: int, invalid: int) -> int:
    while (value := random.getrandbits(bits)) == invalid:  # nosec B311 - see above
        pass
    return value
