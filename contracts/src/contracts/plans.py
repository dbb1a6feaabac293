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
    TELEREHAB = "telerehab"
    IN_CLINIC = "in_clinic"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PlanScope(StrEnum):
    """Who owns a plan: the platform (``global``), an organization, or one patient (``custom``)."""

    GLOBAL = "global"
    ORG = "org"
    CUSTOM = "custom"


class PlanVisibility(StrEnum):
    """``library`` plans are browseable by patients; ``internal`` ones only by staff."""

    INTERNAL = "internal"
    LIBRARY = "library"


class ExerciseMode(StrEnum):
    REPS = "reps"
    DURATION = "duration"


class Difficulty(StrEnum):
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

    name: ShortText
    description: LongText | None = None
    type: PlanType
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    # Optional because platform admins author global plans that no single specialist prescribes.
    specialist_id: IntId | None = None
    specialty_id: IntId | None = None
    requires_approval: bool = False
    post_session_form_template_id: IntId | None = None
    service_plan_id: IntId | None = None
    condition_tags: ConditionTags = msgspec.field(default_factory=list)
    visibility: PlanVisibility = PlanVisibility.INTERNAL


class TreatmentPlanUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. Only the
    set fields survive ``msgspec.to_builtins``, which is how a service lists the columns to write.
    ``visibility`` is not here: it is set at create and clone, and only an admin's promote changes it, so a
    body naming it is refused like any other server-owned field.
    """

    name: ShortText | UnsetType = UNSET
    description: LongText | UnsetType | None = UNSET
    type: PlanType | UnsetType = UNSET
    frequency_per_week: FrequencyPerWeek | UnsetType = UNSET
    duration_weeks: DurationWeeks | UnsetType = UNSET
    specialist_id: IntId | UnsetType | None = UNSET
    specialty_id: IntId | UnsetType | None = UNSET
    requires_approval: bool | UnsetType = UNSET
    post_session_form_template_id: IntId | UnsetType | None = UNSET
    service_plan_id: IntId | UnsetType | None = UNSET
    condition_tags: ConditionTags | UnsetType = UNSET


# Small references embedded in responses -----------------------------------------------------------------


class SpecialistRef(msgspec.Struct, frozen=True):
    id: IntId
    name: ShortText


class SpecialtyRef(msgspec.Struct, frozen=True):
    id: IntId
    name: ShortText


class FormTemplateRef(msgspec.Struct, frozen=True):
    id: IntId
    title: ShortText


class ServicePlanRef(msgspec.Struct, frozen=True):
    # The spec only ever shows ``"service_plan": null``; an id and name mirror the other refs.
    id: IntId
    name: ShortText


class ExerciseRef(msgspec.Struct, frozen=True):
    id: UUID
    name: ShortText
    video_thumbnail_url: Url | None
    difficulty: Difficulty


# Responses ----------------------------------------------------------------------------------------------


class TreatmentPlanSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans``."""

    id: PlanId
    name: ShortText
    description: LongText | None
    type: PlanType
    scope: PlanScope
    visibility: PlanVisibility
    condition_tags: list[ConditionTag]
    created_from_id: PlanId | None
    created_for_patient_id: IntId | None
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    total_sessions: _Positive
    specialist: SpecialistRef | None
    specialty: SpecialtyRef | None
    requires_approval: bool
    post_session_form_template_id: IntId | None
    service_plan_id: IntId | None
    status: PlanStatus
    version: _Positive
    published: bool
    sessions_count: _NonNegative
    created_at: Timestamp
    updated_at: Timestamp


class TreatmentPlanList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans``: one page and the totals to page through the rest."""

    treatment_plans: list[TreatmentPlanSummary]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative


class PlanSessionExercise(msgspec.Struct, frozen=True):
    """An exercise as prescribed in one plan session; which timing fields apply depends on ``mode``."""

    id: IntId
    exercise_id: UUID
    sort_order: _NonNegative
    exercise: ExerciseRef
    mode: ExerciseMode
    sets: _SetCount
    reps: _RepCount | None
    hold_seconds: _ExerciseSeconds | None
    duration_seconds: _ExerciseSeconds | None
    rest_between_sets_seconds: _ExerciseSeconds | None
    rest_after_exercise_seconds: _ExerciseSeconds | None
    notes: LongText | None


class PlanSession(msgspec.Struct, frozen=True):
    id: IntId
    session_number: _Positive
    name: ShortText
    description: LongText | None
    estimated_duration_minutes: _SessionMinutes | None
    exercises: list[PlanSessionExercise]


class TreatmentPlanDetail(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/treatment-plans/{id}``, also returned by create, update, clone, promote and rollback.

    Besides the spec's detail JSON it carries the ownership fields of the list item (scope, visibility,
    condition tags, lineage), since promote and clone change exactly those and return this object.
    core-api always sends them; their defaults (what a new plan gets) only serve a reader of a body
    written before they existed, such as the spec's own sample.
    """

    id: PlanId
    name: ShortText
    description: LongText | None
    type: PlanType
    scope: PlanScope = PlanScope.ORG
    visibility: PlanVisibility = PlanVisibility.INTERNAL
    condition_tags: list[ConditionTag] = msgspec.field(default_factory=list)
    created_from_id: PlanId | None = None
    created_for_patient_id: IntId | None = None
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    total_sessions: _Positive
    specialist: SpecialistRef | None
    specialty: SpecialtyRef | None
    requires_approval: bool
    post_session_form_template: FormTemplateRef | None
    service_plan: ServicePlanRef | None
    status: PlanStatus
    version: _Positive
    published: bool
    sessions: list[PlanSession]
    created_by_user_id: IntId | None
    created_at: Timestamp
    updated_at: Timestamp


# Publishing, versions, clone and promote ----------------------------------------------------------------


class PublishResult(msgspec.Struct, frozen=True):
    """``POST /v1/treatment-plans/{id}/publish``."""

    id: PlanId
    version: _Positive
    status: PlanStatus
    published: bool
    published_at: Timestamp


class PlanVersionSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/{id}/versions``, newest first."""

    id: IntId
    version: _Positive
    name: ShortText
    type: PlanType
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    sessions_count: _NonNegative
    created_by_user_id: IntId | None
    created_at: Timestamp


class PlanVersionList(msgspec.Struct, frozen=True):
    versions: list[PlanVersionSummary]


class PlanVersionDetail(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/versions/{version}``: the version with the plan as it was published."""

    id: IntId
    treatment_plan_id: PlanId
    version: _Positive
    name: ShortText
    type: PlanType
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    sessions_count: _NonNegative
    created_by_user_id: IntId | None
    created_at: Timestamp
    sessions_snapshot: list[PlanSession]
    plan_snapshot: TreatmentPlanDetail


class PlanClone(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/clone``; without a name the copy keeps the source's."""

    name: ShortText | None = None
    created_for_patient_id: IntId | None = None


class PlanPromote(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/promote``; without a visibility the plan keeps its own."""

    visibility: PlanVisibility | None = None


# The patient library --------------------------------------------------------------------------------------


class LibraryPlan(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/library``."""

    id: PlanId
    name: ShortText
    description: LongText | None
    type: PlanType
    scope: PlanScope
    condition_tags: list[ConditionTag]
    frequency_per_week: FrequencyPerWeek
    duration_weeks: DurationWeeks
    total_sessions: _Positive
    specialty: SpecialtyRef | None
    sessions_count: _NonNegative
    # The hardest exercise in the plan's latest published version; null when it has none.
    difficulty_level: Difficulty | None


class LibraryPage(msgspec.Struct, frozen=True):
    treatment_plans: list[LibraryPlan]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative
