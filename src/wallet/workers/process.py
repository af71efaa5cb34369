"""The worker: which periodic tasks run, and the process that runs them.

``wallet worker`` runs them in a process of its own; in the embedded default, ``wallet serve``
runs the same tasks inside each server process (see ``in_background``). Any number of either
is safe: every task claims its rows with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from functools import partial

from wallet.audit.tasks import seal_audit_chain
from wallet.config import Settings
from wallet.credits.tasks import expire_due_credits
from wallet.db.pool import Pool, create_pool
from wallet.holds.tasks import expire_due_holds
from wallet.idempotency.tasks import prune_expired_keys
from wallet.outbox import tasks as outbox_tasks
from wallet.outbox.broker import Broker
from wallet.outbox.publisher import OutboxPublisher, PublisherConfig
from wallet.payouts.rail import HttpRail
from wallet.payouts.service import process_due, start_scheduled_run
from wallet.reconciliation.tasks import run_scheduled_reconciliation
from wallet.tracing import background_work, configure_tracing, flush_tracing
from wallet.workers.runner import PeriodicTask, run_periodic

logger = logging.getLogger(__name__)

PRUNE_BATCH = 1000
SHUTDOWN_GRACE_SECONDS = 15.0


def build_tasks(
    pool: Pool, settings: Settings, publisher: OutboxPublisher | None
) -> list[PeriodicTask]:
    """Every periodic job of the service. Add new ones here, one line each."""
    tasks = [
        PeriodicTask("outbox.backlog", partial(outbox_tasks.refresh_backlog, pool), 5.0),
        PeriodicTask(
            "outbox.prune",
            partial(
                outbox_tasks.prune_published,
                pool,
                retention_hours=settings.outbox_retention_hours,
                batch_size=PRUNE_BATCH,
            ),
            every_seconds=300.0,
            drain_at=PRUNE_BATCH,
        ),
        PeriodicTask(
            "idempotency.prune",
            partial(
                prune_expired_keys,
                pool,
                ttl_hours=settings.idempotency_ttl_hours,
                batch_size=PRUNE_BATCH,
            ),
            every_seconds=60.0,
            drain_at=PRUNE_BATCH,
        ),
        PeriodicTask(
            "holds.expire",
            partial(expire_due_holds, pool, batch_size=settings.hold_expiry_batch_size),
            every_seconds=settings.hold_expiry_interval_seconds,
        ),
        # Expired promotional credit, on the same beat as holds.
        PeriodicTask(
            "credits.expire",
            partial(expire_due_credits, pool, batch_size=settings.hold_expiry_batch_size),
            every_seconds=settings.hold_expiry_interval_seconds,
        ),
        *(
            [
                PeriodicTask(
                    "payouts.process",
                    partial(
                        process_due,
                        pool,
                        HttpRail(settings.payout_rail_url),
                        retry_after_seconds=settings.payout_retry_after_seconds,
                    ),
                    every_seconds=settings.payout_interval_seconds,
                )
            ]
            if settings.payout_rail_url
            else []
        ),
        # Starts the configured payout run when the last one is older than its interval.
        *(
            [
                PeriodicTask(
                    "payouts.schedule",
                    partial(start_scheduled_run, pool, settings=settings),
                    every_seconds=300.0,
                )
            ]
            if settings.payout_schedule_currency
            else []
        ),
        # Runs only when the last completed reconciliation is older than its interval.
        PeriodicTask(
            "reconciliation",
            partial(run_scheduled_reconciliation, pool, settings=settings),
            every_seconds=300.0,
        ),
        # Audit rows are chained shortly after they settle (see audit/tasks.py).
        PeriodicTask("audit.seal", partial(seal_audit_chain, pool), every_seconds=2.0),
    ]
    if publisher is not None:
        # Any claimed row means more may be waiting: go again at once until a round is empty.
        # Several rounds at once are safe as several workers are: each claims only heads no
        # other holds, and a wallet's followers only behind its own head.
        tasks[:0] = [
            PeriodicTask(
                f"outbox.publish.{n}",
                publisher.publish_due,
                every_seconds=settings.outbox_poll_seconds,
                drain_at=1,
            )
            for n in range(1, settings.outbox_rounds_in_flight + 1)
        ]
    return tasks


class Worker:
    """The periodic tasks over one pool, with a broker when one is configured."""

    def __init__(self, *, pool: Pool, settings: Settings) -> None:
        self.stop = asyncio.Event()
        self._settings = settings
        self._broker: Broker | None = None
        publisher = None
        if settings.rabbitmq_url:
            self._broker = Broker(
                url=settings.rabbitmq_url, exchange_name=settings.rabbitmq_exchange
            )
            publisher = OutboxPublisher(
                pool=pool, broker=self._broker, config=PublisherConfig.from_settings(settings)
            )
        else:
            logger.warning(
                "event publishing is off: WALLET_RABBITMQ_URL is not set; events stay in the "
                "outbox and GET /v1/events serves them"
            )
        self.tasks = build_tasks(pool, settings, publisher)

    async def run(self) -> None:
        try:
            with background_work():
                await run_periodic(
                    self.tasks,
                    stop=self.stop,
                    max_backoff_seconds=self._settings.worker_max_backoff_seconds,
                )
        finally:
            if self._broker is not None:
                await self._broker.close()


@contextlib.asynccontextmanager
async def in_background(pool: Pool, settings: Settings) -> AsyncIterator[Worker]:
    """Run the worker's tasks beside the block (the server's lifespan), stop them after it."""
    worker = Worker(pool=pool, settings=settings)
    running = asyncio.create_task(worker.run(), name="wallet-worker")
    try:
        yield worker
    finally:
        worker.stop.set()
        try:
            await asyncio.wait_for(running, timeout=SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("worker tasks did not stop in time; cancelled")


async def run_worker(settings: Settings, *, database_url: str) -> None:
    """The ``wallet worker`` process: run until SIGTERM or SIGINT, then stop cleanly."""
    configure_tracing(settings)
    # A connection for each publishing round in flight, and some for the other tasks.
    pool = await create_pool(
        database_url, min_size=1, max_size=settings.outbox_rounds_in_flight + 3
    )
    try:
        worker = Worker(pool=pool, settings=settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, _request_stop, worker, signum)
        running = asyncio.create_task(worker.run())
        await worker.stop.wait()
        try:
            await asyncio.wait_for(running, timeout=SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("worker tasks did not stop in time; cancelled")
    finally:
        await pool.close()
        flush_tracing()


def _request_stop(worker: Worker, signum: signal.Signals) -> None:
    logger.info("stopping worker", extra={"signal": signum.name})
    worker.stop.set()
