"""Plan session and session exercise bodies for core-api.

``/v1/treatment-plans/{id}/sessions`` edits a draft plan's sessions, ``/v1/treatment-plan-sessions/{id}/
exercises`` the exercises prescribed in one session. Sessions are numbered 1..n and a session's exercises
ordered 0..n-1 without gaps; the service keeps both dense on every insert, move and delete.

Request Structs forbid unknown fields so a client cannot smuggle server-owned columns (``organization_id``,
``treatment_plan_id``, ``session_id``) into a write.
"""

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.plans import (
    DescriptionUpdate,
    Difficulty,
    ExerciseMode,
    PlanSessionDescription,
    PlanSessionId,
    PlanSessionMinutes,
    PlanSessionNumber,
    PrescribedExerciseId,
    PrescribedMode,
    PrescribedSets,
    PrescriptionId,
    PrescriptionNotes,
    PrescriptionPosition,
    RestAfterExercise,
    RestBetweenSets,
)
from contracts.types import (
    NO_NUL_PATTERN,
    ExerciseVideoUrl,
    IntId,
    LongText,
    NonNegativeInt,
    PrescribedSeconds,
    RepCount,
    SessionMinutes,
    SessionName,
    SetCount,
    ShortText,
    VideoThumbnailUrl,
)

# Far beyond any real plan (twice a day for two years is 1456 sessions), low enough that a number or a
# reorder list stays a small, cheap request.
MAX_SESSIONS = 2000
# Far beyond any real session.
MAX_SESSION_EXERCISES = 500

SessionNumber = Annotated[int, Meta(ge=1, le=MAX_SESSIONS)]
SortOrder = Annotated[int, Meta(ge=0, le=MAX_SESSION_EXERCISES - 1)]
# A hold or a timed exercise lasts at least a second (the database refuses 0).
TimedSeconds = Annotated[int, Meta(ge=1, le=3600)]
# What the database keeps of a prescription note.
ExerciseNotes = Annotated[str, Meta(max_length=2000, pattern=NO_NUL_PATTERN)]
# How long one exercise takes as a whole, as the exercise library estimates it.
ExerciseLengthSeconds = Annotated[int, Meta(ge=1, le=86_400)]


# Sessions -----------------------------------------------------------------------------------------------


class SessionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/sessions``.

    Without a ``session_number`` the session is appended; with one it is inserted there and the sessions
    from that number on move up by one.
    """

    session_number: Annotated[
        SessionNumber | None,
        Meta(
            description=(
                "Where to insert the session, 1-2000; later sessions move up by one. Null or absent appends it."
            )
        ),
    ] = None
    name: Annotated[ShortText, Meta(description="The session's name, 1-200 characters with at least one visible one.")]
    description: Annotated[
        LongText | None,
        Meta(description="A free-text description, at most 5000 characters; null for none."),
    ] = None
    estimated_duration_minutes: PlanSessionMinutes = None


SessionCreateBody = Annotated[
    SessionCreate,
    Meta(
        examples=[
            {
                "session_number": 3,
                "name": "Balance & Control",
                "description": "Balance and proprioception exercises",
                "estimated_duration_minutes": 20,
            }
        ]
    ),
]


class SessionUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}/sessions/{session_id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. A new
    ``session_number`` moves the session there, shifting the sessions in between by one.
    """

    session_number: Annotated[
        SessionNumber | UnsetType,
        Meta(
            description=(
                "Move the session to this position, 1-2000, shifting the sessions in between; absent keeps it."
            )
        ),
    ] = UNSET
    name: Annotated[ShortText | UnsetType, Meta(description="New name, 1-200 characters; absent keeps it.")] = UNSET
    description: DescriptionUpdate = UNSET
    estimated_duration_minutes: Annotated[
        SessionMinutes | UnsetType | None,
        Meta(description="New estimated length in minutes, 1-600; null clears it, absent keeps it."),
    ] = UNSET


SessionUpdateBody = Annotated[SessionUpdate, Meta(examples=[{"name": "Balance & Control II", "session_number": 2}])]


class SessionReorder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}/sessions/reorder``: every session id of the plan, in the new order."""

    session_ids: Annotated[
        Annotated[list[IntId], Meta(max_length=MAX_SESSIONS)],
        Meta(description="Every session id of the plan exactly once, in the new order; the first becomes session 1."),
    ]


SessionReorderBody = Annotated[SessionReorder, Meta(examples=[{"session_ids": [3, 1, 2]}])]


class TreatmentPlanSession(msgspec.Struct, frozen=True):
    """One session of a plan, as listed and as returned by create and update."""

    id: PlanSessionId
    session_number: PlanSessionNumber
    name: SessionName
    description: PlanSessionDescription
    estimated_duration_minutes: PlanSessionMinutes
    exercises_count: Annotated[NonNegativeInt, Meta(description="Number of exercises prescribed in the session.")]


class TreatmentPlanSessionList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/sessions`` and the reorder response, by ``session_number``."""

    sessions: Annotated[list[TreatmentPlanSession], Meta(description="The plan's sessions by `session_number`.")]


# Session exercises --------------------------------------------------------------------------------------


class ExerciseSummary(msgspec.Struct, frozen=True):
    """The exercise a session prescribes, with what a client needs to play it."""

    id: Annotated[UUID, Meta(description="The exercise's id (UUID) in the exercise library.")]
    name: Annotated[ShortText, Meta(description="The exercise's name.")]
    video_url: ExerciseVideoUrl
    video_thumbnail_url: VideoThumbnailUrl
    difficulty: Annotated[
        Difficulty,
        Meta(description="The exercise's difficulty: `beginner`, `intermediate` or `advanced`."),
    ]
    estimated_duration_seconds: Annotated[
        ExerciseLengthSeconds | None,
        Meta(
            description=(
                "How long the whole exercise takes in seconds, as the library estimates it (1-86400); "
                "null when not estimated."
            )
        ),
    ]


class SessionExercise(msgspec.Struct, frozen=True):
    """An exercise as prescribed in one session; ``id`` is the prescription's, ``exercise_id`` the
    exercise's. Which timing fields apply depends on ``mode``."""

    id: PrescriptionId
    exercise_id: PrescribedExerciseId
    sort_order: PrescriptionPosition
    exercise: Annotated[ExerciseSummary, Meta(description="The prescribed exercise as the library shows it.")]
    mode: PrescribedMode
    sets: PrescribedSets
    reps: Annotated[
        RepCount | None,
        Meta(description="Repetitions per set, 1-1000; null when not prescribed (`duration` mode)."),
    ]
    hold_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Seconds to hold each repetition or position, 0-3600; null when not prescribed."),
    ]
    duration_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Seconds each timed set lasts, 0-3600; null when not prescribed."),
    ]
    rest_between_sets_seconds: RestBetweenSets
    rest_after_exercise_seconds: RestAfterExercise
    notes: PrescriptionNotes


class SessionExerciseList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plan-sessions/{id}/exercises`` and the reorder response, by ``sort_order``."""

    exercises: Annotated[list[SessionExercise], Meta(description="The session's exercises by `sort_order`.")]


class SessionExerciseCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plan-sessions/{id}/exercises``.

    ``reps`` mode needs ``reps``; ``duration`` mode needs ``hold_seconds`` or ``duration_seconds``.
    Without a ``sort_order`` the exercise goes last; with one it is inserted there and the exercises from
    that position on move down by one.
    """

    exercise_id: Annotated[
        UUID,
        Meta(description="Id (UUID) of a published exercise of the library (a draft one for admins)."),
    ]
    sort_order: Annotated[
        SortOrder | None,
        Meta(
            description=(
                "Where to insert the exercise, 0-499 (0-based); later exercises move down by one. Null "
                "or absent puts it last."
            )
        ),
    ] = None
    mode: Annotated[
        ExerciseMode,
        Meta(
            description=(
                "`reps` (sets of repetitions) or `duration` (timed holds or bouts). `reps` needs "
                "`reps`; `duration` needs `hold_seconds` or `duration_seconds`."
            )
        ),
    ]
    sets: Annotated[SetCount, Meta(description="Sets, 1-50.")] = 1
    reps: Annotated[RepCount | None, Meta(description="Repetitions per set, 1-1000; required in `reps` mode.")] = None
    hold_seconds: Annotated[
        TimedSeconds | None,
        Meta(description="Seconds to hold each repetition or position, 1-3600."),
    ] = None
    duration_seconds: Annotated[TimedSeconds | None, Meta(description="Seconds each timed set lasts, 1-3600.")] = None
    rest_between_sets_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Rest between sets in seconds, 0-3600."),
    ] = None
    rest_after_exercise_seconds: Annotated[
        PrescribedSeconds | None,
        Meta(description="Rest after the exercise in seconds, 0-3600."),
    ] = None
    notes: Annotated[
        ExerciseNotes | None,
        Meta(description="Instructions for the patient, at most 2000 characters."),
    ] = None


SessionExerciseCreateBody = Annotated[
    SessionExerciseCreate,
    Meta(
        examples=[
            {
                "exercise_id": "660e8400-e29b-41d4-a716-446655440000",
                "sort_order": 0,
                "mode": "reps",
                "sets": 3,
                "reps": 10,
                "rest_between_sets_seconds": 30,
                "rest_after_exercise_seconds": 60,
                "notes": "Focus on controlled contraction",
            }
        ]
    ),
]


class SessionExerciseUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plan-sessions/{id}/exercises/{session_exercise_id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. The mode
    rules apply to the prescription as it is after the update. A new ``sort_order`` moves the exercise
    there, shifting the exercises in between by one.
    """

    exercise_id: Annotated[
        UUID | UnsetType,
        Meta(description="Prescribe another exercise (UUID) instead; absent keeps it."),
    ] = UNSET
    sort_order: Annotated[
        SortOrder | UnsetType,
        Meta(
            description=(
                "Move the exercise to this 0-based position, 0-499, shifting the ones in between; absent keeps it."
            )
        ),
    ] = UNSET
    mode: Annotated[
        ExerciseMode | UnsetType,
        Meta(description="New mode, `reps` or `duration`; absent keeps it. The mode rules apply to the result."),
    ] = UNSET
    sets: Annotated[SetCount | UnsetType, Meta(description="New sets, 1-50; absent keeps them.")] = UNSET
    reps: Annotated[
        RepCount | UnsetType | None,
        Meta(description="New repetitions per set, 1-1000; null clears them, absent keeps them."),
    ] = UNSET
    hold_seconds: Annotated[
        TimedSeconds | UnsetType | None,
        Meta(description="New hold in seconds, 1-3600; null clears it, absent keeps it."),
    ] = UNSET
    duration_seconds: Annotated[
        TimedSeconds | UnsetType | None,
        Meta(description="New set duration in seconds, 1-3600; null clears it, absent keeps it."),
    ] = UNSET
    rest_between_sets_seconds: Annotated[
        PrescribedSeconds | UnsetType | None,
        Meta(description="New rest between sets in seconds, 0-3600; null clears it, absent keeps it."),
    ] = UNSET
    rest_after_exercise_seconds: Annotated[
        PrescribedSeconds | UnsetType | None,
        Meta(description="New rest after the exercise in seconds, 0-3600; null clears it, absent keeps it."),
    ] = UNSET
    notes: Annotated[
        ExerciseNotes | UnsetType | None,
        Meta(description="New instructions, at most 2000 characters; null clears them, absent keeps them."),
    ] = UNSET


# The spec: "Same as add (partial updates allowed)".
SessionExerciseUpdateBody = Annotated[
    SessionExerciseUpdate, Meta(examples=[{"sets": 4, "reps": 12, "notes": "Add a two-second hold at the top"}])
]


class SessionExerciseReorder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plan-sessions/{id}/exercises/reorder``: every prescription id of the session
    (the ``id`` of its exercises, not ``exercise_id``), in the new order."""

    exercise_ids: Annotated[
        Annotated[list[IntId], Meta(max_length=MAX_SESSION_EXERCISES)],
        Meta(
            description=(
                "Every prescription id of the session (its exercises' `id`, not `exercise_id`) exactly "
                "once, in the new order; the first gets `sort_order` 0."
            )
        ),
    ]


SessionExerciseReorderBody = Annotated[SessionExerciseReorder, Meta(examples=[{"exercise_ids": [11, 10, 12]}])]
