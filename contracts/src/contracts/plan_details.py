"""A treatment plan as responses show it: the summary, a page of summaries, its sessions and the detail.

Field names and order follow the spec's JSON.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.paging import FilteredPageInfo
from contracts.plans import (
    PlanConditionTags,
    PlanDelivery,
    PlanDescription,
    PlanDuration,
    PlanFormTemplateId,
    PlanFrequency,
    PlanName,
    PlanRequiresApproval,
    PlanScope,
    PlanServicePlanId,
    PlanSessionDescription,
    PlanSessionId,
    PlanSessionMinutes,
    PlanSessionNumber,
    PlanSessionsCount,
    PlanStatus,
    PlanTotalSessions,
    PlanVisibility,
    PrescribedExerciseId,
    PrescribedMode,
    PrescribedSets,
    PrescriptionId,
    PrescriptionNotes,
    PrescriptionPosition,
    RestAfterExercise,
    RestBetweenSets,
    TreatmentPlanId,
)
from contracts.refs import (
    ExerciseRef,
    FormTemplateRef,
    PlanSpecialist,
    PlanSpecialty,
    ServicePlanRef,
)
from contracts.types import (
    IntId,
    PlanId,
    PositiveInt,
    PrescribedSeconds,
    RepCount,
    SessionName,
    Timestamp,
)

# Responses ----------------------------------------------------------------------------------------------


# Fields of a plan's summary and detail, described once.
PlanCurrentStatus = Annotated[
    PlanStatus,
    Meta(description="The plan's lifecycle status: `draft`, or `active` / `pending_approval` once published."),
]
PlanVersionNumber = Annotated[
    PositiveInt,
    Meta(
        description=(
            "The plan's current version number, from 1; a draft opened on a published plan has the next number."
        )
    ),
]
PlanPublished = Annotated[
    bool,
    Meta(description="Whether at least one version was published, so the plan can be assigned."),
]
PlanCreatedAt = Annotated[Timestamp, Meta(description="When the plan was created (UTC, RFC 3339).")]
PlanUpdatedAt = Annotated[Timestamp, Meta(description="When the plan was last changed (UTC, RFC 3339).")]

PlanOwnerScope = Annotated[
    PlanScope,
    Meta(
        description=(
            "Who owns the plan, derived: `global` (the platform), `org` (the caller's organization) "
            "or `custom` (made for one patient)."
        )
    ),
]

PlanAudience = Annotated[
    PlanVisibility,
    Meta(
        description=(
            "`internal` (staff only) or `library` (patients with library access can browse and "
            "self-assign it once published)."
        )
    ),
]

PlanClonedFrom = Annotated[
    PlanId | None,
    Meta(description="Id of the plan this one was cloned from; null when it was not cloned."),
]

PlanMadeFor = Annotated[
    IntId | None,
    Meta(description="Id of the patient a custom plan was made for; null for plans that are not custom."),
]


class TreatmentPlanSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans``."""

    id: TreatmentPlanId
    name: PlanName
    description: PlanDescription
    type: PlanDelivery
    scope: PlanOwnerScope
    visibility: PlanAudience
    condition_tags: PlanConditionTags
    created_from_id: PlanClonedFrom
    created_for_patient_id: PlanMadeFor
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
    total_sessions: PlanTotalSessions
    specialist: PlanSpecialist
    specialty: PlanSpecialty
    requires_approval: PlanRequiresApproval
    post_session_form_template_id: PlanFormTemplateId
    service_plan_id: PlanServicePlanId
    status: PlanCurrentStatus
    version: PlanVersionNumber
    published: PlanPublished
    sessions_count: PlanSessionsCount
    created_at: PlanCreatedAt
    updated_at: PlanUpdatedAt


class TreatmentPlanList(FilteredPageInfo, frozen=True):
    """``GET /v1/treatment-plans``: one page and the totals to page through the rest."""

    treatment_plans: Annotated[
        list[TreatmentPlanSummary],
        Meta(description="The plans of this page, in the requested sort order."),
    ]


class PlanSessionExercise(msgspec.Struct, frozen=True):
    """An exercise as prescribed in one plan session; which timing fields apply depends on ``mode``."""

    id: PrescriptionId
    exercise_id: PrescribedExerciseId
    sort_order: PrescriptionPosition
    exercise: Annotated[ExerciseRef, Meta(description="The prescribed exercise as the library shows it.")]
    mode: PrescribedMode
    sets: PrescribedSets
    reps: Annotated[
        RepCount | None,
        Meta(description="Repetitions per set in `reps` mode, 1-1000; null in `duration` mode."),
    ]
    hold_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Seconds to hold each repetition, 0-3600; null when not prescribed."),
    ]
    duration_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Seconds each set lasts in `duration` mode, 0-3600; null when not prescribed."),
    ]
    rest_between_sets_seconds: RestBetweenSets
    rest_after_exercise_seconds: RestAfterExercise
    notes: PrescriptionNotes


class PlanSession(msgspec.Struct, frozen=True):
    """One session of a plan, with its prescribed exercises."""

    id: PlanSessionId
    session_number: PlanSessionNumber
    name: SessionName
    description: PlanSessionDescription
    estimated_duration_minutes: PlanSessionMinutes
    exercises: Annotated[list[PlanSessionExercise], Meta(description="The session's exercises in `sort_order`.")]


class TreatmentPlanDetail(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/treatment-plans/{id}``, also returned by create, update, clone, promote and rollback.

    Besides the spec's detail JSON it carries the ownership fields of the list item (scope, visibility,
    condition tags, lineage), since promote and clone change exactly those and return this object.
    core-api always sends them; their defaults (what a new plan gets) only serve a reader of a body
    written before they existed, such as the spec's own sample.
    """

    id: TreatmentPlanId
    name: PlanName
    description: PlanDescription
    type: PlanDelivery
    scope: PlanOwnerScope = PlanScope.ORG
    visibility: PlanAudience = PlanVisibility.INTERNAL
    condition_tags: PlanConditionTags = msgspec.field(default_factory=list)
    created_from_id: PlanClonedFrom = None
    created_for_patient_id: PlanMadeFor = None
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
    total_sessions: PlanTotalSessions
    specialist: PlanSpecialist
    specialty: PlanSpecialty
    requires_approval: PlanRequiresApproval
    post_session_form_template: Annotated[
        FormTemplateRef | None,
        Meta(description="The form template filled in after each completed session; null when none."),
    ]
    service_plan: Annotated[
        ServicePlanRef | None,
        Meta(description="The service plan (billing package) that covers the plan; null when none."),
    ]
    status: PlanCurrentStatus
    version: PlanVersionNumber
    published: PlanPublished
    sessions: Annotated[
        list[PlanSession],
        Meta(description="The plan's sessions by `session_number`, each with its exercises."),
    ]
    created_by_user_id: Annotated[
        IntId | None,
        Meta(description="Id of the user who created the plan; null when unknown."),
    ]
    created_at: PlanCreatedAt
    updated_at: PlanUpdatedAt
