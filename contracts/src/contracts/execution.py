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
from contracts.plans import ExerciseMode, ExerciseRef, PlanSession
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
    """The state of a session a patient started.

    - ``in_progress``: started, not finished; its exercise logs can be updated.
    - ``completed``: finished; counts toward the enrollment's ``sessions_completed``.
    - ``skipped``: declined after it was started; counts toward ``sessions_skipped``.
    """

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class NoSessionReason(StrEnum):
    """Why an enrollment offers no session today.

    - ``not_started``: today is before the enrollment's start date.
    - ``pending_approval``, ``paused``, ``completed``, ``cancelled``, ``expired``: the enrollment's status as
      of now, which offers no session.
    - ``all_sessions_done``: every session of the plan was completed or skipped; the enrollment ends at its
      end date.
    """

    NOT_STARTED = "not_started"
    PENDING_APPROVAL = "pending_approval"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ALL_SESSIONS_DONE = "all_sessions_done"


# Requests -----------------------------------------------------------------------------------------------


class SessionStart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/patient-treatment-plans/{id}/sessions/{session_number}/start``."""

    pain_level_before: Annotated[
        PainLevel | None,
        Meta(
            description=(
                "Pain before the session on the 0-10 numeric rating scale (0 none, 10 worst "
                "imaginable); null or absent when not reported."
            )
        ),
    ] = None


SessionStartBody = Annotated[SessionStart, Meta(examples=[{"pain_level_before": 6}])]


class ExerciseLogUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/patient-exercise-logs/{id}``: record what was done, or skip with ``skipped: true``.

    A partial update: an absent field keeps its value. ``skipped: false`` clears the skip reason.
    """

    actual_sets: Annotated[
        ActualSets | UnsetType,
        Meta(description="Sets done, 0-100; absent keeps the value."),
    ] = UNSET
    actual_reps: Annotated[
        ActualReps | UnsetType,
        Meta(description="Repetitions done per set, 0-1000; absent keeps the value."),
    ] = UNSET
    actual_hold_seconds: Annotated[
        ActualHoldSeconds | UnsetType,
        Meta(description="Seconds each hold lasted, 0-3600; absent keeps the value."),
    ] = UNSET
    actual_duration_seconds: Annotated[
        ActualDurationSeconds | UnsetType,
        Meta(description="Seconds the exercise lasted, 0-86400; absent keeps the value."),
    ] = UNSET
    video_watched: Annotated[
        bool | UnsetType,
        Meta(description="Whether the patient watched the exercise's video; absent keeps the value."),
    ] = UNSET
    video_watch_seconds: Annotated[
        WatchSeconds | UnsetType,
        Meta(description="Seconds of the video watched, 0-86400; absent keeps the value."),
    ] = UNSET
    video_watch_percentage: Annotated[
        Percentage | UnsetType,
        Meta(
            description=(
                "Share of the video watched, a percentage 0-100 with decimals (90.48); absent keeps the value."
            )
        ),
    ] = UNSET
    pose_data_captured: Annotated[
        bool | UnsetType,
        Meta(description="Whether the camera tracked poses during the exercise; absent keeps the value."),
    ] = UNSET
    pose_accuracy_score: Annotated[
        Percentage | UnsetType,
        Meta(
            description=(
                "How closely the tracked poses matched the exercise, a percentage 0-100 with decimals "
                "(85.5), not a 0-1 ratio; absent keeps the value."
            )
        ),
    ] = UNSET
    started_at: Annotated[
        Timestamp | UnsetType,
        Meta(description=("When the patient started the exercise (RFC 3339 with an offset); absent keeps the value.")),
    ] = UNSET
    completed_at: Annotated[
        Timestamp | UnsetType,
        Meta(
            description=(
                "When the patient finished it (RFC 3339 with an offset), not before started_at; absent keeps the value."
            )
        ),
    ] = UNSET
    skipped: Annotated[
        bool | UnsetType,
        Meta(
            description=(
                "true skips the exercise (give skip_reason); false un-skips it and clears the reason; absent keeps it."
            )
        ),
    ] = UNSET
    skip_reason: Annotated[
        SkipReason | UnsetType,
        Meta(description=("Why the exercise was skipped, 1-1000 characters with one visible; needs `skipped: true`.")),
    ] = UNSET


# The spec's two samples: recording what was done, and skipping.
ExerciseLogUpdateBody = Annotated[
    ExerciseLogUpdate,
    Meta(
        examples=[
            {
                "actual_sets": 3,
                "actual_reps": 10,
                "video_watched": True,
                "video_watch_seconds": 38,
                "video_watch_percentage": 90.48,
                "started_at": "2026-02-16T09:02:00Z",
                "completed_at": "2026-02-16T09:05:30Z",
            },
            {"skipped": True, "skip_reason": "Too much pain in left knee"},
        ]
    ),
]


class SessionComplete(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patient-session-completions/{id}/complete``."""

    pain_level_after: Annotated[
        PainLevel | None,
        Meta(
            description=("Pain after the session on the 0-10 numeric rating scale; null or absent when not reported.")
        ),
    ] = None
    perceived_difficulty: Annotated[
        PerceivedDifficulty | None,
        Meta(
            description=(
                "Perceived exertion of the whole session, 1 (very easy) to 10 (maximal); null or absent "
                "when not reported."
            )
        ),
    ] = None
    notes: Annotated[
        LongText | None,
        Meta(description="The patient's notes on the session, at most 5000 characters; null or absent for none."),
    ] = None


SessionCompleteBody = Annotated[
    SessionComplete,
    Meta(
        examples=[
            {
                "pain_level_after": 4,
                "perceived_difficulty": 3,
                "notes": "Felt good overall, mild discomfort in last exercise",
            }
        ]
    ),
]


class SessionSkip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/patient-session-completions/{id}/skip``."""

    reason: Annotated[
        SkipReason,
        Meta(description="Why the session is skipped, 1-1000 characters with at least one visible one."),
    ]


SessionSkipBody = Annotated[SessionSkip, Meta(examples=[{"reason": "Not feeling well today"}])]


# Responses ----------------------------------------------------------------------------------------------


class LoggedExercise(msgspec.Struct, frozen=True):
    """The exercise of an exercise log, as the library shows it now."""

    id: Annotated[UUID, Meta(description="The exercise's id (UUID).")]
    name: Annotated[ShortText, Meta(description="The exercise's current name in the library.")]
    video_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the exercise's demonstration video; null when none."),
    ]
    video_thumbnail_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the video's thumbnail image; null when none."),
    ]


class ExercisePrescription(msgspec.Struct, frozen=True, kw_only=True):
    """What the plan prescribes for one exercise of a session, frozen from the plan version at start."""

    prescribed_mode: Annotated[
        ExerciseMode,
        Meta(description="`reps` or `duration`, frozen from the plan version at start."),
    ]
    prescribed_sets: Annotated[_Positive, Meta(description="Prescribed sets, frozen from the plan version at start.")]
    prescribed_reps: Annotated[
        _Positive | None,
        Meta(description="Prescribed repetitions per set; null when not prescribed (`duration` mode)."),
    ]
    prescribed_hold_seconds: Annotated[
        _Positive | None,
        Meta(description="Prescribed hold per repetition or position, in seconds; null when not prescribed."),
    ]
    prescribed_duration_seconds: Annotated[
        _Positive | None,
        Meta(description="Prescribed length of each timed set, in seconds; null when not prescribed."),
    ]
    rest_between_sets_seconds: Annotated[
        _NonNegative | None,
        Meta(description="Prescribed rest between sets, in seconds; null when not prescribed."),
    ]
    rest_after_exercise_seconds: Annotated[
        _NonNegative | None,
        Meta(description="Prescribed rest after the exercise, in seconds; null when not prescribed."),
    ]
    notes: Annotated[
        LongText | None,
        Meta(description="The specialist's instructions for the exercise, frozen at start; null when none."),
    ]


class ExerciseLog(ExercisePrescription, frozen=True):
    """One exercise of a session as prescribed (frozen at start) and as done."""

    id: Annotated[
        IntId,
        Meta(description="The exercise log's id (the `{id}` of `PUT /v1/patient-exercise-logs/{id}`)."),
    ]
    session_completion_id: Annotated[IntId, Meta(description="Id of the session completion the log belongs to.")]
    exercise_id: Annotated[UUID, Meta(description="Id (UUID) of the exercise in the library.")]
    exercise: Annotated[LoggedExercise, Meta(description="The exercise with its current name and video URLs.")]
    sort_order: Annotated[_NonNegative, Meta(description="0-based position of the exercise within the session.")]
    actual_sets: Annotated[ActualSets | None, Meta(description="Sets done, 0-100; null until recorded.")]
    actual_reps: Annotated[
        ActualReps | None,
        Meta(description="Repetitions done per set, 0-1000; null until recorded."),
    ]
    actual_hold_seconds: Annotated[
        ActualHoldSeconds | None,
        Meta(description="Seconds each hold lasted, 0-3600; null until recorded."),
    ]
    actual_duration_seconds: Annotated[
        ActualDurationSeconds | None,
        Meta(description="Seconds the exercise lasted, 0-86400; null until recorded."),
    ]
    video_watched: Annotated[bool, Meta(description="Whether the patient watched the exercise's video.")]
    video_watch_seconds: Annotated[
        WatchSeconds | None,
        Meta(description="Seconds of the video watched, 0-86400; null until recorded."),
    ]
    video_watch_percentage: Annotated[
        Percentage | None,
        Meta(description="Share of the video watched, a percentage 0-100 with decimals; null until recorded."),
    ]
    pose_data_captured: Annotated[bool, Meta(description="Whether the camera tracked poses during the exercise.")]
    pose_accuracy_score: Annotated[
        Percentage | None,
        Meta(
            description=(
                "How closely the tracked poses matched the exercise, a percentage 0-100 with decimals "
                "(85.5), not a 0-1 ratio; null until recorded."
            )
        ),
    ]
    skipped: Annotated[bool, Meta(description="Whether the patient skipped the exercise.")]
    skip_reason: Annotated[str | None, Meta(description="Why it was skipped; null unless skipped.")]
    started_at: Annotated[
        Timestamp | None,
        Meta(description="When the patient started the exercise (UTC, RFC 3339); null until recorded."),
    ]
    completed_at: Annotated[
        Timestamp | None,
        Meta(description="When the patient finished it (UTC, RFC 3339); null until recorded."),
    ]
    updated_at: Annotated[Timestamp, Meta(description="When the log last changed (UTC, RFC 3339).")]


class ExerciseLogList(msgspec.Struct, frozen=True):
    """``GET /v1/patient-session-completions/{id}/exercise-logs``, in the session's order."""

    exercise_logs: Annotated[list[ExerciseLog], Meta(description="The session's exercise logs by sort_order.")]


class PlanProgress(msgspec.Struct, frozen=True):
    """The enrollment's counters, as a session route leaves them."""

    sessions_completed: Annotated[
        _NonNegative,
        Meta(description="The enrollment's completed sessions, this one included once completed."),
    ]
    sessions_skipped: Annotated[_NonNegative, Meta(description="The enrollment's skipped sessions.")]
    sessions_total: Annotated[_Positive, Meta(description="Sessions the enrollment prescribes in all.")]
    completion_percentage: Annotated[
        Percentage,
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals (41.67)."),
    ]
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
    patient_treatment_plan_id: Annotated[IntId, Meta(description="The enrollment's id.")]
    patient_id: Annotated[IntId, Meta(description="The patient's id.")]
    session_number: Annotated[_Positive, Meta(description="Which session of the plan's rotation this is (1-based).")]
    status: Annotated[SessionCompletionStatus, Meta(description="`in_progress`, `completed` or `skipped`.")]
    started_at: Annotated[Timestamp, Meta(description="When the session was started (UTC, RFC 3339).")]
    completed_at: Annotated[
        Timestamp | None,
        Meta(description="When it was completed (UTC, RFC 3339); null unless completed."),
    ]
    skipped_at: Annotated[
        Timestamp | None,
        Meta(description="When it was skipped (UTC, RFC 3339); null unless skipped."),
    ]
    duration_seconds: Annotated[
        _NonNegative | None,
        Meta(description="Seconds from started_at to completed_at; null unless completed."),
    ]
    exercises_total: Annotated[_NonNegative, Meta(description="Exercises in the session.")]
    exercises_completed: Annotated[
        _NonNegative,
        Meta(description="Exercises not skipped with something recorded (counted at completion; 0 before)."),
    ]
    exercises_skipped: Annotated[_NonNegative, Meta(description="Exercises skipped (counted at completion; 0 before).")]
    pain_level_before: Annotated[
        PainLevel | None,
        Meta(description="Pain before the session, 0-10 numeric rating scale; null when not reported."),
    ]
    pain_level_after: Annotated[
        PainLevel | None,
        Meta(description="Pain after the session, 0-10; null when not reported."),
    ]
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


class StartedExercise(ExercisePrescription, frozen=True):
    """One exercise of a started session under the spec's start sample names: its log's id, the
    prescription, and the exercise's video and instructions from the enrollment's frozen plan version."""

    exercise_log_id: Annotated[
        IntId,
        Meta(description="Id of the exercise's log, to record it with `PUT /v1/patient-exercise-logs/{id}`."),
    ]
    exercise_id: Annotated[UUID, Meta(description="Id (UUID) of the exercise in the library.")]
    sort_order: Annotated[_NonNegative, Meta(description="0-based position of the exercise within the session.")]
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


class TodayPlanRef(msgspec.Struct, frozen=True):
    """The treatment plan an enrollment follows."""

    id: Annotated[PlanId, Meta(description="The treatment plan's id (UUID).")]
    name: Annotated[ShortText, Meta(description="The plan's name.")]


class TodayProgress(msgspec.Struct, frozen=True):
    """An enrollment's counters and this week's progress, in the patient's time zone."""

    sessions_completed: Annotated[_NonNegative, Meta(description="Sessions completed so far.")]
    sessions_skipped: Annotated[_NonNegative, Meta(description="Sessions skipped so far.")]
    sessions_total: Annotated[_Positive, Meta(description="Sessions the enrollment prescribes in all.")]
    current_week: Annotated[
        _NonNegative,
        Meta(
            description=(
                "1-based week of the enrollment today in the patient's time zone (week 1 = start_date "
                "and the six days after); 0 before start_date, capped at total_weeks."
            )
        ),
    ]
    total_weeks: Annotated[_Positive, Meta(description="The frozen version's duration in weeks.")]
    sessions_this_week: Annotated[
        _NonNegative,
        Meta(
            description=(
                "Sessions completed in the current week, between its local midnights in the patient's time zone."
            )
        ),
    ]
    frequency_per_week: Annotated[_Positive, Meta(description="Sessions prescribed per week.")]
    completion_percentage: Annotated[
        Percentage,
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals."),
    ]


class TodayPlan(msgspec.Struct, frozen=True):
    """One enrollment: the session to do next, or why there is none."""

    patient_treatment_plan_id: Annotated[IntId, Meta(description="The enrollment's id.")]
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
    patient_id: Annotated[IntId, Meta(description="The patient's id.")]
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
