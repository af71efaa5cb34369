"""The invariants the random-sequence model checks after every step, against the real
database and the API. The system wallets and the reconciliation are shared with the rest of
the suite, so those are compared with how they stood when the sequence started.

The reconciliation job reads the whole database (about 25 us an entry, so seconds a step once
the suite has filled it): ``check`` runs it when asked, and the per-step checks below are its
wallet and journal checks narrowed to the sequence's own wallets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from tests.credits.helpers import assert_promotional_consistent
from tests.credits.model import EXPONENTS, SYSTEM_KINDS, Books
from tests.support import Api
from wallet.auth.tokens import Role

Finding = tuple[str, UUID | None, UUID | None, str | None, int, int]


@dataclass(frozen=True)
class Baseline:
    system: dict[tuple[str, str], int]
    totals: dict[str, int]
    findings: frozenset[Finding]
    findings_count: int


async def baseline(api: Api, db: asyncpg.Connection[Any]) -> Baseline:
    findings, count = await reconcile(api)
    return Baseline(await _system(db), await _totals(db), findings, count)


async def reconcile(api: Api) -> tuple[frozenset[Finding], int]:
    response = await api.http.post(
        "/v1/admin/reconcile", headers=api.headers(api.token("admin-model", Role.ADMIN))
    )
    assert response.status_code == 201, response.text
    run = response.json()
    found = frozenset(_finding(f) for f in run["findings"])
    return found, run["findings_count"]


async def check(
    api: Api, db: asyncpg.Connection[Any], books: Books, start: Baseline, *, reconciling: bool
) -> None:
    await _wallets(api, db, books)
    await _journals(db, books)
    await _payouts(api, db, books)
    system = await _system(db)
    moved = {key: system.get(key, 0) - start.system.get(key, 0) for key in _system_keys()}
    assert moved == {key: books.system[key] for key in _system_keys()}
    assert await _totals(db) == start.totals  # money is neither made nor lost, per currency
    if reconciling:
        found, count = await reconcile(api)
        assert found - start.findings == frozenset(), found - start.findings
        assert count == start.findings_count


async def _wallets(api: Api, db: asyncpg.Connection[Any], books: Books) -> None:
    for account in books.accounts:
        wallet = await api.wallet(account.id)
        shown = {k: wallet[k] for k in ("balance", "held", "available", "promotional")}
        expected = {
            "balance": account.balance,
            "held": 0,  # rides capture their hold at once
            "available": account.balance,
            "promotional": account.promotional,
        }
        assert shown == expected, account
        assert wallet["withdrawable"] == max(0, account.cash) >= 0
        assert 0 <= wallet["promotional"] <= wallet["balance"]
    rows = await db.fetch(
        "SELECT id::text, remaining FROM credit_grants WHERE wallet_id = ANY($1::uuid[])",
        [a.id for a in books.accounts],
    )
    grants = {g.id: g.remaining for a in books.accounts for g in a.grants}
    assert {r["id"]: r["remaining"] for r in rows} == grants
    await assert_promotional_consistent(db, [a.id for a in books.accounts])


async def _journals(db: asyncpg.Connection[Any], books: Books) -> None:
    """Every journal that touched one of the sequence's wallets sums to zero per currency and
    has its event in the outbox; no hold is left reserving money."""
    ours = [a.id for a in books.accounts]
    unbalanced = await db.fetch(
        """SELECT journal_id, currency, sum(amount) AS off FROM entries
           WHERE journal_id IN (SELECT journal_id FROM entries WHERE wallet_id = ANY($1::uuid[]))
           GROUP BY journal_id, currency HAVING sum(amount) <> 0""",
        ours,
    )
    assert [dict(r) for r in unbalanced] == []
    silent = await db.fetch(
        """SELECT DISTINCT e.journal_id FROM entries e WHERE e.wallet_id = ANY($1::uuid[])
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.journal_id = e.journal_id)""",
        ours,
    )
    assert [dict(r) for r in silent] == []
    holding = await db.fetchval(
        "SELECT count(*) FROM holds WHERE wallet_id = ANY($1::uuid[]) AND status = 'HELD'", ours
    )
    assert holding == 0


async def _payouts(api: Api, db: asyncpg.Connection[Any], books: Books) -> None:
    rows = await db.fetch(
        "SELECT wallet_id::text, amount, status FROM payouts WHERE wallet_id = ANY($1::uuid[])",
        [a.id for a in books.accounts],
    )
    stored = Counter((r["wallet_id"], r["amount"], r["status"]) for r in rows)
    expected = Counter(
        (p.account.id, p.amount, p.status) for run in books.runs.values() for p in run
    )
    assert stored == expected
    admin = api.headers(api.token("admin-model", Role.ADMIN))
    for run_id, payouts in books.runs.items():
        response = await api.http.get(f"/v1/admin/payout-runs/{run_id}", headers=admin)
        assert response.status_code == 200, response.text
        run = response.json()
        counts, totals = Counter[str](), Counter[str]()
        for p in payouts:
            counts[p.status] += 1
            totals[p.status] += p.amount
        states = ("PENDING", "SENT", "PAID", "FAILED")
        assert run["payouts"] == {s: counts[s] for s in states}
        assert run["totals"] == {s: totals[s] for s in states}
        assert run["status"] == ("OPEN" if counts["PENDING"] + counts["SENT"] else "DONE")


def _system_keys() -> list[tuple[str, str]]:
    return [(kind, currency) for kind in SYSTEM_KINDS for currency in EXPONENTS]


async def _system(db: asyncpg.Connection[Any]) -> dict[tuple[str, str], int]:
    rows = await db.fetch(
        """SELECT kind, currency, sum(balance)::bigint AS total FROM wallets
           WHERE kind <> 'USER' AND currency = ANY($1::text[]) GROUP BY kind, currency""",
        list(EXPONENTS),
    )
    return {(r["kind"], r["currency"]): r["total"] for r in rows}


async def _totals(db: asyncpg.Connection[Any]) -> dict[str, int]:
    rows = await db.fetch(
        """SELECT currency, sum(balance)::bigint AS total FROM wallets
           WHERE currency = ANY($1::text[]) GROUP BY currency""",
        list(EXPONENTS),
    )
    return {r["currency"]: r["total"] for r in rows}


def _finding(f: dict[str, Any]) -> Finding:
    wallet_id, journal_id = _uuid(f["wallet_id"]), _uuid(f["journal_id"])
    return (f["kind"], wallet_id, journal_id, f["currency"], f["expected"], f["actual"])


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None
