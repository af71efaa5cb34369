"""Paging: the one convention of every list route.

A list answers ``{"items": [...], "next_cursor": str | null}``, newest first. ``limit`` is
the page size, capped by configuration; ``cursor`` is the ``next_cursor`` of the previous
page. A cursor is opaque to clients: the keyset position of the last item sent (never an
offset), so a page costs the same wherever it is and rows written meanwhile neither repeat
nor shift others. Each list has its own cursor kind; a cursor from another list, another
version or one that was edited is refused with ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from wallet.errors import InvalidCursor

_VERSION = "p1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(kind: str, *position: object) -> str:
    text = "|".join([_VERSION, kind, *(str(part) for part in position)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, arity: int) -> list[str] | None:
    """The position parts of a cursor of this ``kind``, or None when there is no cursor."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor() from exc
    parts = text.split("|")
    if len(parts) != arity + 2 or parts[0] != _VERSION or parts[1] != kind:
        raise InvalidCursor()
    return parts[2:]


def time_part(moment: datetime) -> int:
    """A timestamp as integer microseconds since the epoch: exact, unlike a float."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def time_of(part: str) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=int(part))
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor() from exc
