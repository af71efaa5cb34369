"""The gauges that alerts watch and only the worker's tasks (or readiness) set."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import FastAPI
from prometheus_client import REGISTRY

from tests.holds.helpers import create_hold, make_due
from tests.support import Api
from wallet.holds.tasks import expire_due_holds
from wallet.outbox.repository import backlog as outbox_backlog
from wallet.outbox.tasks import refresh_backlog


def _gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


async def test_hold_expiry_lag_is_how_late_the_oldest_due_hold_is(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, wallet_id, 100)
    await make_due(db, hold["id"], seconds_ago=600)

    await expire_due_holds(app.state.pool)
    assert _gauge("wallet_hold_expiry_lag_seconds") >= 600

    await expire_due_holds(app.state.pool)  # the first sweep expired every due hold
    assert _gauge("wallet_hold_expiry_lag_seconds") == 0


async def test_outbox_backlog_reports_count_and_oldest_age(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 500)  # no publisher here: its events stay pending
    await db.execute(
        "UPDATE outbox SET created_at = now() - interval '15 minutes' WHERE wallet_id = $1",
        UUID(wallet_id),
    )
    pending: int = await db.fetchval(
        "SELECT count(*) FROM outbox_documents WHERE status = 'PENDING'"
    )

    await refresh_backlog(app.state.pool)

    assert _gauge("wallet_outbox_backlog") == pending >= 2
    assert _gauge("wallet_outbox_oldest_pending_age_seconds") >= 900


async def test_backlog_age_of_engine_events_is_their_journals(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    """An engine event stores no time of its own (its journal's: migrations/0016), so the
    oldest pending age reads it from the journals of the oldest pending events."""
    wallet_id = UUID(await api.funded_wallet(owner, 500))
    transaction = db.transaction()
    await transaction.start()
    try:  # rolled back: the rest of the suite's events stay as they were
        await db.execute(
            """UPDATE outbox SET published_at = now()
               WHERE published_at IS NULL AND dead_lettered_at IS NULL AND wallet_id <> $1""",
            wallet_id,
        )
        journals = await db.fetchval(
            """SELECT array_agg(journal_id) FROM outbox
               WHERE wallet_id = $1 AND created_at IS NULL AND journal_id IS NOT NULL""",
            wallet_id,
        )
        assert journals  # the deposit's event keeps no time
        await db.execute("SET LOCAL session_replication_role = replica")  # journals are final
        await db.execute(
            "UPDATE journals SET created_at = created_at - interval '1 hour' WHERE id = ANY($1)",
            journals,
        )
        pending, oldest_age = await outbox_backlog(db)
        assert pending == await db.fetchval(
            "SELECT count(*) FROM outbox WHERE wallet_id = $1", wallet_id
        )
        assert 3600 <= oldest_age < 3600 + 300
    finally:
        await transaction.rollback()


async def test_readiness_reports_the_database_up(api: Api) -> None:
    assert (await api.http.get("/readyz")).status_code == 200
    assert _gauge("wallet_database_up") == 1
