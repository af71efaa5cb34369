"""Encryption at rest of sensitive wallet metadata fields (AES-256-GCM under a key ring).

The configured fields (``WALLET_PII_FIELDS``, e.g. email, phone, national_id) are stored as
``pii:v1:<kid>:<base64url(nonce + ciphertext)>``. The key id travels with the ciphertext, so
rotation is: put a new key first in ``WALLET_PII_KEYS`` (it encrypts from then on) and keep the
old ones after it (they still decrypt). The wallet id and field name are bound in as associated
data, so a ciphertext copied to another wallet or field does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wallet.config import Settings

logger = logging.getLogger(__name__)

PREFIX = "pii:v1:"
NONCE_BYTES = 12
DEV_KEY_FILE = "pii-dev-key"
DEV_KID = "dev"


class PiiKeyError(RuntimeError):
    """The key ring is missing, malformed or unsafe for this environment."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key_ring(text: str) -> list[tuple[str, bytes]]:
    """``"kid:base64key,kid2:base64key"`` -> [(kid, key)], primary first."""
    ring = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        kid, sep, encoded = part.partition(":")
        try:
            key = _b64decode(encoded)
        except (binascii.Error, ValueError) as exc:
            raise PiiKeyError(f"PII key {kid!r} is not base64") from exc
        if not sep or not kid or len(key) != 32:
            raise PiiKeyError("each PII key is 'kid:<base64 of 32 bytes>'")
        ring.append((kid, key))
    if not ring:
        raise PiiKeyError("the PII key ring is empty")
    return ring


def _dev_key_ring(settings: Settings) -> str:
    if settings.is_production:
        raise PiiKeyError("production refuses the generated dev PII key: set WALLET_PII_KEYS")
    path = Path(settings.data_dir) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"{DEV_KID}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")
    return path.read_text().strip()


class PiiCipher:
    def __init__(self, *, ring: list[tuple[str, bytes]], fields: frozenset[str]) -> None:
        self._primary_kid = ring[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in ring}
        self.fields = fields

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiCipher:
        ring_text = settings.pii_keys or _dev_key_ring(settings)
        return cls(ring=parse_key_ring(ring_text), fields=frozenset(settings.pii_fields))

    def encrypt_metadata(self, metadata: dict[str, Any], *, wallet_id: UUID) -> dict[str, Any]:
        return {
            name: self._encrypt(value, _aad(wallet_id, name)) if name in self.fields else value
            for name, value in metadata.items()
        }

    def decrypt_metadata(self, metadata: dict[str, Any], *, wallet_id: UUID) -> dict[str, Any]:
        return {
            name: self._decrypt(value, _aad(wallet_id, name), name, wallet_id)
            if isinstance(value, str) and value.startswith(PREFIX)
            else value
            for name, value in metadata.items()
        }

    def _encrypt(self, value: Any, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._primary_kid].encrypt(nonce, orjson.dumps(value), aad)
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self._primary_kid}:{encoded}"

    def _decrypt(self, token: str, aad: bytes, name: str, wallet_id: UUID) -> Any:
        kid, _, encoded = token.removeprefix(PREFIX).partition(":")
        key = self._keys.get(kid)
        try:
            if key is None:
                raise KeyError(kid)
            blob = _b64decode(encoded)
            return orjson.loads(key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad))
        except (KeyError, InvalidTag, binascii.Error, ValueError):
            # Never the value itself in the log: only where it is and why it is unreadable.
            logger.error(
                "PII field could not be decrypted",
                extra={"wallet_id": str(wallet_id), "field": name, "kid": kid},
            )
            return None


def _aad(wallet_id: UUID, name: str) -> bytes:
    return f"wallet:{wallet_id}:{name}".encode()
