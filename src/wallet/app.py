"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from wallet import health
from wallet.admin import endpoints as admin_endpoints
from wallet.audit.middleware import AdminAuditMiddleware
from wallet.auth.dependencies import authenticate_before_refusing_requests, authorize_route
from wallet.auth.tokens import TokenVerifier
from wallet.batches import endpoints as batch_endpoints
from wallet.config import Settings, get_settings
from wallet.credits import endpoints as credit_endpoints
from wallet.db.faults import install_fault_handlers
from wallet.db.modules import check_modules_current
from wallet.db.pool import create_pool
from wallet.errors import install_error_handlers
from wallet.fx import endpoints as fx_endpoints
from wallet.holds import endpoints as hold_endpoints
from wallet.ledger import endpoints as ledger_endpoints
from wallet.ledger.batcher import PostingBatcher
from wallet.observability import TraceAndMetricsMiddleware
from wallet.openapi import install_openapi
from wallet.outbox import endpoints as event_endpoints
from wallet.outbox.broker import BrokerProbe
from wallet.payouts import endpoints as payout_endpoints
from wallet.pii import PiiCipher
from wallet.ratelimit import RateLimitMiddleware, RateLimits
from wallet.reconciliation import endpoints as reconciliation_endpoints
from wallet.refunds import endpoints as refund_endpoints
from wallet.runtime import settle_garbage_collector
from wallet.tracing import configure_tracing, flush_tracing
from wallet.tracing.batcher import TracedPostingBatcher
from wallet.transactions import endpoints as transaction_endpoints
from wallet.transfers import endpoints as transfer_endpoints
from wallet.transfers.direct import DirectMoneyRoutes
from wallet.wallets import endpoints as wallet_endpoints
from wallet.workers.process import in_background


def create_served_app() -> FastAPI:
    """The app of a ``wallet serve`` process, which it has to itself: its runtime is tuned."""
    return create_app(tune_runtime=True)


def create_app(settings: Settings | None = None, *, tune_runtime: bool = False) -> FastAPI:
    settings = settings or get_settings()
    if settings.database_url is None:
        raise RuntimeError("WALLET_DATABASE_URL must be resolved before the app starts")
    database_url = settings.database_url
    tracing = configure_tracing(settings)
    batcher_class = TracedPostingBatcher if tracing else PostingBatcher

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            connect_timeout=settings.database_connect_timeout_seconds,
        )
        # Never run against functions older than this code (StaleDatabase says what to do).
        async with app.state.pool.acquire() as conn:
            await check_modules_current(conn)
        app.state.posting_batcher = batcher_class(
            app.state.pool,
            max_batch=settings.posting_batch_max,
            max_in_flight=settings.posting_batches_in_flight,
        )
        if tune_runtime:
            settle_garbage_collector()
        try:
            if settings.run_worker_in_server:
                async with in_background(app.state.pool, settings):
                    yield
            else:
                yield
        finally:
            await app.state.pool.close()
            flush_tracing()

    app = FastAPI(
        title="wallet-service",
        version="1.0.0",
        summary="Wallets, holds and a double-entry ledger.",
        lifespan=lifespan,
        # The RBAC matrix (auth.rbac) guards every route, including ones added later.
        dependencies=[Depends(authorize_route)],
        # The request's server span is the service's own (observability.py and
        # tracing/server.py: an unsampled request makes no spans below it); FastAPI's native
        # metrics and logs stay with FastAPI's own switch.
        telemetry={
            "tracing": False,
            "operation_spans": False,
            "metrics": settings.otel_enabled,
            "logs": settings.otel_enabled,
        },
    )
    app.state.settings = settings
    # Built now so that unsafe key configuration stops the service before it takes traffic.
    app.state.token_verifier = TokenVerifier(settings)
    app.state.broker_probe = BrokerProbe(settings.rabbitmq_url) if settings.rabbitmq_url else None
    app.state.pii = PiiCipher.from_settings(settings)
    app.state.rate_limits = RateLimits(settings)
    install_error_handlers(app)
    authenticate_before_refusing_requests(app)
    install_fault_handlers(app)
    if settings.direct_money_routes:  # innermost: every middleware below sees its requests
        app.add_middleware(DirectMoneyRoutes, fastapi_app=app)
    app.add_middleware(AdminAuditMiddleware)
    app.add_middleware(
        RateLimitMiddleware,
        limits=app.state.rate_limits,
        max_body_bytes=settings.max_body_bytes,
        body_bytes_by_path={"/v1/batches": settings.batch_max_body_bytes},
    )
    app.add_middleware(TraceAndMetricsMiddleware, tracing=tracing)
    if settings.trusted_proxies:
        # Outermost, so limits, audit and logs all see the client the proxy vouches for.
        # Without trusted proxies no forwarded header is read (the server is started with
        # uvicorn's own proxy handling off, see cli.serve).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for router in (
        wallet_endpoints.router,
        transfer_endpoints.router,
        ledger_endpoints.router,
        reconciliation_endpoints.router,
        admin_endpoints.router,
        event_endpoints.router,
        hold_endpoints.router,
        refund_endpoints.router,
        batch_endpoints.router,
        transaction_endpoints.router,
        credit_endpoints.router,
        fx_endpoints.router,
        fx_endpoints.admin_router,
        payout_endpoints.router,
        health.router,
    ):
        app.include_router(router)
    install_openapi(app)
    return app
