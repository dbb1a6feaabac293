"""Progress and analytics reports for core-api: an enrollment's progress (the patient dashboard), its
detailed analytics (the specialist dashboard) and the organization dashboard.

Field names follow the spec's JSON. Every rule (streaks, trends, rounding) is in docs/progress.md.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.types import IntId, PainLevel, Percentage, Timestamp

_Count = Annotated[int, Meta(ge=0)]
_Week = Annotated[int, Meta(ge=0)]


class Streak(msgspec.Struct, frozen=True):
    """Runs of consecutive local days with at least one completed session."""

    current: Annotated[
        _Count,
        Meta(
            description=(
                "Consecutive local days (patient's time zone) with a completed session, in the run "
                "ending today or yesterday; 0 otherwise."
            )
        ),
    ]
    best: Annotated[
        _Count,
        Meta(description="The longest run of consecutive local days with at least one completed session."),
    ]


class PainPoint(msgspec.Struct, frozen=True):
    """One completed session's pain levels; ``session`` is its 1-based order among completed sessions."""

    session: Annotated[
        Annotated[int, Meta(ge=1)],
        Meta(
            description=(
                "1-based order of the completed session among the enrollment's completed sessions (not "
                "the plan's session number)."
            )
        ),
    ]
    before: Annotated[
        PainLevel | None,
        Meta(description="Pain reported before the session on the 0-10 numeric rating scale; null when not reported."),
    ]
    after: Annotated[
        PainLevel | None,
        Meta(description="Pain reported after the session, 0-10; null when not reported."),
    ]


class ProgressReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/progress``."""

    patient_treatment_plan_id: Annotated[IntId, Meta(description="The enrollment's id.")]
    sessions_total: Annotated[_Count, Meta(description="Sessions the enrollment prescribes in all.")]
    sessions_completed: Annotated[_Count, Meta(description="Sessions completed so far.")]
    sessions_skipped: Annotated[_Count, Meta(description="Sessions skipped so far.")]
    sessions_remaining: Annotated[
        _Count,
        Meta(description="max(sessions_total - sessions_completed - sessions_skipped, 0)."),
    ]
    completion_percentage: Annotated[
        Percentage,
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals (41.67)."),
    ]
    current_week: Annotated[
        _Week,
        Meta(
            description=(
                "1-based week of the enrollment today in the patient's time zone (week 1 = start_date "
                "and the six days after); 0 before start_date, capped at total_weeks."
            )
        ),
    ]
    total_weeks: Annotated[_Week, Meta(description="The frozen version's duration in weeks.")]
    start_date: Annotated[
        date,
        Meta(description="First day of the enrollment, a calendar date in the patient's time zone."),
    ]
    end_date: Annotated[
        date,
        Meta(
            description=(
                "Last day of the enrollment's window (start_date + 7 * duration_weeks days), in the "
                "patient's time zone."
            )
        ),
    ]
    days_remaining: Annotated[
        _Count,
        Meta(description="Calendar days from today to end_date in the patient's time zone, 0 once it passed."),
    ]
    streak: Annotated[Streak, Meta(description="Runs of consecutive local days with a completed session.")]
    pain_trend: Annotated[list[PainPoint], Meta(description="One point per completed session, by completion time.")]
    average_session_duration_seconds: Annotated[
        _Count | None,
        Meta(description="Mean duration of completed sessions in whole seconds; null without a completed session."),
    ]
    average_completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean over completed sessions of 100 * exercises_completed / exercises_total, 0-100 "
                "with one decimal; null without a completed session."
            )
        ),
    ]
    average_video_watch_percentage: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean video_watch_percentage of the non-skipped exercise logs of completed sessions, "
                "0-100 with one decimal; null without one."
            )
        ),
    ]


class SessionCompletionSummary(msgspec.Struct, frozen=True):
    """One completed session of an enrollment, as analytics lists it."""

    completed_at: Annotated[Timestamp, Meta(description="When the session was completed (UTC, RFC 3339).")]
    duration_seconds: Annotated[_Count, Meta(description="Seconds from start to completion.")]
    exercises_completed: Annotated[
        _Count,
        Meta(description="Exercises of the session done (not skipped, something recorded)."),
    ]
    exercises_skipped: Annotated[_Count, Meta(description="Exercises of the session skipped.")]
    pain_level_before: Annotated[
        PainLevel | None,
        Meta(description="Pain before the session, 0-10 numeric rating scale; null when not reported."),
    ]
    pain_level_after: Annotated[
        PainLevel | None,
        Meta(description="Pain after the session, 0-10; null when not reported."),
    ]
    perceived_difficulty: Annotated[
        Annotated[int, Meta(ge=1, le=10)] | None,
        Meta(
            description=(
                "The patient's perceived exertion of the whole session, 1 (very easy) to 10 (maximal); "
                "null when not reported."
            )
        ),
    ]


class SessionAnalytics(msgspec.Struct, frozen=True):
    """One session of the frozen plan version and its completed completions."""

    session_number: Annotated[
        Annotated[int, Meta(ge=1)],
        Meta(description="The session's 1-based number in the frozen plan version."),
    ]
    completions: Annotated[
        list[SessionCompletionSummary],
        Meta(
            description=(
                "Every completed completion of that session, oldest first (skipped and in-progress ones "
                "are not listed)."
            )
        ),
    ]


class PerformanceTrend(StrEnum):
    """Direction of an exercise's pose accuracy scores in session order: the mean of the later half minus the
    mean of the earlier half (the middle score left out when the count is odd).

    - ``improving``: at least +5 points.
    - ``declining``: at most -5 points.
    - ``stable``: in between, or fewer than two scores.
    """

    IMPROVING = "improving"
    STABLE = "stable"
    DECLINING = "declining"


class ExercisePerformance(msgspec.Struct, frozen=True):
    """One exercise's performance over the logs of an enrollment's completed sessions (docs/progress.md)."""

    exercise_id: Annotated[UUID, Meta(description="The exercise's id (UUID).")]
    exercise_name: Annotated[str, Meta(description="The exercise's name.")]
    times_performed: Annotated[_Count, Meta(description="Exercise logs of completed sessions not skipped.")]
    times_skipped: Annotated[_Count, Meta(description="Exercise logs of completed sessions skipped.")]
    average_completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean per performed log of min(100, 100 * actual/prescribed sets * reps (or duration)), "
                "0-100 with one decimal; null without a performed log with actual_sets."
            )
        ),
    ]
    average_video_watch_percentage: Annotated[
        Percentage | None,
        Meta(description="Mean video watch percentage over performed logs, 0-100 with one decimal; null without one."),
    ]
    average_pose_accuracy: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean pose accuracy score over performed logs, a percentage 0-100 with one decimal (not "
                "a 0-1 ratio); null without a score."
            )
        ),
    ]
    trend: Annotated[
        PerformanceTrend,
        Meta(description="Direction of the pose accuracy scores in session order (see PerformanceTrend)."),
    ]


class WeeklyAdherence(msgspec.Struct, frozen=True):
    """One begun week of the enrollment, from the adherence engine: ``expected`` slots offered,
    ``completed`` compliant ones, ``rate`` = 100 * completed / expected to one decimal."""

    week: Annotated[Annotated[int, Meta(ge=1)], Meta(description="1-based plan week.")]
    expected: Annotated[
        _Count,
        Meta(description="Slots offered that week (every state but not_yet_available and not_applicable)."),
    ]
    completed: Annotated[_Count, Meta(description="Compliant (completed) slots that week.")]
    rate: Annotated[
        Percentage,
        Meta(description="100 * completed / expected, 0-100 with one decimal (66.7); 100.0 when nothing was offered."),
    ]


class PlanAdherence(msgspec.Struct, frozen=True):
    """An enrollment's adherence from the adherence engine, as of now: per week and overall."""

    weeks: Annotated[list[WeeklyAdherence], Meta(description="Every week of the enrollment that has begun, in order.")]
    adherence_percent: Annotated[
        Annotated[int, Meta(ge=0, le=100)],
        Meta(description="floor(100 * compliant / offered) over every slot, 0-100; 100 when nothing was offered yet."),
    ] = 100
    noncompliance_percent: Annotated[
        Annotated[int, Meta(ge=0, le=100)],
        Meta(
            description=(
                "floor(100 * noncompliant / (compliant + noncompliant + unknown)) over every slot, "
                "0-100; 0 when nothing was offered."
            )
        ),
    ] = 0


class AnalyticsReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/analytics``."""

    patient_treatment_plan_id: Annotated[IntId, Meta(description="The enrollment's id.")]
    sessions: Annotated[
        list[SessionAnalytics],
        Meta(description="Every session number of the frozen version with its completed completions."),
    ]
    exercise_performance: Annotated[
        list[ExercisePerformance],
        Meta(description="Per exercise, over the logs of completed sessions, in session order."),
    ]
    adherence: Annotated[
        PlanAdherence,
        Meta(description="Weekly and overall adherence from the adherence engine, as of now."),
    ]


# Organization dashboard -----------------------------------------------------------------------------------


class PainReduction(msgspec.Struct, frozen=True):
    """Over completed plans with both values: first recorded pain before a session, last recorded pain after
    one, and their difference."""

    plans: Annotated[_Count, Meta(description="Completed plans with both a pain-before and a pain-after value.")]
    average_pain_before: Annotated[
        float | None,
        Meta(description="Mean first pain_level_before, 0-10 with one decimal; null when no plan qualifies."),
    ]
    average_pain_after: Annotated[
        float | None,
        Meta(description="Mean last pain_level_after, 0-10 with one decimal; null when no plan qualifies."),
    ]
    average_reduction: Annotated[
        float | None,
        Meta(
            description=(
                "Mean of (first before - last after), in pain points with one decimal (positive is less "
                "pain); null when no plan qualifies."
            )
        ),
    ]


class AdherenceRates(msgspec.Struct, frozen=True):
    """Over active plans, from the adherence engine."""

    active_plans: Annotated[_Count, Meta(description="Active enrollments counted.")]
    average_adherence_percent: Annotated[
        Percentage | None,
        Meta(description="Mean adherence_percent of those enrollments, 0-100 with one decimal; null without one."),
    ]
    sessions_offered: Annotated[_Count, Meta(description="Slots offered so far, summed over those enrollments.")]
    sessions_completed: Annotated[_Count, Meta(description="Compliant (completed) slots, summed.")]
    completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "100 * sessions_completed / sessions_offered, 0-100 with one decimal; null when nothing was offered."
            )
        ),
    ]


class ExerciseUsage(msgspec.Struct, frozen=True):
    """One exercise's use across the organization's enrollments in the period."""

    exercise_id: Annotated[UUID, Meta(description="The exercise's id (UUID).")]
    exercise_name: Annotated[str, Meta(description="The exercise's name.")]
    times_prescribed: Annotated[
        _Count,
        Meta(description="Exercise logs created for it (one per started session that prescribes it)."),
    ]
    times_performed: Annotated[_Count, Meta(description="Logs of completed sessions not skipped.")]
    times_skipped: Annotated[_Count, Meta(description="Logs of completed sessions skipped.")]
    average_pose_accuracy: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean pose accuracy score over performed logs, a percentage 0-100 with one decimal; "
                "null without a score."
            )
        ),
    ]
    average_video_watch_percentage: Annotated[
        Percentage | None,
        Meta(description="Mean video watch percentage over performed logs, 0-100 with one decimal; null without one."),
    ]


class TopExercises(msgspec.Struct, frozen=True):
    """Five exercises each by prescriptions and by mean pose accuracy; ties by name."""

    most_prescribed: Annotated[
        list[ExerciseUsage],
        Meta(description="The five exercises prescribed most, ties by name."),
    ]
    best_performance: Annotated[
        list[ExerciseUsage],
        Meta(description="The five exercises with the highest mean pose accuracy (exercises with a score only)."),
    ]
    worst_performance: Annotated[
        list[ExerciseUsage],
        Meta(description="The five exercises with the lowest mean pose accuracy (exercises with a score only)."),
    ]


class PlanCompletionRates(msgspec.Struct, frozen=True):
    """Finished plans by outcome; ``completion_rate`` = 100 * completed / finished to one decimal."""

    completed: Annotated[_Count, Meta(description="Enrollments that completed.")]
    expired: Annotated[_Count, Meta(description="Enrollments that expired.")]
    cancelled: Annotated[_Count, Meta(description="Enrollments that were cancelled.")]
    completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "100 * completed / (completed + expired + cancelled), 0-100 with one decimal; null when none finished."
            )
        ),
    ]


class ServicePlanUsage(msgspec.Struct, frozen=True):
    """Enrollments of one treatment plan billed through one service plan (``None``: no service plan)."""

    treatment_plan_id: Annotated[UUID, Meta(description="The treatment plan's id (UUID).")]
    treatment_plan_name: Annotated[str, Meta(description="The treatment plan's name.")]
    service_plan_id: Annotated[
        IntId | None,
        Meta(description="Id of the service plan that bills the enrollments; null when none does."),
    ]
    service_plan_name: Annotated[str | None, Meta(description="The service plan's name; null without a service plan.")]
    enrollments: Annotated[_Count, Meta(description="Enrollments of the plan billed through this service plan.")]
    active_enrollments: Annotated[_Count, Meta(description="Of those, the enrollments active now.")]
    sessions_completed: Annotated[_Count, Meta(description="Sessions completed under those enrollments.")]
    currency: Annotated[
        str | None,
        Meta(description="ISO 4217 code of revenue_cents (`EUR`); null when the service plan has no price."),
    ]
    revenue_cents: Annotated[
        _Count | None,
        Meta(
            description=(
                "The service plan's price times the enrollments, in minor units of currency (cents); "
                "null without a price."
            )
        ),
    ]


class OrganizationDashboard(msgspec.Struct, frozen=True):
    """``GET /v1/dashboards/organization``; enrollments overlapping ``from`` to ``to`` when given."""

    from_date: Annotated[
        date | None,
        Meta(description="The `from` query parameter: first day of the period; null when not given."),
    ]
    to_date: Annotated[
        date | None,
        Meta(description="The `to` query parameter: last day of the period; null when not given."),
    ]
    pain_reduction: Annotated[PainReduction, Meta(description="Pain before and after, over completed plans.")]
    adherence: Annotated[
        AdherenceRates,
        Meta(description="Adherence over active plans, from the adherence engine as of now."),
    ]
    top_exercises: Annotated[TopExercises, Meta(description="Exercises by use and by pose accuracy.")]
    plan_completion: Annotated[PlanCompletionRates, Meta(description="Finished enrollments by outcome.")]
    revenue_per_plan: Annotated[
        list[ServicePlanUsage],
        Meta(description="Per treatment plan and service plan, at most 100 rows; never summed across currencies."),
    ]
