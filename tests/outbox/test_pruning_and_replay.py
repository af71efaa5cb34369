"""Retention of published events, and replay of delivered or dead-lettered ones."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from wallet.cli import app as cli
from wallet.config import get_settings
from wallet.outbox import service as outbox_service
from wallet.outbox.tasks import prune_published


async def _event(db: Any, *, status: str, published_hours_ago: float | None) -> UUID:
    event_id = uuid4()
    await db.execute(
        """
        INSERT INTO outbox (event_id, event_type, wallet_id, sequence, payload, trace_id,
                            published_at, dead_lettered_at, attempts)
        VALUES ($1, 'wallet.test.retention', $2, 1, '{}', 'retention',
                now() - make_interval(secs => $3 * 3600), CASE WHEN $4 THEN now() END, 4)
        """,
        event_id,
        uuid4(),
        published_hours_ago,
        status == "DEAD",
    )
    assert await _status(db, event_id) == status
    return event_id


async def _status(db: Any, event_id: UUID) -> str | None:
    status: str | None = await db.fetchval(
        "SELECT status FROM outbox_documents WHERE event_id = $1", event_id
    )
    return status


async def test_published_events_past_retention_are_pruned(app: FastAPI, db: Any) -> None:
    expired = await _event(db, status="PUBLISHED", published_hours_ago=200)
    recent = await _event(db, status="PUBLISHED", published_hours_ago=100)
    undelivered = await _event(db, status="PENDING", published_hours_ago=None)
    dead = await _event(db, status="DEAD", published_hours_ago=None)
    await db.execute(
        "UPDATE outbox SET created_at = now() - interval '300 hours' WHERE event_id = ANY($1)",
        [undelivered, dead],
    )
    assert await prune_published(app.state.pool, retention_hours=168, batch_size=1000) >= 1
    assert await _status(db, expired) is None
    assert await _status(db, recent) == "PUBLISHED"
    assert await _status(db, undelivered) == "PENDING"
    assert await _status(db, dead) == "DEAD"


async def test_replay_command_queues_events_again(
    database_url: str, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await _event(db, status="DEAD", published_hours_ago=None)
    delivered = await _event(db, status="PUBLISHED", published_hours_ago=1)
    monkeypatch.setenv("WALLET_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        # The command runs its own event loop, so it runs in a thread of its own here.
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["outbox", "replay", "--id", str(dead)]
        )
        refused = await asyncio.to_thread(CliRunner().invoke, cli, ["outbox", "replay"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "queued 1 event(s)" in result.output
    row = await db.fetchrow("SELECT * FROM outbox_documents WHERE event_id = $1", dead)
    assert (row["status"], row["attempts"], row["dead_lettered_at"]) == ("PENDING", 0, None)
    assert await _status(db, delivered) == "PUBLISHED"
    assert refused.exit_code != 0


async def test_replay_since_a_time_queues_everything_delivered_after_it(
    app: FastAPI, db: Any
) -> None:
    old = await _event(db, status="PUBLISHED", published_hours_ago=50)
    await db.execute(
        "UPDATE outbox SET created_at = now() - interval '50 hours' WHERE event_id = $1", old
    )
    fresh = await _event(db, status="PUBLISHED", published_hours_ago=1)
    since = await db.fetchval("SELECT now() - interval '2 hours'")
    async with app.state.pool.acquire() as conn, conn.transaction():
        queued = await outbox_service.replay(conn, event_ids=[], since=since)
    assert queued >= 1
    assert await _status(db, fresh) == "PENDING"
    assert await _status(db, old) == "PUBLISHED"
