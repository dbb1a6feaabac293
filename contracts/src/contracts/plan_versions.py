"""Publishing a treatment plan, its published versions, and the clone and promote bodies."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.plan_details import PlanSession, TreatmentPlanDetail
from contracts.plans import (
    PlanDelivery,
    PlanDuration,
    PlanFrequency,
    PlanStatus,
    PlanVisibility,
    TreatmentPlanId,
)
from contracts.types import (
    IntId,
    NonNegativeInt,
    PositiveInt,
    ShortText,
    Timestamp,
)

VersionPublishedAt = Annotated[Timestamp, Meta(description="When the version was published (UTC, RFC 3339).")]


# Publishing, versions, clone and promote ----------------------------------------------------------------


class PublishResult(msgspec.Struct, frozen=True):
    """``POST /v1/treatment-plans/{id}/publish``."""

    id: TreatmentPlanId
    version: Annotated[PositiveInt, Meta(description="The version number just published.")]
    status: Annotated[
        PlanStatus,
        Meta(
            description=(
                "The plan's status after publishing: `active`, or `pending_approval` when the plan requires approval."
            )
        ),
    ]
    published: Annotated[bool, Meta(description="Always true after a publish.")]
    published_at: VersionPublishedAt


VersionRecordId = Annotated[IntId, Meta(description="Id of the version record.")]

VersionNumber = Annotated[PositiveInt, Meta(description="The version number, from 1.")]

VersionPlanName = Annotated[ShortText, Meta(description="The plan's name in this version.")]

VersionSessionsCount = Annotated[NonNegativeInt, Meta(description="Number of sessions in this version.")]

VersionPublishedBy = Annotated[
    IntId | None,
    Meta(description="Id of the user who published the version; null when unknown."),
]


class PlanVersionSummary(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/{id}/versions``, newest first."""

    id: VersionRecordId
    version: VersionNumber
    name: VersionPlanName
    type: PlanDelivery
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
    sessions_count: VersionSessionsCount
    created_by_user_id: VersionPublishedBy
    created_at: VersionPublishedAt


class PlanVersionList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/versions``: the published versions, newest first."""

    versions: Annotated[list[PlanVersionSummary], Meta(description="The plan's published versions, newest first.")]


class PlanVersionDetail(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/versions/{version}``: the version with the plan as it was published."""

    id: VersionRecordId
    treatment_plan_id: TreatmentPlanId
    version: VersionNumber
    name: VersionPlanName
    type: PlanDelivery
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
    sessions_count: VersionSessionsCount
    created_by_user_id: VersionPublishedBy
    created_at: VersionPublishedAt
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
