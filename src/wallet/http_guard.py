"""Limits on what a client may send before the app sees a request (`wallet serve`).

uvicorn's httptools protocol puts no bound on the number or size of request headers and no
deadline on reading them: 50 connections that send one header byte a second stay open for
as long as they like. This protocol adds both, per request on a connection:

- more than ``WALLET_MAX_HEADER_COUNT`` headers, or more than ``WALLET_MAX_HEADER_BYTES`` of
  request line and headers → 431, connection closed;
- headers not complete ``WALLET_HEADER_TIMEOUT_SECONDS`` after the connection opened (or
  the request began, on a kept-alive connection) → 408, connection closed.

Idle kept-alive connections are closed by uvicorn's own keep-alive timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from wallet.config import get_settings
from wallet.errors import PROBLEM_JSON

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _HeadersRefused(Exception):
    """Raised from a parser callback to stop parsing; httptools re-raises it wrapped."""


def _problem(status: int, code: str, detail: str) -> bytes:
    body = orjson.dumps(
        {
            "type": f"urn:wallet:problem:{code}",
            "title": _REASONS[status].decode(),
            "status": status,
            "detail": detail,
            "code": code,
        }
    )
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % (status, _REASONS[status], PROBLEM_JSON.encode(), len(body))
    )
    return head + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header count, size and read-time limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._max_header_bytes = settings.max_header_bytes
        self._max_header_count = settings.max_header_count
        self._header_timeout = settings.header_timeout_seconds
        self._header_bytes = 0
        self._header_count = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._refusal: bytes | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), headers=0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), headers=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
            return
        self.transport.write(self._refusal)
        self.transport.close()

    def _count(self, size: int, *, headers: int) -> None:
        self._header_bytes += size
        self._header_count += headers
        if self._header_count > self._max_header_count:
            detail = f"at most {self._max_header_count} header fields"
        elif self._header_bytes > self._max_header_bytes:
            detail = f"at most {self._max_header_bytes} bytes of request line and headers"
        else:
            return
        self._refusal = _problem(431, "headers_too_large", detail)
        raise _HeadersRefused(detail)  # ends parsing; uvicorn then calls send_400_response

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._headers_late)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            detail = f"the request headers must arrive within {self._header_timeout:g} s"
            self.transport.write(_problem(408, "request_timeout", detail))
            self.transport.close()
