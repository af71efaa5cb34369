"""Composites handed from Python to SQL are built by field name; the names must match."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import orjson

from wallet.ledger.calls import MoneyCall
from wallet.ledger.core import Posting, PostingContext, transfer_legs
from wallet.ledger.repository import leg_record, posting_record, record_without_nulls


async def _attributes(db: asyncpg.Connection[Any], type_name: str) -> set[str]:
    rows = await db.fetch(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = (SELECT typrelid FROM pg_type WHERE typname = $1)
             AND attnum > 0 AND NOT attisdropped""",
        type_name,
    )
    return {row["attname"] for row in rows}


def _posting() -> Posting:
    source, destination = uuid4(), uuid4()
    return Posting(
        context=PostingContext(caller="c", idempotency_key="k", fingerprint="f", trace_id="t"),
        journal_id=uuid4(),
        journal_type="TRANSFER",
        event_type="wallet.transfer.completed",
        wallet_id=source,
        amount=1,
        legs=transfer_legs(source, destination, 1),
    )


async def test_posting_records_name_every_field_of_the_sql_types(
    db: asyncpg.Connection[Any],
) -> None:
    posting = _posting()
    assert set(posting_record(posting)) == await _attributes(db, "ledger_posting")
    assert set(leg_record(posting.legs[0])) == await _attributes(db, "ledger_leg")
    call = MoneyCall(caller="c", idempotency_key=None, fingerprint="f", trace_id="t")
    assert set(call.record()) == await _attributes(db, "hold_call")


async def test_a_record_sent_without_its_nulls_reads_as_the_whole_record(
    db: asyncpg.Connection[Any],
) -> None:
    """The engine is sent postings without their NULL fields (legs' included): PostgreSQL must
    read them as the same composite, every field it was not given NULL."""
    record = posting_record(_posting())
    nulls = [name for name, value in record.items() if value is None]
    leg_nulls = [name for name, value in record["legs"][0].items() if value is None]
    assert nulls and leg_nulls  # the case in point: fields left out, at both levels
    read = "SELECT jsonb_populate_record(NULL::ledger_posting, $1::text::jsonb)::text"
    sent = record_without_nulls(record)
    assert not set(nulls) & set(sent) and not set(leg_nulls) & set(sent["legs"][0])
    whole = await db.fetchval(read, orjson.dumps(record, default=str).decode())
    assert await db.fetchval(read, orjson.dumps(sent, default=str).decode()) == whole
