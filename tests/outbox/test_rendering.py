"""An event's data is rendered from its journal: the transaction as the API shows it, seen by
the event's wallet (other wallets' entries without their balances), and that wallet after it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from tests.holds.helpers import capture, create_hold
from tests.support import Api
from wallet.ledger.core import EVENT_TYPES, JournalType

# The reference: the one transaction rendering (transaction_documents), taken apart here in
# Python, against which outbox_documents' own jsonb rendering is compared.
_EVENTS = """
SELECT o.wallet_id, o.sequence, o.event_type, o.payload::text AS payload,
       d.body AS transaction, w.owner_id, e.balance_after, e.held_after
FROM outbox_documents o
JOIN transaction_documents d ON d.id = o.journal_id
JOIN wallets w ON w.id = o.wallet_id
JOIN entries e ON e.wallet_id = o.wallet_id AND e.journal_id = o.journal_id
WHERE o.wallet_id = ANY($1::uuid[])
ORDER BY o.wallet_id, o.sequence
"""

_BALANCES = ("balance_before", "balance_after", "held_before", "held_after")


def _expected(row: Any) -> dict[str, Any]:
    transaction = json.loads(row["transaction"])
    viewer = str(row["wallet_id"])
    transaction["entries"] = [
        entry
        if entry["wallet_id"] == viewer
        else {key: value for key, value in entry.items() if key not in _BALANCES}
        for entry in transaction["entries"]
    ]
    return {
        "wallet": {
            "id": viewer,
            "owner_id": row["owner_id"],
            "balance": row["balance_after"],
            "held": row["held_after"],
            "available": row["balance_after"] - row["held_after"],
            "version": row["sequence"],
        },
        "transaction": transaction,
    }


async def test_money_events_render_the_transaction_as_their_wallet_sees_it(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    payer = await api.funded_wallet(owner, 10_000)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    moved = await api.move(
        payer,
        "transfer",
        {"to_wallet_id": payee, "amount": 700, "reference_id": "ride-1", "metadata": {"k": "v"}},
    )
    assert moved.status_code == 201, moved.text
    assert (await api.move(payee, "withdraw", {"amount": 200})).status_code == 201
    hold = await create_hold(api, payer, 1_500)
    captured = await capture(api, hold["id"], {"amount": 1_000, "to_wallet_id": payee})
    assert captured.status_code in (200, 201), captured.text

    rows = await db.fetch(_EVENTS, [UUID(payer), UUID(payee)])
    kinds = {row["event_type"] for row in rows}
    assert {"wallet.deposit.completed", "wallet.transfer.completed"} <= kinds
    assert any(kind.startswith("hold.") for kind in kinds), kinds
    assert len(rows) >= 7
    for row in rows:
        payload = json.loads(row["payload"])
        expected = _expected(row)
        # A hold's events add the hold's state at that step; the rest is the rendering.
        assert {key: payload[key] for key in expected} == expected, row["event_type"]
        assert set(payload) - set(expected) <= {"hold"}
        entries = payload["transaction"]["entries"]
        others = [entry for entry in entries if entry["wallet_id"] != payload["wallet"]["id"]]
        assert all(set(entry) == {"wallet_id", "amount"} for entry in others)


async def test_a_money_event_stores_no_type_its_journal_already_gives(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    """The database's journal-type-to-event-type table is the service's own, entry for entry,
    so an event whose type the engine left to its journal reads the type it was posted with."""
    rendered = await db.fetch(
        "SELECT t, journal_event_type(t) AS event_type FROM unnest($1::text[]) AS t",
        [journal_type.value for journal_type in JournalType],
    )
    assert {row["t"]: row["event_type"] for row in rendered} == {
        journal_type.value: event_type for journal_type, event_type in EVENT_TYPES.items()
    }
    assert set(EVENT_TYPES) == set(JournalType)
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 300})
    await api.move(payer, "withdraw", {"amount": 100})
    events = await db.fetch(
        """SELECT o.wallet_id, o.event_type AS stored, d.event_type AS rendered
           FROM outbox o JOIN outbox_documents d USING (wallet_id, sequence)
           WHERE o.wallet_id = ANY($1::uuid[]) AND o.journal_id IS NOT NULL
           ORDER BY o.sequence""",
        [UUID(payer), UUID(payee)],
    )
    by_wallet = {
        wallet: [
            (row["stored"], row["rendered"]) for row in events if str(row["wallet_id"]) == wallet
        ]
        for wallet in (payer, payee)
    }
    assert by_wallet == {
        payer: [
            (None, "wallet.deposit.completed"),
            (None, "wallet.transfer.completed"),
            (None, "wallet.withdraw.completed"),
        ],
        payee: [(None, "wallet.transfer.completed")],
    }
