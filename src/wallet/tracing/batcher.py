"""The posting batch's span, for the batcher of ``ledger.batcher`` (used when tracing is on).

A batch carries postings of several requests in one database call. Its span is a child of
the first of those requests' sampled spans and links to the other sampled ones, so each
sampled request's trace shows the batch (and the database call inside it) that carried its
posting. A batch of unsampled requests makes no spans at all.

The flush runs in a task that inherited the context of whichever request started it (possibly
an unsampled one, whose instrumentation is suppressed): the batch's context is therefore built
from nothing but its parent, never from the context it happens to run in.
"""

from __future__ import annotations

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext

from wallet.db.pool import Pool
from wallet.ledger.batcher import PostingBatcher, _Waiting
from wallet.ledger.core import Posting
from wallet.ledger.repository import PostingResult

_tracer = trace.get_tracer("wallet")


class TracedPostingBatcher(PostingBatcher):
    def __init__(self, pool: Pool, *, max_batch: int = 64, max_in_flight: int = 1) -> None:
        super().__init__(pool, max_batch=max_batch, max_in_flight=max_in_flight)
        # The span each waiting posting was submitted from, by the posting's identity.
        self._submitted_from: dict[int, SpanContext] = {}

    async def submit(self, posting: Posting) -> PostingResult:
        span = trace.get_current_span()
        if span.is_recording():  # a sampled request's span (others are not recorded)
            self._submitted_from[id(posting)] = span.get_span_context()
        try:
            return await super().submit(posting)
        finally:
            self._submitted_from.pop(id(posting), None)

    async def _post(self, batch: list[_Waiting]) -> None:
        origins = [self._submitted_from.get(id(posting)) for posting, _ in batch]
        callers = [origin for origin in origins if origin is not None]
        if not callers:
            with suppress_instrumentation():
                await super()._post(batch)
            return
        parent = trace.set_span_in_context(NonRecordingSpan(callers[0]), context.Context())
        token = context.attach(parent)
        try:
            with _tracer.start_as_current_span(
                "ledger.post_batch",
                links=[Link(caller) for caller in callers[1:]],
                attributes={"wallet.batch.size": len(batch)},
            ):
                await super()._post(batch)
        finally:
            context.detach(token)
