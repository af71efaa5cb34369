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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from wallet.errors import InvalidCursor

_VERSION = "p1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_Key = TypeVar("_Key")


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


def encode_timed_cursor(kind: str, moment: datetime, key: object) -> str:
    """The cursor of a list ordered by (a timestamp, a unique key): the last item's pair."""
    return encode_cursor(kind, time_part(moment), key)


def decode_timed_cursor(
    cursor: str | None, kind: str, key: Callable[[str], _Key]
) -> tuple[datetime, _Key] | None:
    """The (timestamp, key) of an ``encode_timed_cursor`` cursor of this ``kind``; ``key``
    parses the key part (a ValueError from it is an invalid cursor)."""
    parts = decode_cursor(cursor, kind, 2)
    if parts is None:
        return None
    try:
        return time_of(parts[0]), key(parts[1])
    except ValueError as exc:
        raise InvalidCursor() from exc
