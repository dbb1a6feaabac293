"""Progress and analytics reports for core-api: an enrollment's progress (the patient dashboard) and its
detailed analytics (the specialist dashboard).

Field names follow the spec's JSON. Every rule (streaks, trends, rounding) is in docs/progress.md.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.exercise_logs import EvidenceState
from contracts.types import (
    CompletionPercentage,
    CurrentWeek,
    EnrollmentId,
    EnrollmentStart,
    ExerciseId,
    ExerciseName,
    MeanFormScore,
    MeasuredWatchPercentage,
    NonNegativeInt,
    PainAfter,
    PainBefore,
    PainLevel,
    Percentage,
    PlanWeek,
    PositiveInt,
    SessionsCompleted,
    SessionsRemaining,
    SessionsSkipped,
    Timestamp,
    VideoWatchPercentage,
)


class Streak(msgspec.Struct, frozen=True):
    """Runs of consecutive local days with at least one completed session."""

    current: Annotated[
        NonNegativeInt,
        Meta(
            description=(
                "Consecutive local days (patient's time zone) with a completed session, in the run "
                "ending today or yesterday; 0 otherwise."
            )
        ),
    ]
    best: Annotated[
        NonNegativeInt,
        Meta(description="The longest run of consecutive local days with at least one completed session."),
    ]


class PainPoint(msgspec.Struct, frozen=True):
    """One completed session's pain levels; ``session`` is its 1-based order among completed sessions."""

    session: Annotated[
        PositiveInt,
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

    patient_treatment_plan_id: EnrollmentId
    sessions_total: Annotated[NonNegativeInt, Meta(description="Sessions the enrollment prescribes in all.")]
    sessions_completed: SessionsCompleted
    sessions_skipped: SessionsSkipped
    sessions_remaining: SessionsRemaining
    completion_percentage: CompletionPercentage
    current_week: CurrentWeek
    total_weeks: Annotated[NonNegativeInt, Meta(description="The frozen version's duration in weeks.")]
    start_date: EnrollmentStart
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
        NonNegativeInt,
        Meta(description="Calendar days from today to end_date in the patient's time zone, 0 once it passed."),
    ]
    streak: Annotated[Streak, Meta(description="Runs of consecutive local days with a completed session.")]
    pain_trend: Annotated[list[PainPoint], Meta(description="One point per completed session, by completion time.")]
    average_session_duration_seconds: Annotated[
        NonNegativeInt | None,
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
    duration_seconds: Annotated[NonNegativeInt, Meta(description="Seconds from start to completion.")]
    exercises_completed: Annotated[
        NonNegativeInt,
        Meta(description="Exercises of the session done (not skipped, something recorded)."),
    ]
    exercises_skipped: Annotated[NonNegativeInt, Meta(description="Exercises of the session skipped.")]
    pain_level_before: PainBefore
    pain_level_after: PainAfter
    perceived_difficulty: Annotated[
        Annotated[int, Meta(ge=1, le=10)] | None,
        Meta(
            description=(
                "The patient's perceived exertion of the whole session, 1 (very easy) to 10 (maximal); "
                "null when not reported."
            )
        ),
    ]
    evidence_state: Annotated[
        EvidenceState | None,
        Meta(
            description=(
                "What telemetry measured against what the app reported (`pending`, `verified`, `partial`, "
                "`contradicted`, `not_collected`; docs/adherence.md); null for sessions from before verification."
            )
        ),
    ] = None


class SessionAnalytics(msgspec.Struct, frozen=True):
    """One session of the frozen plan version and its completed completions."""

    session_number: Annotated[
        PositiveInt,
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

    exercise_id: ExerciseId
    exercise_name: ExerciseName
    times_performed: Annotated[NonNegativeInt, Meta(description="Exercise logs of completed sessions not skipped.")]
    times_skipped: Annotated[NonNegativeInt, Meta(description="Exercise logs of completed sessions skipped.")]
    average_completion_rate: Annotated[
        Percentage | None,
        Meta(
            description=(
                "Mean per performed log of min(100, 100 * actual/prescribed sets * reps (or duration)), "
                "0-100 with one decimal; null without a performed log with actual_sets."
            )
        ),
    ]
    average_video_watch_percentage: VideoWatchPercentage
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
    average_measured_watch_percentage: MeasuredWatchPercentage = None
    average_mean_form_score: MeanFormScore = None


class WeeklyAdherence(msgspec.Struct, frozen=True):
    """One begun week of the enrollment, from the adherence engine: ``expected`` slots offered,
    ``completed`` compliant ones, ``rate`` = 100 * completed / expected to one decimal."""

    week: PlanWeek
    expected: Annotated[
        NonNegativeInt,
        Meta(description="Slots offered that week (every state but not_yet_available and not_applicable)."),
    ]
    completed: Annotated[NonNegativeInt, Meta(description="Compliant (completed) slots that week.")]
    rate: Annotated[
        Percentage,
        Meta(description="100 * completed / expected, 0-100 with one decimal (66.7); 100.0 when nothing was offered."),
    ]
    verified: Annotated[
        NonNegativeInt,
        Meta(description="Of the completed slots, those whose session telemetry verified (evidence `verified`)."),
    ] = 0
    contradicted: Annotated[
        NonNegativeInt,
        Meta(description="Of the completed slots, those whose session telemetry contradicted (`contradicted`)."),
    ] = 0


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


class Engagement(msgspec.Struct, frozen=True, kw_only=True):
    """The spec's "Avg Video Engagement" and "Avg Pose Accuracy" as the app reported them, beside what telemetry
    measured, over the performed (not skipped) exercise logs of completed sessions; the measured averages only
    over the logs with evidence (`verified`, `partial` or `contradicted`). See docs/adherence.md."""

    avg_video_watch_percentage: Annotated[
        Percentage | None,
        Meta(description="Mean reported video_watch_percentage, 0-100 with one decimal; null without one."),
    ] = None
    avg_pose_accuracy: Annotated[
        Percentage | None,
        Meta(description="Mean reported pose_accuracy_score, 0-100 with one decimal; null without one."),
    ] = None
    avg_measured_watch_percentage: MeasuredWatchPercentage = None
    avg_mean_form_score: MeanFormScore = None
    sessions_completed: Annotated[NonNegativeInt, Meta(description="Completed sessions (as reported).")] = 0
    sessions_verified: Annotated[
        NonNegativeInt, Meta(description="Of those, the ones whose evidence is `verified`.")
    ] = 0
    sessions_contradicted: Annotated[
        NonNegativeInt, Meta(description="Of those, the ones whose evidence is `contradicted`.")
    ] = 0


class AnalyticsReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/analytics``."""

    patient_treatment_plan_id: EnrollmentId
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
    engagement: Annotated[
        Engagement,
        Meta(description="Reported and measured video engagement and form, and the sessions telemetry verified."),
    ] = Engagement()
