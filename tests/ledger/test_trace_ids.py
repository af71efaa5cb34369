"""A journal's trace id: a W3C one kept as its 16 bytes, any other as text, one way out."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.support import Api, engine_posting


async def test_a_w3c_trace_id_is_kept_as_its_16_bytes_and_read_back_the_same(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    """A traced request's journal keeps its trace id in `trace` (migrations/0023), and every
    reader gives the same 32 hex digits; any other trace id stays text."""
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.move(wallet_id, "withdraw", {"amount": 1})
    assert response.status_code == 201, response.text
    body = response.json()
    trace = body["trace_id"]
    assert re.fullmatch("[0-9a-f]{32}", trace)  # the request's W3C trace id
    stored = await db.fetchrow(
        "SELECT trace_id, trace FROM journals WHERE id = $1", UUID(body["id"])
    )
    assert stored is not None
    assert (stored["trace_id"], stored["trace"]) == (None, UUID(trace))
    found = await api.http.get(f"/v1/transactions/{body['id']}", headers=api.headers())
    assert found.json()["trace_id"] == trace
    event = await db.fetchval(
        "SELECT trace_id FROM outbox_documents WHERE journal_id = $1", UUID(body["id"])
    )
    assert event == trace
    ledger = await api.http.get(f"/v1/wallets/{wallet_id}/ledger", headers=api.headers())
    assert ledger.status_code == 200, ledger.text
    [line] = [item for item in ledger.json()["items"] if item["transaction_id"] == body["id"]]
    assert line["trace_id"] == trace

    posting = {**engine_posting(wallet_id, None, 1), "trace_id": "worker:expiry-1"}
    await db.execute("SELECT * FROM ledger_post_json($1::jsonb)", json.dumps([posting]))
    kept = await db.fetchrow(
        "SELECT trace_id, trace FROM journals WHERE id = $1", UUID(str(posting["journal_id"]))
    )
    assert kept is not None
    assert (kept["trace_id"], kept["trace"]) == ("worker:expiry-1", None)


async def test_a_journal_has_exactly_one_trace_id(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    for text, compact in ((None, None), ("t", uuid4())):
        with pytest.raises(asyncpg.CheckViolationError, match="journals_traced"):
            await db.execute(
                """INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id, trace)
                   VALUES ($1, 'DEPOSIT', $2, 0, 'USD', $3, $4)""",
                uuid4(),
                wallet_id,
                text,
                compact,
            )
