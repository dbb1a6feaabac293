"""Session execution for core-api: today's session, start, exercise logs, complete and skip.

Field names follow the spec's JSON. Request Structs forbid unknown fields, so a client cannot write
server-owned columns (``status``, ``exercises_completed``, the prescription) through them.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.enrollments import EnrollmentStatus
from contracts.plans import ExerciseMode, PlanSession
from contracts.types import IntId, LongText, PainLevel, Percentage, PlanId, ShortText, Timestamp, Url

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]

# Borg-like perceived exertion of the whole session, 1 (very easy) to 10 (maximal).
PerceivedDifficulty = Annotated[int, Meta(ge=1, le=10)]

# Why a session or an exercise was skipped: one visible character at least.
SkipReason = Annotated[str, Meta(min_length=1, max_length=1000, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]

# What a patient reports doing; the bounds are sanity limits that match the database's CHECKs.
ActualSets = Annotated[int, Meta(ge=0, le=100)]
ActualReps = Annotated[int, Meta(ge=0, le=1000)]
ActualHoldSeconds = Annotated[int, Meta(ge=0, le=3600)]
ActualDurationSeconds = Annotated[int, Meta(ge=0, le=86_400)]
WatchSeconds = Annotated[int, Meta(ge=0, le=86_400)]


class SessionCompletionStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class NoSessionReason(StrEnum):
    """Why an enrollment offers no session today."""

    NOT_STARTED = "not_started"
    PENDING_APPROVAL = "pending_approval"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ALL_SESSIONS_DONE = "all_sessions_done"
    """Every session of the plan was completed or skipped; the enrollment ends at its end date."""


# Requests -----------------------------------------------------------------------------------------------


class SessionStart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/patient-treatment-plans/{id}/sessions/{session_number}/start``."""

    pain_level_before: PainLevel | None = None


class ExerciseLogUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/patient-exercise-logs/{id}``: record what was done, or skip with ``skipped: true``.

    A partial update: an absent field keeps its value. ``skipped: false`` clears the skip reason.
    """

    actual_sets: ActualSets | UnsetType = UNSET
    actual_reps: ActualReps | UnsetType = UNSET
    actual_hold_seconds: ActualHoldSeconds | UnsetType = UNSET
    actual_duration_seconds: ActualDurationSeconds | UnsetType = UNSET
    video_watched: bool | UnsetType = UNSET
    video_watch_seconds: WatchSeconds | UnsetType = UNSET
    video_watch_percentage: Percentage | UnsetType = UNSET
    pose_data_captured: bool | UnsetType = UNSET
    # A percentage, 0-100 (the spec's 85.50), not a 0-1 ratio.
    pose_accuracy_score: Percentage | UnsetType = UNSET
    started_at: Timestamp | UnsetType = UNSET
    completed_at: Timestamp | UnsetType = UNSET
    skipped: bool | UnsetType = UNSET
    skip_reason: SkipReason | UnsetType = UNSET


class SessionComplete(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patient-session-completions/{id}/complete``."""

    pain_level_after: PainLevel | None = None
    perceived_difficulty: PerceivedDifficulty | None = None
    notes: LongText | None = None


class SessionSkip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/patient-session-completions/{id}/skip``."""

    reason: SkipReason


# Responses ----------------------------------------------------------------------------------------------


class LoggedExercise(msgspec.Struct, frozen=True):
    id: UUID
    name: ShortText
    video_url: Url | None
    video_thumbnail_url: Url | None


class ExerciseLog(msgspec.Struct, frozen=True):
    """One exercise of a session as prescribed (frozen at start) and as done."""

    id: IntId
    session_completion_id: IntId
    exercise_id: UUID
    exercise: LoggedExercise
    sort_order: _NonNegative
    prescribed_mode: ExerciseMode
    prescribed_sets: _Positive
    prescribed_reps: _Positive | None
    prescribed_hold_seconds: _Positive | None
    prescribed_duration_seconds: _Positive | None
    rest_between_sets_seconds: _NonNegative | None
    rest_after_exercise_seconds: _NonNegative | None
    notes: LongText | None
    actual_sets: ActualSets | None
    actual_reps: ActualReps | None
    actual_hold_seconds: ActualHoldSeconds | None
    actual_duration_seconds: ActualDurationSeconds | None
    video_watched: bool
    video_watch_seconds: WatchSeconds | None
    video_watch_percentage: Percentage | None
    pose_data_captured: bool
    pose_accuracy_score: Percentage | None
    skipped: bool
    skip_reason: str | None
    started_at: Timestamp | None
    completed_at: Timestamp | None
    updated_at: Timestamp


class ExerciseLogList(msgspec.Struct, frozen=True):
    """``GET /v1/patient-session-completions/{id}/exercise-logs``, in the session's order."""

    exercise_logs: list[ExerciseLog]


class PlanProgress(msgspec.Struct, frozen=True):
    sessions_completed: _NonNegative
    sessions_skipped: _NonNegative
    sessions_total: _Positive
    # Two decimals, as the spec's 41.67.
    completion_percentage: Percentage
    enrollment_status: EnrollmentStatus


class SessionCompletion(msgspec.Struct, frozen=True):
    """A session a patient started: returned by start, complete, skip and the detail route."""

    id: IntId
    patient_treatment_plan_id: IntId
    patient_id: IntId
    session_number: _Positive
    status: SessionCompletionStatus
    started_at: Timestamp
    completed_at: Timestamp | None
    skipped_at: Timestamp | None
    duration_seconds: _NonNegative | None
    exercises_total: _NonNegative
    exercises_completed: _NonNegative
    exercises_skipped: _NonNegative
    pain_level_before: PainLevel | None
    pain_level_after: PainLevel | None
    perceived_difficulty: PerceivedDifficulty | None
    notes: LongText | None
    skip_reason: str | None
    post_session_form_id: IntId | None
    plan_progress: PlanProgress
    exercise_logs: list[ExerciseLog]
    pose_tracking_allowed: bool | None = None
    """On start responses: whether the camera may track poses now (the patient's biometric consent and
    analytics level 2+); ``null`` on other responses."""


class TodayPlanRef(msgspec.Struct, frozen=True):
    id: PlanId
    name: ShortText


class TodayProgress(msgspec.Struct, frozen=True):
    sessions_completed: _NonNegative
    sessions_skipped: _NonNegative
    sessions_total: _Positive
    # 1-based week of the enrollment in the patient's time zone; 0 before the start date.
    current_week: _NonNegative
    total_weeks: _Positive
    sessions_this_week: _NonNegative
    frequency_per_week: _Positive
    completion_percentage: Percentage


class TodayPlan(msgspec.Struct, frozen=True):
    """One enrollment: the session to do next, or why there is none."""

    patient_treatment_plan_id: IntId
    treatment_plan: TodayPlanRef
    enrollment_status: EnrollmentStatus
    next_session: PlanSession | None
    no_session_reason: NoSessionReason | None
    # A session already started and not finished: resume it (starting again returns it).
    in_progress_session_completion_id: IntId | None
    progress: TodayProgress


class TodaySessions(msgspec.Struct, frozen=True):
    """``GET /v1/patients/{patient_id}/treatment-plans/today``: every enrollment of the patient, active
    ones first."""

    patient_id: IntId
    time_zone: str
    local_date: date
    pose_tracking_allowed: bool
    """Whether the camera may track poses (biometric consent and analytics level 2+); a revocation shows
    here at once and reaches telemetry within a token's lifetime."""
    treatment_plans: list[TodayPlan]
