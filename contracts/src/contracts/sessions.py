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
    Difficulty,
    ExerciseMode,
    _ExerciseSeconds,
    _NonNegative,
    _Positive,
    _RepCount,
    _SessionMinutes,
    _SetCount,
)
from contracts.types import NO_NUL_PATTERN, IntId, LongText, ShortText, Url

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

    session_number: SessionNumber | None = None
    name: ShortText
    description: LongText | None = None
    estimated_duration_minutes: _SessionMinutes | None = None


class SessionUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}/sessions/{session_id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. A new
    ``session_number`` moves the session there, shifting the sessions in between by one.
    """

    session_number: SessionNumber | UnsetType = UNSET
    name: ShortText | UnsetType = UNSET
    description: LongText | UnsetType | None = UNSET
    estimated_duration_minutes: _SessionMinutes | UnsetType | None = UNSET


class SessionReorder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plans/{id}/sessions/reorder``: every session id of the plan, in the new order."""

    session_ids: Annotated[list[IntId], Meta(max_length=MAX_SESSIONS)]


class TreatmentPlanSession(msgspec.Struct, frozen=True):
    """One session of a plan, as listed and as returned by create and update."""

    id: IntId
    session_number: _Positive
    name: ShortText
    description: LongText | None
    estimated_duration_minutes: _SessionMinutes | None
    exercises_count: _NonNegative


class TreatmentPlanSessionList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plans/{id}/sessions`` and the reorder response, by ``session_number``."""

    sessions: list[TreatmentPlanSession]


# Session exercises --------------------------------------------------------------------------------------


class ExerciseSummary(msgspec.Struct, frozen=True):
    """The exercise a session prescribes, with what a client needs to play it."""

    id: UUID
    name: ShortText
    video_url: Url | None
    video_thumbnail_url: Url | None
    difficulty: Difficulty
    estimated_duration_seconds: ExerciseLengthSeconds | None


class SessionExercise(msgspec.Struct, frozen=True):
    """An exercise as prescribed in one session; ``id`` is the prescription's, ``exercise_id`` the
    exercise's. Which timing fields apply depends on ``mode``."""

    id: IntId
    exercise_id: UUID
    sort_order: _NonNegative
    exercise: ExerciseSummary
    mode: ExerciseMode
    sets: _SetCount
    reps: _RepCount | None
    hold_seconds: _ExerciseSeconds | None
    duration_seconds: _ExerciseSeconds | None
    rest_between_sets_seconds: _ExerciseSeconds | None
    rest_after_exercise_seconds: _ExerciseSeconds | None
    notes: LongText | None


class SessionExerciseList(msgspec.Struct, frozen=True):
    """``GET /v1/treatment-plan-sessions/{id}/exercises`` and the reorder response, by ``sort_order``."""

    exercises: list[SessionExercise]


class SessionExerciseCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plan-sessions/{id}/exercises``.

    ``reps`` mode needs ``reps``; ``duration`` mode needs ``hold_seconds`` or ``duration_seconds``.
    Without a ``sort_order`` the exercise goes last; with one it is inserted there and the exercises from
    that position on move down by one.
    """

    exercise_id: UUID
    sort_order: SortOrder | None = None
    mode: ExerciseMode
    sets: _SetCount = 1
    reps: _RepCount | None = None
    hold_seconds: TimedSeconds | None = None
    duration_seconds: TimedSeconds | None = None
    rest_between_sets_seconds: _ExerciseSeconds | None = None
    rest_after_exercise_seconds: _ExerciseSeconds | None = None
    notes: ExerciseNotes | None = None


class SessionExerciseUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plan-sessions/{id}/exercises/{session_exercise_id}``, a partial update.

    An absent field is ``UNSET`` and left alone; an explicit ``null`` clears a nullable field. The mode
    rules apply to the prescription as it is after the update. A new ``sort_order`` moves the exercise
    there, shifting the exercises in between by one.
    """

    exercise_id: UUID | UnsetType = UNSET
    sort_order: SortOrder | UnsetType = UNSET
    mode: ExerciseMode | UnsetType = UNSET
    sets: _SetCount | UnsetType = UNSET
    reps: _RepCount | UnsetType | None = UNSET
    hold_seconds: TimedSeconds | UnsetType | None = UNSET
    duration_seconds: TimedSeconds | UnsetType | None = UNSET
    rest_between_sets_seconds: _ExerciseSeconds | UnsetType | None = UNSET
    rest_after_exercise_seconds: _ExerciseSeconds | UnsetType | None = UNSET
    notes: ExerciseNotes | UnsetType | None = UNSET


class SessionExerciseReorder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/treatment-plan-sessions/{id}/exercises/reorder``: every prescription id of the session
    (the ``id`` of its exercises, not ``exercise_id``), in the new order."""

    exercise_ids: Annotated[list[IntId], Meta(max_length=MAX_SESSION_EXERCISES)]
