"""Treatment plan CRUD bodies for core-api (``/v1/treatment-plans``).

Field names and order follow the spec's JSON. Request Structs forbid unknown fields so a client cannot
smuggle server-owned columns (``organization_id``, ``status``, ``version``) into a write.
"""

from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.types import (
    ConditionTag,
    IntId,
    LongText,
    Page,
    PlanId,
    ShortText,
    Timestamp,
    Url,
)

# StrEnums rather than Literals: the services branch on these states and keep transition tables keyed
# by them, and an enum member is a name mypy checks where a bare string is not.


class PlanType(StrEnum):
    """How a plan is delivered.

    - ``telerehab``: the patient follows it at home through the app (needs a service plan with telerehab access).
    - ``in_clinic``: sessions are done at the clinic.
    """

    TELEREHAB = "telerehab"
    IN_CLINIC = "in_clinic"


class PlanStatus(StrEnum):
    """Where a plan is in its lifecycle (docs/treatment-plans.md).

    - ``draft``: being authored (a new plan, or the next version an edit of a published plan opened);
      sessions and exercises can be edited only now.
    - ``active``: published and assignable; enrollments start at once.
    - ``pending_approval``: published and assignable; the plan requires approval, so each enrollment waits
      in ``pending_approval`` until staff approve it.
    - ``paused``, ``completed``, ``cancelled``, ``expired``: the other plan statuses the spec lists (and the
      list filter accepts); core-api never moves a plan into them.
    """

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PlanScope(StrEnum):
    """Who owns a plan, derived from its organization and patient.

    - ``global``: the platform's; readable by every organization, written by platform admins.
    - ``org``: the caller's organization's.
    - ``custom``: made for one patient (``created_for_patient_id``); visible only to staff and that patient.
    """

    GLOBAL = "global"
    ORG = "org"
    CUSTOM = "custom"


class PlanVisibility(StrEnum):
    """Who may browse a plan.

    - ``internal``: staff only.
    - ``library``: also patients with library access, who can self-assign it once published.
    """

    INTERNAL = "internal"
    LIBRARY = "library"


class ExerciseMode(StrEnum):
    """How an exercise's work is prescribed.

    - ``reps``: sets of repetitions (``reps``, optionally ``hold_seconds`` per repetition).
    - ``duration``: timed (``hold_seconds`` or ``duration_seconds``).
    """

    REPS = "reps"
    DURATION = "duration"


class Difficulty(StrEnum):
    """An exercise's difficulty, from easiest to hardest: ``beginner``, ``intermediate``, ``advanced``."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


# Twice a day is the most a home program prescribes.
FrequencyPerWeek = Annotated[int, Meta(ge=1, le=14)]

# Two years; longer care is a new plan.
DurationWeeks = Annotated[int, Meta(ge=1, le=104)]

ConditionTags = Annotated[list[ConditionTag], Meta(max_length=20)]

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]
# Sets, reps and timings: one exercise never needs more than an hour of anything.
_SetCount = Annotated[int, Meta(ge=1, le=50)]
_RepCount = Annotated[int, Meta(ge=1, le=1000)]
_ExerciseSeconds = Annotated[int, Meta(ge=0, le=3600)]
_SessionMinutes = Annotated[int, Meta(ge=1, le=600)]


# Requests -----------------------------------------------------------------------------------------------


class TreatmentPlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans``. The plan starts as a ``draft``, version 1, unpublished."""

    name: Annotated[ShortText, Meta(description="The plan's name, 1-200 characters with at least one visible one.")]
    description: Annotated[
        LongText | None,
        Meta(description="A free-text description of the plan, at most 5000 characters; null when none."),
    ] = None
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    specialist_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the specialist who prescribes the plan, in the caller's organization; null for "
                "none (platform admins author global plans without one)."
            )
        ),
    ] = None
    specialty_id: Annotated[
        IntId | None,
        Meta(description="Id of the plan's specialty (reference data); null for none."),
    ] = None
    requires_approval: Annotated[
        bool,
        Meta(
            description=(
                "Whether publishing puts the plan in `pending_approval` and each new enrollment must be "
                "approved before the patient can start it."
            )
        ),
    ] = False
    post_session_form_template_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the form template a patient is asked to fill in after each completed session; null for none."
            )
        ),
    ] = None
    service_plan_id: Annotated[
        IntId | None,
        Meta(description="Id of the service plan (billing package) that covers the plan; null for none."),
    ] = None
    condition_tags: Annotated[
        ConditionTags,
        Meta(
            description=(
                "Condition or body-area tags (lowercase slugs such as `post_acl`), at most 20; patients "
                "filter the library by them."
            )
        ),
    ] = msgspec.field(default_factory=list)
    visibility: Annotated[
        PlanVisibility,
        Meta(
            description=(
                "`internal` (staff only) or `library` (browseable by patients once published); set here "
                "or by an admin's promote, never by PUT."
            )
        ),
    ] = PlanVisibility.INTERNAL


class TreatmentPlanUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. Only the
    set fields survive ``msgspec.to_builtins``, which is how a service lists the columns to write.
    ``visibility`` is not here: it is set at create and clone, and only an admin's promote changes it, so a
    body naming it is refused like any other server-owned field.
    """

    name: Annotated[
        ShortText | UnsetType,
        Meta(description="New name, 1-200 characters; absent keeps the current one."),
    ] = UNSET
    description: Annotated[
        LongText | UnsetType | None,
        Meta(description="New description, at most 5000 characters; null clears it, absent keeps it."),
    ] = UNSET
    type: Annotated[
        PlanType | UnsetType,
        Meta(description="New delivery type (`telerehab` or `in_clinic`); absent keeps it."),
    ] = UNSET
    frequency_per_week: Annotated[
        FrequencyPerWeek | UnsetType,
        Meta(description="New sessions per week, 1-14; absent keeps it."),
    ] = UNSET
    duration_weeks: Annotated[
        DurationWeeks | UnsetType,
        Meta(description="New length in weeks, 1-104; absent keeps it."),
    ] = UNSET
    specialist_id: Annotated[
        IntId | UnsetType | None,
        Meta(description="New prescribing specialist's id; null clears it, absent keeps it."),
    ] = UNSET
    specialty_id: Annotated[
        IntId | UnsetType | None,
        Meta(description="New specialty id; null clears it, absent keeps it."),
    ] = UNSET
    requires_approval: Annotated[
        bool | UnsetType,
        Meta(description="Whether enrollments need approval; absent keeps it."),
    ] = UNSET
    post_session_form_template_id: Annotated[
        IntId | UnsetType | None,
        Meta(description="New post-session form template id; null clears it, absent keeps it."),
    ] = UNSET
    service_plan_id: Annotated[
        IntId | UnsetType | None,
        Meta(description="New service plan id; null clears it, absent keeps it."),
    ] = UNSET
    condition_tags: Annotated[
        ConditionTags | UnsetType,
        Meta(description="Replaces the condition tags (lowercase slugs, at most 20); absent keeps them."),
    ] = UNSET


TreatmentPlanCreateBody = Annotated[
    TreatmentPlanCreate,
    Meta(
        examples=[
            {
                "name": "Post-ACL Rehab Weeks 1-4",
                "description": "Progressive rehabilitation program for ACL reconstruction recovery",
                "type": "telerehab",
                "frequency_per_week": 3,
                "duration_weeks": 4,
                "specialist_id": 5,
                "specialty_id": 1,
                "requires_approval": True,
                "post_session_form_template_id": 42,
                "service_plan_id": None,
            }
        ]
    ),
]

# The spec: "Same as create (partial updates allowed)".
TreatmentPlanUpdateBody = Annotated[
    TreatmentPlanUpdate,
    Meta(examples=[{"name": "Post-ACL Rehab Weeks 1-6", "duration_weeks": 6, "service_plan_id": None}]),
]


# Small references embedded in responses -----------------------------------------------------------------


class SpecialistRef(msgspec.Struct, frozen=True):
    """A specialist, as a plan names it."""

    id: Annotated[IntId, Meta(description="The specialist's id.")]
    name: Annotated[ShortText, Meta(description="The specialist's display name.")]


class SpecialtyRef(msgspec.Struct, frozen=True):
    """A medical specialty (reference data), as a plan names it."""

    id: Annotated[IntId, Meta(description="The specialty's id.")]
    name: Annotated[ShortText, Meta(description="The specialty's name.")]


class FormTemplateRef(msgspec.Struct, frozen=True):
    """A form template, as a plan names it."""

    id: Annotated[IntId, Meta(description="The form template's id.")]
    title: Annotated[ShortText, Meta(description="The form template's title.")]


class ServicePlanRef(msgspec.Struct, frozen=True):
    """A service plan (billing package), as a plan names it."""

    # The spec only ever shows ``"service_plan": null``; an id and name mirror the other refs.
    id: Annotated[IntId, Meta(description="The service plan's id.")]
    name: Annotated[ShortText, Meta(description="The service plan's name.")]


class ExerciseRef(msgspec.Struct, frozen=True):
    """An exercise of the library, as a plan session prescribes it."""

    id: Annotated[UUID, Meta(description="The exercise's id (UUID) in the exercise library.")]
    name: Annotated[ShortText, Meta(description="The exercise's name.")]
    video_thumbnail_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the exercise video's thumbnail image; null when none."),
    ]
    difficulty: Annotated[
        Difficulty,
        Meta(description="The exercise's difficulty: `beginner`, `intermediate` or `advanced`."),
    ]
    # What a patient needs to do the exercise, frozen with each published version. Defaults only for a
    # reader of a document written without them (the spec's plan sample); core-api always sends them.
    video_url: Annotated[
        Url | None, Meta(description="Absolute http(s) URL of the exercise's demonstration video; null when none.")
    ] = None
    instructions: Annotated[
        list[str],
        Meta(
            description=(
                "The exercise's instructions as steps, in order: one per line of its text, list markers removed."
            )
        ),
    ] = msgspec.field(default_factory=list)


# Responses ----------------------------------------------------------------------------------------------


class TreatmentPlanSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans``."""

    id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    name: Annotated[ShortText, Meta(description="The plan's name, 1-200 characters with at least one visible one.")]
    description: Annotated[
        LongText | None,
        Meta(description="A free-text description of the plan, at most 5000 characters; null when none."),
    ]
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    scope: Annotated[
        PlanScope,
        Meta(
            description=(
                "Who owns the plan, derived: `global` (the platform), `org` (the caller's organization) "
                "or `custom` (made for one patient)."
            )
        ),
    ]
    visibility: Annotated[
        PlanVisibility,
        Meta(
            description=(
                "`internal` (staff only) or `library` (patients with library access can browse and "
                "self-assign it once published)."
            )
        ),
    ]
    condition_tags: Annotated[
        list[ConditionTag],
        Meta(
            description=(
                "Condition or body-area tags (lowercase slugs such as `post_acl`), at most 20; patients "
                "filter the library by them."
            )
        ),
    ]
    created_from_id: Annotated[
        PlanId | None,
        Meta(description="Id of the plan this one was cloned from; null when it was not cloned."),
    ]
    created_for_patient_id: Annotated[
        IntId | None,
        Meta(description="Id of the patient a custom plan was made for; null for plans that are not custom."),
    ]
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    total_sessions: Annotated[
        _Positive,
        Meta(description="Sessions the plan prescribes in all: frequency_per_week * duration_weeks."),
    ]
    specialist: Annotated[SpecialistRef | None, Meta(description="The prescribing specialist; null when none.")]
    specialty: Annotated[SpecialtyRef | None, Meta(description="The plan's specialty; null when none.")]
    requires_approval: Annotated[
        bool,
        Meta(
            description=(
                "Whether publishing puts the plan in `pending_approval` and each new enrollment must be "
                "approved before the patient can start it."
            )
        ),
    ]
    post_session_form_template_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the form template a patient is asked to fill in after each completed session; null for none."
            )
        ),
    ]
    service_plan_id: Annotated[
        IntId | None,
        Meta(description="Id of the service plan (billing package) that covers the plan; null for none."),
    ]
    status: Annotated[
        PlanStatus,
        Meta(description="The plan's lifecycle status: `draft`, or `active` / `pending_approval` once published."),
    ]
    version: Annotated[
        _Positive,
        Meta(
            description=(
                "The plan's current version number, from 1; a draft opened on a published plan has the next number."
            )
        ),
    ]
    published: Annotated[
        bool,
        Meta(description="Whether at least one version was published, so the plan can be assigned."),
    ]
    sessions_count: Annotated[
        _NonNegative,
        Meta(description="Number of distinct sessions defined in the plan (the rotation patients cycle through)."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the plan was created (UTC, RFC 3339).")]
    updated_at: Annotated[Timestamp, Meta(description="When the plan was last changed (UTC, RFC 3339).")]


class TreatmentPlanList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans``: one page and the totals to page through the rest."""

    treatment_plans: Annotated[
        list[TreatmentPlanSummary],
        Meta(description="The plans of this page, in the requested sort order."),
    ]
    total: Annotated[_NonNegative, Meta(description="Number of items matching the filters, over all pages.")]
    page: Annotated[Page, Meta(description="The 1-based page number returned.")]
    limit: Annotated[_Positive, Meta(description="Items per page as requested (1-100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Number of pages at this limit; 0 when nothing matches.")]


class PlanSessionExercise(msgspec.Struct, frozen=True):
    """An exercise as prescribed in one plan session; which timing fields apply depends on ``mode``."""

    id: Annotated[IntId, Meta(description="Id of this prescription (the session exercise), not of the exercise.")]
    exercise_id: Annotated[UUID, Meta(description="Id (UUID) of the prescribed exercise in the exercise library.")]
    sort_order: Annotated[_NonNegative, Meta(description="0-based position of the exercise within its session.")]
    exercise: Annotated[ExerciseRef, Meta(description="The prescribed exercise as the library shows it.")]
    mode: Annotated[
        ExerciseMode,
        Meta(description="`reps` (sets of repetitions) or `duration` (timed holds or bouts)."),
    ]
    sets: Annotated[_SetCount, Meta(description="Prescribed sets, 1-50.")]
    reps: Annotated[
        _RepCount | None,
        Meta(description="Repetitions per set in `reps` mode, 1-1000; null in `duration` mode."),
    ]
    hold_seconds: Annotated[
        _ExerciseSeconds | None,
        Meta(description="Seconds to hold each repetition, 0-3600; null when not prescribed."),
    ]
    duration_seconds: Annotated[
        _ExerciseSeconds | None,
        Meta(description="Seconds each set lasts in `duration` mode, 0-3600; null when not prescribed."),
    ]
    rest_between_sets_seconds: Annotated[
        _ExerciseSeconds | None,
        Meta(description="Rest between sets in seconds, 0-3600; null when not prescribed."),
    ]
    rest_after_exercise_seconds: Annotated[
        _ExerciseSeconds | None,
        Meta(description="Rest after the exercise in seconds, 0-3600; null when not prescribed."),
    ]
    notes: Annotated[
        LongText | None,
        Meta(description="The specialist's instructions for this prescription; null when none."),
    ]


class PlanSession(msgspec.Struct, frozen=True):
    """One session of a plan, with its prescribed exercises."""

    id: Annotated[IntId, Meta(description="The session's id.")]
    session_number: Annotated[_Positive, Meta(description="1-based position of the session in the plan's rotation.")]
    name: Annotated[ShortText, Meta(description="The session's name.")]
    description: Annotated[LongText | None, Meta(description="A free-text description of the session; null when none.")]
    estimated_duration_minutes: Annotated[
        _SessionMinutes | None,
        Meta(description="Estimated length of the session in minutes, 1-600; null when not given."),
    ]
    exercises: Annotated[list[PlanSessionExercise], Meta(description="The session's exercises in `sort_order`.")]


class TreatmentPlanDetail(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/treatment-plans/{id}``, also returned by create, update, clone, promote and rollback.

    Besides the spec's detail JSON it carries the ownership fields of the list item (scope, visibility,
    condition tags, lineage), since promote and clone change exactly those and return this object.
    core-api always sends them; their defaults (what a new plan gets) only serve a reader of a body
    written before they existed, such as the spec's own sample.
    """

    id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    name: Annotated[ShortText, Meta(description="The plan's name, 1-200 characters with at least one visible one.")]
    description: Annotated[
        LongText | None,
        Meta(description="A free-text description of the plan, at most 5000 characters; null when none."),
    ]
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    scope: Annotated[
        PlanScope,
        Meta(
            description=(
                "Who owns the plan, derived: `global` (the platform), `org` (the caller's organization) "
                "or `custom` (made for one patient)."
            )
        ),
    ] = PlanScope.ORG
    visibility: Annotated[
        PlanVisibility,
        Meta(
            description=(
                "`internal` (staff only) or `library` (patients with library access can browse and "
                "self-assign it once published)."
            )
        ),
    ] = PlanVisibility.INTERNAL
    condition_tags: Annotated[
        list[ConditionTag],
        Meta(
            description=(
                "Condition or body-area tags (lowercase slugs such as `post_acl`), at most 20; patients "
                "filter the library by them."
            )
        ),
    ] = msgspec.field(default_factory=list)
    created_from_id: Annotated[
        PlanId | None,
        Meta(description="Id of the plan this one was cloned from; null when it was not cloned."),
    ] = None
    created_for_patient_id: Annotated[
        IntId | None,
        Meta(description="Id of the patient a custom plan was made for; null for plans that are not custom."),
    ] = None
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    total_sessions: Annotated[
        _Positive,
        Meta(description="Sessions the plan prescribes in all: frequency_per_week * duration_weeks."),
    ]
    specialist: Annotated[SpecialistRef | None, Meta(description="The prescribing specialist; null when none.")]
    specialty: Annotated[SpecialtyRef | None, Meta(description="The plan's specialty; null when none.")]
    requires_approval: Annotated[
        bool,
        Meta(
            description=(
                "Whether publishing puts the plan in `pending_approval` and each new enrollment must be "
                "approved before the patient can start it."
            )
        ),
    ]
    post_session_form_template: Annotated[
        FormTemplateRef | None,
        Meta(description="The form template filled in after each completed session; null when none."),
    ]
    service_plan: Annotated[
        ServicePlanRef | None,
        Meta(description="The service plan (billing package) that covers the plan; null when none."),
    ]
    status: Annotated[
        PlanStatus,
        Meta(description="The plan's lifecycle status: `draft`, or `active` / `pending_approval` once published."),
    ]
    version: Annotated[
        _Positive,
        Meta(
            description=(
                "The plan's current version number, from 1; a draft opened on a published plan has the next number."
            )
        ),
    ]
    published: Annotated[
        bool,
        Meta(description="Whether at least one version was published, so the plan can be assigned."),
    ]
    sessions: Annotated[
        list[PlanSession],
        Meta(description="The plan's sessions by `session_number`, each with its exercises."),
    ]
    created_by_user_id: Annotated[
        IntId | None,
        Meta(description="Id of the user who created the plan; null when unknown."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the plan was created (UTC, RFC 3339).")]
    updated_at: Annotated[Timestamp, Meta(description="When the plan was last changed (UTC, RFC 3339).")]


# Publishing, versions, clone and promote ----------------------------------------------------------------


class PublishResult(msgspec.Struct, frozen=True):
    """``POST /v1/treatment-plans/{id}/publish``."""

    id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    version: Annotated[_Positive, Meta(description="The version number just published.")]
    status: Annotated[
        PlanStatus,
        Meta(
            description=(
                "The plan's status after publishing: `active`, or `pending_approval` when the plan requires approval."
            )
        ),
    ]
    published: Annotated[bool, Meta(description="Always true after a publish.")]
    published_at: Annotated[Timestamp, Meta(description="When the version was published (UTC, RFC 3339).")]


class PlanVersionSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/{id}/versions``, newest first."""

    id: Annotated[IntId, Meta(description="Id of the version record.")]
    version: Annotated[_Positive, Meta(description="The version number, from 1.")]
    name: Annotated[ShortText, Meta(description="The plan's name in this version.")]
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    sessions_count: Annotated[_NonNegative, Meta(description="Number of sessions in this version.")]
    created_by_user_id: Annotated[
        IntId | None,
        Meta(description="Id of the user who published the version; null when unknown."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the version was published (UTC, RFC 3339).")]


class PlanVersionList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/versions``: the published versions, newest first."""

    versions: Annotated[list[PlanVersionSummary], Meta(description="The plan's published versions, newest first.")]


class PlanVersionDetail(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/versions/{version}``: the version with the plan as it was published."""

    id: Annotated[IntId, Meta(description="Id of the version record.")]
    treatment_plan_id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    version: Annotated[_Positive, Meta(description="The version number, from 1.")]
    name: Annotated[ShortText, Meta(description="The plan's name in this version.")]
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    sessions_count: Annotated[_NonNegative, Meta(description="Number of sessions in this version.")]
    created_by_user_id: Annotated[
        IntId | None,
        Meta(description="Id of the user who published the version; null when unknown."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the version was published (UTC, RFC 3339).")]
    sessions_snapshot: Annotated[
        list[PlanSession],
        Meta(description="The version's sessions and exercises as they were frozen at publishing."),
    ]
    plan_snapshot: Annotated[
        TreatmentPlanDetail,
        Meta(description="The whole plan as `GET /v1/treatment-plans/{id}` showed it when the version was published."),
    ]


class PlanClone(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/clone``; without a name the copy keeps the source's."""

    name: Annotated[
        ShortText | None,
        Meta(description="Name of the copy, 1-200 characters; null or absent keeps the source's name."),
    ] = None
    created_for_patient_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the patient the copy is made for, which makes it a `custom` plan; null or absent "
                "for an organization plan."
            )
        ),
    ] = None


class PlanPromote(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/promote``; without a visibility the plan keeps its own."""

    visibility: Annotated[
        PlanVisibility | None,
        Meta(description="The promoted plan's visibility, `internal` or `library`; null or absent keeps its own."),
    ] = None


PlanCloneBody = Annotated[
    PlanClone, Meta(examples=[{"name": "Jane Doe - Post-ACL Rehab Weeks 1-4", "created_for_patient_id": 123}])
]

PlanPromoteBody = Annotated[PlanPromote, Meta(examples=[{"visibility": "library"}])]


# The patient library --------------------------------------------------------------------------------------


class LibraryPlan(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/library``."""

    id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    name: Annotated[ShortText, Meta(description="The plan's name, 1-200 characters with at least one visible one.")]
    description: Annotated[
        LongText | None,
        Meta(description="A free-text description of the plan, at most 5000 characters; null when none."),
    ]
    type: Annotated[
        PlanType,
        Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
    ]
    scope: Annotated[PlanScope, Meta(description="`global` or `org` (custom plans are never in the library).")]
    condition_tags: Annotated[
        list[ConditionTag],
        Meta(
            description=(
                "Condition or body-area tags (lowercase slugs such as `post_acl`), at most 20; patients "
                "filter the library by them."
            )
        ),
    ]
    frequency_per_week: Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
    duration_weeks: Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
    total_sessions: Annotated[
        _Positive,
        Meta(description="Sessions the plan prescribes in all: frequency_per_week * duration_weeks."),
    ]
    specialty: Annotated[SpecialtyRef | None, Meta(description="The plan's specialty; null when none.")]
    sessions_count: Annotated[
        _NonNegative,
        Meta(description="Number of distinct sessions defined in the plan (the rotation patients cycle through)."),
    ]
    difficulty_level: Annotated[
        Difficulty | None,
        Meta(
            description=(
                "The hardest exercise difficulty in the plan's latest published version; null when it has no exercise."
            )
        ),
    ]


class LibraryPage(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/library``: one page of library plans and the totals to page through the rest."""

    treatment_plans: Annotated[
        list[LibraryPlan],
        Meta(description="The library plans of this page, in the requested sort order."),
    ]
    total: Annotated[_NonNegative, Meta(description="Number of items matching the filters, over all pages.")]
    page: Annotated[Page, Meta(description="The 1-based page number returned.")]
    limit: Annotated[_Positive, Meta(description="Items per page as requested (1-100).")]
    total_pages: Annotated[_NonNegative, Meta(description="Number of pages at this limit; 0 when nothing matches.")]
