"""The publisher's claim walks the unpublished events in feed order and stops at its last head,
even when the outbox's statistics still describe it as mostly published (they lag a backlog)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.conftest import migrated_database
from wallet.outbox import repository

# Events of wallets without a journal, one row each per (wallet, sequence); published or not.
_EVENTS = """
INSERT INTO outbox (event_id, event_type, wallet_id, sequence, payload, trace_id, published_at)
SELECT gen_random_uuid(), 'wallet.test.claim', w.id, s, '{}', 'claim-plan',
       CASE WHEN $3 THEN now() END
FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)) AS w,
     generate_series(1, $2) AS s
"""


@pytest.fixture
async def stale_backlog() -> AsyncIterator[asyncpg.Connection[Any]]:
    """An outbox analyzed while nearly all its events were published, then given a backlog."""
    with migrated_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(_EVENTS, 2_000, 10, True)
            await conn.execute(_EVENTS, 30, 10, False)
            await conn.execute("ANALYZE outbox")
            await conn.execute(_EVENTS, 3_000, 10, False)
            yield conn
        finally:
            await conn.close()


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_claim_walks_the_backlog_in_order_whatever_the_statistics_say(
    stale_backlog: asyncpg.Connection[Any], plan_mode: str
) -> None:
    conn = stale_backlog
    async with conn.transaction():
        await conn.execute(f"SET LOCAL plan_cache_mode = {plan_mode}")
        events = await repository.claim_due(conn, heads=200, per_wallet=50)
        plan = "\n".join(
            row[0] for row in await conn.fetch("EXPLAIN " + repository._CLAIM, 200, 50)
        )
    assert "Index Scan using outbox_unpublished" in plan, plan
    assert "Bitmap" not in plan and "Seq Scan" not in plan, plan
    # 200 wallets' ten events each, every wallet's in sequence order.
    by_wallet: dict[Any, list[int]] = {}
    for event in events:
        by_wallet.setdefault(event.wallet_id, []).append(event.sequence)
    assert len(by_wallet) == 200
    assert all(sequences == list(range(1, 11)) for sequences in by_wallet.values())
