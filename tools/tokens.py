"""``make token``: the development signing key, and bearer tokens signed with it for local runs and tests.

The key lives in one folder (``.data/dev-keys``, the folder of ``AUTH_JWKS_FILE``): ``private.pem`` is an
Ed25519 private key readable by its owner only, ``jwks.json`` publishes its public half under a ``kid``
that is the key's RFC 7638 thumbprint. The services read ``jwks.json`` and notice when it changes, so
keys can be created or added while they run.

    python -m tools.tokens --role specialist --org 1 --user 5
    python -m tools.tokens --role patient --org 1 --user 9 --patient 123 --ttl 600

``--issuer``, ``--audience`` and ``--dir`` default to what ``AUTH_ISSUER``, ``AUTH_AUDIENCE`` and
``AUTH_JWKS_FILE`` say, so a token fits the services started from the same shell.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from service_common.auth.actor import Role
from service_common.auth.settings import AuthSettings
from service_common.settings import from_env

PRIVATE_KEY_FILE = "private.pem"
JWKS_FILE = "jwks.json"

# The members RFC 7638 hashes for each key type, in the lexicographic order the canonical form needs.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
_DEFAULTS = AuthSettings()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def public_jwk(private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The JWKS entry of ``private_key``'s public half, with its thumbprint as ``kid``."""
    jwk: dict[str, Any] = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": "EdDSA", "use": "sig"}


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path} does not hold an Ed25519 private key")
    return key


def _create_private_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never overwrite a key another process has just written; 0600 from the first byte.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def ensure_dev_keys(directory: Path) -> Path:
    """Create the development key in ``directory`` unless it exists; return the path of its JWKS file.

    The JWKS file keeps any other keys it lists (a second key added to try rotation) and gains the
    private key's public half when it lacks it. It is replaced atomically, so a service never reads half
    a file.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_FILE
    if not private_path.exists():
        _create_private_key(private_path)
    jwk = public_jwk(_load_private_key(private_path))
    jwks_path = directory / JWKS_FILE
    keys: list[dict[str, Any]] = json.loads(jwks_path.read_text())["keys"] if jwks_path.exists() else []
    if not any(key.get("kid") == jwk["kid"] for key in keys):
        staging = jwks_path.with_name(f".{JWKS_FILE}.{os.getpid()}")
        staging.write_text(json.dumps({"keys": [*keys, jwk]}, indent=2) + "\n")
        staging.replace(jwks_path)
    return jwks_path


TELEMETRY_SIGNING_KEY_FILE = "telemetry-signing.pem"
TELEMETRY_HASH_KEY_FILE = "telemetry-hash.key"


def ensure_telemetry_token_keys(directory: Path) -> tuple[Path, Path]:
    """Create core-api's development telemetry token keys in ``directory`` unless they exist: the Ed25519
    signing key and the secret of the keyed hashes (the defaults of TELEMETRY_TOKEN_SIGNING_KEY_FILE and
    TELEMETRY_TOKEN_HASH_KEY_FILE under ``.data/dev-keys``)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    signing = directory / TELEMETRY_SIGNING_KEY_FILE
    if not signing.exists():
        _create_private_key(signing)
    hash_key = directory / TELEMETRY_HASH_KEY_FILE
    if not hash_key.exists():
        descriptor = os.open(hash_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
    return signing, hash_key


def mint_token(
    directory: Path,
    *,
    user_id: int,
    role: Role,
    organization_id: int,
    patient_id: int | None = None,
    platform_admin: bool = False,
    ttl_seconds: int = 3600,
    issuer: str = _DEFAULTS.issuer,
    audience: str = _DEFAULTS.audience,
    **overrides: Any,
) -> str:
    """A token for the given actor, signed with the development key in ``directory`` (created if missing).

    ``overrides`` replace or add claims after the others are set; an override of ``None`` removes the
    claim (``exp=None`` makes a token without an expiry), which is how tests build broken tokens.
    """
    claims = {"iss": issuer, "aud": audience, "sub": str(user_id), "role": role, "org_id": organization_id}
    optional: dict[str, Any] = {}
    if patient_id is not None:
        optional["patient_id"] = patient_id
    if platform_admin:
        optional["platform_admin"] = True
    return _signed(directory, claims, ttl_seconds, {**optional, **overrides})


def mint_telemetry_token(
    directory: Path,
    *,
    actor_hash: str,
    org_hash: str,
    consent_level: int,
    biometric: bool = False,
    ttl_seconds: int = 600,
    issuer: str = _DEFAULTS.issuer,
    audience: str = _DEFAULTS.audience,
    **overrides: Any,
) -> str:
    """A telemetry token (keyed-hash ``sub`` and ``org``, ``consent_level``, ``biometric``) signed with the
    development key in ``directory``, standing in for the one core-api will issue. ``overrides`` work as
    in :func:`mint_token`."""
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": actor_hash,
        "org": org_hash,
        "consent_level": consent_level,
        "biometric": biometric,
    }
    return _signed(directory, claims, ttl_seconds, overrides)


def _signed(directory: Path, claims: Mapping[str, Any], ttl_seconds: int, overrides: Mapping[str, Any]) -> str:
    """``claims``, then ``iat`` now and ``exp`` ``ttl_seconds`` later, then ``overrides`` (``None`` removes a
    claim), signed with the development key in ``directory`` (created if missing)."""
    ensure_dev_keys(directory)
    private_key = _load_private_key(directory / PRIVATE_KEY_FILE)
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + ttl_seconds, **overrides}
    return jwt.encode(
        {name: value for name, value in payload.items() if value is not None},
        private_key,
        algorithm="EdDSA",
        headers={"kid": public_jwk(private_key)["kid"]},
    )


def main(argv: Sequence[str] | None = None) -> None:
    settings = from_env(AuthSettings, "AUTH_")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--role", required=True, choices=get_args(Role))
    parser.add_argument("--org", required=True, type=int, help="organization id (the org_id claim)")
    parser.add_argument("--user", required=True, type=int, help="user id (the sub claim)")
    parser.add_argument("--patient", type=int, help="patient id; required for --role patient only")
    parser.add_argument("--platform-admin", action="store_true", help="an admin of the platform operator")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until the token expires")
    parser.add_argument("--dir", type=Path, default=Path(settings.jwks_file).parent, help="key folder")
    parser.add_argument("--issuer", default=settings.issuer)
    parser.add_argument("--audience", default=settings.audience)
    args = parser.parse_args(argv)
    if (args.role == "patient") != (args.patient is not None):
        parser.error("--patient is required with --role patient and not allowed with other roles")
    if args.platform_admin and args.role != "admin":
        parser.error("--platform-admin needs --role admin")
    print(
        mint_token(
            args.dir,
            user_id=args.user,
            role=args.role,
            organization_id=args.org,
            patient_id=args.patient,
            platform_admin=args.platform_admin,
            ttl_seconds=args.ttl,
            issuer=args.issuer,
            audience=args.audience,
        )
    )


if __name__ == "__main__":
    main()
