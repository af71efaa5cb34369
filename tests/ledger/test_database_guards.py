"""The database itself refuses to rewrite history or to post unbalanced journals."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.support import Api


async def _an_entry(api: Api, owner: str) -> str:
    return await api.funded_wallet(owner, 100)


async def test_entries_cannot_be_updated(api: Api, db: asyncpg.Connection[Any], owner: str) -> None:
    wallet_id = await _an_entry(api, owner)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("UPDATE entries SET amount = amount + 1 WHERE wallet_id = $1", wallet_id)


async def test_entries_cannot_be_deleted(api: Api, db: asyncpg.Connection[Any], owner: str) -> None:
    wallet_id = await _an_entry(api, owner)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("DELETE FROM entries WHERE wallet_id = $1", wallet_id)
    assert await db.fetchval("SELECT count(*) FROM entries WHERE wallet_id = $1", wallet_id) == 1


async def test_journals_cannot_be_updated_or_truncated(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await _an_entry(api, owner)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE journals SET amount = 1 WHERE wallet_id = $1", wallet_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("TRUNCATE entries, journals CASCADE")


async def test_an_unbalanced_journal_cannot_commit(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    journal_id = uuid4()
    # A journal and its entries go in one statement (the checks run per statement).
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await db.execute(
            """WITH journal AS (
                   INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id)
                   VALUES ($1, 'DEPOSIT', $2, 5, 'USD', 't'))
               INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               VALUES ($1, $2, 'USD', 5, 100, 105, 0, 0)""",
            journal_id,
            wallet_id,
        )
    assert await db.fetchval("SELECT count(*) FROM journals WHERE id = $1", journal_id) == 0


async def test_an_entry_added_later_to_a_posted_journal_must_keep_it_balanced(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    """The check sums only the statement's entries: enough, since the journal balanced."""
    wallet_id = await api.funded_wallet(owner, 100)
    journal_id = await db.fetchval("SELECT journal_id FROM entries WHERE wallet_id = $1", wallet_id)
    entry = """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               VALUES ($1, $2, 'USD', $3::bigint, 100, 100 + $3::bigint, 0, 0)"""
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await db.execute(entry, journal_id, wallet_id, 7)
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await db.execute(  # balanced in sum, but not per currency
            """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               VALUES ($1, $2, 'USD', 7, 100, 107, 0, 0), ($1, $2, 'EUR', -7, 100, 93, 0, 0)""",
            journal_id,
            wallet_id,
        )
    assert await db.fetchval("SELECT count(*) FROM entries WHERE journal_id = $1", journal_id) == 2


async def test_a_journal_without_entries_cannot_commit(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    with pytest.raises(asyncpg.CheckViolationError, match="no entries"):
        await db.execute(
            """INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id)
               VALUES ($1, 'DEPOSIT', $2, 5, 'USD', 't')""",
            uuid4(),
            wallet_id,
        )


async def test_an_entry_must_move_the_balance_by_its_amount(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               SELECT journal_id, wallet_id, currency, 0, 0, 7, 0, 0
               FROM entries WHERE wallet_id = $1""",
            wallet_id,
        )


async def test_a_user_wallet_cannot_go_below_zero_available(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE wallets SET balance = -1 WHERE id = $1", wallet_id)


async def test_an_entry_naming_a_missing_journal_or_wallet_is_refused(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    """The references are checked per statement (no foreign keys on the ledger's rows)."""
    wallet_id = await api.funded_wallet(owner, 100)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="missing journal"):
        await db.execute(
            """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               VALUES ($1, $2, 'USD', 0, 100, 100, 0, 0)""",
            uuid4(),
            wallet_id,
        )
    journal_id = uuid4()
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="missing wallet"):
        await db.execute(
            """WITH journal AS (
                   INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id)
                   VALUES ($1, 'DEPOSIT', $2, 0, 'USD', 't'))
               INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                                    balance_after, held_before, held_after)
               VALUES ($1, $3, 'USD', 0, 0, 0, 0, 0)""",
            journal_id,
            wallet_id,
            uuid4(),
        )
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="has ledger entries"):
        await db.execute("DELETE FROM wallets WHERE id = $1", UUID(wallet_id))
