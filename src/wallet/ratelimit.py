"""Rate limits per client address and per caller, and the request body size limit.

Counting uses the ``limits`` library: in-process memory by default, Redis when
``WALLET_REDIS_URL`` is set (shared by every server process). The address limit, the
authentication-failure lockout and the body limit run in a plain ASGI middleware in front of
everything; the per-caller limit runs right after the token is verified (see auth), so a
caller is counted by who they proved to be, not by a claim they could forge. Neither touches
the database.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, WindowStats, parse_many
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet.auth.tokens import Principal
from wallet.config import Settings
from wallet.errors import PayloadTooLarge, RateLimited, WalletError, problem_for

logger = logging.getLogger(__name__)

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _parse(text: str) -> list[RateLimitItem]:
    """``"50/second;2000/minute"``; an empty string means no limit."""
    return list(parse_many(text)) if text.strip() else []


@dataclass(frozen=True, slots=True)
class _Limits:
    per_address: list[RateLimitItem]
    auth_failures: list[RateLimitItem]
    user: list[RateLimitItem]
    platform: list[RateLimitItem]


class RateLimits:
    """The limiter and the configured limits; one per app."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = _FallbackLimiter(settings)
        self._limits = _Limits(
            per_address=_parse(settings.rate_limit_per_address),
            auth_failures=_parse(settings.rate_limit_auth_failures),
            user=_parse(settings.rate_limit_user),
            platform=_parse(settings.rate_limit_platform),
        )

    async def _hit(self, items: list[RateLimitItem], *identity: str) -> None:
        for item in items:
            if not await self._limiter.hit(item, *identity):
                raise RateLimited(await self._retry_after(item, *identity))

    async def _retry_after(self, item: RateLimitItem, *identity: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identity)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check_address(self, address: str) -> None:
        """Refuse an address that failed authentication too often, then count the request."""
        for item in self._limits.auth_failures:
            if not await self._limiter.test(item, "auth-failure", address):
                raise RateLimited(
                    await self._retry_after(item, "auth-failure", address),
                    "Too many failed authentications from this address",
                )
        await self._hit(self._limits.per_address, "address", address)

    async def note_auth_failure(self, address: str) -> None:
        for item in self._limits.auth_failures:
            await self._limiter.hit(item, "auth-failure", address)

    async def check_caller(self, principal: Principal) -> None:
        limits = self._limits.platform if principal.is_privileged else self._limits.user
        await self._hit(limits, "caller", principal.subject)


class _FallbackLimiter:
    """Shared (Redis) counters, or in-process ones while Redis cannot be reached.

    A cache outage must not fail requests (DESIGN D13): limits keep applying per process,
    which is looser across several processes but never absent. The switch is logged once
    per outage, and Redis is tried again every ``RETRY_SHARED_SECONDS``.
    """

    RETRY_SHARED_SECONDS = 5.0

    def __init__(self, settings: Settings) -> None:
        self._local = FixedWindowRateLimiter(storage_from_string("async+memory://"))
        self._shared: FixedWindowRateLimiter | None = None
        if settings.redis_url:
            storage = storage_from_string(
                "async+" + settings.redis_url,
                implementation="redispy",
                wrap_exceptions=True,  # every Redis failure arrives as StorageError
                socket_connect_timeout=1.0,  # a blackholed Redis must not hold requests
                socket_timeout=1.0,
            )
            self._shared = FixedWindowRateLimiter(storage)
        self._shared_down_since: float | None = None

    def _current(self) -> FixedWindowRateLimiter:
        if self._shared is None:
            return self._local
        down_since = self._shared_down_since
        if down_since is not None and time.monotonic() - down_since < self.RETRY_SHARED_SECONDS:
            return self._local
        return self._shared

    async def _call(self, method: str, item: RateLimitItem, *identity: str) -> Any:
        limiter = self._current()
        try:
            result = await getattr(limiter, method)(item, *identity)
        except StorageError as exc:
            if self._shared_down_since is None:
                logger.warning(
                    "rate-limit storage unreachable; counting in process until it is back",
                    extra={"error": type(exc.storage_error).__name__},
                )
            self._shared_down_since = time.monotonic()
            return await getattr(self._local, method)(item, *identity)
        if limiter is self._shared and self._shared_down_since is not None:
            self._shared_down_since = None
            logger.warning("rate-limit storage reachable again; counting shared")
        return result

    async def hit(self, item: RateLimitItem, *identity: str) -> bool:
        return bool(await self._call("hit", item, *identity))

    async def test(self, item: RateLimitItem, *identity: str) -> bool:
        return bool(await self._call("test", item, *identity))

    async def get_window_stats(self, item: RateLimitItem, *identity: str) -> WindowStats:
        stats: WindowStats = await self._call("get_window_stats", item, *identity)
        return stats


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """Address limits, failed-authentication lockout and the body size limit (413)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        max_body_bytes: int,
        body_bytes_by_path: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.max_body_bytes = max_body_bytes
        # Routes whose bodies are legitimately larger (a batch of 1,000 items).
        self.body_bytes_by_path = body_bytes_by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        try:
            await self.limits.check_address(address)
            receive = await self._bounded_body(scope, receive)
        except WalletError as error:
            await problem_for(error)(scope, receive, send)
            return

        async def send_watching_status(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await self.limits.note_auth_failure(address)
            await send(message)

        await self.app(scope, receive, send_watching_status)

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive:
        """Refuse a body over the limit; a body of unknown length is read here, bounded."""
        limit = self.body_bytes_by_path.get(scope["path"], self.max_body_bytes)
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                raise PayloadTooLarge(f"at most {limit} bytes")
            return receive
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"at most {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return buffered
            return await receive()

        return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
