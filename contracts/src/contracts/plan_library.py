"""The patient library: published plans a patient may browse and enroll in themselves."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.paging import FilteredPageInfo
from contracts.plans import (
    Difficulty,
    PlanConditionTags,
    PlanDelivery,
    PlanDescription,
    PlanDuration,
    PlanFrequency,
    PlanName,
    PlanScope,
    PlanSessionsCount,
    PlanTotalSessions,
    TreatmentPlanId,
)
from contracts.refs import PlanSpecialty

# The patient library --------------------------------------------------------------------------------------


class LibraryPlan(msgspec.Struct, frozen=True):
    """One item of ``GET /v1/treatment-plans/library``."""

    id: TreatmentPlanId
    name: PlanName
    description: PlanDescription
    type: PlanDelivery
    scope: Annotated[PlanScope, Meta(description="`global` or `org` (custom plans are never in the library).")]
    condition_tags: PlanConditionTags
    frequency_per_week: PlanFrequency
    duration_weeks: PlanDuration
    total_sessions: PlanTotalSessions
    specialty: PlanSpecialty
    sessions_count: PlanSessionsCount
    difficulty_level: Annotated[
        Difficulty | None,
        Meta(
            description=(
                "The hardest exercise difficulty in the plan's latest published version; null when it has no exercise."
            )
        ),
    ]


class LibraryPage(FilteredPageInfo, frozen=True):
    """``GET /v1/treatment-plans/library``: one page of library plans and the totals to page through the rest."""

    treatment_plans: Annotated[
        list[LibraryPlan],
        Meta(description="The library plans of this page, in the requested sort order."),
    ]
