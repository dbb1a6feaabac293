"""SQL for the progress and analytics reports. Only queries here; the rules live in the service."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec
from contracts.dashboard import ExerciseUsage, PainReduction, ServicePlanUsage
from contracts.exercise_logs import EvidenceState
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all, fetch_one
from core_api.execution.completions import CompletionRow

QUERIES = load_queries(__package__ or "core_api.progress")


class HistoryEntry(msgspec.Struct, frozen=True):
    at: datetime
    from_status: str
    to_status: str


class EnrollmentRow(msgspec.Struct, frozen=True):
    id: int
    status: str
    start_date: date
    end_date: date
    frequency_per_week: int
    duration_weeks: int
    sessions_total: int
    sessions_completed: int
    sessions_skipped: int
    created_at: datetime
    time_zone: str
    session_numbers: list[int]
    history_json: str


class ExerciseRow(msgspec.Struct, frozen=True):
    exercise_id: UUID
    exercise_name: str
    times_performed: int
    times_skipped: int
    average_completion_rate: float | None
    average_video_watch_percentage: float | None
    average_pose_accuracy: float | None
    pose_scores: list[float]
    average_measured_watch_percentage: float | None
    average_mean_form_score: float | None


class ScheduleCompletion(msgspec.Struct, frozen=True):
    id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    evidence_state: str | None = None


class ActiveSchedule(msgspec.Struct, frozen=True):
    id: int
    status: str
    start_date: date
    frequency_per_week: int
    duration_weeks: int
    created_at: datetime
    time_zone: str
    history_json: str
    completions_json: str


class PlanOutcomes(msgspec.Struct, frozen=True):
    completed: int
    expired: int
    cancelled: int


_history_decoder = msgspec.json.Decoder(list[HistoryEntry])
_completions_decoder = msgspec.json.Decoder(list[ScheduleCompletion])


def decode_history(text: str) -> list[HistoryEntry]:
    return _history_decoder.decode(text)


def decode_completions(text: str) -> list[ScheduleCompletion]:
    return _completions_decoder.decode(text)


def _period(from_date: date | None, to_date: date | None) -> dict[str, date | None]:
    return {"from": from_date, "to": to_date}


# Enrollment reports ------------------------------------------------------------------------------------------


async def enrollment(conn: AsyncConnection, enrollment_id: int) -> EnrollmentRow | None:
    """The enrollment, or ``None`` when the caller cannot see it."""
    return await fetch_one(conn, QUERIES.enrollment, {"id": enrollment_id}, EnrollmentRow)


async def completions(conn: AsyncConnection, enrollment_id: int) -> list[CompletionRow]:
    return await fetch_all(conn, QUERIES.completions, {"id": enrollment_id}, CompletionRow)


async def video_watch_average(conn: AsyncConnection, enrollment_id: int) -> float | None:
    row = await (await conn.execute(QUERIES.video_watch_average, {"id": enrollment_id})).fetchone()
    return None if row is None else row[0]


class EngagementRow(msgspec.Struct, frozen=True):
    """The reported and measured averages (unrounded), and the completed sessions' evidence states."""

    avg_video_watch_percentage: float | None
    avg_pose_accuracy: float | None
    avg_measured_watch_percentage: float | None
    avg_mean_form_score: float | None
    evidence_states: str  # JSON object: completion id → evidence state


_evidence_decoder = msgspec.json.Decoder(dict[int, EvidenceState])


def decode_evidence_states(text: str) -> dict[int, EvidenceState]:
    return _evidence_decoder.decode(text)


async def engagement(conn: AsyncConnection, enrollment_id: int) -> EngagementRow:
    found = await fetch_one(conn, QUERIES.engagement, {"id": enrollment_id}, EngagementRow)
    assert found is not None  # an aggregate always returns a row
    return found


async def exercise_performance(conn: AsyncConnection, enrollment_id: int) -> list[ExerciseRow]:
    return await fetch_all(conn, QUERIES.exercise_performance, {"id": enrollment_id}, ExerciseRow)


# Organization dashboard --------------------------------------------------------------------------------------


async def pain_reduction(conn: AsyncConnection, from_date: date | None, to_date: date | None) -> PainReduction:
    found = await fetch_one(conn, QUERIES.org_pain_reduction, _period(from_date, to_date), PainReduction)
    assert found is not None  # an aggregate always returns a row
    return found


async def active_schedules(conn: AsyncConnection, from_date: date | None, to_date: date | None) -> list[ActiveSchedule]:
    return await fetch_all(conn, QUERIES.org_active_schedules, _period(from_date, to_date), ActiveSchedule)


async def exercise_usage(conn: AsyncConnection, from_date: date | None, to_date: date | None) -> list[ExerciseUsage]:
    return await fetch_all(conn, QUERIES.org_exercise_usage, _period(from_date, to_date), ExerciseUsage)


async def plan_outcomes(conn: AsyncConnection, from_date: date | None, to_date: date | None) -> PlanOutcomes:
    found = await fetch_one(conn, QUERIES.org_plan_outcomes, _period(from_date, to_date), PlanOutcomes)
    assert found is not None  # an aggregate always returns a row
    return found


async def service_plan_usage(
    conn: AsyncConnection, from_date: date | None, to_date: date | None
) -> list[ServicePlanUsage]:
    return await fetch_all(conn, QUERIES.org_service_plan_usage, _period(from_date, to_date), ServicePlanUsage)
