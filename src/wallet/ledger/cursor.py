"""Opaque keyset cursors: clients pass back what we gave them, nothing else."""

from __future__ import annotations

import base64
import binascii

from wallet.errors import InvalidCursor


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, position = text.partition(":")
        value = int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor() from exc
    if version != "v1" or not 0 < value < 2**63:
        raise InvalidCursor()
    return value
