"""SQL for the outbox: claiming, marking, the feed, pruning and replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from wallet.db.pool import Connection
from wallet.outbox.core import (
    AFTER_ALL_OF_A_TRANSACTION,
    FeedPosition,
    LegacyFeedPosition,
    OutboxEvent,
)


def _event(row: Any) -> OutboxEvent:
    return OutboxEvent(
        event_id=row["event_id"],
        event_type=row["event_type"],
        wallet_id=row["wallet_id"],
        sequence=row["sequence"],
        payload=row["payload"],
        trace_id=row["trace_id"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        traceparent=row["traceparent"],
    )


# A wallet's events go out in sequence order: a wallet's first undelivered event (its head) is
# claimed with a row lock that other workers skip, and later events of that wallet only ride
# behind their head in the same claim, up to the first one still waiting to retry. While a head
# is locked it is still pending to everyone else, so no other worker takes its followers.
# A wallet's undelivered events are always the tail of its sequence (new events are appended,
# delivery goes from the front, dead letters only leave the front), so "the previous event is
# not pending" identifies a head with one probe of the (wallet_id, sequence) index. Only a
# replayed event breaks the rule, and it has been delivered before. Pending is neither
# published nor dead-lettered (the row keeps no status: migrations/0016).
#
# The event's `data` is the one expression `(o.payload)::text` below: JSON text rendered by the
# database, which the publisher splices into the envelope as it is (no decoding and encoding
# again in Python). Whatever renders `data` from the claimed row `o` goes there.
_CLAIM = """
WITH heads AS (
    SELECT o.wallet_id, o.sequence
    FROM outbox AS o
    WHERE o.published_at IS NULL AND o.dead_lettered_at IS NULL
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= now())
      AND (SELECT previous.published_at IS NULL AND previous.dead_lettered_at IS NULL
           FROM outbox AS previous
           WHERE previous.wallet_id = o.wallet_id AND previous.sequence < o.sequence
           ORDER BY previous.sequence DESC LIMIT 1) IS NOT TRUE
    ORDER BY o.feed_xid  -- the oldest transactions' events first (outbox_unpublished)
    LIMIT $1
    FOR UPDATE OF o SKIP LOCKED
), claimed AS (
    SELECT heads.wallet_id, heads.sequence FROM heads
    UNION ALL
    SELECT heads.wallet_id, later.sequence
    FROM heads CROSS JOIN LATERAL (
        SELECT f.sequence,
               bool_and(f.next_attempt_at IS NULL OR f.next_attempt_at <= now())
                   OVER (ORDER BY f.sequence) AS due
        FROM (SELECT sequence, next_attempt_at FROM outbox
              WHERE wallet_id = heads.wallet_id AND sequence > heads.sequence
                AND published_at IS NULL AND dead_lettered_at IS NULL
              ORDER BY sequence LIMIT $2) AS f
    ) AS later
    WHERE later.due
)
SELECT array_agg(wallet_id) AS wallets, array_agg(sequence) AS sequences FROM claimed
"""

# The claimed events read in a statement of their own: a head locked just after another
# round committed its failed attempt is checked against that new version, but the claim's
# own snapshot still shows the one before (attempts one fewer, so one attempt more than the
# maximum went out). A new statement sees what the locked rows now hold.
_CLAIMED = """
SELECT o.event_id, o.event_type, o.wallet_id, o.sequence, (o.payload)::text AS data,
       o.trace_id, o.created_at, o.attempts, o.traceparent
FROM outbox_documents AS o
JOIN unnest($1::uuid[], $2::bigint[]) AS claimed(wallet_id, sequence) USING (wallet_id, sequence)
ORDER BY o.wallet_id, o.sequence
"""


# The claim walks outbox_unpublished in feed order and stops at its last head; each wallet's
# followers come from (wallet_id, sequence). The outbox's statistics lag its backlog, and
# planned on an estimate of a few hundred pending rows, the claim instead read every pending
# row through a bitmap, probed each one's previous event and sorted them, then found each
# head's followers through a bitmap of all pending events too (6.5 ms a head): 1.8-3.2 s for
# a claim of 200 heads at 204,792 pending, against 19-21 ms walking the indexes. So for the
# claiming transaction (its claim, rendering and marks, all by index) neither a bitmap nor a
# sequential scan is planned (tests/outbox/test_claim_plan.py).
_ORDERED_WALKS = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"


async def claim_due(conn: Connection, *, heads: int, per_wallet: int) -> list[OutboxEvent]:
    """Lock up to ``heads`` wallets' next events (and their due followers) for this transaction."""
    await conn.execute(_ORDERED_WALKS)
    claimed = await conn.fetchrow(_CLAIM, heads, per_wallet)
    if claimed is None or claimed["wallets"] is None:
        return []
    rows = await conn.fetch(_CLAIMED, claimed["wallets"], claimed["sequences"])
    return [
        OutboxEvent(
            event_id=row["event_id"],
            event_type=row["event_type"],
            wallet_id=row["wallet_id"],
            sequence=row["sequence"],
            payload=orjson.Fragment(row["data"]),
            trace_id=row["trace_id"],
            created_at=row["created_at"],
            attempts=row["attempts"],
        )
        for row in rows
    ]


# Claimed rows are found again by (wallet_id, sequence): unique and indexed (the outbox has no
# index on id, migrations/0013, and new rows store none, 0021).
async def mark_published(conn: Connection, *, events: Sequence[OutboxEvent]) -> None:
    await conn.execute(
        """
        UPDATE outbox SET published_at = now(), last_error = NULL
        FROM unnest($1::uuid[], $2::bigint[]) AS m(wallet_id, sequence)
        WHERE outbox.wallet_id = m.wallet_id AND outbox.sequence = m.sequence
          AND outbox.published_at IS NULL
        """,
        [event.wallet_id for event in events],
        [event.sequence for event in events],
    )


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    wallet_id: UUID
    sequence: int
    attempts: int
    retry_in_seconds: float
    error: str
    dead: bool


async def record_failures(conn: Connection, failures: Sequence[FailedAttempt]) -> None:
    if not failures:
        return
    await conn.execute(
        """
        UPDATE outbox
        SET attempts = f.attempts,
            last_error = f.error,
            next_attempt_at = now() + make_interval(secs => f.retry_in),
            dead_lettered_at = CASE WHEN f.dead THEN now() END
        FROM unnest($1::uuid[], $2::bigint[], $3::integer[], $4::float8[], $5::text[],
                    $6::boolean[]) AS f(wallet_id, sequence, attempts, retry_in, error, dead)
        WHERE outbox.wallet_id = f.wallet_id AND outbox.sequence = f.sequence
          AND outbox.published_at IS NULL
        """,
        [f.wallet_id for f in failures],
        [f.sequence for f in failures],
        [f.attempts for f in failures],
        [f.retry_in_seconds for f in failures],
        [f.error for f in failures],
        [f.dead for f in failures],
    )


async def backlog(conn: Connection) -> tuple[int, float]:
    """Pending events: how many, and the age in seconds of the oldest (0 when none)."""
    # An engine event keeps no time (its journal's, migrations/0016): the oldest of those is
    # read from the journals of the oldest feed positions only. A journal probe per pending
    # event took 656 ms against 53 for the count, at 180,000 pending, every few seconds.
    row = await conn.fetchrow(
        """WITH pending AS (
               SELECT count(*) AS n, min(o.created_at) AS oldest_timed FROM outbox o
               WHERE o.published_at IS NULL AND o.dead_lettered_at IS NULL
           ), oldest_journal AS (
               SELECT min(j.created_at) AS at
               FROM (SELECT o.journal_id FROM outbox o
                     WHERE o.published_at IS NULL AND o.dead_lettered_at IS NULL
                       AND o.created_at IS NULL
                     ORDER BY o.feed_xid LIMIT 100) AS head
               JOIN journals j ON j.id = head.journal_id
           )
           SELECT pending.n AS pending,
                  coalesce(extract(epoch FROM now() - least(pending.oldest_timed,
                                                            oldest_journal.at)),
                           0)::float8 AS oldest_age
           FROM pending, oldest_journal"""
    )
    assert row is not None
    return row["pending"], row["oldest_age"]


async def feed_page(
    conn: Connection, *, after: FeedPosition | LegacyFeedPosition, limit: int
) -> list[tuple[OutboxEvent, FeedPosition]]:
    """Events after ``after`` whose transactions have all ended (see outbox/sql/outbox.sql)."""
    if isinstance(after, LegacyFeedPosition):
        after = await _resume_legacy(conn, after)
    rows = await conn.fetch(
        """
        WITH page AS (  -- the page's rows first, then each rendered (not a position's worth)
            SELECT wallet_id, sequence FROM outbox
            WHERE (feed_xid, wallet_id, sequence) > ($1::text::xid8, $2::uuid, $3::bigint)
              AND feed_xid < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY feed_xid, wallet_id, sequence
            LIMIT $4
        )
        SELECT o.event_id, o.event_type, o.wallet_id, o.sequence, o.payload, o.trace_id,
               o.created_at, o.attempts, o.traceparent, o.feed_xid::text AS feed_xid
        FROM outbox_documents AS o JOIN page USING (wallet_id, sequence)
        ORDER BY o.feed_xid, o.wallet_id, o.sequence
        """,
        str(after.feed_xid),
        after.wallet_id,
        after.sequence,
        limit,
    )
    return [
        (_event(row), FeedPosition(int(row["feed_xid"]), row["wallet_id"], row["sequence"]))
        for row in rows
    ]


async def _resume_legacy(conn: Connection, legacy: LegacyFeedPosition) -> FeedPosition:
    """Where a reader holding a cursor of before migrations/0021 goes on. Its transaction's
    events it was not yet given are those with a larger id; in today's order they may sort
    anywhere among that transaction's events, so the reader goes on just before the first of
    them (none is lost; some it was given come again, with the same event ids), or after the
    whole transaction when it was given all of them."""
    first_unread = await conn.fetchrow(
        """SELECT wallet_id, sequence FROM outbox
           WHERE feed_xid = $1::text::xid8 AND id > $2
           ORDER BY wallet_id, sequence LIMIT 1""",
        str(legacy.feed_xid),
        legacy.outbox_id,
    )
    if first_unread is None:
        return FeedPosition(legacy.feed_xid, *AFTER_ALL_OF_A_TRANSACTION)
    return FeedPosition(legacy.feed_xid, first_unread["wallet_id"], first_unread["sequence"] - 1)


async def delete_published(conn: Connection, *, older_than_hours: float, limit: int) -> int:
    """Delete up to ``limit`` events published more than ``older_than_hours`` ago."""
    deleted: int = await conn.fetchval(
        """
        WITH expired AS (  -- deleted by row address: rows have no indexed id (0013, 0021)
            SELECT ctid FROM outbox
            WHERE published_at < now() - make_interval(secs => $1 * 3600)
            ORDER BY published_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM outbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM expired)) RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        float(older_than_hours),
        limit,
    )
    return deleted


async def reset_for_replay(
    conn: Connection, *, event_ids: Sequence[UUID], since: datetime | None
) -> int:
    """Queue delivered or dead-lettered events again: by id and/or created since ``since``."""
    result = await conn.execute(
        """
        UPDATE outbox
        SET published_at = NULL, attempts = NULL, last_error = NULL, dead_lettered_at = NULL,
            next_attempt_at = NULL
        FROM outbox_documents AS d  -- the derived event id and time (outbox.sql)
        WHERE d.wallet_id = outbox.wallet_id AND d.sequence = outbox.sequence
          AND (d.event_id = ANY($1::uuid[])
               OR ($2::timestamptz IS NOT NULL AND d.created_at >= $2))
          AND (outbox.published_at IS NOT NULL OR outbox.dead_lettered_at IS NOT NULL)
        """,
        list(event_ids),
        since,
    )
    return int(result.split()[-1])
