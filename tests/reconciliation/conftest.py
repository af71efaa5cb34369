"""Databases of their own for checks that need the whole ledger to be known.

The shared test database holds whatever other tests left; a run over it can only be judged
for the wallets a test made. ``quiet_pool`` is a second database where no test tampers with
anything, so a run over it must be clean; ``scratch_pool`` is a fresh database per test, for
tampering that cannot be undone (journals are append-only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import migrated_database
from wallet.db.pool import Pool, create_pool


@pytest.fixture(scope="session")
def quiet_database_url() -> Iterator[str]:
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
async def quiet_pool(quiet_database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(quiet_database_url, min_size=1, max_size=12)
    yield pool
    await pool.close()


@pytest.fixture
async def scratch_pool() -> AsyncIterator[Pool]:
    with migrated_database() as url:
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()
