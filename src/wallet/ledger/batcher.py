"""Group postings from concurrent requests into one database call (DESIGN D6).

Each ``ledger_post`` call is one round trip and one commit. Under load many requests wait
at once; sending them together as one batch makes the database commit once for all of them,
which is where PostgreSQL spends most of a small transaction's time. At low load a posting
goes out alone and at once: nothing waits for a batch to fill.

A batch is one transaction. If it fails as a whole (an unexpected database error), its
postings are retried one by one, so one bad posting never takes others down with it.
Refusals (insufficient funds and the like) are per posting and never fail a batch.
"""

from __future__ import annotations

import asyncio
from collections import deque

import asyncpg

from wallet.db.faults import is_outage
from wallet.db.pool import Pool
from wallet.ledger import repository
from wallet.ledger.core import Posting
from wallet.ledger.repository import PostingResult

_Waiting = tuple[Posting, "asyncio.Future[PostingResult]"]


class PostingBatcher:
    def __init__(self, pool: Pool, *, max_batch: int = 64, max_in_flight: int = 1) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: deque[_Waiting] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, posting: Posting) -> PostingResult:
        future: asyncio.Future[PostingResult] = asyncio.get_running_loop().create_future()
        self._queue.append((posting, future))
        self._start_flushes()
        return await future

    def _start_flushes(self) -> None:
        while self._queue and self._in_flight < self._max_in_flight:
            batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
            self._in_flight += 1
            task = asyncio.create_task(self._flush(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, batch: list[_Waiting]) -> None:
        try:
            await self._post(batch)
        finally:
            self._in_flight -= 1
            self._start_flushes()

    async def _post(self, batch: list[_Waiting]) -> None:
        try:
            async with self._pool.acquire() as conn:
                results = await repository.post(conn, [posting for posting, _ in batch])
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            if len(batch) == 1 or is_outage(exc):  # an outage is no one posting's fault
                for _, future in batch:
                    _settle_with_error(future, exc)
                return
            for waiting in batch:  # isolate the posting that failed the batch
                await self._post([waiting])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _settle_with_error(future: asyncio.Future[PostingResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
