"""held = what the wallet's HELD holds still reserve (checked once the holds table exists)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.reconciliation import books
from wallet.db.pool import Pool
from wallet.reconciliation import service
from wallet.reconciliation.core import FindingKind

# The holds schema of migrations/0002.holds.sql (issue 3), as far as the check reads it.
_HOLDS_LIKE_ISSUE_3 = """
CREATE TEMP TABLE holds (
    id uuid PRIMARY KEY, wallet_id uuid NOT NULL, amount bigint NOT NULL,
    captured bigint NOT NULL DEFAULT 0, status text NOT NULL
)"""


async def test_held_is_checked_against_active_holds(scratch_pool: Pool) -> None:
    reserved, drifted = await books.funded_wallets(
        scratch_pool, count=2, amount=100, currency="USD"
    )
    async with scratch_pool.acquire() as conn:
        # A session's own table stands in for the real one, so this branch can test the check.
        await conn.execute(_HOLDS_LIKE_ISSUE_3)
        await conn.executemany(
            """INSERT INTO holds (id, wallet_id, amount, captured, status)
               VALUES ($1, $2, $3, $4, $5)""",
            [
                (uuid4(), reserved, 50, 20, "HELD"),  # still reserves 30
                (uuid4(), reserved, 99, 0, "RELEASED"),  # reserves nothing
                (uuid4(), drifted, 10, 0, "HELD"),
            ],
        )
        # held as the entries would have recorded it, but drifted's holds say otherwise.
        await conn.execute(
            "UPDATE wallets SET held = 30 WHERE id = ANY($1::uuid[])", [reserved, drifted]
        )
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            report = await service.check_snapshot(
                conn, batch_size=10, max_findings=50, outbox_window_hours=24
            )
        await conn.execute(
            "UPDATE wallets SET held = 0 WHERE id = ANY($1::uuid[])", [reserved, drifted]
        )
        await conn.execute("DROP TABLE holds")

    reservations = {
        (f.wallet_id, f.expected, f.actual)
        for f in report.findings
        if f.kind is FindingKind.HOLD_RESERVATION_MISMATCH and f.wallet_id in (reserved, drifted)
    }
    assert reservations == {(drifted, 10, 30)}


async def test_with_the_real_holds_feature_a_clean_run_stays_clean(scratch_pool: Pool) -> None:
    if not await scratch_pool.fetchval("SELECT to_regclass('public.holds') IS NOT NULL"):
        pytest.skip("needs the holds feature (issue 3); run after the merge")
    wallet_id = (await books.funded_wallets(scratch_pool, count=1, amount=100, currency="USD"))[0]
    async with scratch_pool.acquire() as conn:
        posted = await conn.fetchrow(
            """SELECT outcome FROM hold_create(ROW('tests', $1, 'f', 't', NULL)::hold_call,
                                               $2, 40, 600, NULL, NULL, '{}')""",
            str(uuid4()),
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
