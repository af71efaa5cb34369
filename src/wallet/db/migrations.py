"""Versioned, forward-only schema migrations, applied with yoyo."""

from __future__ import annotations

from pathlib import Path

from yoyo import get_backend, read_migrations

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    """The migrations folder: packaged inside a wheel, or at the repository root."""
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parents[1] / "migrations"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("migrations folder not found")


def _yoyo_url(database_url: str) -> str:
    # yoyo picks its driver from the scheme; psycopg 3 is the one we ship.
    scheme, rest = database_url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in {"postgres", "postgresql"} else database_url


def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; return the ids that were applied."""
    backend = get_backend(_yoyo_url(database_url))
    migrations = read_migrations(str(migrations_dir()))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]
