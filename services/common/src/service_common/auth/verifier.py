"""Checking a bearer JWT: :class:`JwtVerifier` (signature, issuer, audience, time claims) and
:class:`TokenVerifier`, which turns the claims of a core-api token into an :class:`Actor`.

The key comes from :mod:`service_common.auth.keys` by the token's ``kid`` and the algorithm from the key,
never from the token, so ``alg=none`` and the HS256-with-a-public-key confusion can never verify. core-api
subclasses :class:`TokenVerifier` (``core_api.user_check.UserCheckingVerifier``, which also looks the user
up), telemetry subclasses :class:`JwtVerifier` (``telemetry.identity.TelemetryVerifier``, whose tokens carry
hashed ids); either is what the service hands to ``service_common.app.service_app(verifier=...)``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, Protocol

import jwt
import msgspec
from contracts.types import IntId
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from service_common.auth.actor import Actor, Role
from service_common.auth.errors import AuthenticationError
from service_common.auth.keys import ACCEPTED_ALGORITHMS, key_source
from service_common.auth.settings import AuthSettings

_BIGINT_MAX = 2**63 - 1


class Verifier(Protocol):
    """Turns a bearer token into the caller it authenticates, or raises :class:`AuthenticationError`."""

    async def verify(self, token: str) -> object:
        """The caller ``token`` authenticates; :class:`BearerAuthMiddleware` stores it as ``scope["user"]``."""
        ...


# What to tell the client about a token PyJWT refused (never the token or its claims); the first match wins.
_REJECTIONS: tuple[tuple[type[PyJWTError], str], ...] = (
    (ExpiredSignatureError, "The token has expired."),
    (ImmatureSignatureError, "The token is not valid yet."),
    (InvalidIssuerError, "The token was not issued by the expected issuer."),
    (InvalidAudienceError, "The token is meant for another audience."),
    (InvalidSignatureError, "The token's signature does not verify."),
)


def _rejection(exc: PyJWTError) -> str:
    if isinstance(exc, MissingRequiredClaimError):
        return f"The token lacks the `{exc.claim}` claim."
    return next((message for kind, message in _REJECTIONS if isinstance(exc, kind)), "The token is malformed.")


class JwtVerifier:
    """Checks a bearer JWT against the configured JWKS and returns its verified claims.

    Services whose tokens carry other claims (telemetry's consent tokens) subclass it and build their
    own caller from :meth:`claims`, so the key handling exists once.
    """

    VERIFIED_CACHE_SECONDS = 60.0
    """How long a verified token is trusted without a new check (never past its ``exp``): a key withdrawn
    from the JWKS stops working within this time."""

    def __init__(self, settings: AuthSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (monotonic seconds) times the remote key cache and the verified-token cache; tests
        pass a fake one."""
        self._settings = settings
        self._clock = clock
        self._keys = key_source(settings, clock)
        self._verified: OrderedDict[str, tuple[dict[str, Any], float, float]] = OrderedDict()

    async def claims(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and lifetime check out.

        Raises :class:`AuthenticationError` for any token that is malformed, not signed by a known key
        with an accepted algorithm, expired or not yet valid, valid for longer than
        ``AuthSettings.max_token_lifetime_seconds`` or without ``iat``, or for another issuer or audience;
        :class:`ServiceUnavailableError` when no keys can be fetched. A token verified in the last
        ``VERIFIED_CACHE_SECONDS`` and not yet expired is answered from memory.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, trusted_until, expires = remembered
            if self._clock() < trusted_until and time.time() < expires + self._settings.leeway_seconds:
                self._verified.move_to_end(token)
                return dict(claims)
            del self._verified[token]
        claims = await self._verify(token)
        self._verified[token] = (claims, self._clock() + self.VERIFIED_CACHE_SECONDS, float(claims["exp"]))
        if len(self._verified) > self._settings.verified_token_cache_size:
            self._verified.popitem(last=False)
        return dict(claims)

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise AuthenticationError("The bearer token is not a JWT.") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise AuthenticationError(f"The token must be signed with {' or '.join(ACCEPTED_ALGORITHMS)}.")
        if not isinstance(kid, str):
            raise AuthenticationError("The token does not name its signing key (`kid`).")
        key = await self._keys.key_for(kid)
        if key is None:
            raise AuthenticationError("The token is signed by an unknown key.")
        if key.algorithm_name != algorithm:
            raise AuthenticationError("The token's algorithm does not match its signing key.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                # From the key, never from the token: that is what defeats algorithm confusion.
                algorithms=[key.algorithm_name],
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except PyJWTError as exc:
            raise AuthenticationError(_rejection(exc)) from exc
        _check_lifetime(claims, self._settings.max_token_lifetime_seconds)
        return claims


# The NumericDate claims (RFC 7519 section 2). PyJWT reads them with int(), which also takes numeric
# strings and booleans; here only JSON numbers count as times.
_TIME_CLAIMS = ("exp", "iat", "nbf")


def _seconds(value: object) -> float:
    """``value`` as a float, or NaN unless it is a JSON number that a float can hold."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        return math.nan


def _check_lifetime(claims: dict[str, Any], max_lifetime_seconds: int) -> None:
    """Refuse time claims that are not finite numbers, that contradict each other, or that make the token
    valid for longer than ``max_lifetime_seconds`` (counted from ``iat`` and from now).

    PyJWT has already checked ``exp`` against now and ``iat`` and ``nbf`` against now plus the leeway.
    """
    times = {name: _seconds(claims[name]) for name in _TIME_CLAIMS if name in claims}
    for name, value in times.items():
        if not math.isfinite(value):
            raise AuthenticationError(f"The token's `{name}` claim must be a number of seconds.")
    expires, issued = times["exp"], times["iat"]
    if issued > expires or times.get("nbf", issued) > expires:
        raise AuthenticationError("The token's `iat` or `nbf` comes after its `exp`.")
    if max(expires - issued, expires - time.time()) > max_lifetime_seconds:
        raise AuthenticationError(f"The token is valid for longer than the {max_lifetime_seconds} seconds allowed.")


class _Claims(msgspec.Struct, frozen=True):
    """The claims an actor is built from; ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` PyJWT checks."""

    sub: Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,18}\Z")]
    role: Role
    org_id: IntId
    patient_id: IntId | None = None
    platform_admin: bool = False


class TokenVerifier(JwtVerifier):
    """Checks bearer tokens against the configured JWKS and says who sent them."""

    async def verify(self, token: str) -> Actor:
        """The actor ``token`` authenticates.

        Raises :class:`AuthenticationError` as :meth:`JwtVerifier.claims` does, and also when the claims
        do not describe an actor; :class:`ServiceUnavailableError` when no keys can be fetched.
        """
        return _actor(await self.claims(token))


def _actor(claims: dict[str, Any]) -> Actor:
    try:
        parsed = msgspec.convert(claims, _Claims, strict=True)
    except msgspec.ValidationError as exc:
        raise AuthenticationError(f"The token's claims are invalid: {exc}") from exc
    user_id = int(parsed.sub)
    if user_id > _BIGINT_MAX:
        raise AuthenticationError("The token's claims are invalid: `sub` is out of range.")
    if (parsed.role == "patient") != (parsed.patient_id is not None):
        raise AuthenticationError("The token's claims are invalid: `patient_id` belongs to patients only.")
    return Actor(
        user_id=user_id,
        role=parsed.role,
        organization_id=parsed.org_id,
        patient_id=parsed.patient_id,
        # The flag means nothing for other roles; dropping it keeps a stray claim from granting anything.
        platform_admin=parsed.platform_admin and parsed.role == "admin",
    )
