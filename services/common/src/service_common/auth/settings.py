"""The settings of bearer-token verification, read from the ``AUTH_`` environment variables.

Each service reads them with ``from_env(AuthSettings, "AUTH_")`` in its own settings module (telemetry
through a subclass with a shorter token lifetime) and gives them to its verifier.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class AuthSettings(msgspec.Struct, frozen=True):
    """Bearer-token verification (environment prefix ``AUTH_``)."""

    jwks_url: str = ""
    """The identity provider's JWKS URL (AUTH_JWKS_URL); set it in production. Empty: use AUTH_JWKS_FILE."""
    jwks_file: str = ".data/dev-keys/jwks.json"
    """JWKS file of the development key, for local runs and tests (AUTH_JWKS_FILE); `make token` writes it."""
    issuer: str = "telerehab-dev"
    """The `iss` every token must carry (AUTH_ISSUER)."""
    audience: str = "telerehab-api"
    """The `aud` every token must name (AUTH_AUDIENCE)."""
    leeway_seconds: Annotated[int, msgspec.Meta(ge=0)] = 30
    """Clock skew tolerated when checking `exp` and `nbf` (AUTH_LEEWAY_SECONDS)."""
    jwks_cache_seconds: Annotated[int, msgspec.Meta(ge=1)] = 300
    """How long keys fetched from AUTH_JWKS_URL are used before a refetch (AUTH_JWKS_CACHE_SECONDS)."""
    max_token_lifetime_seconds: Annotated[int, msgspec.Meta(ge=1)] = 8 * 3600
    """Longest validity a token may claim: one whose `exp` lies further than this after its `iat`, or
    after now, is refused (AUTH_MAX_TOKEN_LIFETIME_SECONDS)."""
    verified_token_cache_size: Annotated[int, msgspec.Meta(ge=1)] = 16_384
    """Tokens a process remembers as verified (AUTH_VERIFIED_TOKEN_CACHE_SIZE), the least recently used
    dropped first. Size it to the callers one process serves within a minute: a device sends the same token
    every second or two, and a token not in the cache costs a signature check, a third of a small request's
    CPU. An entry takes about 1.6 KiB (the token and its claims, measured with tracemalloc), so the default
    holds at most about 26 MiB per process (docs/operations.md)."""
    user_check_cache_seconds: Annotated[int, msgspec.Meta(ge=0)] = 60
    """core-api: how long a token's user is remembered as existing, active and matching the token before
    PostgreSQL is asked again; a deleted user loses access within it (AUTH_USER_CHECK_CACHE_SECONDS)."""
