"""Who sends telemetry and what they consented to, from a short-lived signed token.

core-api issues the token (until the privacy work builds the real issuer, it is signed with the same
keys as the API tokens, see ``tools/tokens.py``). Its claims carry keyed hashes, never a patient id:
``sub`` is the actor's hash, ``org`` the organization's, ``consent_level`` 0-3, ``biometric`` whether
pose tracking is allowed and ``role`` (``patient`` by default, ``staff`` for the read routes).
Verification (keys, algorithms, ``iss``/``aud``/``exp``) is :class:`service_common.auth.verifier.JwtVerifier`'s;
this module turns the claims into a :class:`TelemetryActor` and provides the consent check the ingest
routes run before they read a body, so a refused request stores nothing, and the staff guard of the read
routes.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from contracts.types import ConsentLevel, HashedId
from litestar.connection import ASGIConnection
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import BaseRouteHandler
from service_common.auth.errors import AuthenticationError
from service_common.auth.guards import RoleGuard
from service_common.auth.verifier import JwtVerifier
from service_common.errors import ForbiddenError

ERRORS_ONLY = 1
"""Consent level allowing error reports and nothing else."""
ANALYTICS = 2
"""Consent level allowing analytics, media sessions and (with biometric consent) pose frames."""


class TelemetryActor(msgspec.Struct, frozen=True, kw_only=True):
    """The sender of a telemetry request, as its verified token describes it."""

    actor_hash: str
    org_hash: str
    consent_level: int
    biometric: bool
    role: str = "patient"
    """``staff`` (specialists and admins, who may read their organization's aggregates), ``patient``, or
    ``service`` (core-api's retention job, which may only erase)."""


class _TelemetryClaims(msgspec.Struct, frozen=True):
    sub: HashedId
    org: HashedId
    consent_level: ConsentLevel
    biometric: bool = False
    role: Literal["patient", "staff", "service"] = "patient"


class TelemetryVerifier(JwtVerifier):
    """Checks telemetry tokens and returns the :class:`TelemetryActor` they describe."""

    async def verify(self, token: str) -> TelemetryActor:
        """Raises :class:`AuthenticationError` for a token that does not verify or lacks telemetry claims."""
        claims = await self.claims(token)
        try:
            parsed = msgspec.convert(claims, _TelemetryClaims, strict=True)
        except msgspec.ValidationError as exc:
            raise AuthenticationError(f"The token's telemetry claims are invalid: {exc}") from exc
        return TelemetryActor(
            actor_hash=parsed.sub,
            org_hash=parsed.org,
            consent_level=parsed.consent_level,
            biometric=parsed.biometric,
            role=parsed.role,
        )


def telemetry_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> TelemetryActor:
    """The verified sender of ``connection``; a 500 on a route not behind the telemetry verifier (a bug)."""
    actor = connection.scope.get("user")
    if not isinstance(actor, TelemetryActor):
        raise ImproperlyConfiguredException("no telemetry actor: the route is not behind the telemetry verifier")
    return actor


def only_role(role: str, refusal: str) -> RoleGuard:
    """A guard refusing (403, with ``refusal``) every caller whose token does not carry ``role``."""

    async def refuse_other_roles(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return
        if telemetry_actor(connection).role != role:
            raise ForbiddenError(refusal)

    return RoleGuard((role,), refuse_other_roles)


require_staff = only_role("staff", "Only staff of the organization may read telemetry aggregates.")
"""A guard refusing (403) callers whose token does not carry ``role: staff``."""


def check_consent(connection: ASGIConnection[Any, Any, Any, Any], level: int, *, biometric: bool = False) -> None:
    """Refuse (403) callers other than patients, callers whose consent is below ``level`` and, with
    ``biometric``, callers who have not given biometric consent. Consent level 0 is refused everywhere."""
    if connection.scope.get("method") == "OPTIONS":
        return
    minimum = max(level, ERRORS_ONLY)
    actor = telemetry_actor(connection)
    # Only a patient's consent admits data: staff and service tokens read or erase, and a consent
    # claim on one of them (core-api issues 0) must not let it write under a patient-shaped hash.
    if actor.role != "patient":
        raise ForbiddenError("Only patients' devices may send telemetry.")
    if actor.consent_level < minimum:
        raise ForbiddenError(
            f"This data needs consent level {minimum}; the caller's consent level is {actor.consent_level}."
        )
    if biometric and not actor.biometric:
        raise ForbiddenError("Pose frames need the patient's biometric consent.")
