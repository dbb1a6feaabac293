"""Webhook signatures in the Standard Webhooks scheme (https://www.standardwebhooks.com).

A rule's secret is ``whsec_`` + base64 of 32 random bytes. Each request carries ``webhook-id`` (the event's
id: the same on every retry, so a receiver can drop duplicates), ``webhook-timestamp`` (Unix seconds, so a
receiver can refuse old replays) and ``webhook-signature``: ``v1,`` + base64 of HMAC-SHA256 over
``{id}.{timestamp}.{body}`` keyed with the secret's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's marker, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for ``body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
