"""Reference data the clinical flows refer to: users, specialties, specialists, patients, exercises, form
templates, service plans and the service plans patients hold (core-api admin routes).

Request Structs forbid unknown fields, so a client cannot set server-owned columns (``organization_id``,
``created_at``). Rows that may be global (specialties, exercises, form templates) carry ``global``:
``true`` means the platform owns the row and every organization reads it; only platform administrators
may create or change such rows.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.forms import FormKind, FormSchema, StoredFormSchema
from contracts.plans import Difficulty, SpecialtyRef
from contracts.types import NO_NUL_PATTERN, HashedId, IntId, LongText, Page, ShortText, Timestamp, Url

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]

# A mailbox as RFC 5321 bounds it; deliverability is the identity provider's business, not ours. Control
# characters and spaces are spelled out rather than ``\s``, which JSON Schema and Python define differently.
Email = Annotated[str, Meta(max_length=320, pattern=r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$")]

# The shape of an IANA zone name (``Europe/Madrid``); the service also checks it is a zone that exists.
TimeZoneName = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
]

# Step-by-step instructions may be longer than a description.
# Money in minor units (cents), up to a billion in major units; ISO 4217 currency codes.
PriceCents = Annotated[int, Meta(ge=0, le=100_000_000_000)]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]

Instructions = Annotated[str, Meta(max_length=10_000, pattern=NO_NUL_PATTERN)]

# How long one exercise takes, at most a day.
ExerciseSeconds = Annotated[int, Meta(ge=1, le=86_400)]


class UserRole(StrEnum):
    ADMIN = "admin"
    SPECIALIST = "specialist"
    PATIENT = "patient"


# Users ------------------------------------------------------------------------------------------------------


class UserCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/users``: a user of the caller's organization."""

    role: UserRole
    display_name: ShortText
    email: Email | None = None


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    role: UserRole
    display_name: ShortText
    email: Email | None
    created_at: Timestamp


# Specialties ------------------------------------------------------------------------------------------------


class SpecialtyCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialties``; ``global`` is for platform administrators only."""

    name: ShortText
    is_global: bool = msgspec.field(default=False, name="global")


class Specialty(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    name: ShortText
    is_global: bool = msgspec.field(name="global")
    created_at: Timestamp


class SpecialtyList(msgspec.Struct, frozen=True, kw_only=True):
    specialties: list[Specialty]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


# Specialists ------------------------------------------------------------------------------------------------


class SpecialistCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialists``. ``specialty_id`` names the organization's or a global specialty;
    ``user_id``, when given, a user of the organization with the role ``specialist``."""

    name: ShortText
    specialty_id: IntId
    user_id: IntId | None = None


class Specialist(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    name: ShortText
    specialty: SpecialtyRef | None
    user_id: IntId | None
    created_at: Timestamp


class SpecialistList(msgspec.Struct, frozen=True, kw_only=True):
    specialists: list[Specialist]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


# Patients ---------------------------------------------------------------------------------------------------


class PatientCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients``.

    ``time_zone`` is required: every session window and adherence figure is computed in it, and a silent
    UTC default would shift them for most patients. ``user_id``, when given, is a user with the role
    ``patient`` (the patient's login).
    """

    name: ShortText
    email: Email | None = None
    date_of_birth: date | None = None
    time_zone: TimeZoneName
    user_id: IntId | None = None


class PatientUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/patients/{id}``, a partial update: an absent field is left alone, ``null`` clears a
    nullable one."""

    name: ShortText | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    date_of_birth: date | UnsetType | None = UNSET
    time_zone: TimeZoneName | UnsetType = UNSET
    user_id: IntId | UnsetType | None = UNSET


class Patient(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    name: ShortText
    email: Email | None
    date_of_birth: date | None
    time_zone: TimeZoneName
    user_id: IntId | None
    created_at: Timestamp


class PatientDetail(Patient, frozen=True, kw_only=True):
    """``GET /v1/patients/{id}``: the patient and the pseudonym telemetry knows them by."""

    telemetry_actor_hash: HashedId | None
    """The patient's keyed hash in telemetry: the ``actor_hash`` of their telemetry token response and the
    ``sub`` of their telemetry tokens. The telemetry read routes about one view or pose session take it as
    ``actor_hash`` (docs/telemetry.md). ``null`` when core-api has no telemetry hash key (then it issues
    no telemetry tokens either)."""


class PatientList(msgspec.Struct, frozen=True, kw_only=True):
    patients: list[Patient]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


# Exercises --------------------------------------------------------------------------------------------------


class ExerciseCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/exercises``. A new exercise is a draft (``published: false``) unless said otherwise;
    plans can only prescribe published ones."""

    name: ShortText
    description: LongText = ""
    instructions: Instructions = ""
    video_url: Url | None = None
    video_thumbnail_url: Url | None = None
    difficulty: Difficulty = Difficulty.BEGINNER
    estimated_duration_seconds: ExerciseSeconds | None = None
    published: bool = False
    is_global: bool = msgspec.field(default=False, name="global")


class ExerciseUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/exercises/{id}``, a partial update. Whether an exercise is global never changes."""

    name: ShortText | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    instructions: Instructions | UnsetType = UNSET
    video_url: Url | UnsetType | None = UNSET
    video_thumbnail_url: Url | UnsetType | None = UNSET
    difficulty: Difficulty | UnsetType = UNSET
    estimated_duration_seconds: ExerciseSeconds | UnsetType | None = UNSET
    published: bool | UnsetType = UNSET


class Exercise(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: ShortText
    description: LongText
    instructions: Instructions
    video_url: Url | None
    video_thumbnail_url: Url | None
    difficulty: Difficulty
    estimated_duration_seconds: ExerciseSeconds | None
    published: bool
    is_global: bool = msgspec.field(name="global")
    created_at: Timestamp


class ExerciseList(msgspec.Struct, frozen=True, kw_only=True):
    exercises: list[Exercise]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


# Form templates ---------------------------------------------------------------------------------------------


class FormTemplateCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-templates``. ``schema`` holds the form's typed questions (see ``contracts.forms``)."""

    title: ShortText
    kind: FormKind = FormKind.POST_SESSION
    schema: FormSchema
    is_global: bool = msgspec.field(default=False, name="global")


class FormTemplate(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    title: ShortText
    kind: FormKind
    schema: StoredFormSchema
    is_global: bool = msgspec.field(name="global")
    created_at: Timestamp


class FormTemplateList(msgspec.Struct, frozen=True, kw_only=True):
    form_templates: list[FormTemplate]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


# Service plans ----------------------------------------------------------------------------------------------


class ServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/service-plans``: what a patient holding the plan may use."""

    name: ShortText
    telerehab_access: bool = False
    library_access: bool = False
    price_cents: PriceCents | None = None
    """What one enrollment under the plan is charged, in minor units of ``currency``; give both or neither."""
    currency: Currency | None = None


class ServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    name: ShortText
    telerehab_access: bool
    library_access: bool
    price_cents: PriceCents | None
    currency: Currency | None
    created_at: Timestamp


class ServicePlanList(msgspec.Struct, frozen=True, kw_only=True):
    service_plans: list[ServicePlan]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


class PatientServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients/{id}/service-plans``: the patient holds the service plan from ``starts_on``
    through ``ends_on`` (open-ended without it)."""

    service_plan_id: IntId
    starts_on: date
    ends_on: date | None = None


class PatientServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    patient_id: IntId
    service_plan: ServicePlan
    starts_on: date
    ends_on: date | None
    cancelled_at: Timestamp | None
    # Holds today, in the patient's time zone: started, not ended, not cancelled.
    active: bool
    created_at: Timestamp


class PatientServicePlanList(msgspec.Struct, frozen=True, kw_only=True):
    patient_service_plans: list[PatientServicePlan]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative
