"""Users, specialties and specialists (``/v1/users``, ``/v1/specialties``, ``/v1/specialists``): the staff
side of core-api's reference data.

Create bodies forbid unknown fields, so a client cannot set server-owned columns (``organization_id``,
``created_at``). A global specialty (``global: true``) belongs to the platform: every organization reads
it and only platform administrators create one.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.paging import PageInfo
from contracts.refs import SpecialistId, SpecialtyId, SpecialtyRef
from contracts.types import (
    IntId,
    ShortText,
    Timestamp,
)

# A mailbox as RFC 5321 bounds it; deliverability is the identity provider's business, not ours. Control
# characters and spaces are spelled out rather than ``\s``, which JSON Schema and Python define differently.
Email = Annotated[str, Meta(max_length=320, pattern=r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$")]


class UserRole(StrEnum):
    """A user's role.

    - ``admin``: an organization administrator (staff; reference data, automations, audit).
    - ``specialist``: a clinician (staff; plans, enrollments, patients' progress).
    - ``patient``: a patient (their own enrollments, sessions, forms and consent).
    """

    ADMIN = "admin"
    SPECIALIST = "specialist"
    PATIENT = "patient"


AssignedRole = Annotated[
    UserRole, Meta(description="The user's role: `admin`, `specialist` or `patient` (see UserRole).")
]


UserDisplayName = Annotated[ShortText, Meta(description="The name shown for the user in the apps, 1-200 characters.")]


UserEmail = Annotated[Email | None, Meta(description="The user's e-mail address; null when none is recorded.")]


# Users ------------------------------------------------------------------------------------------------------


class UserCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/users``: a user of the caller's organization."""

    role: AssignedRole
    display_name: UserDisplayName
    email: UserEmail = None


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A user (login) of the organization."""

    id: Annotated[IntId, Meta(description="The user's id.")]
    role: AssignedRole
    display_name: UserDisplayName
    email: UserEmail
    created_at: Annotated[Timestamp, Meta(description="When the user was created.")]


SpecialtyName = Annotated[ShortText, Meta(description="The specialty's name (`Physiotherapy`), 1-200 characters.")]


# Specialties ------------------------------------------------------------------------------------------------


class SpecialtyCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialties``; ``global`` is for platform administrators only."""

    name: SpecialtyName
    is_global: Annotated[
        bool,
        Meta(
            description=(
                "`true`: a platform specialty every organization reads (platform administrators "
                "only); `false`: the caller's organization's own."
            )
        ),
    ] = msgspec.field(default=False, name="global")


class Specialty(msgspec.Struct, frozen=True, kw_only=True):
    """A clinical specialty, the organization's own or global."""

    id: SpecialtyId
    name: SpecialtyName
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform specialty every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the specialty was created.")]


class SpecialtyList(PageInfo, frozen=True, kw_only=True):
    """One page of specialties."""

    specialties: Annotated[list[Specialty], Meta(description="Specialties on this page.")]


SpecialistName = Annotated[ShortText, Meta(description="The specialist's name, 1-200 characters.")]


# Specialists ------------------------------------------------------------------------------------------------


class SpecialistCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialists``. ``specialty_id`` names the organization's or a global specialty;
    ``user_id``, when given, a user of the organization with the role ``specialist``."""

    name: SpecialistName
    specialty_id: Annotated[
        IntId,
        Meta(description="The specialist's specialty: one of the organization's or a global one."),
    ]
    user_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "The specialist's login: a user of the organization with the role `specialist`; null for none."
            )
        ),
    ] = None


class Specialist(msgspec.Struct, frozen=True, kw_only=True):
    """A clinician of the organization."""

    id: SpecialistId
    name: SpecialistName
    specialty: Annotated[
        SpecialtyRef | None,
        Meta(description="The specialist's specialty; null when it is no longer readable."),
    ]
    user_id: Annotated[IntId | None, Meta(description="The specialist's login user; null for none.")]
    created_at: Annotated[Timestamp, Meta(description="When the specialist was created.")]


class SpecialistList(PageInfo, frozen=True, kw_only=True):
    """One page of specialists."""

    specialists: Annotated[list[Specialist], Meta(description="Specialists on this page.")]


# Request bodies as documented: each Struct with an example (service_common.openapi puts it on the schema).
UserCreateBody = Annotated[
    UserCreate, Meta(examples=[{"role": "specialist", "display_name": "Dr. Ana Ruiz", "email": "ana.ruiz@example.com"}])
]
SpecialtyCreateBody = Annotated[SpecialtyCreate, Meta(examples=[{"name": "Physiotherapy"}])]
SpecialistCreateBody = Annotated[
    SpecialistCreate, Meta(examples=[{"name": "Dr. Ana Ruiz", "specialty_id": 3, "user_id": 12}])
]
