"""The embedded default: ``wallet serve`` runs the worker's loops in its own process."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.events import EventSink
from tests.support import Api
from wallet.app import create_app
from wallet.config import Settings


@asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[Api]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallet.test") as http:
            yield Api(http=http, settings=settings)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.broker
async def test_server_publishes_events_when_it_runs_the_worker_loops(
    settings: Settings, rabbitmq_url: str, event_sink: EventSink, owner: str
) -> None:
    server_settings = settings.model_copy(
        update={
            "run_worker_in_server": True,
            "rabbitmq_url": rabbitmq_url,
            "rabbitmq_exchange": event_sink.exchange_name,
            "outbox_poll_seconds": 0.05,
        }
    )
    async with _served(server_settings) as api:
        wallet = await api.funded_wallet(owner, 100)
        await event_sink.wait_until(lambda: len(event_sink.for_wallets([wallet])) == 2)
        ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_unreachable_broker_is_reported_but_money_still_moves(
    settings: Settings, owner: str
) -> None:
    down = settings.model_copy(
        update={"rabbitmq_url": f"amqp://guest:guest@127.0.0.1:{_closed_port()}/"}
    )
    async with _served(down) as api:
        ready = await api.http.get("/readyz")
        wallet = await api.funded_wallet(owner, 100)
    assert ready.status_code == 200
    assert ready.json()["checks"]["broker"] == "unreachable"
    assert wallet


async def test_without_a_broker_the_server_says_so_once_and_the_feed_serves(
    settings: Settings, owner: str, caplog: pytest.LogCaptureFixture, db: Any
) -> None:
    no_broker = settings.model_copy(update={"run_worker_in_server": True, "rabbitmq_url": None})
    with caplog.at_level(logging.INFO):
        async with _served(no_broker) as api:
            wallet = await api.funded_wallet(owner, 100)
            ready = await api.http.get("/readyz")
            # The feed shows a row once every older transaction has ended; the in-server
            # loops run their own short transactions, so give it a moment.
            served = await _feed_items_of(api, wallet)
            for _ in range(50):
                if len(served) == 2:
                    break
                await asyncio.sleep(0.1)
                served = await _feed_items_of(api, wallet)
    notices = [r for r in caplog.records if "event publishing is off" in r.getMessage()]
    assert len(notices) == 1
    assert ready.json()["checks"]["broker"] == "disabled"
    assert [item["type"] for item in served] == ["wallet.created", "wallet.deposit.completed"]
    statuses = await db.fetch(
        "SELECT status FROM outbox_documents WHERE wallet_id = $1::uuid", wallet
    )
    assert [row["status"] for row in statuses] == ["PENDING", "PENDING"]


async def _feed_items_of(api: Api, wallet_id: str) -> list[dict[str, Any]]:
    """The whole feed from the start, keeping one wallet's events."""
    cursor: str | None = None
    items: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"after": cursor} if cursor else {})}
        page = (await api.http.get("/v1/events", params=params, headers=api.headers())).json()
        if not page["items"]:
            return items
        items += [item for item in page["items"] if item["subject"] == wallet_id]
        cursor = page["next_cursor"]
