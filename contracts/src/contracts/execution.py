"""Session execution for core-api (patient): the start, exercise log, complete and skip bodies.

Field names follow the spec's JSON. Request Structs forbid unknown fields, so a client cannot write
server-owned columns (``status``, ``exercises_completed``, the prescription) through them.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.types import (
    LongText,
    PainLevel,
    Percentage,
    Timestamp,
)

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
