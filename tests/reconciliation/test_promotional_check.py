"""promotional = the sum of the wallet's ACTIVE grants' remaining, and within balance."""

from __future__ import annotations

from uuid import uuid4

from tests.reconciliation import books
from wallet.db.pool import Pool
from wallet.reconciliation import service
from wallet.reconciliation.core import FindingKind


async def test_promotional_is_checked_against_live_grants(scratch_pool: Pool) -> None:
    wallet_id = (await books.funded_wallets(scratch_pool, count=1, amount=100, currency="USD"))[0]
    journal_id = uuid4()
    async with scratch_pool.acquire() as conn:
        posted = await conn.fetchval(
            """SELECT outcome FROM credits_grant(
                   jsonb_populate_record(NULL::ledger_posting, $1::jsonb),
                   now() + interval '1 day', 'GIFT', NULL)""",
            {
                "caller": "tests",
                "fingerprint": "f",
                "trace_id": "t",
                "journal_id": str(journal_id),
                "journal_type": "CREDIT_GRANT",
                "event_type": "credit.granted",
                "wallet_id": str(wallet_id),
                "amount": 30,
                "legs": [
                    {"wallet_id": str(wallet_id), "amount": 30, "held_delta": 0, "promotional": 30},
                    {"system_kind": "PROMOTIONS", "amount": -30, "held_delta": 0},
                ],
            },
        )
        assert posted == "posted"
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            clean = await service.check_snapshot(
                conn, batch_size=10, max_findings=50, outbox_window_hours=24
            )
        await conn.execute("UPDATE wallets SET promotional = 200 WHERE id = $1", wallet_id)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            drifted = await service.check_snapshot(
                conn, batch_size=10, max_findings=50, outbox_window_hours=24
            )

    assert clean.findings == []
    assert {(f.kind, f.expected, f.actual) for f in drifted.findings} == {
        (FindingKind.PROMOTIONAL_MISMATCH, 30, 200),
        (FindingKind.PROMOTIONAL_EXCEEDS_BALANCE, 130, 200),
    }
