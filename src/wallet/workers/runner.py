"""A small runner of periodic tasks, each in its own loop, stopping cleanly on request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from wallet.outbox.core import retry_delay

logger = logging.getLogger(__name__)


class DependencyUnavailable(Exception):
    """Something outside the process (the broker, say) is down; retry later, no traceback."""


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    """``run`` is called every ``every_seconds``; it returns how many items it handled.

    When a run handles at least ``drain_at`` items a backlog is draining, so the next run
    starts at once instead of waiting. A failing run is retried with exponential backoff.
    """

    name: str
    run: Callable[[], Awaitable[int | None]]
    every_seconds: float
    drain_at: int | None = None


async def run_periodic(
    tasks: Sequence[PeriodicTask], *, stop: asyncio.Event, max_backoff_seconds: float = 30.0
) -> None:
    """Run every task until ``stop`` is set; each finishes its current run, then returns."""
    logger.info("worker tasks started", extra={"tasks": [task.name for task in tasks]})
    await asyncio.gather(*(_loop(task, stop, max_backoff_seconds) for task in tasks))
    logger.info("worker tasks stopped")


async def _loop(task: PeriodicTask, stop: asyncio.Event, max_backoff_seconds: float) -> None:
    failures = 0
    while not stop.is_set():
        try:
            handled = await task.run()
        except Exception as exc:  # one task's failure must neither stop nor spin the others
            failures += 1
            _log_failure(task, exc, failures)
            delay = retry_delay(
                failures, base_seconds=task.every_seconds, max_seconds=max_backoff_seconds
            )
            await _sleep(delay, stop)
            continue
        if failures:
            logger.info("task recovered", extra={"task": task.name, "failures": failures})
            failures = 0
        if task.drain_at is not None and handled is not None and handled >= task.drain_at:
            await asyncio.sleep(0)  # let the other loops in
            continue
        await _sleep(task.every_seconds, stop)


def _log_failure(task: PeriodicTask, exc: Exception, failures: int) -> None:
    # First failure of a streak at warning/error, the rest at debug: an outage is one story.
    extra = {"task": task.name, "failures": failures, "error": str(exc)}
    if failures > 1:
        logger.debug("task still failing", extra=extra)
    elif isinstance(exc, DependencyUnavailable):
        logger.warning("task waiting for a dependency", extra=extra)
    else:
        logger.exception("task failed", extra=extra)


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
