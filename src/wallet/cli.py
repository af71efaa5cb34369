"""The ``wallet`` command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated
from uuid import UUID

import typer

from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings, get_settings
from wallet.db.migrations import apply_migrations
from wallet.observability import configure_logging

app = typer.Typer(help="wallet-service: wallets, holds and a double-entry ledger.")
outbox_app = typer.Typer(help="Operate the transactional outbox.")
events_app = typer.Typer(help="Watch published events.")
app.add_typer(outbox_app, name="outbox")
app.add_typer(events_app, name="events")


def resolve_database_url(settings: Settings) -> str:
    """The configured server, or the embedded one started now (DESIGN D2).

    Returns the URL migrations run with (the owner role); the service's own URL (the
    application role) is left in WALLET_DATABASE_URL.
    """
    if settings.database_url:
        return settings.migration_database_url or settings.database_url
    from wallet.db.embedded import start_embedded_service

    urls = start_embedded_service(Path(settings.data_dir))
    # Server worker processes and the app factory read the URLs from the environment.
    os.environ["WALLET_DATABASE_URL"] = urls.application
    os.environ["WALLET_MIGRATION_DATABASE_URL"] = urls.migrations
    get_settings.cache_clear()
    return urls.migrations


@app.command()
def migrate() -> None:
    """Apply pending migrations and exit."""
    settings = get_settings()
    configure_logging(settings.log_level)
    report = apply_migrations(resolve_database_url(settings))
    typer.echo(
        f"applied {len(report.migrations)} migration(s): "
        f"{', '.join(report.migrations) or 'none pending'}; "
        f"SQL modules (re)applied: {', '.join(report.modules) or 'none changed'}"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes (default: one per CPU).")
    ] = None,
    migrate: Annotated[
        bool, typer.Option(help="Apply pending migrations first (off where a Job runs them).")
    ] = True,
) -> None:
    """Migrate, then serve the API."""
    # One process per CPU by default: a process's event loop uses one core at most, and the
    # posting batches of all processes share the database without deadlocking (id order).
    workers = workers or os.cpu_count() or 1
    import uvicorn

    from wallet.db.embedded import stop_embedded_servers
    from wallet.http_guard import GuardedHttpToolsProtocol

    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.database_url is None:
        # Embedded default: nobody runs a separate worker, so every server process runs the
        # worker's loops too (safe: their claims skip each other's rows).
        os.environ["WALLET_RUN_WORKER_IN_SERVER"] = "true"
    # uvicorn re-raises SIGTERM once it has shut down; with the default action that kills
    # the process before any cleanup, leaving the embedded PostgreSQL running. As an
    # exception it unwinds through the finally below instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if migrate:
            apply_migrations(resolve_database_url(settings))
        if workers > 1:
            _prepare_multiprocess_metrics(Path(settings.data_dir) / "metrics")
        uvicorn.run(
            "wallet.app:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http=GuardedHttpToolsProtocol,
            access_log=False,
            log_config=None,
            # uvicorn would trust X-Forwarded-For from 127.0.0.1 by default; proxy trust is
            # the app's, from WALLET_TRUSTED_PROXIES only.
            proxy_headers=False,
        )
    finally:
        stop_embedded_servers()


def _exit_on_signal(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)


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


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve /metrics on this port (default: none).")
    ] = None,
    migrate: Annotated[
        bool, typer.Option(help="Apply pending migrations first (off where a Job runs them).")
    ] = True,
) -> None:
    """Run the background loops: outbox publisher, pruning, hold expiry. Stop with SIGTERM."""
    from prometheus_client import start_http_server

    from wallet.workers.process import run_worker

    settings = get_settings()
    configure_logging(settings.log_level)
    database_url = resolve_database_url(settings)
    if migrate:
        apply_migrations(database_url)
    asyncio.run(_refuse_stale_database(database_url))
    port = metrics_port if metrics_port is not None else settings.worker_metrics_port
    if port is not None:
        start_http_server(port, addr=settings.worker_metrics_host)
    asyncio.run(run_worker(get_settings(), database_url=database_url))


async def _refuse_stale_database(database_url: str) -> None:
    """Exit with the reason when the database's SQL modules are not this code's."""
    from wallet.db.modules import StaleDatabase, check_modules_current
    from wallet.db.pool import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await check_modules_current(conn)
    except StaleDatabase as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc
    finally:
        await pool.close()


@outbox_app.command("replay")
def outbox_replay(
    event_id: Annotated[
        list[UUID] | None, typer.Option("--id", help="Event id to publish again (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Publish again every event created at or after this.")
    ] = None,
) -> None:
    """Queue published or dead-lettered events to be published again (same event ids)."""
    if not event_id and since is None:
        raise typer.BadParameter("give --id and/or --since")
    from wallet.db.pool import create_pool, transaction
    from wallet.outbox import service

    settings = get_settings()
    configure_logging(settings.log_level)
    database_url = resolve_database_url(settings)

    async def replay() -> int:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            async with transaction(pool) as conn:
                return await service.replay(conn, event_ids=event_id or [], since=since)
        finally:
            await pool.close()

    typer.echo(f"queued {asyncio.run(replay())} event(s) for publishing")


@events_app.command("tail")
def events_tail(
    binding: Annotated[str, typer.Option(help="Routing key pattern, e.g. wallet.#.")] = "#",
    limit: Annotated[int | None, typer.Option(min=1, help="Exit after this many.")] = None,
) -> None:
    """Print events from RabbitMQ as they arrive, one JSON object per line."""
    from wallet.outbox.tail import tail_events

    settings = get_settings()
    if not settings.rabbitmq_url:
        raise typer.BadParameter("WALLET_RABBITMQ_URL is not set")
    tail = tail_events(
        url=settings.rabbitmq_url,
        exchange_name=settings.rabbitmq_exchange,
        binding=binding,
        emit=typer.echo,
        limit=limit,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how tailing ends
        asyncio.run(tail)


audit_app = typer.Typer(help="The tamper-evident audit trail.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    seal: Annotated[bool, typer.Option(help="Seal settled rows first.")] = True,
) -> None:
    """Walk the audit and ledger hash chains; name every changed, inserted or removed row."""
    import asyncio

    from wallet.audit.verify import run_verify

    settings = get_settings()
    configure_logging(settings.log_level)
    resolve_database_url(settings)
    findings = asyncio.run(run_verify(get_settings(), seal=seal))
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.echo(f"FAILED: {len(findings)} problem(s) found", err=True)
        raise typer.Exit(code=1)
    typer.echo("OK: audit trail and ledger chains verified")


if __name__ == "__main__":
    app()


payouts_app = typer.Typer(help="Driver payouts through the payment rail.")
app.add_typer(payouts_app, name="payouts")


@payouts_app.command("run")
def payouts_run(
    currency: Annotated[str, typer.Option(help="Pay out wallets of this currency.")],
    threshold: Annotated[
        int, typer.Option(min=0, help="Only wallets with more cash than this (minor units).")
    ] = 0,
    owner_prefix: Annotated[
        str | None, typer.Option(help="Only owners whose id starts with this.")
    ] = None,
    wallet_id: Annotated[
        list[UUID] | None, typer.Option(help="Only these wallets (repeatable).")
    ] = None,
) -> None:
    """Start a payout run now and send its payouts to WALLET_PAYOUT_RAIL_URL, with progress;
    exit 1 when some payout is still open (asked again by the worker) or failed."""
    from wallet.payouts.cli import run_payouts_now
    from wallet.payouts.schemas import PayoutRunRequest

    settings = get_settings()
    configure_logging(settings.log_level)
    request = PayoutRunRequest(
        currency=currency, threshold=threshold, owner_prefix=owner_prefix, wallet_ids=wallet_id
    )
    outcome = run_payouts_now(
        settings, database_url=resolve_database_url(settings), request=request
    )
    open_or_failed = outcome.payouts.PENDING + outcome.payouts.SENT + outcome.payouts.FAILED
    raise typer.Exit(code=1 if open_or_failed else 0)
