"""Bring a database up to this code: numbered migrations, then the SQL modules (DESIGN D11).

Numbered migrations (``migrations/NNNN.name.sql``) hold schema only and are frozen once landed;
each is applied once and recorded. SQL modules (``src/wallet/<domain>/sql/*.sql``) hold the
functions, views and triggers, written to be re-applied (``CREATE OR REPLACE``); a module is
applied again whenever its content changes, and its hash is recorded. Everything runs in one
transaction under an advisory lock, so concurrent ``wallet migrate`` runs queue, and a failed
upgrade leaves the database as it was.

Databases created before this runner were migrated by yoyo: the ids in its bookkeeping table
count as applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from wallet.db.modules import sql_modules

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_LOCK_KEY = 7_310_421_559  # any constant: serialises migrators of one database

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    id         text PRIMARY KEY,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_modules (
    name       text PRIMARY KEY,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True, slots=True)
class Migration:
    id: str  # the file name without .sql, e.g. "0001.core-ledger"
    path: Path

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)


@dataclass(frozen=True, slots=True)
class MigrationReport:
    migrations: list[str]  # ids applied by this run
    modules: list[str]  # modules (re)applied by this run


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def migrations_dir() -> Path:
    """The migrations folder: packaged inside a wheel, or at the repository root."""
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parents[1] / "migrations"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("migrations folder not found")


def numbered_migrations() -> list[Migration]:
    return [Migration(path.stem, path) for path in sorted(migrations_dir().glob("[0-9]*.sql"))]


def apply_migrations(database_url: str) -> MigrationReport:
    """Apply pending migrations and changed modules, in one transaction."""
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(_BOOKKEEPING)
        applied = _applied_migrations(conn)
        migrated = []
        for migration in numbered_migrations():
            if migration.id in applied:
                continue
            _run_script(conn, migration.path)
            conn.execute(
                "INSERT INTO schema_migrations (id, sha256) VALUES (%s, %s)",
                (migration.id, migration.sha256),
            )
            migrated.append(migration.id)
        recorded = recorded_module_hashes(conn)
        reapplied = []
        for module in sql_modules():
            if recorded.get(module.name) == module.sha256:
                continue
            _run_script(conn, module.path)
            conn.execute(
                """INSERT INTO schema_modules (name, sha256) VALUES (%s, %s)
                   ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, applied_at = now()""",
                (module.name, module.sha256),
            )
            reapplied.append(module.name)
        _restrict_bookkeeping(conn)
    return MigrationReport(migrations=migrated, modules=reapplied)


def recorded_module_hashes(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, str]:
    rows = conn.execute("SELECT name, sha256 FROM schema_modules").fetchall()
    return {str(name): str(digest) for name, digest in rows}


def _applied_migrations(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    applied = {str(row[0]) for row in conn.execute("SELECT id FROM schema_migrations")}
    legacy = conn.execute("SELECT to_regclass('_yoyo_migration') IS NOT NULL").fetchone()
    if legacy and legacy[0]:
        applied |= {str(row[0]) for row in conn.execute("SELECT migration_id FROM _yoyo_migration")}
    return applied


def _run_script(conn: psycopg.Connection[tuple[object, ...]], path: Path) -> None:
    # No parameters: psycopg sends the file as one simple query, several statements and all.
    conn.execute(path.read_text(encoding="utf-8").encode())


def _restrict_bookkeeping(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The service role may read the module hashes (to refuse a stale database), nothing more."""
    role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'wallet_app'").fetchone()
    if role is None:
        return
    for table in ("schema_migrations", "schema_modules"):
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM wallet_app").format(sql.Identifier(table)))
    conn.execute("GRANT SELECT ON schema_modules TO wallet_app")
