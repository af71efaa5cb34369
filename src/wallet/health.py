"""Liveness, readiness and metrics."""

from __future__ import annotations

import os

import asyncpg
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response

from wallet.db.modules import StaleDatabase, check_modules_current
from wallet.db.session import DbPool
from wallet.errors import DatabaseUnavailable, problem_for, problem_response
from wallet.observability import DATABASE_UP

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(pool: DbPool, request: Request) -> dict[str, object] | Response:
    """The service can take traffic: the database answers.

    The broker's state is reported but never fails readiness: while it is down, money still
    moves and events wait in the outbox.
    """
    try:
        async with pool.acquire() as conn:
            await check_modules_current(conn)
    except StaleDatabase as exc:
        return problem_response(
            status_code=503, code="database_stale", title="Database is stale", detail=str(exc)
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # Any failure means "send no traffic here"; the pool reconnects by itself, so the
        # next probe after the database is back answers 200.
        DATABASE_UP.set(0)
        return problem_for(DatabaseUnavailable(f"readiness: {type(exc).__name__}"))
    DATABASE_UP.set(1)
    probe = request.app.state.broker_probe
    broker = "disabled" if probe is None else await probe.state()
    return {"status": "ready", "checks": {"database": "ok", "broker": broker}}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several server processes: merge them
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
