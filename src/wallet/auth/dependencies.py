"""FastAPI dependencies: who is calling, and may they call this route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from wallet.auth.tokens import InvalidToken, Principal, Role, TokenVerifier
from wallet.errors import Forbidden, NotAuthenticated


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Authorization: Bearer <token> is required")
    try:
        return _verifier(request).verify(token.strip())
    except InvalidToken as exc:
        raise NotAuthenticated(f"Invalid token: {exc}") from exc


def require_roles(*allowed: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only callers holding one of ``allowed``."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.roles.isdisjoint(allowed):
            raise Forbidden(f"Requires one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return check


AnyCaller = Annotated[Principal, Depends(require_roles(Role.USER, Role.PAYMENTS, Role.ADMIN))]
PlatformCaller = Annotated[Principal, Depends(require_roles(Role.PAYMENTS, Role.ADMIN))]
AdminCaller = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
