"""Idempotency keys older than their time to live are pruned; younger ones stay."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from wallet.idempotency.tasks import prune_expired_keys


async def test_keys_past_the_ttl_are_pruned_and_fresh_ones_kept(app: FastAPI, db: Any) -> None:
    caller = f"pruning-{uuid4().hex[:8]}"
    for key, age_hours in (("old", 30), ("edge", 23), ("new", 0)):
        await db.execute(
            """
            INSERT INTO idempotency_keys (caller, key, fingerprint, status_code, response_body,
                                          created_at)
            VALUES ($1, $2, 'f', 201, '{}', now() - make_interval(hours => $3))
            """,
            caller,
            key,
            age_hours,
        )
    pruned = await prune_expired_keys(app.state.pool, ttl_hours=24, batch_size=1000)
    assert pruned >= 1
    left = await db.fetch("SELECT key FROM idempotency_keys WHERE caller = $1 ORDER BY key", caller)
    assert [row["key"] for row in left] == ["edge", "new"]
