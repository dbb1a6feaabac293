"""What a patient did in a session, exercise by exercise, against what the plan prescribed.

Field names follow the spec's JSON.
"""

from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.execution import ActualDurationSeconds, ActualHoldSeconds, ActualReps, ActualSets, WatchSeconds
from contracts.plans import ExerciseMode
from contracts.types import (
    ExerciseId,
    ExerciseVideoUrl,
    IntId,
    LongText,
    NonNegativeInt,
    Percentage,
    PositiveInt,
    ShortText,
    Timestamp,
    VideoThumbnailUrl,
)

# Responses ----------------------------------------------------------------------------------------------


class EvidenceState(StrEnum):
    """Whether telemetry's measurements back what the app reported (docs/adherence.md, "Verified adherence").

    - ``pending``: the session is completed and its evidence not collected yet.
    - ``verified``: every part the patient's consent allows (video; pose with biometric consent) arrived and
      agrees with what was reported.
    - ``partial``: nothing contradicts the report, but an allowed part did not arrive.
    - ``contradicted``: a measurement disagrees with the report beyond the organization's thresholds.
    - ``not_collected``: the consent at completion allowed no evidence, or the exercise was skipped; never
      counted against the patient.
    """

    PENDING = "pending"
    VERIFIED = "verified"
    PARTIAL = "partial"
    CONTRADICTED = "contradicted"
    NOT_COLLECTED = "not_collected"


class LoggedExercise(msgspec.Struct, frozen=True):
    """The exercise of an exercise log, as the library shows it now."""

    id: ExerciseId
    name: Annotated[ShortText, Meta(description="The exercise's current name in the library.")]
    video_url: ExerciseVideoUrl
    video_thumbnail_url: VideoThumbnailUrl


class ExercisePrescription(msgspec.Struct, frozen=True, kw_only=True):
    """What the plan prescribes for one exercise of a session, frozen from the plan version at start."""

    prescribed_mode: Annotated[
        ExerciseMode,
        Meta(description="`reps` or `duration`, frozen from the plan version at start."),
    ]
    prescribed_sets: Annotated[PositiveInt, Meta(description="Prescribed sets, frozen from the plan version at start.")]
    prescribed_reps: Annotated[
        PositiveInt | None,
        Meta(description="Prescribed repetitions per set; null when not prescribed (`duration` mode)."),
    ]
    prescribed_hold_seconds: Annotated[
        PositiveInt | None,
        Meta(description="Prescribed hold per repetition or position, in seconds; null when not prescribed."),
    ]
    prescribed_duration_seconds: Annotated[
        PositiveInt | None,
        Meta(description="Prescribed length of each timed set, in seconds; null when not prescribed."),
    ]
    rest_between_sets_seconds: Annotated[
        NonNegativeInt | None,
        Meta(description="Prescribed rest between sets, in seconds; null when not prescribed."),
    ]
    rest_after_exercise_seconds: Annotated[
        NonNegativeInt | None,
        Meta(description="Prescribed rest after the exercise, in seconds; null when not prescribed."),
    ]
    notes: Annotated[
        LongText | None,
        Meta(description="The specialist's instructions for the exercise, frozen at start; null when none."),
    ]


LibraryExerciseId = Annotated[UUID, Meta(description="Id (UUID) of the exercise in the library.")]

SessionPosition = Annotated[NonNegativeInt, Meta(description="0-based position of the exercise within the session.")]


class ExerciseLog(ExercisePrescription, frozen=True):
    """One exercise of a session as prescribed (frozen at start) and as done."""

    id: Annotated[
        IntId,
        Meta(description="The exercise log's id (the `{id}` of `PUT /v1/patient-exercise-logs/{id}`)."),
    ]
    session_completion_id: Annotated[IntId, Meta(description="Id of the session completion the log belongs to.")]
    exercise_id: LibraryExerciseId
    exercise: Annotated[LoggedExercise, Meta(description="The exercise with its current name and video URLs.")]
    sort_order: SessionPosition
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
    telemetry_session_id: Annotated[
        UUID,
        Meta(
            description=(
                "The session id the app must send this exercise's media events and pose frames under "
                "(`session_id` of `POST /v1/media/events` and `POST /v1/pose/frames`), so telemetry's "
                "measurements can back this log."
            )
        ),
    ]
    evidence_state: Annotated[
        EvidenceState | None,
        Meta(
            description=(
                'Whether telemetry\'s measurements back this log (docs/adherence.md, "Verified adherence"); '
                "null while the session is in progress, for skipped sessions and for logs from before "
                "verification existed."
            )
        ),
    ] = None
    measured_watch_percentage: Annotated[
        Percentage | None,
        Meta(description="Share of the video the player measured as watched, 0-100; null until measured."),
    ] = None
    measured_reps: Annotated[
        NonNegativeInt | None,
        Meta(description="Repetitions the pose tracker counted over the whole exercise; null until measured."),
    ] = None
    mean_form_score: Annotated[
        Percentage | None,
        Meta(description="Mean form score the pose tracker measured, 0-100 like `pose_accuracy_score`; null if none."),
    ] = None


class ExerciseLogList(msgspec.Struct, frozen=True):
    """``GET /v1/patient-session-completions/{id}/exercise-logs``, in the session's order."""

    exercise_logs: Annotated[list[ExerciseLog], Meta(description="The session's exercise logs by sort_order.")]
