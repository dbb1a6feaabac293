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
    """What a consent record is about.

    - ``analytics``: the analytics level (0 nothing, 1 error reports, 2-3 analytics, media and pose).
    - ``biometric``: biometric consent, which pose tracking also needs.
    """

    ANALYTICS = "analytics"
    BIOMETRIC = "biometric"


class ConsentSource(StrEnum):
    """Who stated a decision. The first three are the patient's own statements (docs/privacy.md).

    - ``patient``: the patient, with ``POST /v1/patients/{id}/consent``.
    - ``consent_form``: the patient, by submitting a consent form in the app.
    - ``paper_form``: staff, entering a consent form the patient signed on paper.
    - ``staff``: staff, recording no more than the patient's latest consent form grants (or lowering, at
      erasure).
    """

    PATIENT = "patient"
    CONSENT_FORM = "consent_form"
    PAPER_FORM = "paper_form"
    STAFF = "staff"


class ConsentChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients/{patient_id}/consent``: give one or both. A patient changes their own consent;
    staff record a patient's decision only with evidence (``form_instance_id``): the consent form that is
    the patient's latest own statement, and no more than its answers grant."""

    analytics_level: Annotated[
        ConsentLevel | None,
        Meta(
            description=(
                "The analytics level to set: 0 nothing, 1 error reports only, 2-3 analytics, "
                "media and pose; null leaves it."
            )
        ),
    ] = None
    biometric: Annotated[
        bool | None,
        Meta(
            description=(
                "Biometric consent (pose tracking): `true` gives it, `false` refuses or revokes it; null leaves it."
            )
        ),
    ] = None
    form_instance_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Staff only: the submitted consent form that is the patient's latest own "
                "statement (the evidence); null for a patient's own change."
            )
        ),
    ] = None
    reason: Annotated[
        Annotated[str, Meta(max_length=500, pattern=r"^[^\u0000]*$")] | None,
        Meta(description="Why the change was made, up to 500 characters; null for none."),
    ] = None


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One change, as it was recorded (history is append-only)."""

    id: Annotated[IntId, Meta(description="The record's id.")]
    kind: Annotated[ConsentKind, Meta(description="`analytics` or `biometric`.")]
    analytics_level: Annotated[
        ConsentLevel | None,
        Meta(description="The level set (analytics records only). 0-3; null for biometric records."),
    ]
    granted: Annotated[
        bool,
        Meta(description="Analytics: level above 0; biometric: consent given (false: refused or revoked)."),
    ]
    form_instance_id: Annotated[
        IntId | None,
        Meta(description="The consent form that states the decision; null when none."),
    ]
    reason: Annotated[LongText | None, Meta(description="Why it was recorded; null for none.")]
    recorded_by_user_id: Annotated[
        IntId | None,
        Meta(description="The user who recorded it; null when not a user (a job)."),
    ]
    recorded_by_role: Annotated[str, Meta(description="The recorder's role (`patient`, `specialist`, `admin`).")]
    created_at: Annotated[Timestamp, Meta(description="When it was recorded.")]
    source: Annotated[
        ConsentSource,
        Meta(description="Who stated it: `patient`, `consent_form`, `paper_form` or `staff` (see ConsentSource)."),
    ] = ConsentSource.PATIENT


class ConsentState(msgspec.Struct, frozen=True, kw_only=True):
    """The patient's consent now, and every change that led to it, newest first."""

    patient_id: Annotated[IntId, Meta(description="The patient.")]
    analytics_level: Annotated[
        ConsentLevel,
        Meta(
            description=(
                "The analytics level in force: 0 nothing, 1 error reports only, 2-3 analytics, media and pose."
            )
        ),
    ]
    biometric: Annotated[bool, Meta(description="Whether biometric consent is given.")]
    pose_tracking_allowed: Annotated[
        bool,
        Meta(description="Whether the camera may track poses: biometric consent and analytics level 2 or above."),
    ]
    history: Annotated[list[ConsentRecord], Meta(description="Every change, newest first.")]


class TelemetryToken(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/telemetry/token``: a bearer token for the telemetry service, valid until ``expires_at``
    (at most 10 minutes), carrying keyed hashes of the caller and the organization and, for a patient,
    the consent in force when it was issued. Ask for a new one before it expires."""

    token: Annotated[
        str,
        Meta(
            description="The bearer token (a JWT, EdDSA) to send as `Authorization: Bearer` to the telemetry service."
        ),
    ]
    expires_at: Annotated[Timestamp, Meta(description="When the token expires, at most 10 minutes after issue.")]
    actor_hash: Annotated[
        HashedId,
        Meta(
            description=(
                "The caller's keyed hash, the token's `sub`; telemetry's read routes take a patient's as `actor_hash`."
            )
        ),
    ]
    consent_level: Annotated[
        ConsentLevel,
        Meta(description="The analytics level the token carries (0-3): the patient's consent when issued."),
    ]
    biometric: Annotated[bool, Meta(description="Whether the token carries biometric consent (pose frames need it).")]


class JsonWebKey(msgspec.Struct, frozen=True, omit_defaults=True):
    """A public signing key (RFC 7517); telemetry tokens are EdDSA over Ed25519 (``OKP``)."""

    kty: Annotated[str, Meta(description="Key type (`OKP` for Ed25519).")]
    kid: Annotated[str, Meta(description="Key id; a token's `kid` header names the key it was signed with.")]
    alg: Annotated[str, Meta(description="Algorithm (`EdDSA`); empty when not stated.")] = ""
    use: Annotated[str, Meta(description="Intended use (`sig`); empty when not stated.")] = ""
    crv: Annotated[str, Meta(description="Curve (`Ed25519`); empty when not stated.")] = ""
    x: Annotated[str, Meta(description="The public key, base64url; empty when not stated.")] = ""


class JsonWebKeySet(msgspec.Struct, frozen=True):
    """``GET /.well-known/jwks.json``: the keys telemetry tokens are signed with (current and previous)."""

    keys: Annotated[list[JsonWebKey], Meta(description="The signing keys, current and previous.")]


# Request bodies as documented: each Struct with an example (service_common.openapi puts it on the schema).
ConsentChangeBody = Annotated[ConsentChange, Meta(examples=[{"analytics_level": 2, "biometric": True}])]
