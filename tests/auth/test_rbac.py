"""The RBAC matrix, exhaustively: every route x every kind of caller, and no effect when refused.

Add one ``RouteCase`` line per new route: ``test_every_route_has_cases`` fails until you do.
Callers: ``own`` is the user owning the path's wallet, ``other`` a user owning a different one,
``payments``/``admin`` platform roles, ``anonymous`` no token at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.support import Api, started_app
from wallet.auth.rbac import ROUTE_RULES, rule_for
from wallet.auth.tokens import Role

CALLERS = ("own", "other", "payments", "admin", "anonymous")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    wallet_id: str  # the path's wallet, owned by ``owner`` with 1000 in it
    owner: str
    other_wallet_id: str  # owned by ``other_owner`` with 1000 in it
    other_owner: str


@dataclass(frozen=True)
class RouteCase:
    method: str
    template: str
    expected: dict[str, int]  # caller -> status
    body: Callable[[Target], dict[str, Any] | None] = lambda target: None
    query: Callable[[Target], dict[str, str]] = field(default=lambda target: {})

    def path(self, target: Target) -> str:
        return self.template.format(wallet_id=target.wallet_id)


def _amount(target: Target) -> dict[str, Any]:
    return {"amount": 100}


ROUTE_CASES = [
    RouteCase(
        "POST",
        "/v1/wallets",
        {"own": 403, "other": 403, "payments": 201, "admin": 201, "anonymous": 401},
        body=lambda target: {"owner_id": f"new-{uuid4().hex[:8]}", "currency": "EUR"},
    ),
    RouteCase(
        "GET",
        "/v1/wallets",
        {"own": 200, "other": 200, "payments": 200, "admin": 200, "anonymous": 401},
        query=lambda target: {"owner_id": target.owner},
    ),
    RouteCase(
        "GET",
        "/v1/wallets/{wallet_id}",
        {"own": 200, "other": 404, "payments": 200, "admin": 200, "anonymous": 401},
    ),
    RouteCase(
        "GET",
        "/v1/wallets/{wallet_id}/ledger",
        {"own": 200, "other": 404, "payments": 200, "admin": 200, "anonymous": 401},
    ),
    RouteCase(
        "POST",
        "/v1/wallets/{wallet_id}/deposit",
        {"own": 403, "other": 403, "payments": 201, "admin": 201, "anonymous": 401},
        body=_amount,
    ),
    RouteCase(
        "POST",
        "/v1/wallets/{wallet_id}/withdraw",
        {"own": 403, "other": 403, "payments": 201, "admin": 201, "anonymous": 401},
        body=_amount,
    ),
    RouteCase(
        "POST",
        "/v1/wallets/{wallet_id}/transfer",
        {"own": 201, "other": 404, "payments": 201, "admin": 201, "anonymous": 401},
        body=lambda target: {"amount": 100, "to_wallet_id": target.other_wallet_id},
    ),
    RouteCase(
        "GET",
        "/healthz",
        {"own": 200, "other": 200, "payments": 200, "admin": 200, "anonymous": 200},
    ),
]


def _token(api: Api, caller: str, target: Target) -> str | None:
    if caller == "anonymous":
        return None
    if caller in ("payments", "admin"):
        return api.token("ride-platform", Role(caller))
    owner = target.owner if caller == "own" else target.other_owner
    return api.token(owner, Role.USER)


async def _state(db: asyncpg.Connection[Any], target: Target) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        """SELECT id, balance, held, version,
                  (SELECT count(*) FROM entries e WHERE e.wallet_id = w.id) AS entries
           FROM wallets w WHERE id = ANY($1::uuid[]) ORDER BY id""",
        [target.wallet_id, target.other_wallet_id],
    )
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("case", "caller"),
    [(case, caller) for case in ROUTE_CASES for caller in CALLERS],
    ids=[
        f"{case.method} {case.template} as {caller}" for case in ROUTE_CASES for caller in CALLERS
    ],
)
async def test_matrix(case: RouteCase, caller: str, api: Api, db: asyncpg.Connection[Any]) -> None:
    owner, other_owner = f"owner-{uuid4().hex[:8]}", f"other-{uuid4().hex[:8]}"
    target = Target(
        wallet_id=await api.funded_wallet(owner, 1000),
        owner=owner,
        other_wallet_id=await api.funded_wallet(other_owner, 1000),
        other_owner=other_owner,
    )
    before = await _state(db, target)
    token = _token(api, caller, target)
    headers = {"Idempotency-Key": str(uuid4())}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await api.http.request(
        case.method,
        case.path(target),
        json=case.body(target),
        params=case.query(target),
        headers=headers,
    )
    assert response.status_code == case.expected[caller], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert await _state(db, target) == before, "a refused request changed the books"
    if case.template == "/v1/wallets" and case.method == "GET" and caller == "other":
        assert response.json()["items"] == [], "a user listed another owner's wallets"


def test_every_route_has_cases(app: FastAPI) -> None:
    """Every route is in the RBAC matrix and in this test's table (one line per new route)."""
    tested = {(case.method, case.template) for case in ROUTE_CASES}
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            assert rule_for(method, route.path) is not None, f"{method} {route.path} not in rbac"
            if method in ("GET", "POST", "PUT", "PATCH", "DELETE") and not route.path.startswith(
                ("/readyz", "/metrics")
            ):
                assert (method, route.path) in tested, f"add a RouteCase for {method} {route.path}"


def test_docs_show_every_rule() -> None:
    """docs/security.md lists every route of the matrix with its roles."""
    doc = (ROOT / "docs" / "security.md").read_text()
    for (method, path), rule in ROUTE_RULES.items():
        roles = ", ".join(sorted(rule.roles)) or "public"
        assert f"| {method} | `{path}` | {roles} |" in doc, f"{method} {path} missing from docs"


async def test_unlisted_route_is_refused_to_everyone(api: Api) -> None:
    """Fail closed: a route nobody added to the matrix answers 403, even to admins."""

    def add_unlisted_route(application: FastAPI) -> None:
        @application.get("/v1/unlisted")
        async def unlisted() -> dict[str, str]:
            return {"status": "should not be reachable"}

    async with started_app(api.settings, extend=add_unlisted_route) as client:
        response = await client.get(
            "/v1/unlisted", headers={"Authorization": f"Bearer {api.token('x', Role.ADMIN)}"}
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/wallets", {"owner_id": "x1", "currency": "USD", "balance": 10**6}),
        ("/v1/wallets", {"owner_id": "x2", "currency": "USD", "status": "ACTIVE"}),
        ("/v1/wallets", {"owner_id": "x3", "currency": "USD", "id": str(uuid4())}),
        ("/v1/wallets", {"owner_id": "x4", "currency": "USD", "held": 0}),
        ("/v1/wallets/{wallet_id}/deposit", {"amount": 5, "balance": 10**6}),
        ("/v1/wallets/{wallet_id}/deposit", {"amount": 5, "owner_id": "someone-else"}),
        ("/v1/wallets/{wallet_id}/deposit", {"amount": 5, "wallet_id": str(uuid4())}),
        ("/v1/wallets/{wallet_id}/transfer", {"amount": 5, "to_wallet_id": None, "id": "x"}),
    ],
)
async def test_bodies_cannot_set_protected_fields(
    path: str, body: dict[str, Any], api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1000)
    state = "SELECT balance, held, version FROM wallets WHERE id = $1"
    before = await db.fetchrow(state, wallet_id)
    response = await api.http.post(
        path.format(wallet_id=wallet_id), json=body, headers=api.headers(key=str(uuid4()))
    )
    assert response.status_code == 422, response.text
    after = await db.fetchrow(state, wallet_id)
    assert after == before
    owner_id = body.get("owner_id")
    if path == "/v1/wallets" and owner_id:
        assert await db.fetchval("SELECT count(*) FROM wallets WHERE owner_id = $1", owner_id) == 0
