"""Telemetry tokens: keyed hashes that stand for people and organizations in ClickHouse, and the short-lived
signed tokens that carry them and the patient's consent to the telemetry service.

The telemetry service never sees a patient id, name or email (spec README, "Hashed actor ids"): core-api
computes ``HMAC-SHA256(hash key, "patient:<id>")`` (``"user:<id>"`` for staff, ``"organization:<id>"``
for the organization), base64url without padding, and signs them into an EdDSA token with ``sub``,
``org``, ``consent_level``, ``biometric`` and ``role``. The public keys are served at
``/.well-known/jwks.json`` under RFC 7638 thumbprint ``kid``s; the previous key of a rotation stays
published (TELEMETRY_TOKEN_PUBLISHED_KEY_FILES) until the tokens it signed have expired. Keys are read on
first use, so a service without them still starts and answers the routes that need them with 503.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from contracts.consent import JsonWebKey, JsonWebKeySet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from service_common.errors import ServiceUnavailableError

from core_api.settings import TelemetryTokenSettings

_MIN_HASH_KEY_BYTES = 32


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _thumbprint(jwk: dict[str, Any]) -> str:
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _public_key(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError(f"{path} does not hold an Ed25519 key") from None
        return public
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return private.public_key()


def _jwk(public: Ed25519PublicKey) -> JsonWebKey:
    raw: dict[str, Any] = OKPAlgorithm.to_jwk(public, as_dict=True)
    return JsonWebKey(kty=raw["kty"], kid=_thumbprint(raw), alg="EdDSA", use="sig", crv=raw["crv"], x=raw["x"])


class TelemetryTokenIssuer:
    def __init__(self, settings: TelemetryTokenSettings) -> None:
        self._settings = settings

    @cached_property
    def _signing_key(self) -> Ed25519PrivateKey:
        path = Path(self._settings.signing_key_file)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ServiceUnavailableError(f"The telemetry token signing key is not available: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ServiceUnavailableError(f"{path} does not hold an Ed25519 private key.")
        return key

    @cached_property
    def _hash_key(self) -> bytes:
        try:
            key = Path(self._settings.hash_key_file).read_bytes().strip()
        except OSError as exc:
            raise ServiceUnavailableError(f"The telemetry hash key is not available: {exc}") from None
        if len(key) < _MIN_HASH_KEY_BYTES:
            raise ServiceUnavailableError(f"The telemetry hash key must hold at least {_MIN_HASH_KEY_BYTES} bytes.")
        return key

    @cached_property
    def _kid(self) -> str:
        return _jwk(self._signing_key.public_key()).kid

    def jwks(self) -> JsonWebKeySet:
        keys = [_jwk(self._signing_key.public_key())]
        for name in self._settings.published_key_files:
            try:
                key = _jwk(_public_key(Path(name)))
            except (OSError, ValueError) as exc:
                raise ServiceUnavailableError(f"A published telemetry key is not available: {exc}") from None
            if key.kid not in {each.kid for each in keys}:
                keys.append(key)
        return JsonWebKeySet(keys=keys)

    def keyed_hash(self, kind: str, identifier: int) -> str:
        """The stable pseudonym of ``kind`` ``identifier`` (``patient``, ``user``, ``organization``)."""
        return _b64url(hmac.new(self._hash_key, f"{kind}:{identifier}".encode(), hashlib.sha256).digest())

    def issue(
        self, *, actor_hash: str, org_hash: str, role: str, consent_level: int, biometric: bool
    ) -> tuple[str, datetime]:
        """A signed token and when it expires."""
        now = int(time.time())
        expires = now + self._settings.ttl_seconds
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": actor_hash,
            "org": org_hash,
            "role": role,
            "consent_level": consent_level,
            "biometric": biometric,
            "iat": now,
            "exp": expires,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="EdDSA", headers={"kid": self._kid})
        return token, datetime.fromtimestamp(expires, UTC)
