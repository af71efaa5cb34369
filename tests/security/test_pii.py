"""Sensitive metadata is unreadable in the database, round-trips through the API, and rotates."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from uuid_utils.compat import uuid7

from tests.support import Api
from wallet.auth.tokens import Role
from wallet.config import Settings
from wallet.pii import PiiCipher, PiiKeyError

PERSONAL = {"email": "ada@example.com", "phone": "+44 20 7946 0000", "national_id": "QQ123456C"}


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def test_metadata_is_encrypted_at_rest_and_round_trips(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    metadata = {**PERSONAL, "tier": "gold"}
    created = await api.http.post(
        "/v1/wallets",
        json={"owner_id": owner, "currency": "USD", "metadata": metadata},
        headers=api.headers(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["metadata"] == metadata
    wallet_id = created.json()["id"]

    stored = json.loads(await db.fetchval("SELECT metadata FROM wallets WHERE id = $1", wallet_id))
    assert stored["tier"] == "gold"  # not listed as personal: stored as given
    for name, value in PERSONAL.items():
        assert stored[name].startswith("pii:v1:k1:")
        assert value not in json.dumps(stored)

    as_owner = await api.http.get(
        f"/v1/wallets/{wallet_id}", headers=api.headers(api.token(owner, Role.USER))
    )
    assert as_owner.json()["metadata"] == metadata
    listed = await api.http.get("/v1/wallets", params={"owner_id": owner}, headers=api.headers())
    assert listed.json()["items"][0]["metadata"] == metadata


async def test_events_carry_no_metadata(api: Api, owner: str, db: asyncpg.Connection[Any]) -> None:
    created = await api.http.post(
        "/v1/wallets",
        json={"owner_id": owner, "currency": "USD", "metadata": PERSONAL},
        headers=api.headers(),
    )
    payload = await db.fetchval(
        "SELECT payload::text FROM outbox WHERE wallet_id = $1 AND event_type = 'wallet.created'",
        created.json()["id"],
    )
    assert "metadata" not in json.loads(payload)["wallet"]
    assert "pii:v1:" not in payload
    assert all(value not in payload for value in PERSONAL.values())


def test_rotation_keeps_old_values_readable() -> None:
    old_key, new_key, wallet_id = _key(), _key(), uuid7()
    fields = frozenset(PERSONAL)
    before = PiiCipher(ring=_ring(f"k1:{old_key}"), fields=fields)
    sealed_before = before.encrypt_metadata(PERSONAL, wallet_id=wallet_id)

    after = PiiCipher(ring=_ring(f"k2:{new_key},k1:{old_key}"), fields=fields)
    sealed_after = after.encrypt_metadata(PERSONAL, wallet_id=wallet_id)
    assert all(value.startswith("pii:v1:k2:") for value in sealed_after.values())
    assert after.decrypt_metadata(sealed_before, wallet_id=wallet_id) == PERSONAL
    assert after.decrypt_metadata(sealed_after, wallet_id=wallet_id) == PERSONAL
    # Once k1 is retired, values still under it no longer decrypt (re-encrypt before retiring).
    retired = PiiCipher(ring=_ring(f"k2:{new_key}"), fields=fields)
    assert retired.decrypt_metadata(sealed_before, wallet_id=wallet_id)["email"] is None


def test_ciphertext_is_bound_to_its_wallet_and_field() -> None:
    cipher = PiiCipher(ring=_ring(f"k1:{_key()}"), fields=frozenset(PERSONAL))
    wallet_id, other_wallet = uuid7(), uuid7()
    sealed = cipher.encrypt_metadata(PERSONAL, wallet_id=wallet_id)
    assert cipher.decrypt_metadata(sealed, wallet_id=other_wallet)["email"] is None
    swapped = {"phone": sealed["email"]}
    assert cipher.decrypt_metadata(swapped, wallet_id=wallet_id)["phone"] is None


def _ring(text: str) -> list[tuple[str, bytes]]:
    from wallet.pii import parse_key_ring

    return parse_key_ring(text)


@pytest.mark.parametrize(
    "ring", ["", "k1", "k1:not-base64!!", f"k1:{base64.b64encode(b'short').decode()}"]
)
def test_malformed_key_rings_are_refused(ring: str) -> None:
    with pytest.raises(PiiKeyError):
        _ring(ring)


def test_production_refuses_the_generated_dev_key(tmp_path: Path) -> None:
    with pytest.raises(PiiKeyError, match="production"):
        PiiCipher.from_settings(Settings(env="production", data_dir=tmp_path))
    configured = Settings(env="production", data_dir=tmp_path, pii_keys=f"p1:{_key()}")
    assert PiiCipher.from_settings(configured).fields == frozenset(PERSONAL)


def test_pii_fields_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_PII_FIELDS", "email, iban")
    assert Settings().pii_fields == ["email", "iban"]
