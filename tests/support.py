"""A thin client for the API, so tests read as the flows they check."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings


def engine_posting(wallet: str, other: str | None, amount: int) -> dict[str, object]:
    """A posting as ``ledger_post_json`` takes it: a deposit of ``amount`` into ``wallet``, or
    (``other`` given) a transfer of it from ``other`` to ``wallet``."""
    legs: list[dict[str, object]] = [{"wallet_id": wallet, "amount": amount, "held_delta": 0}]
    if other is None:
        legs.append({"system_kind": "EXTERNAL", "amount": -amount, "held_delta": 0})
    else:
        legs.append({"wallet_id": other, "amount": -amount, "held_delta": 0})
    return {
        "caller": "engine-test",
        "idempotency_key": uuid4().hex,
        "fingerprint": "f",
        "journal_id": str(uuid4()),
        "journal_type": "DEPOSIT" if other is None else "TRANSFER",
        "event_type": "wallet.deposit.completed" if other is None else "wallet.transfer.completed",
        "wallet_id": wallet if other is None else other,
        "amount": amount,
        "trace_id": "engine-test",
        "audit_refusal": False,
        "legs": legs,
    }


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same database URL, logging in as ``user``."""
    scheme, rest = url.split("://", 1)
    host_part = rest.split("@", 1)[1] if "@" in rest.split("/", 1)[0] else rest
    credentials = quote(user) + (f":{quote(password)}" if password else "")
    return f"{scheme}://{credentials}@{host_part}"


def jwks_document(public_keys: dict[str, Any]) -> str:
    """A JWKS holding ``public_keys`` (RSA) by kid."""
    keys = []
    for kid, key in public_keys.items():
        jwk = json.loads(RSAAlgorithm.to_jwk(key))
        keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    return json.dumps({"keys": keys})


@asynccontextmanager
async def started_app(
    settings: Settings, *, extend: Callable[[FastAPI], None] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app (own pool, limits, routes) with these settings, and a client for it."""
    from wallet.app import create_app

    application = create_app(settings)
    if extend is not None:
        extend(application)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallet.test") as client:
            yield client


@dataclass
class Api:
    http: httpx.AsyncClient
    settings: Settings

    def token(self, subject: str = "ride-platform", role: Role = Role.PAYMENTS) -> str:
        return issue_token(settings=self.settings, subject=subject, roles=[role])

    def headers(
        self, token: str | None = None, *, key: str | None = None, **extra: str
    ) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.token()}", **extra}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def create_wallet(self, owner_id: str, currency: str = "USD") -> dict[str, Any]:
        response = await self.http.post(
            "/v1/wallets",
            json={"owner_id": owner_id, "currency": currency},
            headers=self.headers(),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def move(
        self,
        wallet_id: str,
        action: str,
        body: dict[str, Any],
        *,
        token: str | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        """POST a money movement (deposit, withdraw, transfer) with a fresh key by default."""
        return await self.http.post(
            f"/v1/wallets/{wallet_id}/{action}",
            json=body,
            headers=self.headers(token, key=key or str(uuid4())),
        )

    async def funded_wallet(self, owner_id: str, amount: int, currency: str = "USD") -> str:
        wallet = await self.create_wallet(owner_id, currency)
        response = await self.move(wallet["id"], "deposit", {"amount": amount})
        assert response.status_code == 201, response.text
        wallet_id: str = wallet["id"]
        return wallet_id

    async def wallet(self, wallet_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/wallets/{wallet_id}", headers=self.headers())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
