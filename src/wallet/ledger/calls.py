"""A call of one of the SQL money functions that take a call context (holds, refunds): who
is asking, under which key and trace, and the audit record of the attempt in the same
statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.repository import PostingResult


@dataclass(frozen=True, slots=True)
class AuditResource:
    """What an audited call acts on: a wallet, a hold or a transaction."""

    kind: str
    id: UUID


@dataclass(frozen=True, slots=True)
class MoneyCall:
    """Who is asking, under which key and trace; the SQL type ``hold_call``."""

    caller: str
    idempotency_key: str | None
    fingerprint: str
    trace_id: str
    required_owner: str | None = None
    client_address: str | None = None

    def record(self) -> dict[str, Any]:
        """The SQL composite ``hold_call``, by field name (see tests/ledger/test_records.py)."""
        return {
            "caller": self.caller,
            "idempotency_key": self.idempotency_key,
            "fingerprint": self.fingerprint,
            "trace_id": self.trace_id,
            "required_owner": self.required_owner,
            "client_address": self.client_address,
        }


async def call_function(
    conn: Connection, query: str, *args: Any, call: MoneyCall, action: str, resource: AuditResource
) -> PostingResult:
    """Run one of the 0002 functions (``SELECT outcome, status_code, body FROM f(...)``).

    The same statement appends the audit record of the attempt (replays are not new
    attempts), so the money path stays one round trip and the record commits with the effect.
    """
    first = len(args) + 1
    audited = f"""
        WITH result AS MATERIALIZED ({query}),
        audited AS (
            SELECT audit_append(jsonb_agg(jsonb_build_object(
                       'actor', ${first}::text, 'action', ${first + 1}::text,
                       'resource_type', ${first + 2}::text, 'resource_id', ${first + 3}::text,
                       'outcome', outcome, 'client_address', ${first + 4}::text,
                       'trace_id', ${first + 5}::text,
                       'details', jsonb_build_object('status', status_code))))
            FROM result WHERE outcome <> 'replayed'
            HAVING count(*) > 0
        )
        SELECT outcome, status_code, body FROM result LEFT JOIN audited ON true
    """  # noqa: S608 - only numbered placeholders are interpolated; values go as parameters  # nosec B608
    row = await conn.fetchrow(
        audited,
        *args,
        call.caller,
        action,
        resource.kind,
        str(resource.id),
        call.client_address,
        call.trace_id,
    )
    assert row is not None  # the functions always answer one row
    return PostingResult(row["outcome"], row["status_code"], row["body"])
