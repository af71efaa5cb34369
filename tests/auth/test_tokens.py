"""Each JWT attack of RFC 8725 is refused with 401 problem+json; good tokens still pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wallet.auth.keys import KeyConfigurationError
from wallet.auth.tokens import InvalidToken, Role, TokenVerifier, issue_token
from wallet.config import Settings

ROUTE = "/v1/wallets?owner_id=nobody-in-particular"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def _claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "ride-platform",
        "roles": ["payments"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str = "rs1") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _alg_none(settings: Settings, key: rsa.RSAPrivateKey) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": settings.jwt_secret_kid}
    return f"{_segment(header)}.{_segment(_claims(settings))}."


def _repeated_claim(settings: Settings, key: rsa.RSAPrivateKey) -> str:
    """Correctly signed, but "roles" appears twice: which one counts depends on the parser."""
    text = json.dumps(_claims(settings, roles=["user"]))[:-1] + ', "roles": ["admin"]}'
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": settings.jwt_secret_kid})
    signing_input = f"{header}.{_b64(text.encode())}"
    signature = hmac.new(_secret(settings), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _signed(settings: Settings, **changes: Any) -> str:
    return _hs256(_claims(settings, **changes), _secret(settings), kid=settings.jwt_secret_kid)


def _hs256_with_public_key(settings: Settings, key: rsa.RSAPrivateKey) -> str:
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _hs256(_claims(settings), public_pem, kid="rs1")


def _tampered(settings: Settings, key: rsa.RSAPrivateKey) -> str:
    header, _, signature = _rs256(_claims(settings, roles=["user"]), key).split(".")
    return f"{header}.{_segment(_claims(settings, roles=['admin']))}.{signature}"


def _rotated_out(settings: Settings, key: rsa.RSAPrivateKey) -> str:
    retired = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _rs256(_claims(settings), retired, kid="rs0")


def _secret(settings: Settings) -> bytes:
    assert settings.jwt_secret
    return settings.jwt_secret.encode()


ATTACKS: dict[str, Callable[[Settings, rsa.RSAPrivateKey], str]] = {
    "alg none": _alg_none,
    "HS256 signed with the RSA public key": _hs256_with_public_key,
    "wrong aud": lambda s, k: _rs256(_claims(s, aud="another-service"), k),
    "wrong iss": lambda s, k: _rs256(_claims(s, iss="https://evil.example"), k),
    "expired": lambda s, k: _rs256(_claims(s, exp=int(time.time()) - 3600), k),
    "no exp": lambda s, k: _rs256(_claims(s, exp=None), k),
    "no aud": lambda s, k: _rs256(_claims(s, aud=None), k),
    "no iss": lambda s, k: _rs256(_claims(s, iss=None), k),
    "unknown kid": lambda s, k: _hs256(_claims(s), _secret(s), kid="who-knows"),
    "no kid": lambda s, k: jwt.encode(_claims(s), _secret(s), algorithm="HS256"),
    "HS256 with an RSA kid": lambda s, k: _hs256(_claims(s), _secret(s), kid="rs1"),
    "tampered payload": _tampered,
    "rotated-out key": _rotated_out,
    "wrong secret": lambda s, k: _hs256(_claims(s), b"x" * 48, kid=s.jwt_secret_kid),
    "HS384 not allowed": lambda s, k: jwt.encode(
        _claims(s), _secret(s), algorithm="HS384", headers={"kid": s.jwt_secret_kid}
    ),
    "garbage": lambda s, k: "not.a.token",
    "repeated claim name": _repeated_claim,
    "exp as a numeric string": lambda s, k: _signed(s, exp=str(int(time.time()) + 600)),
    "nbf as a string": lambda s, k: _signed(s, nbf=str(int(time.time()) - 60)),
    "iat as a string": lambda s, k: _signed(s, iat="yesterday"),
    "exp as a boolean": lambda s, k: _signed(s, exp=True),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_attack_is_refused_with_401(
    attack: str, http: httpx.AsyncClient, settings: Settings, rsa_signing_key: rsa.RSAPrivateKey
) -> None:
    token = ATTACKS[attack](settings, rsa_signing_key)
    response = await http.get(ROUTE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda s, k: issue_token(settings=s, subject="ride-platform", roles=[Role.PAYMENTS]),
        lambda s, k: _rs256(_claims(s), k),
        lambda s, k: _rs256(_claims(s, exp=int(time.time()) - 5), k),  # within the leeway
    ],
    ids=["dev HS256 key", "RS256 from the key set", "just expired, within leeway"],
)
async def test_good_tokens_are_accepted(
    make_token: Callable[[Settings, rsa.RSAPrivateKey], str],
    http: httpx.AsyncClient,
    settings: Settings,
    rsa_signing_key: rsa.RSAPrivateKey,
) -> None:
    token = make_token(settings, rsa_signing_key)
    response = await http.get(ROUTE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_missing_header_is_401(http: httpx.AsyncClient) -> None:
    response = await http.get(ROUTE)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def _pem_folder_settings(tmp_path: Path, **keys: rsa.RSAPrivateKey) -> Settings:
    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.pem"):
        stale.unlink()
    for kid, key in keys.items():
        (folder / f"{kid}.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return Settings(data_dir=tmp_path, jwt_public_keys_dir=folder)


def test_rotation_through_a_pem_folder(tmp_path: Path) -> None:
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = _pem_folder_settings(tmp_path, k1=old, k2=new)
    old_token = _rs256(_claims(settings), old, kid="k1")
    new_token = _rs256(_claims(settings), new, kid="k2")
    both = TokenVerifier(settings)
    assert both.verify(old_token).subject == "ride-platform"
    assert both.verify(new_token).subject == "ride-platform"

    rotated = TokenVerifier(_pem_folder_settings(tmp_path, k2=new))
    assert rotated.verify(new_token).roles == frozenset({Role.PAYMENTS})
    with pytest.raises(InvalidToken):
        rotated.verify(old_token)


def test_asymmetric_key_set_alone_has_no_hs_key(tmp_path: Path) -> None:
    """With only public keys configured, no dev secret is generated or accepted."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = _pem_folder_settings(tmp_path, k1=key)
    verifier = TokenVerifier(settings)
    with pytest.raises(InvalidToken):
        verifier.verify(_hs256(_claims(settings), b"s" * 48, kid=settings.jwt_secret_kid))
    assert not (tmp_path / "jwt-dev-secret").exists()


def test_production_refuses_the_generated_dev_secret(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigurationError, match="production"):
        TokenVerifier(Settings(env="production", data_dir=tmp_path))
    assert not (tmp_path / "jwt-dev-secret").exists()


def test_development_generates_and_keeps_a_dev_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = issue_token(settings=settings, subject="dev", roles=[Role.ADMIN])
    assert TokenVerifier(Settings(data_dir=tmp_path)).verify(token).subject == "dev"


def test_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigurationError, match="at least"):
        TokenVerifier(Settings(data_dir=tmp_path, jwt_secret="too-short"))


def test_secret_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("a-secret-read-from-a-mounted-file-0123456789\n")
    monkeypatch.setenv("WALLET_JWT_SECRET_FILE", str(secret_file))
    assert Settings(data_dir=tmp_path).jwt_secret == "a-secret-read-from-a-mounted-file-0123456789"


def test_wallet_token_command_signs_with_the_dev_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from wallet.cli import app as cli
    from wallet.config import get_settings

    for name in ("WALLET_JWT_SECRET", "WALLET_JWT_SECRET_FILE", "WALLET_JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WALLET_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["token", "--subject", "ada", "--role", "user"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(Settings(data_dir=tmp_path)).verify(result.output.strip())
    assert (principal.subject, principal.roles) == ("ada", frozenset({Role.USER}))


async def test_a_remembered_token_is_refused_once_it_expires(settings: Settings) -> None:
    import asyncio

    strict = settings.model_copy(update={"jwt_leeway_seconds": 0})
    verifier = TokenVerifier(strict)
    token = issue_token(settings=strict, subject="svc", roles=[Role.PAYMENTS], ttl_seconds=1)
    assert verifier.verify(token).subject == "svc"
    assert verifier.verify(token).subject == "svc"  # the remembered answer
    await asyncio.sleep(1.2)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
