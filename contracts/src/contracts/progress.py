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

    current: _Count
    best: _Count


class PainPoint(msgspec.Struct, frozen=True):
    """One completed session's pain levels; ``session`` is its 1-based order among completed sessions."""

    session: Annotated[int, Meta(ge=1)]
    before: PainLevel | None
    after: PainLevel | None


class ProgressReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/progress``."""

    patient_treatment_plan_id: IntId
    sessions_total: _Count
    sessions_completed: _Count
    sessions_skipped: _Count
    sessions_remaining: _Count
    completion_percentage: Percentage
    current_week: _Week
    total_weeks: _Week
    start_date: date
    end_date: date
    days_remaining: _Count
    streak: Streak
    pain_trend: list[PainPoint]
    average_session_duration_seconds: _Count | None
    average_completion_rate: Percentage | None
    average_video_watch_percentage: Percentage | None


class SessionCompletionSummary(msgspec.Struct, frozen=True):
    completed_at: Timestamp
    duration_seconds: _Count
    exercises_completed: _Count
    exercises_skipped: _Count
    pain_level_before: PainLevel | None
    pain_level_after: PainLevel | None
    perceived_difficulty: Annotated[int, Meta(ge=1, le=10)] | None


class SessionAnalytics(msgspec.Struct, frozen=True):
    session_number: Annotated[int, Meta(ge=1)]
    completions: list[SessionCompletionSummary]


class PerformanceTrend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    DECLINING = "declining"


class ExercisePerformance(msgspec.Struct, frozen=True):
    exercise_id: UUID
    exercise_name: str
    times_performed: _Count
    times_skipped: _Count
    average_completion_rate: Percentage | None
    average_video_watch_percentage: Percentage | None
    average_pose_accuracy: Percentage | None
    trend: PerformanceTrend


class WeeklyAdherence(msgspec.Struct, frozen=True):
    """One begun week of the enrollment, from the adherence engine: ``expected`` slots offered,
    ``completed`` compliant ones, ``rate`` = 100 * completed / expected to one decimal."""

    week: Annotated[int, Meta(ge=1)]
    expected: _Count
    completed: _Count
    rate: Percentage


class PlanAdherence(msgspec.Struct, frozen=True):
    weeks: list[WeeklyAdherence]
    adherence_percent: Annotated[int, Meta(ge=0, le=100)] = 100
    noncompliance_percent: Annotated[int, Meta(ge=0, le=100)] = 0


class AnalyticsReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/analytics``."""

    patient_treatment_plan_id: IntId
    sessions: list[SessionAnalytics]
    exercise_performance: list[ExercisePerformance]
    adherence: PlanAdherence


# Organization dashboard -----------------------------------------------------------------------------------


class PainReduction(msgspec.Struct, frozen=True):
    """Over completed plans with both values: first recorded pain before a session, last recorded pain after
    one, and their difference."""

    plans: _Count
    average_pain_before: float | None
    average_pain_after: float | None
    average_reduction: float | None


class AdherenceRates(msgspec.Struct, frozen=True):
    """Over active plans, from the adherence engine."""

    active_plans: _Count
    average_adherence_percent: Percentage | None
    sessions_offered: _Count
    sessions_completed: _Count
    completion_rate: Percentage | None


class ExerciseUsage(msgspec.Struct, frozen=True):
    exercise_id: UUID
    exercise_name: str
    times_prescribed: _Count
    times_performed: _Count
    times_skipped: _Count
    average_pose_accuracy: Percentage | None
    average_video_watch_percentage: Percentage | None


class TopExercises(msgspec.Struct, frozen=True):
    most_prescribed: list[ExerciseUsage]
    best_performance: list[ExerciseUsage]
    worst_performance: list[ExerciseUsage]


class PlanCompletionRates(msgspec.Struct, frozen=True):
    """Finished plans by outcome; ``completion_rate`` = 100 * completed / finished to one decimal."""

    completed: _Count
    expired: _Count
    cancelled: _Count
    completion_rate: Percentage | None


class ServicePlanUsage(msgspec.Struct, frozen=True):
    """Enrollments of one treatment plan billed through one service plan (``None``: no service plan)."""

    treatment_plan_id: UUID
    treatment_plan_name: str
    service_plan_id: IntId | None
    service_plan_name: str | None
    enrollments: _Count
    active_enrollments: _Count
    sessions_completed: _Count
    currency: str | None
    """ISO 4217 code of ``revenue_cents``; ``None`` when the service plan has no price."""
    revenue_cents: _Count | None
    """The service plan's price once per enrollment, in minor units; ``None`` without a price."""


class OrganizationDashboard(msgspec.Struct, frozen=True):
    """``GET /v1/dashboards/organization``; enrollments overlapping ``from`` to ``to`` when given."""

    from_date: date | None
    to_date: date | None
    pain_reduction: PainReduction
    adherence: AdherenceRates
    top_exercises: TopExercises
    plan_completion: PlanCompletionRates
    revenue_per_plan: list[ServicePlanUsage]
