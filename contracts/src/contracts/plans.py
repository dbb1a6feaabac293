"""Treatment plans (``/v1/treatment-plans``): their states and kinds, and the create and update bodies.

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
    NonNegativeInt,
    PlanId,
    PositiveInt,
    PrescribedSeconds,
    SessionMinutes,
    SetCount,
    ShortText,
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


# Fields of a treatment plan, described once for every Struct that shows them ---------------------------

TreatmentPlanId = Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
PlanName = Annotated[ShortText, Meta(description="The plan's name, 1-200 characters with at least one visible one.")]
PlanDescription = Annotated[
    LongText | None,
    Meta(description="A free-text description of the plan, at most 5000 characters; null when none."),
]
PlanDelivery = Annotated[
    PlanType,
    Meta(description="How the plan is delivered: `telerehab` (at home, through the app) or `in_clinic`."),
]
PlanFrequency = Annotated[FrequencyPerWeek, Meta(description="Prescribed sessions per week, 1-14.")]
PlanDuration = Annotated[DurationWeeks, Meta(description="The plan's length in weeks, 1-104.")]
PlanTotalSessions = Annotated[
    PositiveInt,
    Meta(description="Sessions the plan prescribes in all: frequency_per_week * duration_weeks."),
]
PlanConditionTags = Annotated[
    list[ConditionTag],
    Meta(
        description=(
            "Condition or body-area tags (lowercase slugs such as `post_acl`), at most 20; patients "
            "filter the library by them."
        )
    ),
]
PlanSessionsCount = Annotated[
    NonNegativeInt,
    Meta(description="Number of distinct sessions defined in the plan (the rotation patients cycle through)."),
]
PlanRequiresApproval = Annotated[
    bool,
    Meta(
        description=(
            "Whether publishing puts the plan in `pending_approval` and each new enrollment must be "
            "approved before the patient can start it."
        )
    ),
]
DescriptionUpdate = Annotated[
    LongText | UnsetType | None,
    Meta(description="New description, at most 5000 characters; null clears it, absent keeps it."),
]
PlanFormTemplateId = Annotated[
    IntId | None,
    Meta(
        description=(
            "Id of the form template a patient is asked to fill in after each completed session; null for none."
        )
    ),
]
PlanServicePlanId = Annotated[
    IntId | None,
    Meta(description="Id of the service plan (billing package) that covers the plan; null for none."),
]


# Fields of a plan session, described once ---------------------------------------------------------------

PlanSessionId = Annotated[IntId, Meta(description="The session's id.")]
PlanSessionNumber = Annotated[PositiveInt, Meta(description="1-based position of the session in the plan's rotation.")]
PlanSessionDescription = Annotated[
    LongText | None, Meta(description="A free-text description of the session; null when none.")
]
PlanSessionMinutes = Annotated[
    SessionMinutes | None,
    Meta(description="Estimated length of the session in minutes, 1-600; null when not given."),
]

# Fields of a prescription (an exercise of a plan session), described once ------------------------------

PrescriptionId = Annotated[
    IntId, Meta(description="Id of this prescription (the session exercise), not of the exercise.")
]
PrescribedExerciseId = Annotated[
    UUID, Meta(description="Id (UUID) of the prescribed exercise in the exercise library.")
]
PrescriptionPosition = Annotated[
    NonNegativeInt, Meta(description="0-based position of the exercise within its session.")
]
PrescribedMode = Annotated[
    ExerciseMode,
    Meta(description="`reps` (sets of repetitions) or `duration` (timed holds or bouts)."),
]
PrescribedSets = Annotated[SetCount, Meta(description="Prescribed sets, 1-50.")]
RestBetweenSets = Annotated[
    PrescribedSeconds | None,
    Meta(description="Rest between sets in seconds, 0-3600; null when not prescribed."),
]
RestAfterExercise = Annotated[
    PrescribedSeconds | None,
    Meta(description="Rest after the exercise in seconds, 0-3600; null when not prescribed."),
]
PrescriptionNotes = Annotated[
    LongText | None,
    Meta(description="The specialist's instructions for this prescription; null when none."),
]


# Requests -----------------------------------------------------------------------------------------------


class TreatmentPlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans``. The plan starts as a ``draft``, version 1, unpublished."""

    name: PlanName
    description: PlanDescription = None
    type: PlanDelivery
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
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
    requires_approval: PlanRequiresApproval = False
    post_session_form_template_id: PlanFormTemplateId = None
    service_plan_id: PlanServicePlanId = None
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
    description: DescriptionUpdate = UNSET
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
