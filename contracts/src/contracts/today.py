"""A patient's sessions for today, plan by plan.

Field names follow the spec's JSON.
"""

from datetime import date
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.enrollments import EnrollmentStatus
from contracts.execution import NoSessionReason
from contracts.plan_details import PlanSession
from contracts.plans import TreatmentPlanId
from contracts.types import (
    CurrentWeek,
    EnrollmentId,
    IntId,
    NonNegativeInt,
    PatientId,
    Percentage,
    PositiveInt,
    SessionsCompleted,
    SessionsSkipped,
    SessionsTotal,
    ShortText,
    TotalWeeks,
)


class TodayPlanRef(msgspec.Struct, frozen=True):
    """The treatment plan an enrollment follows."""

    id: TreatmentPlanId
    name: Annotated[ShortText, Meta(description="The plan's name.")]


class TodayProgress(msgspec.Struct, frozen=True):
    """An enrollment's counters and this week's progress, in the patient's time zone."""

    sessions_completed: SessionsCompleted
    sessions_skipped: SessionsSkipped
    sessions_total: SessionsTotal
    current_week: CurrentWeek
    total_weeks: TotalWeeks
    sessions_this_week: Annotated[
        NonNegativeInt,
        Meta(
            description=(
                "Sessions completed in the current week, between its local midnights in the patient's time zone."
            )
        ),
    ]
    frequency_per_week: Annotated[PositiveInt, Meta(description="Sessions prescribed per week.")]
    completion_percentage: Annotated[
        Percentage,
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals."),
    ]


class TodayPlan(msgspec.Struct, frozen=True):
    """One enrollment: the session to do next, or why there is none."""

    patient_treatment_plan_id: EnrollmentId
    treatment_plan: Annotated[TodayPlanRef, Meta(description="The plan the enrollment follows.")]
    enrollment_status: Annotated[EnrollmentStatus, Meta(description="The enrollment's status as of now.")]
    next_session: Annotated[
        PlanSession | None,
        Meta(
            description=(
                "The session to do next (by rotation, from the frozen version), with its exercises; "
                "null when none is offered."
            )
        ),
    ]
    no_session_reason: Annotated[
        NoSessionReason | None,
        Meta(description="Why no session is offered; null when next_session is given."),
    ]
    in_progress_session_completion_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of a session already started and not finished: resume it (starting again returns "
                "it); null when none."
            )
        ),
    ]
    progress: Annotated[TodayProgress, Meta(description="The enrollment's counters and this week's progress.")]


class TodaySessions(msgspec.Struct, frozen=True):
    """``GET /v1/patients/{patient_id}/treatment-plans/today``: the spec's sample at the top level for the
    enrollment due next, and every enrollment of the patient, active ones first, in ``treatment_plans``.

    The enrollment due next is one that offers a session today: one with a session in progress first,
    then one still short of its weekly frequency this week, then the earliest start date, then the lowest
    id. When none offers a session, the top-level enrollment fields are ``null`` and each enrollment's
    ``no_session_reason`` says why."""

    patient_treatment_plan_id: Annotated[
        IntId | None,
        Meta(description="The due enrollment's id; null when no enrollment offers a session."),
    ]
    treatment_plan: Annotated[
        TodayPlanRef | None,
        Meta(description="The due enrollment's plan; null when none is due."),
    ]
    next_session: Annotated[
        PlanSession | None,
        Meta(description="The due enrollment's next session with its exercises; null when none is due."),
    ]
    progress: Annotated[
        TodayProgress | None,
        Meta(description="The due enrollment's counters and this week's progress; null when none is due."),
    ]
    in_progress_session_completion_id: Annotated[
        IntId | None,
        Meta(description=("The due enrollment's session already started and not finished: resume it; null when none.")),
    ]
    patient_id: PatientId
    time_zone: Annotated[
        str,
        Meta(
            description=(
                "The patient's IANA time zone (`Europe/Madrid`) weeks and local_date are computed in; "
                "`UTC` when the stored zone is unknown."
            )
        ),
    ]
    local_date: Annotated[date, Meta(description="Today's date in the patient's time zone.")]
    pose_tracking_allowed: Annotated[
        bool,
        Meta(
            description=(
                "Whether the camera may track poses (biometric consent and analytics level 2+); a "
                "revocation shows here at once and reaches telemetry within a token's lifetime."
            )
        ),
    ]
    treatment_plans: Annotated[
        list[TodayPlan],
        Meta(description="Every enrollment of the patient (at most 50), active ones first."),
    ]
