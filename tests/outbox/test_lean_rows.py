"""An engine event stores what only it knows (migrations/0016); outbox_documents gives it the
rest: an id derived from its wallet and sequence, its journal's time, no attempts yet, and a
delivery status read from its delivery times."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import FastAPI

from tests.support import Api
from wallet.outbox import service as outbox_service

_EVENTS = """
SELECT o.event_id AS stored_id, o.created_at AS stored_time, o.attempts AS stored_attempts,
       d.event_id, d.created_at, d.attempts, d.status, d.wallet_id, d.sequence,
       j.created_at AS journal_time
FROM outbox o
JOIN outbox_documents d USING (wallet_id, sequence)
JOIN journals j ON j.id = o.journal_id
WHERE o.wallet_id = ANY($1::uuid[])
ORDER BY o.wallet_id, o.sequence
"""


async def _transfer_events(api: Api, owner: str, db: asyncpg.Connection[Any]) -> list[Any]:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    moved = await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 300})
    assert moved.status_code == 201, moved.text
    return list(await db.fetch(_EVENTS, [UUID(payer), UUID(payee)]))


async def test_an_engine_event_reads_its_id_time_and_state_from_elsewhere(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    events = await _transfer_events(api, owner, db)
    assert len(events) == 3  # the payer's deposit and transfer, the payee's transfer
    for row in events:
        assert (row["stored_id"], row["stored_time"], row["stored_attempts"]) == (None,) * 3
        assert row["created_at"] == row["journal_time"]
        assert (row["attempts"], row["status"]) == (0, "PENDING")
        event_id: UUID = row["event_id"]
        assert event_id.version == 8
        assert event_id == await db.fetchval(
            "SELECT outbox_event_id($1, $2)", row["wallet_id"], row["sequence"]
        )
    assert len({row["event_id"] for row in events}) == len(events)
    # Read again, an event has the same id: the broker's consumers deduplicate by it.
    again = await db.fetch(_EVENTS, list({row["wallet_id"] for row in events}))
    assert [row["event_id"] for row in again] == [row["event_id"] for row in events]


async def test_an_event_id_is_unique_per_wallet_and_sequence(db: asyncpg.Connection[Any]) -> None:
    ids = await db.fetch(
        """SELECT outbox_event_id(w, s) AS id
           FROM unnest($1::uuid[]) AS w, generate_series(1, 500) AS s""",
        [UUID(int=1), UUID(int=2), UUID(int=3)],
    )
    assert len({row["id"] for row in ids}) == 1_500


async def test_replay_finds_an_engine_event_by_its_derived_id(
    api: Api, owner: str, app: FastAPI, db: asyncpg.Connection[Any]
) -> None:
    events = await _transfer_events(api, owner, db)
    first, *later = events
    await db.execute(
        "UPDATE outbox SET published_at = now() WHERE wallet_id = ANY($1::uuid[])",
        list({row["wallet_id"] for row in events}),
    )
    async with app.state.pool.acquire() as conn, conn.transaction():
        queued = await outbox_service.replay(conn, event_ids=[first["event_id"]], since=None)
    assert queued == 1
    states = {
        row["event_id"]: row["status"]
        for row in await db.fetch(
            "SELECT event_id, status FROM outbox_documents WHERE event_id = ANY($1::uuid[])",
            [row["event_id"] for row in events],
        )
    }
    assert states == {first["event_id"]: "PENDING"} | {
        row["event_id"]: "PUBLISHED" for row in later
    }
