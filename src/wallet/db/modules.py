"""The SQL modules: each domain's functions, views and triggers (DESIGN D11).

A module lives beside the Python of its domain (``src/wallet/<domain>/sql/<name>.sql``) and is
written to be applied again at any time: ``CREATE OR REPLACE``, or ``DROP ... IF EXISTS`` then
``CREATE`` where PostgreSQL has no replace (constraint triggers). The order below is the order
they are applied in: a module may use what an earlier one defines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from wallet.db.pool import Connection

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

# (domain folder, module name), in dependency order.
_MODULES = (
    ("db", "common"),
    ("idempotency", "idempotency"),
    ("audit", "audit"),
    ("ledger", "ledger"),
    ("outbox", "outbox"),
    ("holds", "holds"),
    ("refunds", "refunds"),
    ("admin", "admin"),
    ("credits", "credits"),
)


class StaleDatabase(RuntimeError):
    """The database's functions are not the ones this code was written against."""

    def __init__(self, stale: list[str]) -> None:
        super().__init__(
            "database functions are older than this code: run `wallet migrate` "
            f"(stale SQL modules: {', '.join(stale)})"
        )
        self.stale = stale


@dataclass(frozen=True, slots=True)
class SqlModule:
    name: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def sql_modules() -> list[SqlModule]:
    return [
        SqlModule(name, _PACKAGE_DIR / domain / "sql" / f"{name}.sql") for domain, name in _MODULES
    ]


@cache
def expected_hashes() -> dict[str, str]:
    """This code's modules and their hashes (read once: the files do not change under us)."""
    return {module.name: module.sha256 for module in sql_modules()}


def stale_modules(recorded: dict[str, str]) -> list[str]:
    """The modules whose recorded hash differs from this code's (or that were never applied)."""
    return [name for name, digest in expected_hashes().items() if recorded.get(name) != digest]


async def check_modules_current(conn: Connection) -> None:
    """Raise StaleDatabase unless the database runs exactly this code's SQL modules."""
    exists = await conn.fetchval("SELECT to_regclass('schema_modules') IS NOT NULL")
    rows = await conn.fetch("SELECT name, sha256 FROM schema_modules") if exists else []
    stale = stale_modules({row["name"]: row["sha256"] for row in rows})
    if stale:
        raise StaleDatabase(stale)
