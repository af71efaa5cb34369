"""Issuing and verifying bearer tokens (JWT, hardened per RFC 8725)."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from wallet.auth.keys import ALLOWED_ALGORITHMS, HS_ALGORITHM, sign, signing_key, verification_keys
from wallet.config import Settings

REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


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


def issue_token(
    *, settings: Settings, subject: str, roles: list[Role], ttl_seconds: int = 3600
) -> str:
    """A token signed with the configured signing key (the dev secret by default)."""
    now = int(time.time())
    claims = {
        "sub": subject,
        "roles": [role.value for role in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return sign(claims, signing_key(settings))


VERIFIED_TOKENS_KEPT = 10_000  # most distinct tokens remembered per process


class TokenVerifier:
    """Verifies tokens against the key set; built once per app, used per request."""

    def __init__(self, settings: Settings) -> None:
        self._keys = verification_keys(settings)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        # Platform services send the same token on every request: verifying its signature
        # once per token, not per request, saves a tenth of a money request's CPU. An entry
        # is used only until the token's own expiry; the keys never change while it lives.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[1]:
            self._verified.move_to_end(token)
            return remembered[0]
        principal, expires_at = self._verify_signature_and_claims(token)
        self._verified[token] = (principal, expires_at)
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return principal

    def _verify_signature_and_claims(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS and algorithm != HS_ALGORITHM:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown or missing kid")
        if key.algorithm != algorithm:  # e.g. HS256 signed with an RSA public key
            raise InvalidToken(f"key {kid!r} is not used with {algorithm}")
        _check_claims_are_unambiguous(token)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return _principal(claims), float(claims["exp"]) + self._leeway


TIME_CLAIMS = ("exp", "nbf", "iat")


def _refuse_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise InvalidToken("a claim name is repeated")
    return dict(pairs)


def _check_claims_are_unambiguous(token: str) -> None:
    """Refuse a payload that repeats a claim name, or whose exp/nbf/iat is not a number.

    A JSON parser keeps the last of repeated names, another system may keep the first, so
    the same token could mean two things (RFC 8725 3.x, RFC 7519 4); and PyJWT would read a
    numeric string as a time, which RFC 7519 does not allow.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed token")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        payload = json.loads(raw, object_pairs_hook=_refuse_repeated_names)
    except (ValueError, binascii.Error) as exc:
        raise InvalidToken("malformed payload") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("the payload is not a JSON object")
    for name in TIME_CLAIMS:
        value = payload.get(name)
        if name in payload and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidToken(f"{name} must be a number")


def _principal(claims: dict[str, object]) -> Principal:
    subject = claims.get("sub")
    raw_roles = claims.get("roles", [])
    if not isinstance(subject, str) or not subject or not isinstance(raw_roles, list):
        raise InvalidToken("sub must be a string and roles a list")
    known = {role.value for role in Role}
    roles = frozenset(Role(role) for role in raw_roles if role in known)
    if not roles:
        raise InvalidToken("token carries no known role")
    return Principal(subject=subject, roles=roles)
