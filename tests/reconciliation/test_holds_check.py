"""held = what the wallet's HELD holds still reserve."""

from __future__ import annotations

from uuid import uuid4

from tests.reconciliation import books
from wallet.db.pool import Pool
from wallet.reconciliation import service
from wallet.reconciliation.core import FindingKind


async def test_held_is_checked_against_active_holds(scratch_pool: Pool) -> None:
    wallet_id = (await books.funded_wallets(scratch_pool, count=1, amount=100, currency="USD"))[0]
    async with scratch_pool.acquire() as conn:
        posted = await conn.fetchrow(
            """SELECT outcome FROM hold_create(hold_call_of($1), $2, 40, 600, NULL, NULL, '{}')""",
            {
                "caller": "tests",
                "idempotency_key": str(uuid4()),
                "fingerprint": "f",
                "trace_id": "t",
            },
            wallet_id,
        )
        assert posted is not None and posted["outcome"] == "posted"
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            clean = await service.check_snapshot(
                conn, batch_size=10, max_findings=50, outbox_window_hours=24
            )
        await conn.execute("UPDATE wallets SET held = held - 1 WHERE id = $1", wallet_id)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            drifted = await service.check_snapshot(
                conn, batch_size=10, max_findings=50, outbox_window_hours=24
            )

    assert clean.findings == []
    assert {(f.kind, f.expected, f.actual) for f in drifted.findings} == {
        (FindingKind.HELD_MISMATCH, 40, 39),
        (FindingKind.HOLD_RESERVATION_MISMATCH, 40, 39),
    }
