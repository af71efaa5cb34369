"""Outbox use cases: read the events feed, queue events for replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.outbox import repository
from wallet.outbox.core import (
    build_envelope,
    decode_feed_cursor,
    encode_feed_cursor,
    stored_traceparent,
)


async def events_page(
    conn: Connection, *, after: str | None, limit: int, source: str
) -> dict[str, Any]:
    """A page of the feed: CloudEvents after the cursor, oldest first."""
    position = decode_feed_cursor(after)
    rows = await repository.feed_page(conn, after=position, limit=limit)
    items = [
        build_envelope(event, source=source, traceparent=stored_traceparent(event))
        for event, _ in rows
    ]
    next_cursor = encode_feed_cursor(rows[-1][1]) if rows else after or None
    return {"items": items, "next_cursor": next_cursor}


async def replay(conn: Connection, *, event_ids: Sequence[UUID], since: datetime | None) -> int:
    """Queue delivered or dead-lettered events to be published again; returns how many."""
    if not event_ids and since is None:
        raise ValueError("name event ids or a start time")
    return await repository.reset_for_replay(conn, event_ids=event_ids, since=since)
