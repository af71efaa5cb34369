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


async def test_readiness_reports_the_database_up(api: Api) -> None:
    assert (await api.http.get("/readyz")).status_code == 200
    assert _gauge("wallet_database_up") == 1
