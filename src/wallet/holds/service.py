"""Hold use cases: check what the database cannot know, call its function once, answer.

Lifecycle: HELD until captured in full or with ``final`` (CAPTURED), released (RELEASED) or
past its deadline (EXPIRED, set by the expiry worker). Once a hold leaves HELD it never
changes again; a partly captured hold that is released or expires keeps ``captured`` and
ends RELEASED or EXPIRED, giving back only what it still reserved.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson

from wallet.auth.tokens import Principal
from wallet.db.pool import Connection
from wallet.errors import (
    HoldNotFound,
    InvalidCursor,
    RequestValidationFailed,
    WalletNotFound,
)
from wallet.holds import repository
from wallet.holds.schemas import HoldAdjust, HoldCapture, HoldCreate, HoldStatus
from wallet.ledger.calls import MoneyCall
from wallet.ledger.core import JournalType
from wallet.ledger.service import PostedTransaction, answer_from
from wallet.wallets.repository import find_wallet


@dataclass(frozen=True, slots=True)
class HoldLimits:
    """How long holds live: from configuration (hold_default/max_ttl_seconds)."""

    default_ttl_seconds: int
    max_ttl_seconds: int


def _invalid(field: str, message: str) -> RequestValidationFailed:
    return RequestValidationFailed(message, errors=[{"loc": ["body", field], "message": message}])


async def create_hold(
    conn: Connection, *, call: MoneyCall, wallet_id: UUID, request: HoldCreate, limits: HoldLimits
) -> PostedTransaction:
    ttl_seconds = request.ttl_seconds or limits.default_ttl_seconds
    if ttl_seconds > limits.max_ttl_seconds:
        raise _invalid("ttl_seconds", f"ttl_seconds may be at most {limits.max_ttl_seconds}")
    result = await repository.create_hold(
        conn,
        call=call,
        wallet_id=wallet_id,
        amount=request.amount,
        ttl_seconds=ttl_seconds,
        reference_type=request.reference_type,
        reference_id=request.reference_id,
        metadata=request.metadata,
    )
    return answer_from(result, journal_type=JournalType.HOLD)


async def capture_hold(
    conn: Connection, *, call: MoneyCall, hold_id: UUID, request: HoldCapture
) -> PostedTransaction:
    splits = request.splits
    result = await repository.capture_hold(
        conn,
        call=call,
        hold_id=hold_id,
        amount=request.amount,
        to_wallet_id=request.to_wallet_id,
        split_wallets=[split.to_wallet_id for split in splits] if splits else None,
        split_amounts=[split.amount for split in splits] if splits else None,
        final=request.final,
    )
    return answer_from(result, journal_type=JournalType.CAPTURE)


async def adjust_hold(
    conn: Connection, *, call: MoneyCall, hold_id: UUID, request: HoldAdjust, limits: HoldLimits
) -> PostedTransaction:
    if request.expires_at is not None:
        now = datetime.now(UTC)
        if request.expires_at <= now:
            raise _invalid("expires_at", "expires_at must be in the future")
        if request.expires_at > now + timedelta(seconds=limits.max_ttl_seconds):
            raise _invalid(
                "expires_at", f"expires_at may be at most {limits.max_ttl_seconds}s from now"
            )
    result = await repository.adjust_hold(
        conn, call=call, hold_id=hold_id, amount=request.amount, expires_at=request.expires_at
    )
    return answer_from(result, journal_type=JournalType.HOLD_ADJUST)


async def release_hold(
    conn: Connection, *, call: MoneyCall, hold_id: UUID, reason: str | None
) -> PostedTransaction:
    result = await repository.release_hold(conn, call=call, hold_id=hold_id, reason=reason)
    return answer_from(result, journal_type=JournalType.HOLD_RELEASE)


async def get_hold(conn: Connection, *, hold_id: UUID, caller: Principal) -> str:
    """The hold as JSON text; another owner's hold is reported as missing."""
    body = await repository.find_hold(conn, hold_id=hold_id, owner_scope=caller.owner_scope)
    if body is None:
        raise HoldNotFound()
    return body


async def wallet_holds_page(
    conn: Connection,
    *,
    wallet_id: UUID,
    caller: Principal,
    status: HoldStatus | None,
    cursor: str | None,
    limit: int,
) -> bytes:
    """A page of the wallet's holds as JSON: ``{items, next_cursor}``, newest first."""
    before = decode_hold_cursor(cursor)
    if await find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope) is None:
        raise WalletNotFound()
    rows = await repository.wallet_holds(
        conn, wallet_id=wallet_id, status=status, before_id=before, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = encode_hold_cursor(page[-1][0]) if len(rows) > limit and page else None
    # The holds are already JSON, rendered by the database exactly as every other answer.
    return orjson.dumps(
        {"items": [orjson.Fragment(body) for _, body in page], "next_cursor": next_cursor}
    )


def encode_hold_cursor(hold_id: UUID) -> str:
    return base64.urlsafe_b64encode(b"h1:" + hold_id.bytes).decode().rstrip("=")


def decode_hold_cursor(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if len(raw) != 19 or not raw.startswith(b"h1:"):
        raise InvalidCursor()
    return UUID(bytes=raw[3:])
