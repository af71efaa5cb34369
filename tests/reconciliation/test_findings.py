"""Each kind of damage done behind the service's back is found, and nothing else is."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.reconciliation import books
from wallet.db.pool import Pool
from wallet.reconciliation import service
from wallet.reconciliation.core import FindingKind
from wallet.reconciliation.tasks import RunLimits, run_reconciliation

LIMITS = RunLimits(batch_size=4, max_findings=100, outbox_window_hours=24)


Found = tuple[str, UUID | None, UUID | None, str | None, int, int]


def _found(run_findings: list[Any]) -> set[Found]:
    return {
        (f.kind, f.wallet_id, f.journal_id, f.currency, f.expected, f.actual) for f in run_findings
    }


async def test_tampering_is_found_kind_by_kind(scratch_pool: Pool) -> None:
    drained, credited, held, silent = await books.funded_wallets(
        scratch_pool, count=4, amount=1_000, currency="USD"
    )
    await books.transfer(scratch_pool, drained, credited, 400)
    silent_journal = await scratch_pool.fetchval(
        "SELECT journal_id FROM entries WHERE wallet_id = $1", silent
    )
    async with scratch_pool.acquire() as owner_role:  # the database owner, not the service
        await owner_role.execute(
            "UPDATE wallets SET balance = balance + 30 WHERE id = $1", credited
        )
        await owner_role.execute("UPDATE wallets SET held = 25 WHERE id = $1", held)
        await owner_role.execute("DELETE FROM outbox WHERE journal_id = $1", silent_journal)
        # An unbalanced journal, past the commit-time trigger (superuser only).
        async with owner_role.transaction():
            await owner_role.execute("SET LOCAL session_replication_role = replica")
            await owner_role.execute(
                """INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id)
                   VALUES ('00000000-0000-7000-8000-000000000001', 'DEPOSIT', $1, 7, 'USD', 't')""",
                drained,
            )
            await owner_role.execute(
                """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                        balance_after, held_before, held_after)
                   VALUES ('00000000-0000-7000-8000-000000000001', $1, 'USD', 7, 600, 607, 0, 0)""",
                drained,
            )

    run = await run_reconciliation(
        scratch_pool, limits=LIMITS, trigger="cli", requested_by="ops", trace_id="t"
    )

    unbalanced = UUID("00000000-0000-7000-8000-000000000001")
    assert _found(run.findings) == {
        (FindingKind.BALANCE_MISMATCH, credited, None, "USD", 1_400, 1_430),
        (FindingKind.BALANCE_MISMATCH, drained, None, "USD", 607, 600),
        (FindingKind.HELD_MISMATCH, held, None, "USD", 0, 25),
        # no hold reserves anything on that wallet either
        (FindingKind.HOLD_RESERVATION_MISMATCH, held, None, "USD", 0, 25),
        (FindingKind.CURRENCY_UNBALANCED, None, None, "USD", 0, 30),
        (FindingKind.JOURNAL_UNBALANCED, None, unbalanced, "USD", 0, 7),
        (FindingKind.JOURNAL_WITHOUT_EVENT, silent, silent_journal, "USD", 1, 0),
        (FindingKind.JOURNAL_WITHOUT_EVENT, drained, unbalanced, "USD", 1, 0),
        # the entry slipped in past the triggers carries no hash: the ledger chain names it
        (FindingKind.CHAIN_BROKEN, None, None, None, 0, 1),
    }
    assert run.findings_count == 9
    (chain,) = [f for f in run.findings if f.kind == FindingKind.CHAIN_BROKEN]
    assert chain.detail is not None
    assert chain.detail.startswith("entries ")
    assert "changed" in chain.detail
    async with scratch_pool.acquire() as conn:
        stored = await service.get_run(conn, run_id=run.id)
    assert stored == run


async def test_findings_beyond_the_cap_are_counted_not_stored(scratch_pool: Pool) -> None:
    wallets = await books.funded_wallets(scratch_pool, count=5, amount=100, currency="USD")
    await scratch_pool.execute("UPDATE wallets SET held = 1 WHERE id = ANY($1::uuid[])", wallets)

    run = await run_reconciliation(
        scratch_pool,
        limits=RunLimits(batch_size=2, max_findings=3, outbox_window_hours=24),
        trigger="api",
        requested_by="ops",
        trace_id="t",
    )

    # each wallet's held disagrees with its entries and with its (absent) holds
    assert run.findings_count == 10
    assert len(run.findings) == 3
