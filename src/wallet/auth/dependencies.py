"""FastAPI dependencies: who is calling, and may they call this route.

``authorize_route`` runs before every route (installed app-wide in ``create_app``): it verifies
the bearer token, checks the caller's roles against the RBAC matrix (``auth.rbac``), applies the
per-caller rate limit, and audits every refusal. Handlers then take the principal it proved with
``AnyCaller`` (or the older aliases, which are the same thing).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from wallet.audit.service import record_for, record_outside_transaction
from wallet.auth.rbac import rule_for
from wallet.auth.tokens import InvalidToken, Principal, TokenVerifier
from wallet.errors import Forbidden, NotAuthenticated, WalletError, problem_for
from wallet.ratelimit import RateLimits

ExceptionHandler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def _refuse(request: Request, *, action: str, error: Exception, reason: str) -> NoReturn:
    record = record_for(
        request,
        action=action,
        outcome=getattr(error, "code", "refused"),
        resource_id=f"{request.method} {request.url.path}",
        details={"reason": reason[:200]},
    )
    await record_outside_transaction(request.app.state.pool, record)
    raise error


async def current_principal(request: Request) -> Principal:
    """The verified caller (once per request; kept on ``request.state``)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        error = NotAuthenticated("Authorization: Bearer <token> is required")
        await _refuse(request, action="auth.failed", error=error, reason="no bearer token")
    try:
        principal = _verifier(request).verify(token.strip())
    except InvalidToken as exc:
        # The reason is audited; the client only learns that the token was refused.
        error = NotAuthenticated("The bearer token was refused")
        await _refuse(request, action="auth.failed", error=error, reason=str(exc))
    request.state.principal = principal
    return principal


async def authorize_route(request: Request) -> None:
    """The RBAC matrix, applied to this request's route (fail closed if it is not listed)."""
    route = request.scope.get("route")
    rule = rule_for(request.method, getattr(route, "path", ""))
    if rule is not None and not rule.roles:
        return  # public
    principal = await current_principal(request)
    if rule is None or principal.roles.isdisjoint(rule.roles):
        error = Forbidden("Your role may not call this route")
        await _refuse(request, action="auth.forbidden", error=error, reason="role")
    limits: RateLimits = request.app.state.rate_limits
    await limits.check_caller(principal)


def authenticated_first(handler: ExceptionHandler) -> ExceptionHandler:
    """``handler`` for a request FastAPI refused before its dependencies ran (a body that is
    not JSON or not UTF-8, say), answered only once the caller is authorised: otherwise an
    anonymous client could probe the parser, and a malformed body without a token would be
    told 400/422 instead of 401."""

    async def authenticate_then_handle(request: Request, exc: Exception) -> Response:
        # Status 400 only: 404/405 mean no route matched, so there is no rule to check.
        refused_body = not isinstance(exc, StarletteHTTPException) or exc.status_code == 400
        if refused_body and getattr(request.state, "principal", None) is None:
            try:
                await authorize_route(request)
            except WalletError as error:
                return problem_for(error)
        response = handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    return authenticate_then_handle


def authenticate_before_refusing_requests(app: FastAPI) -> None:
    for error in (RequestValidationError, StarletteHTTPException):
        app.exception_handlers[error] = authenticated_first(app.exception_handlers[error])


Caller = Annotated[Principal, Depends(current_principal)]
# Role checks live in the matrix; these names say what the matrix allows, for readers.
AnyCaller = Caller
PlatformCaller = Caller
AdminCaller = Caller
