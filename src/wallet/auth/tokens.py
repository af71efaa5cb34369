"""Signing and verifying bearer tokens."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import jwt

from wallet.config import Settings

ALGORITHM = "HS256"
DEV_SECRET_FILE = "jwt-dev-secret"  # noqa: S105 - a file name, not a secret


class Role(StrEnum):
    ADMIN = "admin"
    PAYMENTS = "payments"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[Role]

    @property
    def is_privileged(self) -> bool:
        """Platform services and admins act on any wallet."""
        return Role.PAYMENTS in self.roles or Role.ADMIN in self.roles

    @property
    def owner_scope(self) -> str | None:
        """The owner whose wallets alone this caller may see, or None for every wallet."""
        return None if self.is_privileged else self.subject


class InvalidToken(Exception):
    """The token is missing a claim, expired, badly signed or otherwise unusable."""


def signing_secret(settings: Settings) -> str:
    """The configured secret, or a dev secret generated once and kept in the data dir."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / DEV_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def issue_token(
    *, settings: Settings, subject: str, roles: list[Role], ttl_seconds: int = 3600
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "roles": [role.value for role in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, signing_secret(settings), algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies tokens against one secret; built once per app, used per request."""

    def __init__(self, settings: Settings) -> None:
        self._secret = signing_secret(settings)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        subject = claims.get("sub")
        raw_roles = claims.get("roles", [])
        if not isinstance(subject, str) or not subject or not isinstance(raw_roles, list):
            raise InvalidToken("sub must be a string and roles a list")
        known = {role.value for role in Role}
        roles = frozenset(Role(role) for role in raw_roles if role in known)
        if not roles:
            raise InvalidToken("token carries no known role")
        return Principal(subject=subject, roles=roles)
