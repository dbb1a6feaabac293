"""The organization dashboard (staff): pain reduction, adherence rates, exercise and service plan use.

Field names follow the spec's JSON. Every rule is in docs/progress.md.
"""

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.types import (
    ExerciseId,
    ExerciseName,
    IntId,
    MeanFormScore,
    MeasuredWatchPercentage,
    NonNegativeInt,
    Percentage,
    VideoWatchPercentage,
)

# Organization dashboard -----------------------------------------------------------------------------------


class PainReduction(msgspec.Struct, frozen=True):
    """Over completed plans with both values: first recorded pain before a session, last recorded pain after
    one, and their difference."""

    plans: Annotated[
        NonNegativeInt, Meta(description="Completed plans with both a pain-before and a pain-after value.")
    ]
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

    active_plans: Annotated[NonNegativeInt, Meta(description="Active enrollments counted.")]
    average_adherence_percent: Annotated[
        Percentage | None,
        Meta(description="Mean adherence_percent of those enrollments, 0-100 with one decimal; null without one."),
    ]
    sessions_offered: Annotated[
        NonNegativeInt, Meta(description="Slots offered so far, summed over those enrollments.")
    ]
    sessions_completed: Annotated[NonNegativeInt, Meta(description="Compliant (completed) slots, summed.")]
    completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "100 * sessions_completed / sessions_offered, 0-100 with one decimal; null when nothing was offered."
            )
        ),
    ]
    sessions_verified: Annotated[
        NonNegativeInt,
        Meta(description="Of the completed slots, those whose session telemetry verified (evidence `verified`)."),
    ] = 0
    sessions_contradicted: Annotated[
        NonNegativeInt,
        Meta(description="Of the completed slots, those whose session telemetry contradicted (`contradicted`)."),
    ] = 0


class ExerciseUsage(msgspec.Struct, frozen=True):
    """One exercise's use across the organization's enrollments in the period."""

    exercise_id: ExerciseId
    exercise_name: ExerciseName
    times_prescribed: Annotated[
        NonNegativeInt,
        Meta(description="Exercise logs created for it (one per started session that prescribes it)."),
    ]
    times_performed: Annotated[NonNegativeInt, Meta(description="Logs of completed sessions not skipped.")]
    times_skipped: Annotated[NonNegativeInt, Meta(description="Logs of completed sessions skipped.")]
    average_pose_accuracy: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean pose accuracy score over performed logs, a percentage 0-100 with one decimal; "
                "null without a score."
            )
        ),
    ]
    average_video_watch_percentage: VideoWatchPercentage
    average_measured_watch_percentage: MeasuredWatchPercentage = None
    average_mean_form_score: MeanFormScore = None


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

    completed: Annotated[NonNegativeInt, Meta(description="Enrollments that completed.")]
    expired: Annotated[NonNegativeInt, Meta(description="Enrollments that expired.")]
    cancelled: Annotated[NonNegativeInt, Meta(description="Enrollments that were cancelled.")]
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
    enrollments: Annotated[
        NonNegativeInt, Meta(description="Enrollments of the plan billed through this service plan.")
    ]
    active_enrollments: Annotated[NonNegativeInt, Meta(description="Of those, the enrollments active now.")]
    sessions_completed: Annotated[NonNegativeInt, Meta(description="Sessions completed under those enrollments.")]
    currency: Annotated[
        str | None,
        Meta(description="ISO 4217 code of revenue_cents (`EUR`); null when the service plan has no price."),
    ]
    revenue_cents: Annotated[
        NonNegativeInt | None,
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
