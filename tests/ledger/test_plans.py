"""The engine's plans: generic (kept for a connection's life), so none may scan a table whole.

A plan made while a table is empty is kept as that table grows. Made on a vacuumed, empty
outbox (a new database, or one whose events were all pruned), the feed-position probe was a
sequential scan, run for every wallet of every batch while the outbox filled up again. The
plans are read with auto_explain, which prints every statement the function runs, and so
also shows a SQL helper that runs as a statement of its own instead of being inlined.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import migrated_database
from tests.support import engine_posting


@pytest.fixture
def vacuumed_empty_database() -> Iterator[str]:
    with migrated_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        yield url


def _explain_into(conn: psycopg.Connection[object], plans: list[str]) -> None:
    """From here on, the plan of every statement ``conn`` runs, nested ones too, into ``plans``."""
    conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    for setting, value in (
        ("log_min_duration", "0"),
        ("log_nested_statements", "on"),
        ("log_level", "notice"),
    ):
        conn.execute(f"SET auto_explain.{setting} = {value}")
    conn.execute("SET client_min_messages = notice")


def _engine_plans(url: str) -> list[str]:
    """Every statement the engine runs for two small batches, as auto_explain prints it."""
    plans: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        a, b = (
            str(row[0])
            for row in conn.execute(
                "INSERT INTO wallets (id, owner_id, currency) "
                "SELECT uuid_v7(), 'plans-' || n, 'USD' FROM generate_series(1, 2) n RETURNING id"
            )
        )
        _explain_into(conn, plans)
        batches = (
            [engine_posting(a, None, 500), engine_posting(b, None, 500)],
            [engine_posting(b, a, 100)],
        )
        for batch in batches:
            conn.execute("SELECT count(*) FROM ledger_post_json(%s::jsonb)", (json.dumps(batch),))
    return [plan for plan in plans if "Query Text" in plan and "ledger_post_json" not in plan]


def test_no_engine_statement_scans_a_table_planned_while_it_was_empty(
    vacuumed_empty_database: str,
) -> None:
    engine = _engine_plans(vacuumed_empty_database)
    assert any("FROM wallets WHERE id IN" in plan for plan in engine)  # the wallets' locks
    scans = [plan for plan in engine if "Seq Scan on" in plan]
    assert scans == []


def test_sql_helpers_are_inlined_not_run_per_row(vacuumed_empty_database: str) -> None:
    # A SQL function the planner cannot inline (declared IMMUTABLE over a STABLE body, or
    # STRICT over a CASE) runs as a statement of its own for every row: 3,000 of them for the
    # fingerprints of a batch of 1,000. Inlined, its body is part of the engine's statements.
    engine = _engine_plans(vacuumed_empty_database)
    bodies = (
        "sha256(convert_to(p_fingerprint",  # idempotency_digest
        "substring(p_kept FROM 1",  # idempotency_matches
        "length(p_caller)::text",  # idempotency_scope
        "coalesce(p_stored, 201)",  # idempotency_status
        "p_trace_id ~",  # journal_compact_trace, journal_text_trace
        "substring(p_digest FROM 1",  # entry_kept_hash
        "CASE p_journal_type",  # journal_event_type
        "format('%s|%s|%s|%L",  # entry_hash_bytes
        "format('|%L|%L",  # journal_hash_bytes
        "extract(epoch FROM t)",  # epoch_us
        "to_char(t AT TIME ZONE",  # json_time
        "overlay(uuid_send(gen_random_uuid())",  # uuid_v7
        "hashtextextended(p_caller",  # idempotency_lock_key
    )
    assert [plan for plan in engine if any(body in plan for body in bodies)] == []


def test_a_keys_lookup_outside_the_engine_walks_the_hash_index(
    vacuumed_empty_database: str,
) -> None:
    # Keys are unique through a hash index over one expression (migrations/0020); a lookup
    # spelled otherwise than idempotency_scope would read the whole table on every request.
    plans: list[str] = []
    with psycopg.connect(vacuumed_empty_database, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO idempotency_keys (caller, key, fingerprint, status_code, response_body)
               SELECT 'plans', 'k-' || n, '\\x00', 200, '{}' FROM generate_series(1, 2000) n"""
        )
        conn.execute("ANALYZE idempotency_keys")
        _explain_into(conn, plans)
        conn.execute("SELECT idempotency_begin('plans', 'k-7', 'f')")
    lookups = [plan for plan in plans if "FROM idempotency_keys" in plan]
    assert lookups and all("idempotency_keys_once" in plan for plan in lookups), lookups
