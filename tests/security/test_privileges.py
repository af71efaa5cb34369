"""The application role may not rewrite history: UPDATE/DELETE/TRUNCATE are denied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

HISTORY_TABLES = ("entries", "journals", "audit_log", "audit_seals")


@pytest.fixture
async def app_role(app_database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(app_database_url)
    yield conn
    await conn.close()


async def test_the_app_is_not_a_superuser(app_role: asyncpg.Connection[Any]) -> None:
    assert (
        await app_role.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        is False
    )
    assert await app_role.fetchval("SELECT pg_has_role(current_user, 'wallet_app', 'member')")


@pytest.mark.parametrize("table", HISTORY_TABLES)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}", "TRUNCATE {table}"],
)
async def test_history_is_append_only_for_the_app_role(
    table: str, statement: str, app_role: asyncpg.Connection[Any]
) -> None:
    column = {"entries": "amount", "journals": "status", "audit_log": "outcome"}.get(
        table, "row_hash"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for table"):
        await app_role.execute(statement.format(table=table, column=column))


async def test_the_app_role_can_read_and_append(app_role: asyncpg.Connection[Any]) -> None:
    """The grants are not simply missing: reads, inserts and working-table updates are allowed."""
    async with app_role.transaction():
        await app_role.fetchval("SELECT count(*) FROM entries")
        await app_role.execute(
            "INSERT INTO audit_log (actor, action, resource_type, outcome) "
            "VALUES ('test', 'privilege.check', 'test', 'ok')"
        )
        await app_role.execute("UPDATE wallets SET updated_at = updated_at WHERE false")
        await app_role.execute("DELETE FROM idempotency_keys WHERE false")


async def test_migration_bookkeeping_is_off_limits(app_role: asyncpg.Connection[Any]) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_role.fetch("SELECT * FROM schema_migrations")
