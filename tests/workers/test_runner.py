"""The periodic runner: drains backlogs at once, survives failures, stops promptly."""

from __future__ import annotations

import asyncio
import time

from wallet.workers.runner import PeriodicTask, run_periodic


async def test_a_full_batch_runs_again_at_once_then_waits() -> None:
    results = [5, 5, 2, 5]
    calls: list[float] = []
    stop = asyncio.Event()

    async def drain() -> int:
        calls.append(time.monotonic())
        if len(calls) == len(results):
            stop.set()
        return results[len(calls) - 1]

    started = time.monotonic()
    runner = asyncio.create_task(
        run_periodic([PeriodicTask("drain", drain, every_seconds=0.5, drain_at=5)], stop=stop)
    )
    await asyncio.wait_for(runner, timeout=5)
    assert len(calls) == 4
    assert calls[2] - started < 0.2  # two full batches: no waiting
    assert calls[3] - calls[2] >= 0.45  # a short batch: wait the interval


async def test_a_failing_task_is_retried_and_others_keep_running() -> None:
    stop = asyncio.Event()
    attempts = {"flaky": 0, "steady": 0}

    async def flaky() -> None:
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise RuntimeError("boom")
        stop.set()

    async def steady() -> None:
        attempts["steady"] += 1

    tasks = [
        PeriodicTask("flaky", flaky, every_seconds=0.01),
        PeriodicTask("steady", steady, every_seconds=0.01),
    ]
    await asyncio.wait_for(run_periodic(tasks, stop=stop, max_backoff_seconds=0.05), timeout=5)
    assert attempts["flaky"] == 3
    assert attempts["steady"] >= 2


async def test_stop_ends_a_long_wait_at_once() -> None:
    stop = asyncio.Event()
    runs = 0

    async def rare() -> None:
        nonlocal runs
        runs += 1

    runner = asyncio.create_task(
        run_periodic([PeriodicTask("rare", rare, every_seconds=3600)], stop=stop)
    )
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(runner, timeout=1)
    assert runs == 1
