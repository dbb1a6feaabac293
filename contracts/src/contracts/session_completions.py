"""A session's completion record, the session as started, and the plan progress they report.

Field names follow the spec's JSON.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.enrollments import EnrollmentStatus
from contracts.execution import PerceivedDifficulty, SessionCompletionStatus
from contracts.exercise_logs import (
    EvidenceState,
    ExerciseLog,
    ExercisePrescription,
    LibraryExerciseId,
    SessionPosition,
)
from contracts.refs import ExerciseRef
from contracts.types import (
    CompletedAt,
    CompletionPercentage,
    EnrollmentId,
    IntId,
    LongText,
    NonNegativeInt,
    PainAfter,
    PainBefore,
    PatientId,
    PositiveInt,
    SessionSeconds,
    SessionsTotal,
    SkippedAt,
    Timestamp,
)


class PlanProgress(msgspec.Struct, frozen=True):
    """The enrollment's counters, as a session route leaves them."""

    sessions_completed: Annotated[
        NonNegativeInt,
        Meta(description="The enrollment's completed sessions, this one included once completed."),
    ]
    sessions_skipped: Annotated[NonNegativeInt, Meta(description="The enrollment's skipped sessions.")]
    sessions_total: SessionsTotal
    completion_percentage: CompletionPercentage
    enrollment_status: Annotated[
        EnrollmentStatus,
        Meta(
            description=(
                "The enrollment's status after this request (an enrollment whose last session was "
                "completed is `completed`)."
            )
        ),
    ]


class SessionCompletion(msgspec.Struct, frozen=True):
    """A session a patient started: returned by start, complete, skip and the detail route."""

    id: Annotated[
        IntId,
        Meta(description="The session completion's id (the `{id}` of the complete, skip and detail routes)."),
    ]
    patient_treatment_plan_id: EnrollmentId
    patient_id: PatientId
    session_number: Annotated[PositiveInt, Meta(description="Which session of the plan's rotation this is (1-based).")]
    status: Annotated[SessionCompletionStatus, Meta(description="`in_progress`, `completed` or `skipped`.")]
    started_at: Annotated[Timestamp, Meta(description="When the session was started (UTC, RFC 3339).")]
    completed_at: CompletedAt
    skipped_at: SkippedAt
    duration_seconds: SessionSeconds
    exercises_total: Annotated[NonNegativeInt, Meta(description="Exercises in the session.")]
    exercises_completed: Annotated[
        NonNegativeInt,
        Meta(description="Exercises not skipped with something recorded (counted at completion; 0 before)."),
    ]
    exercises_skipped: Annotated[
        NonNegativeInt, Meta(description="Exercises skipped (counted at completion; 0 before).")
    ]
    pain_level_before: PainBefore
    pain_level_after: PainAfter
    perceived_difficulty: Annotated[
        PerceivedDifficulty | None,
        Meta(
            description=(
                "Perceived exertion of the whole session, 1 (very easy) to 10 (maximal); null when not reported."
            )
        ),
    ]
    notes: Annotated[LongText | None, Meta(description="The patient's notes on the session; null when none.")]
    skip_reason: Annotated[str | None, Meta(description="Why the session was skipped; null unless skipped.")]
    post_session_form_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the form instance to fill in after the session (from the plan's post-session "
                "form template), created at completion; null otherwise."
            )
        ),
    ]
    plan_progress: Annotated[PlanProgress, Meta(description="The enrollment's counters after this request.")]
    exercise_logs: Annotated[list[ExerciseLog], Meta(description="One log per exercise of the session, by sort_order.")]
    pose_tracking_allowed: Annotated[
        bool | None,
        Meta(
            description=(
                "On start responses: whether the camera may track poses now (the patient's biometric "
                "consent and analytics level 2+); null on other responses."
            )
        ),
    ] = None
    evidence_state: Annotated[
        EvidenceState | None,
        Meta(
            description=(
                "What telemetry measured for the session's exercise logs against what the app reported: "
                "`pending`, `verified`, `partial`, `contradicted` or `not_collected` (docs/adherence.md, "
                '"Verified adherence"); null for sessions from before verification existed.'
            )
        ),
    ] = None


class StartedExercise(ExercisePrescription, frozen=True):
    """One exercise of a started session under the spec's start sample names: its log's id, the
    prescription, and the exercise's video and instructions from the enrollment's frozen plan version."""

    exercise_log_id: Annotated[
        IntId,
        Meta(description="Id of the exercise's log, to record it with `PUT /v1/patient-exercise-logs/{id}`."),
    ]
    exercise_id: LibraryExerciseId
    sort_order: SessionPosition
    exercise: Annotated[
        ExerciseRef,
        Meta(description=("The exercise with its video and instructions, from the enrollment's frozen plan version.")),
    ]


class StartedSession(SessionCompletion, frozen=True, kw_only=True):
    """``POST .../sessions/{session_number}/start``: the spec's sample (``session_completion_id``,
    ``exercises[].exercise_log_id``) beside the session completion's own fields (``id``,
    ``exercise_logs``), which the other session routes return."""

    session_completion_id: Annotated[
        IntId,
        Meta(description="The session completion's id (same as `id`), as the spec's start sample names it."),
    ]
    exercises: Annotated[
        list[StartedExercise],
        Meta(description="The session's exercises by sort_order, under the spec's start sample names."),
    ]
