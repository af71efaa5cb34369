"""Numbered migrations are frozen; SQL modules are re-applied when they change; a database
whose functions are older than the code is refused; an upgrade from the v1 layout works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import asyncpg
import psycopg
import pytest

from tests.conftest import _server_url, _with_database
from wallet.audit import repository as audit_repository
from wallet.db.embedded import ensure_database
from wallet.db.migrations import apply_migrations, numbered_migrations
from wallet.db.modules import StaleDatabase, check_modules_current, expected_hashes

# The content of every numbered migration that has landed on main. A landed migration never
# changes: databases that already ran it would never see the edit.
LANDED = {
    "0001.core-ledger": "c5720b0d86fd32883bf3cae8161cf28e2bfd81860f4e5034a3d5d8dcd10d8d4c",
    "0002.holds": "5bbd7c309ad19d07325953727243b5c81422b056cda94196c63d8c00858cd5e9",
    "0003.outbox-publishing": "85e7cfdd610677e9870f43ef8214cee2f99f26c1b510ac0d0c24cc37ff3b8fd4",
    "0004.security": "b31496f929aa534bf58a470623edf39575698badeaeb0c9f76f242510b4ea9ff",
    "0005.reconciliation": "a6a1dbc949e4645f7b0842a2b6dc2a14705546f27caacd34c44681745fe316ab",
    "0006.posting-engine-v2": "c497f9cbd848ab195493818532a1286330b12fdf94e3e1cf74dab01541b2563b",
    "0007.transactions-and-batches": (
        "334cba4de9481da7d4d1ca36760805b6d23a6cef62fa5510358c53982aaed957"
    ),
    "0008.promotions-payouts-fx": (
        "f15912d5f6b810de6e27606863563735a40f941af3c57dbae00f6ed3016107a8"
    ),
    "0009.trace-context": "5d77dc233a83b52013ec4ec22601508393fa322287daf9f1441ce57e8a486a2f",
    "0010.ledger-references-per-statement": (
        "8afb812b6564bffed9c1d5ffdc57e22403ae183bdc8ba3d66667ed973d22aacd"
    ),
    "0011.outbox-event-id-unindexed": (
        "32c9a94c48963a1c87981467323c1ce0b4693d207c5105b7ed1f542d19f563f4"
    ),
    "0012.leaner-ledger-rows": "482e8cbf92ae7e238e3ce56b4bf384a84dd8f3c9323a4e2457617bb8e33eba7b",
    "0013.fewer-indexes-per-transfer": (
        "14ed63e7f60f1b4b68286ef8ff4e13a3283756fce2a139ebde110708d9054163"
    ),
    "0014.entry-ids-in-blocks": "e088c1b6df53a1989f9942d57d0172649a5aebdce681dc232364057b696882ff",
    "0015.feed-position-on-the-wallet": (
        "cc8e93b7beed39d6c07ab5a981a0e3f08cd8e5245e564a0164215c3a078d3128"
    ),
    "0016.leaner-outbox-rows": "554e01766488d5e29d5923faa8900a7f8c30406082621bd553951568ea3b8728",
    "0017.event-indexes-by-transaction": (
        "65aa65566e23de35b51200ddd94c8b22deb1322b214e6e1a2617b67d779db95a"
    ),
    "0018.journal-time-index-deduplicated": (
        "90cb503c8b0e9c2fd6fb6f3ea38967a6d386ec1b47f7efffe05cb595987e3656"
    ),
    "0019.entries-repacked": "d059d7d413a1f273c28648e4d54a3628ffb8b53b1e7c13558a9121f116781b74",
    "0020.idempotency-keys-hashed": (
        "56946ae14c838ebdda520442e31b7a74ecaa12a904c36eaf75db09ad323ccd5a"
    ),
    "0021.outbox-rows-without-id": (
        "e59c5d4eaec18853314cabfaca186ca64033d97e3bd33817adfdebfc45e1e64a"
    ),
    "0022.key-status-implied": "5d3355f3e298b2512d9d52d76e29d2529be0f8e14173c236a78140731f835614",
    "0023.journal-trace-ids-compact": (
        "ffbc4ded0464f5b62c9b2fc8cfd45800bc2b79ffbabf99573e1f0a4120afbced"
    ),
    "0024.kept-answers-lz4": "36660d92f4b06ad10e947a3bdc50f15de6be4088205806666fac5ca53c67ffe2",
}


def test_landed_migrations_are_frozen() -> None:
    present = {migration.id: migration.sha256 for migration in numbered_migrations()}
    for migration_id, digest in LANDED.items():
        assert migration_id in present, f"migration {migration_id} was removed"
        assert present[migration_id] == digest, (
            f"migrations/{migration_id}.sql has changed since it landed: databases that already "
            "ran it will never see the change. Revert it and add a new migration instead "
            "(functions and triggers go in their domain's SQL module)."
        )


def test_migrations_hold_no_functions_after_the_v1_layout() -> None:
    """From 0006 on, functions and triggers live in SQL modules, not in numbered files."""
    for migration in numbered_migrations():
        if migration.id[:4] <= "0005":
            continue
        text = migration.path.read_text().upper()
        for statement in ("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", "CREATE TRIGGER"):
            assert statement not in text, f"{migration.id}: put {statement} in a SQL module"


async def test_a_database_with_older_functions_is_refused(db: asyncpg.Connection[Any]) -> None:
    await check_modules_current(db)  # the test database is current
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute("UPDATE schema_modules SET sha256 = 'older' WHERE name = 'ledger'")
        with pytest.raises(StaleDatabase, match=r"run `wallet migrate`.*ledger"):
            await check_modules_current(db)
    finally:
        await transaction.rollback()


@pytest.fixture
def scratch_database() -> Iterator[str]:
    server = _server_url()
    name = f"wallet_upgrade_{uuid4().hex[:10]}"
    ensure_database(server, name)
    yield _with_database(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A transfer through the v1 posting function (positional record, as v1's Python sent it).
_V1_TRANSFER = """
SELECT outcome FROM ledger_post_audited(
    ARRAY[ROW('v1-client', $1, 'fp', $2, 'TRANSFER', 'wallet.transfer.completed', $3, NULL,
              $5::bigint, NULL, NULL, '{}', NULL, NULL, 'trace-v1',
              ARRAY[ROW($3, NULL, -$5::bigint, 0)::ledger_leg,
                    ROW($4, NULL, $5::bigint, 0)::ledger_leg]
             )::ledger_posting],
    ARRAY['127.0.0.1'])
"""


async def test_upgrade_from_the_v1_layout(scratch_database: str) -> None:
    """A database built by v1 (migrations 0001-0005 with their functions, yoyo bookkeeping,
    money posted through the v1 function) is upgraded by `wallet migrate`: the new function
    bodies are live, and the existing ledger still verifies and keeps its chains."""
    with psycopg.connect(scratch_database, autocommit=True) as v1:
        for migration in numbered_migrations():
            if migration.id[:4] <= "0005":
                v1.execute(migration.path.read_bytes())
        v1.execute("CREATE TABLE _yoyo_migration (migration_id text PRIMARY KEY)")
        v1.execute(
            "INSERT INTO _yoyo_migration SELECT unnest(%s::text[])",
            ([m.id for m in numbered_migrations() if m.id[:4] <= "0005"],),
        )
    conn = await asyncpg.connect(scratch_database)
    try:
        payer, payee = uuid4(), uuid4()
        await conn.execute(
            "INSERT INTO wallets (id, owner_id, currency, balance) VALUES ($1, 'a', 'USD', 0),"
            " ($2, 'b', 'USD', 0)",
            payer,
            payee,
        )
        # v1: fund the payer from EXTERNAL, then a transfer, both through v1's function.
        funded = await conn.fetchval(
            _V1_TRANSFER.replace(
                "ROW($3, NULL, -$5::bigint, 0)", "ROW(NULL, 'EXTERNAL', -$5::bigint, 0)"
            ),
            "k1",
            uuid4(),
            payer,
            payer,
            100,
        )
        moved = await conn.fetchval(_V1_TRANSFER, "k2", uuid4(), payer, payee, 30)
        assert (funded, moved) == ("posted", "posted")
        # v1's delivery states, set the way v1's publisher set them (a status beside the
        # times, and a DEAD row whose time it did not set), survive the status column (0016).
        v1_events = await conn.fetch("SELECT id, event_id FROM outbox ORDER BY id")
        await conn.execute(
            "UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE id = $1",
            v1_events[0]["id"],
        )
        await conn.execute("UPDATE outbox SET status = 'DEAD' WHERE id = $1", v1_events[1]["id"])
        v1_hold_json = await conn.fetchval("SELECT pg_get_functiondef('hold_json'::regproc)")
        assert "json_time" not in v1_hold_json

        report = apply_migrations(scratch_database)
        assert report.migrations == [m.id for m in numbered_migrations() if m.id[:4] > "0005"]
        assert set(report.modules) == set(expected_hashes())
        await check_modules_current(conn)

        # The new bodies are live: the v2 engine answers (and records the journal's actor),
        # and holds render their timestamps the one way.
        new_hold_json = await conn.fetchval("SELECT pg_get_functiondef('hold_json'::regproc)")
        assert "json_time(h.expires_at)" in new_hold_json
        journal_id = uuid4()
        posting = {
            "caller": "v2-client",
            "idempotency_key": "k3",
            "fingerprint": "fp",
            "journal_id": str(journal_id),
            "journal_type": "TRANSFER",
            "event_type": "wallet.transfer.completed",
            "wallet_id": str(payer),
            "amount": 5,
            "trace_id": "trace-v2",
            "audit_refusal": True,
            "legs": [
                {"wallet_id": str(payer), "amount": -5, "held_delta": 0},
                {"wallet_id": str(payee), "amount": 5, "held_delta": 0},
            ],
        }
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=_json, decoder=str, format="text"
        )
        outcome = await conn.fetchval("SELECT outcome FROM ledger_post_json($1::jsonb)", [posting])
        assert outcome == "posted"
        assert await conn.fetchval("SELECT actor FROM journals WHERE id = $1", journal_id) == (
            "v2-client"
        )
        balances = await conn.fetch(
            "SELECT id, balance FROM wallets WHERE id = ANY($1::uuid[])", [payer, payee]
        )
        assert {row["id"]: row["balance"] for row in balances} == {payer: 65, payee: 35}
        # v1's events keep their ids and states; the v2 engine's event derives its id.
        events = await conn.fetch(
            """SELECT o.id, o.event_id AS stored, d.event_id, d.status, o.journal_id
               FROM outbox o JOIN outbox_documents d USING (wallet_id, sequence)
               ORDER BY o.id"""
        )
        assert [(row["stored"], row["event_id"], row["status"]) for row in events[:3]] == [
            (v1["event_id"], v1["event_id"], status)
            for v1, status in zip(v1_events, ["PUBLISHED", "DEAD", "PENDING"], strict=True)
        ]
        v2_events = [row for row in events if row["journal_id"] == journal_id]
        assert [(row["stored"], row["event_id"].version) for row in v2_events] == [(None, 8)] * 2
        # v1's events keep their row ids (a feed cursor of then names one); new ones store none.
        assert all(row["id"] is not None for row in events[:3])
        assert [row["id"] for row in v2_events] == [None, None]
        # v1's entries keep their 32-byte hashes (0019 moved them as they were), the v2
        # engine's keep 16; a v1 key's 32-byte fingerprint still tells its request apart.
        lengths = await conn.fetch(
            """SELECT length(e.row_hash) AS kept, j.id = $1 AS v2
               FROM entries e JOIN journals j ON j.id = e.journal_id""",
            journal_id,
        )
        assert (
            sorted((row["v2"], row["kept"]) for row in lengths)
            == [(False, 32)] * 4 + [(True, 16)] * 2
        )
        for fingerprint, outcome in (("fp", "replayed"), ("other", "idempotency_key_reused")):
            retry = dict(
                posting,
                caller="v1-client",
                idempotency_key="k2",
                fingerprint=fingerprint,
                journal_id=str(uuid4()),
            )
            assert (
                await conn.fetchval("SELECT outcome FROM ledger_post_json($1::jsonb)", [retry])
                == outcome
            )
        # v1 entries and v2 entries form one unbroken chain per wallet; the books balance.
        assert await audit_repository.find_tampering(conn) == []
    finally:
        await conn.close()


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def test_every_migration_on_disk_is_pinned() -> None:
    """A new migration is added to LANDED when it lands, so that it is frozen from then on."""
    unpinned = [m.id for m in numbered_migrations() if m.id not in LANDED]
    assert not unpinned, f"add the sha256 of {unpinned} to LANDED (see file_sha256)"
