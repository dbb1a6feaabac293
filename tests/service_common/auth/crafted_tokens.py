"""Broken bearer tokens for the route-wide authentication checks of both services.

Each case starts from a token the service would accept, minted by the caller's ``mint`` (which takes
claim overrides like ``tools.tokens.mint_token``), and breaks exactly one thing about it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

Mint = Callable[..., str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decoded(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def bad_tokens(mint: Mint, tampered_claim: str, tampered_value: Any) -> dict[str, str]:
    """Tokens every authenticated route must answer with 401, by what is wrong with them."""
    now = int(time.time())
    header_part, payload_part, signature_part = mint().split(".")
    header, claims = _decoded(header_part), _decoded(payload_part)
    unsigned_header = _b64url(json.dumps({**header, "alg": "none"}).encode())
    tampered = _b64url(json.dumps({**claims, tampered_claim: tampered_value}).encode())
    return {
        "expired": mint(iat=now - 7200, exp=now - 3600),
        "not yet valid": mint(nbf=now + 3600),
        "exp a century ahead": mint(exp=now + 100 * 365 * 86400),
        "exp as a numeric string": mint(exp=str(now + 600)),
        "alg none": f"{unsigned_header}.{payload_part}.",
        "wrong key": jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": header["kid"]}
        ),
        "wrong audience": mint(aud="someone-else"),
        "wrong issuer": mint(iss="someone-else"),
        "tampered claims": f"{header_part}.{tampered}.{signature_part}",
    }
