"""Patients (``/v1/patients``): the records staff create and read, and a patient reads their own.

Create and update bodies forbid unknown fields, so a client cannot set server-owned columns.
"""

from datetime import date
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.paging import PageInfo
from contracts.types import (
    HashedId,
    IntId,
    PatientId,
    ShortText,
    Timestamp,
)
from contracts.users import Email

# The shape of an IANA zone name (``Europe/Madrid``); the service also checks it is a zone that exists.
TimeZoneName = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
]


PatientName = Annotated[ShortText, Meta(description="The patient's full name, 1-200 characters.")]


PatientTimeZone = Annotated[
    TimeZoneName,
    Meta(
        description=(
            "The patient's IANA time zone (`Europe/Madrid`): session windows and adherence are computed in it."
        )
    ),
]


PatientEmail = Annotated[Email | None, Meta(description="The patient's e-mail address; null when none is recorded.")]


PatientBirthDate = Annotated[
    date | None,
    Meta(description="The patient's date of birth (ISO 8601 date); null when not recorded."),
]


PatientUser = Annotated[
    IntId | None,
    Meta(description="The patient's login: a user of the organization with the role `patient`; null for none."),
]


# Patients ---------------------------------------------------------------------------------------------------


class PatientCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients``.

    ``time_zone`` is required: every session window and adherence figure is computed in it, and a silent
    UTC default would shift them for most patients. ``user_id``, when given, is a user with the role
    ``patient`` (the patient's login).
    """

    name: PatientName
    email: PatientEmail = None
    date_of_birth: PatientBirthDate = None
    time_zone: PatientTimeZone
    user_id: PatientUser = None


class PatientUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/patients/{id}``, a partial update: an absent field is left alone, ``null`` clears a
    nullable one."""

    name: Annotated[
        ShortText | UnsetType,
        Meta(description="The patient's full name, 1-200 characters. Absent: unchanged."),
    ] = UNSET
    email: Annotated[
        Email | UnsetType | None,
        Meta(
            description=(
                "The patient's e-mail address; null when none is recorded. Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    date_of_birth: Annotated[
        date | UnsetType | None,
        Meta(
            description=(
                "The patient's date of birth (ISO 8601 date); null when not recorded. Absent: "
                "unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    time_zone: Annotated[
        TimeZoneName | UnsetType,
        Meta(
            description=(
                "The patient's IANA time zone (`Europe/Madrid`): session windows and adherence "
                "are computed in it. Absent: unchanged."
            )
        ),
    ] = UNSET
    user_id: Annotated[
        IntId | UnsetType | None,
        Meta(
            description=(
                "The patient's login: a user of the organization with the role `patient`; null "
                "for none. Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET


class Patient(msgspec.Struct, frozen=True, kw_only=True):
    """A patient of the organization."""

    id: PatientId
    name: PatientName
    email: PatientEmail
    date_of_birth: PatientBirthDate
    time_zone: PatientTimeZone
    user_id: PatientUser
    created_at: Annotated[Timestamp, Meta(description="When the patient was created.")]


class PatientDetail(Patient, frozen=True, kw_only=True):
    """``GET /v1/patients/{id}``: the patient and the pseudonym telemetry knows them by."""

    telemetry_actor_hash: Annotated[
        HashedId | None,
        Meta(
            description=(
                "The patient's keyed hash in telemetry: the ``actor_hash`` of their telemetry "
                "token response and the ``sub`` of their telemetry tokens. The telemetry read "
                "routes about one view or pose session take it as ``actor_hash`` "
                "(docs/telemetry.md). ``null`` when core-api has no telemetry hash key (then it "
                "issues no telemetry tokens either)."
            )
        ),
    ]


class PatientList(PageInfo, frozen=True, kw_only=True):
    """One page of patients."""

    patients: Annotated[list[Patient], Meta(description="Patients on this page.")]


PatientCreateBody = Annotated[
    PatientCreate,
    Meta(
        examples=[
            {
                "name": "Jane Doe",
                "email": "jane.doe@example.com",
                "date_of_birth": "1985-04-12",
                "time_zone": "Europe/Madrid",
                "user_id": 31,
            }
        ]
    ),
]
PatientUpdateBody = Annotated[
    PatientUpdate, Meta(examples=[{"email": "jane.d@example.com", "time_zone": "Europe/Lisbon"}])
]
