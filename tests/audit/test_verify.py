"""Editing, inserting or deleting any single audit or ledger row is named by verify.

Each tampering runs as the database superuser (someone going behind the service's back, with
triggers switched off where the attack needs it), is checked inside that same transaction,
and is rolled back, so the shared test database stays clean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.support import Api
from wallet.audit import repository, tasks
from wallet.audit.schemas import Finding
from wallet.cli import app as cli
from wallet.config import get_settings


@dataclass(frozen=True)
class History:
    wallet_id: str
    entry_ids: list[int]  # the wallet's entries, oldest first
    journal_ids: list[str]
    audit_ids: list[int]  # sealed audit rows, oldest first


@pytest.fixture
async def history(api: Api, owner: str, app: FastAPI, db: asyncpg.Connection[Any]) -> History:
    """A wallet with three deposits; every audit row so far sealed; the books verify clean."""
    await api.funded_wallet(f"{owner}-other", 1)  # more audit rows (a posting writes none)
    wallet_id = await api.funded_wallet(owner, 100)
    for amount in (20, 30):
        response = await api.move(wallet_id, "deposit", {"amount": amount})
        assert response.status_code == 201
    await tasks.seal_audit_chain(app.state.pool, settle=timedelta(0))
    assert await repository.find_tampering(db) == []
    entries = await db.fetch(
        "SELECT id, journal_id FROM entries WHERE wallet_id = $1 ORDER BY id", wallet_id
    )
    audit_ids = await db.fetch("SELECT audit_id FROM audit_seals ORDER BY audit_id")
    return History(
        wallet_id=wallet_id,
        entry_ids=[row["id"] for row in entries],
        journal_ids=[str(row["journal_id"]) for row in entries],
        audit_ids=[row["audit_id"] for row in audit_ids],
    )


async def _after(
    db: asyncpg.Connection[Any], *statements: tuple[Any, ...], bypass: bool = True
) -> set[Any]:
    """Findings after ``statements`` (each: SQL, then its arguments), then roll them back."""
    transaction = db.transaction()
    await transaction.start()
    try:
        if bypass:  # as a superuser would: no triggers (append-only guards, hashing, FKs)
            await db.execute("SET LOCAL session_replication_role = replica")
        for sql, *args in statements:
            await db.execute(sql, *args)
        findings: list[Finding] = await repository.find_tampering(db)
        return {(f.table, f.row, f.problem) for f in findings}
    finally:
        await transaction.rollback()


async def test_edited_audit_row(history: History, db: asyncpg.Connection[Any]) -> None:
    target = history.audit_ids[-2]
    found = await _after(db, ("UPDATE audit_log SET outcome = 'forged' WHERE id = $1", target))
    assert found == {("audit_log", str(target), "changed")}


async def test_deleted_audit_row(history: History, db: asyncpg.Connection[Any]) -> None:
    target = history.audit_ids[-2]
    found = await _after(db, ("DELETE FROM audit_log WHERE id = $1", target))
    assert found == {("audit_log", str(target), "removed")}


async def test_deleted_audit_row_and_its_seal(
    history: History, db: asyncpg.Connection[Any]
) -> None:
    target, following = history.audit_ids[-2], history.audit_ids[-1]
    found = await _after(
        db,
        ("DELETE FROM audit_log WHERE id = $1", target),
        ("DELETE FROM audit_seals WHERE audit_id = $1", target),
    )
    assert found == {("audit_seals", str(following), "chain_broken")}


async def test_inserted_audit_row(history: History, db: asyncpg.Connection[Any]) -> None:
    found = await _after(
        db,
        (
            """INSERT INTO audit_log (id, actor, action, resource_type, outcome)
               OVERRIDING SYSTEM VALUE VALUES (0, 'ops', 'money.deposit', 'wallet', 'posted')""",
        ),
        bypass=False,
    )
    assert found == {("audit_log", "0", "inserted")}


async def test_edited_entry(history: History, db: asyncpg.Connection[Any]) -> None:
    target = history.entry_ids[1]
    found = await _after(
        db, ("UPDATE entries SET held_before = 1, held_after = 1 WHERE id = $1", target)
    )
    assert ("entries", str(target), "changed") in found


async def test_entries_keep_16_bytes_of_their_hash(
    history: History, db: asyncpg.Connection[Any]
) -> None:
    kept = await db.fetch(
        """SELECT e.row_hash, entry_row_hash(coalesce(lag(e.row_hash) OVER w, '\\x'::bytea), e, j)
                  AS digest
           FROM entries e JOIN journals j ON j.id = e.journal_id
           WHERE e.wallet_id = $1 WINDOW w AS (ORDER BY e.id)""",
        history.wallet_id,
    )
    assert len(kept) == len(history.entry_ids)
    assert all(row["row_hash"] == row["digest"][:16] for row in kept)


async def test_entry_hash_cut_shorter_is_found(
    history: History, db: asyncpg.Connection[Any]
) -> None:
    # A prefix of the right hash is not the hash: only 16 bytes (or a legacy entry's 32) are.
    target = history.entry_ids[1]
    found = await _after(
        db, ("UPDATE entries SET row_hash = substring(row_hash FROM 1 FOR 4) WHERE id = $1", target)
    )
    assert ("entries", str(target), "changed") in found


async def test_edited_journal(history: History, db: asyncpg.Connection[Any]) -> None:
    journal = history.journal_ids[1]
    found = await _after(
        db, ("UPDATE journals SET reference_id = 'forged' WHERE id = $1::uuid", journal)
    )
    assert ("entries", str(history.entry_ids[1]), "changed") in found


async def test_deleted_entry_mid_chain(history: History, db: asyncpg.Connection[Any]) -> None:
    found = await _after(db, ("DELETE FROM entries WHERE id = $1", history.entry_ids[1]))
    # The next entry's hash was made from the removed one's: from its new neighbour it fails.
    assert ("entries", str(history.entry_ids[2]), "changed") in found
    assert ("journals", history.journal_ids[1], "unbalanced") in found


async def test_deleted_newest_entry(history: History, db: asyncpg.Connection[Any]) -> None:
    found = await _after(db, ("DELETE FROM entries WHERE id = $1", history.entry_ids[-1]))
    assert ("wallets", history.wallet_id, "head_mismatch") in found


async def test_inserted_entry_with_triggers_on(
    history: History, db: asyncpg.Connection[Any]
) -> None:
    """With the guards on, an entry that unbalances its journal is refused outright; a pair
    that balances gets in, but carries no valid link in the chain and the books give it away."""
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await _after(
            db,
            (
                """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                        balance_after, held_before, held_after)
                   VALUES ($1::uuid, $2::uuid, 'USD', 500, 150, 650, 0, 0)""",
                history.journal_ids[0],
                history.wallet_id,
            ),
            bypass=False,
        )
    found = await _after(
        db,
        (
            """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               SELECT $1::uuid, w.id, 'USD', m.amount, 150, 150 + m.amount, 0, 0
               FROM (VALUES ($2::uuid, 500), (system_wallet_id('EXTERNAL', 'USD'), -500))
                    AS m(wallet, amount)
               JOIN wallets w ON w.id = m.wallet""",
            history.journal_ids[0],
            history.wallet_id,
        ),
        bypass=False,
    )
    assert ("wallets", history.wallet_id, "head_mismatch") in found
    assert any(table == "entries" and problem == "changed" for table, _, problem in found)


async def test_inserted_entry_mid_chain(history: History, db: asyncpg.Connection[Any]) -> None:
    found = await _after(
        db,
        (
            """INSERT INTO entries (id, journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               OVERRIDING SYSTEM VALUE
               VALUES ($1, $2::uuid, $3::uuid, 'USD', 0, 150, 150, 0, 0)""",
            history.entry_ids[0] + 1000000000,
            history.journal_ids[0],
            history.wallet_id,
        ),
    )
    assert ("entries", str(history.entry_ids[0] + 1000000000), "changed") in found


@pytest.fixture
def cli_env(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("WALLET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WALLET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WALLET_MIGRATION_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_reports_clean_books_then_a_changed_row(
    database_url: str, cli_env: None, history: History
) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "OK" in clean.output

    target = history.audit_ids[-1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        original = conn.execute("SELECT actor FROM audit_log WHERE id = %s", (target,)).fetchone()
        assert original is not None
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = %s", (target,))
        try:
            tampered = runner.invoke(cli, ["audit", "verify"])
        finally:
            conn.execute("UPDATE audit_log SET actor = %s WHERE id = %s", (original[0], target))
    assert tampered.exit_code == 1, tampered.output
    assert f"audit_log {target}: changed" in tampered.output


# Every chain already written was hashed by this definition: an entry and journal fixed here
# (a quote, a non-ASCII character, JSON and NULLs among them) must keep hashing to the bytes
# the first definition gave, or verify would call every existing entry changed.
_FIXED_ENTRY = {
    "id": 42,
    "journal_id": "01a23806-23c5-719f-af4d-357ca66905ab",
    "wallet_id": "01a23806-0000-7000-8000-000000000001",
    "currency": "EUR",
    "amount": -1250,
    "balance_before": 5000,
    "balance_after": 3750,
    "held_before": 100,
    "held_after": 100,
    "created_at": "2026-12-02T18:30:56.195395Z",
    "promotional": 0,
}
_FIXED_JOURNAL = {
    "id": "01a23806-23c5-719f-af4d-357ca66905ab",
    "type": "TRANSFER",
    "status": "POSTED",
    "wallet_id": "01a23806-0000-7000-8000-000000000001",
    "amount": 1250,
    "currency": "EUR",
    "reference_id": "ride '42'",
    "category": None,
    "metadata": {"note": 'café "x"', "n": 1},
    "hold_id": None,
    "related_journal_id": "01a23806-1111-7000-8000-000000000009",
    "trace_id": "trace-1",
    "created_at": "2026-12-02T18:30:56.195395Z",
    "actor": "svc:rides",
}


async def test_entry_hash_keeps_its_definition(db: asyncpg.Connection[Any]) -> None:
    digest = await db.fetchval(
        """SELECT encode(entry_row_hash('\\x0102'::bytea,
                                        jsonb_populate_record(NULL::entries, $1::jsonb),
                                        jsonb_populate_record(NULL::journals, $2::jsonb)),
                         'hex')""",
        json.dumps(_FIXED_ENTRY),
        json.dumps(_FIXED_JOURNAL),
    )
    assert digest == "54508f60f8dcd72babdf1a48d381df10b83eaa1e5f6c27524f4e615c152ca3bf"
