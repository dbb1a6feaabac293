"""Consent: what a patient allows the telemetry service to collect, with its full history, and the
short-lived telemetry token that carries it (see docs/privacy.md).

Analytics level (the spec README): 0 nothing is collected, 1 error reports only, 2 and above analytics,
media sessions and pose frames; pose frames also need biometric consent. Without any record a patient is at
level 0 without biometric consent: collection is opt-in.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import ConsentLevel, HashedId, IntId, LongText, Timestamp


class ConsentKind(StrEnum):
    ANALYTICS = "analytics"
    BIOMETRIC = "biometric"


class ConsentSource(StrEnum):
    """Who stated a decision. The first three are the patient's own statements (docs/privacy.md)."""

    PATIENT = "patient"
    """The patient, with ``POST /v1/patients/{id}/consent``."""
    CONSENT_FORM = "consent_form"
    """The patient, by submitting a consent form in the app."""
    PAPER_FORM = "paper_form"
    """Staff, entering a consent form the patient signed on paper."""
    STAFF = "staff"
    """Staff, recording no more than the patient's latest consent form grants (or lowering, at erasure)."""


class ConsentChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients/{patient_id}/consent``: give one or both. A patient changes their own consent;
    staff record a patient's decision only with evidence (``form_instance_id``): the consent form that is
    the patient's latest own statement, and no more than its answers grant."""

    analytics_level: ConsentLevel | None = None
    biometric: bool | None = None
    form_instance_id: IntId | None = None
    reason: Annotated[str, Meta(max_length=500, pattern=r"^[^\u0000]*$")] | None = None


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One change, as it was recorded (history is append-only)."""

    id: IntId
    kind: ConsentKind
    analytics_level: ConsentLevel | None
    """The level set (analytics records only)."""
    granted: bool
    """Analytics: level above 0; biometric: consent given (false: refused or revoked)."""
    form_instance_id: IntId | None
    reason: LongText | None
    recorded_by_user_id: IntId | None
    recorded_by_role: str
    created_at: Timestamp
    source: ConsentSource = ConsentSource.PATIENT
    """Who stated it: the patient (in the app or on a consent form), a paper form, or staff."""


class ConsentState(msgspec.Struct, frozen=True, kw_only=True):
    """The patient's consent now, and every change that led to it, newest first."""

    patient_id: IntId
    analytics_level: ConsentLevel
    biometric: bool
    pose_tracking_allowed: bool
    """Whether the camera may track poses: biometric consent and analytics level 2 or above."""
    history: list[ConsentRecord]


class TelemetryToken(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/telemetry/token``: a bearer token for the telemetry service, valid until ``expires_at``
    (at most 10 minutes), carrying keyed hashes of the caller and the organization and, for a patient,
    the consent in force when it was issued. Ask for a new one before it expires."""

    token: str
    expires_at: Timestamp
    actor_hash: HashedId
    consent_level: ConsentLevel
    biometric: bool


class JsonWebKey(msgspec.Struct, frozen=True, omit_defaults=True):
    """A public signing key (RFC 7517); telemetry tokens are EdDSA over Ed25519 (``OKP``)."""

    kty: str
    kid: str
    alg: str = ""
    use: str = ""
    crv: str = ""
    x: str = ""


class JsonWebKeySet(msgspec.Struct, frozen=True):
    """``GET /.well-known/jwks.json``: the keys telemetry tokens are signed with (current and previous)."""

    keys: list[JsonWebKey]
