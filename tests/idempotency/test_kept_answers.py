"""What a key keeps (a batch's record of its answer) is compressed with lz4 where the server
has it (migrations/0024); a server without lz4 keeps its default, and has nothing to check."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import orjson
import pytest


async def _server_has_lz4(db: asyncpg.Connection[Any]) -> bool:
    try:
        async with db.transaction():
            await db.execute("SET LOCAL default_toast_compression = lz4")
    except (asyncpg.FeatureNotSupportedError, asyncpg.InvalidParameterValueError):
        return False
    return True


async def test_a_large_kept_answer_is_compressed_with_lz4(
    db: asyncpg.Connection[Any],
) -> None:
    if not await _server_has_lz4(db):
        pytest.skip("this server was built without lz4 (the embedded one): 0024 leaves pglz")
    # An answer shaped like a batch's: many transactions alike but for their ids.
    body = orjson.dumps({"items": [{"index": n, "id": str(uuid4())} for n in range(2000)]})
    key = f"kept-{uuid4()}"
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(
            "SELECT idempotency_finish('kept-answers', $1, 'fingerprint', 201, $2)",
            key,
            body.decode(),
        )
        kept = await db.fetchrow(
            "SELECT pg_column_compression(response_body) AS method, response_body"
            " FROM idempotency_keys WHERE caller = 'kept-answers' AND key = $1",
            key,
        )
        assert kept is not None
        assert (kept["method"], kept["response_body"]) == ("lz4", body.decode())
    finally:
        await transaction.rollback()
