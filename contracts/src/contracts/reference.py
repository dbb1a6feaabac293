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
    """A user's role.

    - ``admin``: an organization administrator (staff; reference data, automations, audit).
    - ``specialist``: a clinician (staff; plans, enrollments, patients' progress).
    - ``patient``: a patient (their own enrollments, sessions, forms and consent).
    """

    ADMIN = "admin"
    SPECIALIST = "specialist"
    PATIENT = "patient"


# Users ------------------------------------------------------------------------------------------------------


class UserCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/users``: a user of the caller's organization."""

    role: Annotated[UserRole, Meta(description="The user's role: `admin`, `specialist` or `patient` (see UserRole).")]
    display_name: Annotated[ShortText, Meta(description="The name shown for the user in the apps, 1-200 characters.")]
    email: Annotated[Email | None, Meta(description="The user's e-mail address; null when none is recorded.")] = None


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A user (login) of the organization."""

    id: Annotated[IntId, Meta(description="The user's id.")]
    role: Annotated[UserRole, Meta(description="The user's role: `admin`, `specialist` or `patient` (see UserRole).")]
    display_name: Annotated[ShortText, Meta(description="The name shown for the user in the apps, 1-200 characters.")]
    email: Annotated[Email | None, Meta(description="The user's e-mail address; null when none is recorded.")]
    created_at: Annotated[Timestamp, Meta(description="When the user was created.")]


# Specialties ------------------------------------------------------------------------------------------------


class SpecialtyCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialties``; ``global`` is for platform administrators only."""

    name: Annotated[ShortText, Meta(description="The specialty's name (`Physiotherapy`), 1-200 characters.")]
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

    id: Annotated[IntId, Meta(description="The specialty's id.")]
    name: Annotated[ShortText, Meta(description="The specialty's name (`Physiotherapy`), 1-200 characters.")]
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform specialty every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the specialty was created.")]


class SpecialtyList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of specialties."""

    specialties: Annotated[list[Specialty], Meta(description="Specialties on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Specialists ------------------------------------------------------------------------------------------------


class SpecialistCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/specialists``. ``specialty_id`` names the organization's or a global specialty;
    ``user_id``, when given, a user of the organization with the role ``specialist``."""

    name: Annotated[ShortText, Meta(description="The specialist's name, 1-200 characters.")]
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

    id: Annotated[IntId, Meta(description="The specialist's id.")]
    name: Annotated[ShortText, Meta(description="The specialist's name, 1-200 characters.")]
    specialty: Annotated[
        SpecialtyRef | None,
        Meta(description="The specialist's specialty; null when it is no longer readable."),
    ]
    user_id: Annotated[IntId | None, Meta(description="The specialist's login user; null for none.")]
    created_at: Annotated[Timestamp, Meta(description="When the specialist was created.")]


class SpecialistList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of specialists."""

    specialists: Annotated[list[Specialist], Meta(description="Specialists on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Patients ---------------------------------------------------------------------------------------------------


class PatientCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients``.

    ``time_zone`` is required: every session window and adherence figure is computed in it, and a silent
    UTC default would shift them for most patients. ``user_id``, when given, is a user with the role
    ``patient`` (the patient's login).
    """

    name: Annotated[ShortText, Meta(description="The patient's full name, 1-200 characters.")]
    email: Annotated[Email | None, Meta(description="The patient's e-mail address; null when none is recorded.")] = None
    date_of_birth: Annotated[
        date | None,
        Meta(description="The patient's date of birth (ISO 8601 date); null when not recorded."),
    ] = None
    time_zone: Annotated[
        TimeZoneName,
        Meta(
            description=(
                "The patient's IANA time zone (`Europe/Madrid`): session windows and adherence are computed in it."
            )
        ),
    ]
    user_id: Annotated[
        IntId | None,
        Meta(description="The patient's login: a user of the organization with the role `patient`; null for none."),
    ] = None


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

    id: Annotated[IntId, Meta(description="The patient's id.")]
    name: Annotated[ShortText, Meta(description="The patient's full name, 1-200 characters.")]
    email: Annotated[Email | None, Meta(description="The patient's e-mail address; null when none is recorded.")]
    date_of_birth: Annotated[
        date | None,
        Meta(description="The patient's date of birth (ISO 8601 date); null when not recorded."),
    ]
    time_zone: Annotated[
        TimeZoneName,
        Meta(
            description=(
                "The patient's IANA time zone (`Europe/Madrid`): session windows and adherence are computed in it."
            )
        ),
    ]
    user_id: Annotated[
        IntId | None,
        Meta(description="The patient's login: a user of the organization with the role `patient`; null for none."),
    ]
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


class PatientList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of patients."""

    patients: Annotated[list[Patient], Meta(description="Patients on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Exercises --------------------------------------------------------------------------------------------------


class ExerciseCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/exercises``. A new exercise is a draft (``published: false``) unless said otherwise;
    plans can only prescribe published ones."""

    name: Annotated[ShortText, Meta(description="The exercise's name (`Quad Set`), 1-200 characters.")]
    description: Annotated[
        LongText,
        Meta(description="What the exercise is for, as the patient reads it; up to 5000 characters."),
    ] = ""
    instructions: Annotated[
        Instructions,
        Meta(description="How to do the exercise, as text the patient reads; up to 10 000 characters."),
    ] = ""
    video_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the exercise video; null for none."),
    ] = None
    video_thumbnail_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the video's thumbnail image; null for none."),
    ] = None
    difficulty: Annotated[
        Difficulty,
        Meta(description="`beginner`, `intermediate` or `advanced`."),
    ] = Difficulty.BEGINNER
    estimated_duration_seconds: Annotated[
        ExerciseSeconds | None,
        Meta(description="How long the exercise takes, in seconds (1-86 400); null when not estimated."),
    ] = None
    published: Annotated[
        bool,
        Meta(description="Whether plans may prescribe it; a new exercise is a draft (`false`) unless said otherwise."),
    ] = False
    is_global: Annotated[
        bool,
        Meta(
            description=(
                "`true`: a platform exercise every organization reads (platform administrators "
                "only); `false`: the organization's own."
            )
        ),
    ] = msgspec.field(default=False, name="global")


class ExerciseUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/exercises/{id}``, a partial update. Whether an exercise is global never changes."""

    name: Annotated[
        ShortText | UnsetType,
        Meta(description="The exercise's name (`Quad Set`), 1-200 characters. Absent: unchanged."),
    ] = UNSET
    description: Annotated[
        LongText | UnsetType,
        Meta(
            description="What the exercise is for, as the patient reads it; up to 5000 characters. Absent: unchanged."
        ),
    ] = UNSET
    instructions: Annotated[
        Instructions | UnsetType,
        Meta(
            description=(
                "How to do the exercise, as text the patient reads; up to 10 000 characters. Absent: unchanged."
            )
        ),
    ] = UNSET
    video_url: Annotated[
        Url | UnsetType | None,
        Meta(
            description=(
                "Absolute http(s) URL of the exercise video; null for none. Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    video_thumbnail_url: Annotated[
        Url | UnsetType | None,
        Meta(
            description=(
                "Absolute http(s) URL of the video's thumbnail image; null for none. Absent: "
                "unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    difficulty: Annotated[
        Difficulty | UnsetType,
        Meta(description="`beginner`, `intermediate` or `advanced`. Absent: unchanged."),
    ] = UNSET
    estimated_duration_seconds: Annotated[
        ExerciseSeconds | UnsetType | None,
        Meta(
            description=(
                "How long the exercise takes, in seconds (1-86 400); null when not estimated. "
                "Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    published: Annotated[
        bool | UnsetType,
        Meta(
            description=(
                "Whether plans may prescribe it; a new exercise is a draft (`false`) unless said "
                "otherwise. Absent: unchanged."
            )
        ),
    ] = UNSET


class Exercise(msgspec.Struct, frozen=True, kw_only=True):
    """An exercise of the library, the organization's own or global."""

    id: Annotated[UUID, Meta(description="The exercise's id.")]
    name: Annotated[ShortText, Meta(description="The exercise's name (`Quad Set`), 1-200 characters.")]
    description: Annotated[
        LongText,
        Meta(description="What the exercise is for, as the patient reads it; up to 5000 characters."),
    ]
    instructions: Annotated[
        Instructions,
        Meta(description="How to do the exercise, as text the patient reads; up to 10 000 characters."),
    ]
    video_url: Annotated[Url | None, Meta(description="Absolute http(s) URL of the exercise video; null for none.")]
    video_thumbnail_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the video's thumbnail image; null for none."),
    ]
    difficulty: Annotated[Difficulty, Meta(description="`beginner`, `intermediate` or `advanced`.")]
    estimated_duration_seconds: Annotated[
        ExerciseSeconds | None,
        Meta(description="How long the exercise takes, in seconds (1-86 400); null when not estimated."),
    ]
    published: Annotated[
        bool,
        Meta(description="Whether plans may prescribe it; a new exercise is a draft (`false`) unless said otherwise."),
    ]
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform exercise every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the exercise was created.")]


class ExerciseList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of exercises."""

    exercises: Annotated[list[Exercise], Meta(description="Exercises on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Form templates ---------------------------------------------------------------------------------------------


class FormTemplateCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-templates``. ``schema`` holds the form's typed questions (see ``contracts.forms``)."""

    title: Annotated[ShortText, Meta(description="The form's title as the patient reads it, 1-200 characters.")]
    kind: Annotated[
        FormKind,
        Meta(description="What the form is for: `post_session`, `consent`, `intake` or `other` (see FormKind)."),
    ] = FormKind.POST_SESSION
    schema: Annotated[
        FormSchema,
        Meta(description=('The form\'s typed questions, `{"questions": [...]}` (1-50, ids unique).')),
    ]
    is_global: Annotated[
        bool,
        Meta(
            description=(
                "`true`: a platform template every organization reads (platform administrators "
                "only); `false`: the organization's own."
            )
        ),
    ] = msgspec.field(default=False, name="global")


class FormTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A form template, the organization's own or global."""

    id: Annotated[IntId, Meta(description="The template's id.")]
    title: Annotated[ShortText, Meta(description="The form's title as the patient reads it, 1-200 characters.")]
    kind: Annotated[
        FormKind,
        Meta(description="What the form is for: `post_session`, `consent`, `intake` or `other` (see FormKind)."),
    ]
    schema: Annotated[
        StoredFormSchema,
        Meta(
            description=(
                'The form\'s typed questions; `{"questions": []}` for a template stored before questions were typed.'
            )
        ),
    ]
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform template every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the template was created.")]


class FormTemplateList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of form templates."""

    form_templates: Annotated[list[FormTemplate], Meta(description="Form templates on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Service plans ----------------------------------------------------------------------------------------------


class ServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/service-plans``: what a patient holding the plan may use."""

    name: Annotated[ShortText, Meta(description="The service plan's name (`Telerehab Premium`), 1-200 characters.")]
    telerehab_access: Annotated[
        bool,
        Meta(
            description=(
                "Whether holders may be enrolled in telerehab treatment plans (checked, active "
                "that day, at enrollment)."
            )
        ),
    ] = False
    library_access: Annotated[
        bool,
        Meta(
            description="Whether holders may browse the library of published treatment plans and self-assign from it."
        ),
    ] = False
    price_cents: Annotated[
        PriceCents | None,
        Meta(
            description=(
                "What one enrollment under the plan is charged, in minor units of ``currency``; give both or neither."
            )
        ),
    ] = None
    currency: Annotated[
        Currency | None,
        Meta(description="ISO 4217 code of `price_cents` (`EUR`); given with `price_cents` or not at all."),
    ] = None


class ServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A service plan: what a patient holding it may use, and its price."""

    id: Annotated[IntId, Meta(description="The service plan's id.")]
    name: Annotated[ShortText, Meta(description="The service plan's name (`Telerehab Premium`), 1-200 characters.")]
    telerehab_access: Annotated[
        bool,
        Meta(
            description=(
                "Whether holders may be enrolled in telerehab treatment plans (checked, active "
                "that day, at enrollment)."
            )
        ),
    ]
    library_access: Annotated[
        bool,
        Meta(
            description="Whether holders may browse the library of published treatment plans and self-assign from it."
        ),
    ]
    price_cents: Annotated[
        PriceCents | None,
        Meta(
            description=(
                "What one enrollment under the plan is charged, in minor units (cents) of "
                "`currency`; null when not priced."
            )
        ),
    ]
    currency: Annotated[
        Currency | None,
        Meta(description="ISO 4217 currency code of `price_cents`; null when not priced."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the service plan was created.")]


class ServicePlanList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of service plans."""

    service_plans: Annotated[list[ServicePlan], Meta(description="Service plans on this page.")]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


class PatientServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients/{id}/service-plans``: the patient holds the service plan from ``starts_on``
    through ``ends_on`` (open-ended without it)."""

    service_plan_id: Annotated[IntId, Meta(description="The service plan the patient holds.")]
    starts_on: Annotated[
        date,
        Meta(description="First day the patient holds it (ISO 8601 date, the patient's time zone)."),
    ]
    ends_on: Annotated[
        date | None,
        Meta(description="Last day the patient holds it (inclusive); null for open-ended."),
    ] = None


class PatientServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A service plan a patient holds, and for when."""

    id: Annotated[IntId, Meta(description="The holding's id.")]
    patient_id: Annotated[IntId, Meta(description="The patient who holds it.")]
    service_plan: Annotated[ServicePlan, Meta(description="The service plan held.")]
    starts_on: Annotated[
        date,
        Meta(description="First day the patient holds it (ISO 8601 date, the patient's time zone)."),
    ]
    ends_on: Annotated[date | None, Meta(description="Last day the patient holds it (inclusive); null for open-ended.")]
    cancelled_at: Annotated[
        Timestamp | None,
        Meta(description="When the holding was cancelled; null while not cancelled."),
    ]
    active: Annotated[
        bool,
        Meta(description="Whether it holds today in the patient's time zone: started, not ended, not cancelled."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the holding was recorded.")]


class PatientServicePlanList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the service plans a patient holds."""

    patient_service_plans: Annotated[
        list[PatientServicePlan],
        Meta(description="Service plans the patient holds on this page."),
    ]
    total: Annotated[_NonNegative, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[_Positive, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Pages at this `limit` (0 when nothing matches).")]


# Request bodies as documented: each Struct with an example (service_common.openapi puts it on the schema).
UserCreateBody = Annotated[
    UserCreate, Meta(examples=[{"role": "specialist", "display_name": "Dr. Ana Ruiz", "email": "ana.ruiz@example.com"}])
]
SpecialtyCreateBody = Annotated[SpecialtyCreate, Meta(examples=[{"name": "Physiotherapy"}])]
SpecialistCreateBody = Annotated[
    SpecialistCreate, Meta(examples=[{"name": "Dr. Ana Ruiz", "specialty_id": 3, "user_id": 12}])
]
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
ExerciseCreateBody = Annotated[
    ExerciseCreate,
    Meta(
        examples=[
            {
                "name": "Quad Set",
                "description": "Isometric quadriceps activation for early knee rehabilitation.",
                "instructions": "Sit with your leg straight. Tighten the thigh muscle and hold for 5 seconds. Relax.",
                "video_url": "https://cdn.example.com/videos/quad-set.mp4",
                "video_thumbnail_url": "https://cdn.example.com/thumbs/quad-set.jpg",
                "difficulty": "beginner",
                "estimated_duration_seconds": 120,
                "published": True,
            }
        ]
    ),
]
ExerciseUpdateBody = Annotated[ExerciseUpdate, Meta(examples=[{"estimated_duration_seconds": 150, "published": True}])]
FormTemplateCreateBody = Annotated[
    FormTemplateCreate,
    Meta(
        examples=[
            {
                "title": "Post-session check-in",
                "kind": "post_session",
                "schema": {
                    "questions": [
                        {
                            "type": "scale",
                            "id": "pain",
                            "prompt": "How much pain do you feel now?",
                            "min": 0,
                            "max": 10,
                            "labels": [{"value": 0, "label": "no pain"}, {"value": 10, "label": "worst pain"}],
                        },
                        {
                            "type": "text",
                            "id": "notes",
                            "prompt": "Anything to tell your therapist?",
                            "required": False,
                        },
                    ]
                },
            }
        ]
    ),
]
ServicePlanCreateBody = Annotated[
    ServicePlanCreate,
    Meta(
        examples=[
            {
                "name": "Telerehab Premium",
                "telerehab_access": True,
                "library_access": True,
                "price_cents": 4900,
                "currency": "EUR",
            }
        ]
    ),
]
PatientServicePlanCreateBody = Annotated[
    PatientServicePlanCreate,
    Meta(examples=[{"service_plan_id": 2, "starts_on": "2026-02-01", "ends_on": "2026-07-31"}]),
]
