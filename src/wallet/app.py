"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wallet import health
from wallet.admin import endpoints as admin_endpoints
from wallet.auth.tokens import TokenVerifier
from wallet.config import Settings, get_settings
from wallet.db.pool import create_pool
from wallet.errors import install_error_handlers
from wallet.ledger import endpoints as ledger_endpoints
from wallet.ledger.batcher import PostingBatcher
from wallet.observability import TraceAndMetricsMiddleware
from wallet.reconciliation import endpoints as reconciliation_endpoints
from wallet.transfers import endpoints as transfer_endpoints
from wallet.wallets import endpoints as wallet_endpoints


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.database_url is None:
        raise RuntimeError("WALLET_DATABASE_URL must be resolved before the app starts")
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            database_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        app.state.posting_batcher = PostingBatcher(
            app.state.pool,
            max_batch=settings.posting_batch_max,
            max_in_flight=settings.posting_batches_in_flight,
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="wallet-service",
        version="1.0.0",
        summary="Wallets, holds and a double-entry ledger.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_error_handlers(app)
    app.add_middleware(TraceAndMetricsMiddleware)
    for router in (
        wallet_endpoints.router,
        transfer_endpoints.router,
        ledger_endpoints.router,
        reconciliation_endpoints.router,
        admin_endpoints.router,
        health.router,
    ):
        app.include_router(router)
    return app
