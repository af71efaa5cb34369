"""The posting batch's span, for the batcher of ``ledger.batcher`` (used when tracing is on).

A batch carries postings of several requests in one database call. Its span is a child of
the first of those requests' spans and links to the others, so each request's trace shows
the batch (and the database call inside it) that carried its posting.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext

from wallet.db.pool import Pool
from wallet.ledger.batcher import PostingBatcher, _Waiting
from wallet.ledger.core import Posting
from wallet.ledger.repository import PostingResult

_tracer = trace.get_tracer("wallet")


class TracedPostingBatcher(PostingBatcher):
    def __init__(self, pool: Pool, *, max_batch: int = 64, max_in_flight: int = 4) -> None:
        super().__init__(pool, max_batch=max_batch, max_in_flight=max_in_flight)
        # The span each waiting posting was submitted from, by the posting's identity.
        self._submitted_from: dict[int, SpanContext] = {}

    async def submit(self, posting: Posting) -> PostingResult:
        self._submitted_from[id(posting)] = trace.get_current_span().get_span_context()
        try:
            return await super().submit(posting)
        finally:
            self._submitted_from.pop(id(posting), None)

    async def _post(self, batch: list[_Waiting]) -> None:
        origins = [self._submitted_from.get(id(posting)) for posting, _ in batch]
        callers = [origin for origin in origins if origin is not None and origin.is_valid]
        if not callers:
            await super()._post(batch)
            return
        parent = trace.set_span_in_context(NonRecordingSpan(callers[0]))
        with _tracer.start_as_current_span(
            "ledger.post_batch",
            context=parent,
            links=[Link(caller) for caller in callers[1:]],
            attributes={"wallet.batch.size": len(batch)},
        ):
            await super()._post(batch)
