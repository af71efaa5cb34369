"""The ``wallet`` command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings, get_settings
from wallet.db.migrations import apply_migrations
from wallet.observability import configure_logging

app = typer.Typer(help="wallet-service: wallets, holds and a double-entry ledger.")


def resolve_database_url(settings: Settings) -> str:
    """The configured server, or the embedded one started now (DESIGN D2)."""
    if settings.database_url:
        return settings.database_url
    from wallet.db.embedded import start_embedded_server

    url = start_embedded_server(Path(settings.data_dir))
    # Server worker processes and the app factory read the URL from the environment.
    os.environ["WALLET_DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


@app.command()
def migrate() -> None:
    """Apply pending migrations and exit."""
    settings = get_settings()
    configure_logging(settings.log_level)
    applied = apply_migrations(resolve_database_url(settings))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Migrate, then serve the API."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    apply_migrations(resolve_database_url(settings))
    if workers > 1:
        _prepare_multiprocess_metrics(Path(settings.data_dir) / "metrics")
    uvicorn.run(
        "wallet.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
    )


def _prepare_multiprocess_metrics(directory: Path) -> None:
    """Each server process writes its metrics here; /metrics merges them."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


@app.command()
def token(
    subject: Annotated[str, typer.Option(help="The token's sub: the owner id for users.")],
    role: Annotated[list[Role], typer.Option(help="Role(s): admin, payments, user.")],
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a bearer token signed with the configured (or dev) key."""
    typer.echo(issue_token(settings=get_settings(), subject=subject, roles=role, ttl_seconds=ttl))


@app.command()
def reconcile(
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Wallets or journals checked per query.")
    ] = None,
) -> None:
    """Reconcile the books now, with progress; exit 1 when there are findings."""
    from wallet.reconciliation.cli import reconcile_now

    settings = get_settings()
    configure_logging(settings.log_level)
    if batch_size is not None:
        settings = settings.model_copy(update={"reconcile_batch_size": batch_size})
    findings = reconcile_now(settings, database_url=resolve_database_url(settings))
    raise typer.Exit(code=1 if findings else 0)


if __name__ == "__main__":
    app()
