"""Deposit, withdraw and transfer served without FastAPI's per-request machinery.

These three routes are most of the service's traffic, and under load FastAPI's routing,
dependency solving and body handling took more of a server process's CPU than the posting
did (py-spy, uniform transfers over HTTP). For them this middleware resolves the same
dependencies by hand and calls the same endpoint functions, so the posting, its fingerprint
and its answer are the ones the FastAPI route would give.

It takes only requests that pass every check that has no side effect: a verified bearer token
whose roles the route allows, a well-formed Idempotency-Key, a wallet id in canonical form and
a JSON body the route's model accepts. Any other request goes on to FastAPI untouched (its body
replayed), which refuses and audits it exactly as before. Only then does it apply the caller's
rate limit (which counts) and post; an error raised from there is answered by the handler the
app registered for it, as FastAPI's exception middleware would.

It sits inside the trace, rate-limit and audit middlewares, which therefore see these requests
as they see every other one; it sets the route on the scope, as routing would, for their
metrics and rules.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.telemetry._api import _route_selected
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet.auth.rbac import rule_for
from wallet.auth.tokens import InvalidToken, Principal, TokenVerifier
from wallet.idempotency.dependencies import checked_idempotency_key
from wallet.ledger.batcher import PostingBatcher
from wallet.transfers import endpoints
from wallet.transfers.schemas import MovementRequest, TransferRequest

if TYPE_CHECKING:
    from wallet.ratelimit import RateLimits
    from wallet.schemas import RequestModel

# Canonical lowercase ids only: another spelling FastAPI would accept goes to FastAPI.
_PATH = re.compile(
    r"/v1/wallets/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/(deposit|withdraw|transfer)"
)


@dataclass(frozen=True, slots=True)
class _Call:
    """A request that passed every check, ready for its endpoint."""

    request: Request
    wallet_id: UUID
    body: Any
    caller: Principal
    money: endpoints.MoneyRequestParts


def _deposit(call: _Call) -> Awaitable[Response]:
    return endpoints.deposit(call.wallet_id, call.body, call.caller, call.money)


def _withdraw(call: _Call) -> Awaitable[Response]:
    return endpoints.withdraw(call.wallet_id, call.body, call.caller, call.money)


def _transfer(call: _Call) -> Awaitable[Response]:
    pool = call.request.app.state.pool
    return endpoints.transfer(call.wallet_id, call.body, call.caller, call.money, pool)


@dataclass(frozen=True, slots=True)
class _Route:
    route: APIRoute
    body_model: type[RequestModel]
    endpoint: Callable[[_Call], Awaitable[Response]]


_ACTIONS: dict[str, tuple[type[RequestModel], Callable[[_Call], Awaitable[Response]]]] = {
    "deposit": (MovementRequest, _deposit),
    "withdraw": (MovementRequest, _withdraw),
    "transfer": (TransferRequest, _transfer),
}


class DirectMoneyRoutes:
    """The money routes' fast path (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.routes = {action: _route_of(fastapi_app, action) for action in _ACTIONS}
        self.served = 0  # requests answered here rather than by FastAPI (for tests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        receive = _replaying(messages, receive)
        route = self.routes[match[2]]
        call = None if body is None else self._checked(scope, receive, route, UUID(match[1]), body)
        if call is None:
            await self.app(scope, receive, send)
            return
        self.served += 1
        try:
            limits: RateLimits = self.fastapi_app.state.rate_limits
            await limits.check_caller(call.caller)
            response = await route.endpoint(call)
        except Exception as exc:  # answered as the app's handler for it answers it
            response = await self._handled(call.request, exc)
        await response(scope, receive, send)

    def _checked(
        self, scope: Scope, receive: Receive, route: _Route, wallet_id: UUID, body: bytes
    ) -> _Call | None:
        """The call, if every check without side effects passes; else None (FastAPI's)."""
        headers = _headers_read_here(scope)
        if headers is None:
            return None
        caller = self._caller(headers.get(b"authorization", b""), route)
        if caller is None or not _is_json(headers.get(b"content-type")):
            return None
        key = headers.get(b"idempotency-key")
        try:
            parsed = route.body_model.model_validate(json.loads(body))
            checked_key = checked_idempotency_key(key.decode("latin-1") if key else None)
        except Exception:  # whatever it is (a RecursionError too), FastAPI answers it
            return None
        scope["route"] = route.route
        scope["endpoint"] = route.route.endpoint
        scope["path_params"] = {"wallet_id": str(wallet_id)}
        # FastAPI's native metrics (WALLET_OTEL_ENABLED) label a request by the route its
        # routing chose; this tells them the same.
        _route_selected(scope=scope, path=route.route.path)
        state = scope.setdefault("state", {})
        state["principal"] = caller  # as current_principal keeps it
        request = Request(scope, receive)
        batcher: PostingBatcher = self.fastapi_app.state.posting_batcher
        money = endpoints.MoneyRequestParts(
            request=request,
            ledger=batcher,
            key=checked_key,
            trace_id=state["trace_id"],
            traceparent=state.get("traceparent"),
        )
        return _Call(request, wallet_id, parsed, caller, money)

    def _caller(self, authorization: bytes, route: _Route) -> Principal | None:
        """The verified caller, if the route's rule admits their roles."""
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        verifier: TokenVerifier = self.fastapi_app.state.token_verifier
        try:
            principal = verifier.verify(token.strip())
        except InvalidToken:
            return None
        rule = rule_for("POST", route.route.path)
        if rule is None or principal.roles.isdisjoint(rule.roles):
            return None
        return principal

    async def _handled(self, request: Request, exc: Exception) -> Response:
        for kind in type(exc).__mro__:
            handler = self.fastapi_app.exception_handlers.get(kind)
            if handler is not None and kind is not Exception:
                response = handler(request, exc)
                answered: Response = await response if inspect.isawaitable(response) else response
                return answered
        raise exc  # no handler: the server error middleware answers 500, as before


def _route_of(app: FastAPI, action: str) -> _Route:
    path = f"/v1/wallets/{{wallet_id}}/{action}"
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.path == path and "POST" in (route.methods or ()):
            body_model, endpoint = _ACTIONS[action]
            return _Route(route, body_model, endpoint)
    raise RuntimeError(f"POST {path} is not a route of the app")


_READ_HERE = frozenset({b"authorization", b"content-type", b"idempotency-key"})


def _headers_read_here(scope: Scope) -> dict[bytes, bytes] | None:
    """The headers this path reads; None if one is repeated (FastAPI reads the first)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _READ_HERE:
            if name in found:
                return None
            found[name] = value
    return found


def _is_json(content_type: bytes | None) -> bool:
    return content_type is not None and (
        content_type.split(b";", 1)[0].strip().lower() == b"application/json"
    )


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages of the request's body as received, and the body (None: cut short)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(part.get("body", b"") for part in messages)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages read here again, then what the client sends next."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
