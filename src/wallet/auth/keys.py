"""Verification and signing keys for bearer tokens, selected by ``kid`` (RFC 8725 §3.1, §3.2).

Each key is bound to exactly one algorithm. A token is checked only with the algorithm of the
key its ``kid`` names, so an RSA public key can never be used as an HMAC secret and ``none``
is never accepted. Keys come from a JWKS file, a folder of ``<kid>.pem`` public keys and/or the
HS256 secret (configured, or a dev secret generated once in the data dir).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from wallet.config import Settings

# A file name, not a secret:
DEV_SECRET_FILE = "jwt-dev-secret"  # noqa: S105  # nosec B105
MIN_HS_SECRET_BYTES = 32
# The only algorithms ever accepted; anything else (none, HS384 ...) is refused outright.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
HS_ALGORITHM = "HS256"


class KeyConfigurationError(RuntimeError):
    """The configured keys are unusable or unsafe for this environment."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    algorithm: str
    key: Any  # a cryptography public key object, or the HS secret as bytes


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    key: Any


def _algorithm_for(public_key: Any, declared: str | None) -> str:
    """The one algorithm a key is used with: the JWKS ``alg`` if given, else its type's."""
    if isinstance(public_key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        default = "RS256"
    elif isinstance(public_key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        default = {"secp256r1": "ES256", "secp384r1": "ES384"}.get(public_key.curve.name, "")
    elif isinstance(public_key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        default = "EdDSA"
    else:
        default = ""
    algorithm = declared or default
    if algorithm not in ALLOWED_ALGORITHMS or not _fits(algorithm, default):
        raise KeyConfigurationError(f"key type does not allow algorithm {algorithm or '?'}")
    return algorithm


def _fits(algorithm: str, default: str) -> bool:
    family = {"RS": "RS", "PS": "RS", "ES": "ES", "Ed": "Ed"}
    return family.get(algorithm[:2]) == default[:2]


def _jwk_to_key(jwk: dict[str, Any]) -> Any:
    loaders: dict[str, Any] = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}
    loader = loaders.get(jwk.get("kty", ""))
    if loader is None:
        raise KeyConfigurationError(f"JWKS key type {jwk.get('kty')!r} is not accepted")
    if "d" in jwk:
        raise KeyConfigurationError("a JWKS for verification must hold public keys only")
    return loader.from_jwk(json.dumps(jwk))


def load_jwks(path: Path) -> list[VerificationKey]:
    document = json.loads(path.read_text())
    keys = []
    for jwk in document.get("keys", []):
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise KeyConfigurationError("every JWKS key needs a kid")
        if jwk.get("use", "sig") != "sig":
            continue
        public_key = _jwk_to_key(jwk)
        keys.append(VerificationKey(kid, _algorithm_for(public_key, jwk.get("alg")), public_key))
    return keys


def load_pem_folder(folder: Path) -> list[VerificationKey]:
    keys = []
    for path in sorted(folder.glob("*.pem")):
        public_key = load_pem_public_key(path.read_bytes())
        keys.append(VerificationKey(path.stem, _algorithm_for(public_key, None), public_key))
    return keys


def dev_secret_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / DEV_SECRET_FILE


def hs_secret(settings: Settings) -> str | None:
    """The configured HS256 secret; in development, a dev secret generated once if unset."""
    if settings.jwt_secret:
        if len(settings.jwt_secret.encode()) < MIN_HS_SECRET_BYTES:
            raise KeyConfigurationError(
                f"WALLET_JWT_SECRET must be at least {MIN_HS_SECRET_BYTES} bytes"
            )
        return settings.jwt_secret
    if _has_asymmetric_keys(settings):
        return None
    if settings.is_production:
        raise KeyConfigurationError(
            "production refuses the generated dev secret: set WALLET_JWT_JWKS_FILE, "
            "WALLET_JWT_PUBLIC_KEYS_DIR or WALLET_JWT_SECRET(_FILE)"
        )
    path = dev_secret_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _has_asymmetric_keys(settings: Settings) -> bool:
    return settings.jwt_jwks_file is not None or settings.jwt_public_keys_dir is not None


def verification_keys(settings: Settings) -> dict[str, VerificationKey]:
    """Every key a token may be verified with, by kid."""
    keys: list[VerificationKey] = []
    if settings.jwt_jwks_file is not None:
        keys += load_jwks(settings.jwt_jwks_file)
    if settings.jwt_public_keys_dir is not None:
        keys += load_pem_folder(settings.jwt_public_keys_dir)
    secret = hs_secret(settings)
    if secret is not None:
        keys.append(VerificationKey(settings.jwt_secret_kid, HS_ALGORITHM, secret.encode()))
    by_kid: dict[str, VerificationKey] = {}
    for key in keys:
        if key.kid in by_kid:
            raise KeyConfigurationError(f"kid {key.kid!r} is configured twice")
        by_kid[key.kid] = key
    if not by_kid:
        raise KeyConfigurationError("no token verification key is configured")
    return by_kid


def signing_key(settings: Settings) -> SigningKey:
    """What ``wallet token`` signs with: the private key file, else the HS256 secret."""
    if settings.jwt_private_key_file is not None:
        private_key = load_pem_private_key(settings.jwt_private_key_file.read_bytes(), None)
        kid = settings.jwt_signing_kid or settings.jwt_private_key_file.stem
        return SigningKey(kid, _algorithm_for(private_key, None), private_key)
    secret = hs_secret(settings)
    if secret is None:
        raise KeyConfigurationError("no signing key: set WALLET_JWT_PRIVATE_KEY_FILE")
    return SigningKey(settings.jwt_secret_kid, HS_ALGORITHM, secret)


def sign(claims: dict[str, Any], key: SigningKey) -> str:
    return jwt.encode(claims, key.key, algorithm=key.algorithm, headers={"kid": key.kid})
