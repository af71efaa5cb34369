"""Databases of their own for checks that need the whole ledger to be known.

The shared test database holds whatever other tests left; a run over it can only be judged
for the wallets a test made. ``quiet_pool`` is a second database where no test tampers with
anything, so a run over it must be clean; ``scratch_pool`` is a fresh database per test, for
tampering that cannot be undone (journals are append-only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import _server_url, _with_database
from wallet.db.embedded import ensure_database
from wallet.db.migrations import apply_migrations
from wallet.db.pool import Pool, create_pool


@contextmanager
def _migrated_database() -> Iterator[str]:
    server_url = _server_url()
    name = f"wallet_test_{uuid4().hex[:12]}"
    ensure_database(server_url, name)
    url = _with_database(server_url, name)
    apply_migrations(url)
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def quiet_database_url() -> Iterator[str]:
    with _migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
async def quiet_pool(quiet_database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(quiet_database_url, min_size=1, max_size=12)
    yield pool
    await pool.close()


@pytest.fixture
async def scratch_pool() -> AsyncIterator[Pool]:
    with _migrated_database() as url:
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()
