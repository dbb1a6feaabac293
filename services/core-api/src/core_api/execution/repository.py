"""SQL for session execution: completions, exercise logs, form instances. Only queries here; the rules
live in the service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
from contracts.exercise_logs import ExerciseLog
from contracts.plan_details import PlanSession
from contracts.session_completions import PlanProgress, SessionCompletion
from psycopg import AsyncConnection, errors
from service_common.errors import ConflictError

from core_api.consent.repository import Current
from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_all, fetch_json, fetch_one, fetch_value
from core_api.execution.completions import CompletionRow

QUERIES = load_queries(__package__ or "core_api.execution")


class TodayEnrollment(msgspec.Struct, frozen=True):
    """An enrollment as today's session needs it."""

    id: int
    treatment_plan_id: UUID
    plan_name: str
    duration_weeks: int
    sessions: list[PlanSession]
    status: str
    start_date: date
    end_date: date
    frequency_per_week: int
    sessions_total: int
    sessions_completed: int
    sessions_skipped: int
    in_progress_id: int | None
    completed_at: list[datetime]


class TodayRead(msgspec.Struct, frozen=True):
    """What today's session reads, in one statement: the patient's zone, consent and enrollments."""

    time_zone: str
    consent: Current
    enrollments: list[TodayEnrollment]


class LockedEnrollment(msgspec.Struct, frozen=True):
    id: int
    organization_id: int
    patient_id: int
    status: str
    start_date: date
    end_date: date
    sessions_done: int
    """Sessions completed or skipped."""
    sessions_total: int
    time_zone: str
    sessions_json: str
    post_session_form_template_id: int | None


class LockedCompletion(msgspec.Struct, frozen=True):
    id: int
    status: str
    session_number: int


class _CompletionRow(CompletionRow, frozen=True):
    """A completion with its enrollment's progress, as the ``completion`` query reads it."""

    patient_treatment_plan_id: int
    patient_id: int
    notes: str | None
    skip_reason: str | None
    post_session_form_id: int | None
    evidence_state: str | None
    sessions_completed: int
    sessions_skipped: int
    sessions_total: int
    completion_percentage: float
    enrollment_status: str


# Today's session -------------------------------------------------------------------------------------------


async def today(conn: AsyncConnection, patient_id: int) -> TodayRead | None:
    """What today's session shows of the patient, or ``None`` when the caller cannot see the patient."""
    return await fetch_json(conn, QUERIES.today, {"patient_id": patient_id}, TodayRead)


# Starting ----------------------------------------------------------------------------------------------------


async def lock_enrollment(conn: AsyncConnection, enrollment_id: int) -> LockedEnrollment | None:
    return await fetch_one(conn, QUERIES.lock_enrollment, {"id": enrollment_id}, LockedEnrollment)


async def in_progress_completion(conn: AsyncConnection, enrollment_id: int) -> int | None:
    completion_id: int | None = await fetch_value(
        conn, QUERIES.in_progress_completion, {"enrollment_id": enrollment_id}
    )
    return completion_id


async def insert_completion(conn: AsyncConnection, values: Params) -> int:
    """A new in-progress completion; a second one for the enrollment is a 409 (the unique backstop)."""
    try:
        async with conn.transaction():
            completion_id: int = await fetch_value(conn, QUERIES.insert_completion, values)
    except errors.UniqueViolation:
        raise ConflictError("a session of this enrollment is already in progress") from None
    return completion_id


async def insert_exercise_logs(conn: AsyncConnection, completion_ids: list[int]) -> None:
    """The exercise logs of each newly started session in ``completion_ids``."""
    await conn.execute(QUERIES.insert_exercise_logs, {"completion_ids": completion_ids})


# Reads -------------------------------------------------------------------------------------------------------


async def exercise_logs(
    conn: AsyncConnection, *, completion_id: int | None = None, log_id: int | None = None
) -> list[ExerciseLog]:
    return await fetch_all(conn, QUERIES.exercise_logs, {"completion_id": completion_id, "id": log_id}, ExerciseLog)


async def completion(conn: AsyncConnection, completion_id: int) -> SessionCompletion | None:
    """The completion with its logs and its enrollment's progress, or ``None`` when not visible."""
    row = await fetch_one(conn, QUERIES.completion, {"id": completion_id}, _CompletionRow)
    if row is None:
        return None
    values: dict[str, Any] = msgspec.structs.asdict(row)
    progress = PlanProgress(
        sessions_completed=values.pop("sessions_completed"),
        sessions_skipped=values.pop("sessions_skipped"),
        sessions_total=values.pop("sessions_total"),
        completion_percentage=values.pop("completion_percentage"),
        enrollment_status=values.pop("enrollment_status"),
    )
    logs = await exercise_logs(conn, completion_id=completion_id)
    return msgspec.convert(values | {"plan_progress": progress, "exercise_logs": logs}, SessionCompletion)


async def completion_enrollment_id(conn: AsyncConnection, completion_id: int) -> int | None:
    enrollment_id: int | None = await fetch_value(conn, QUERIES.completion_enrollment_id, {"id": completion_id})
    return enrollment_id


async def lock_completion(conn: AsyncConnection, completion_id: int) -> LockedCompletion | None:
    return await fetch_one(conn, QUERIES.lock_completion, {"id": completion_id}, LockedCompletion)


# Exercise logs -----------------------------------------------------------------------------------------------


async def lock_log_completion(conn: AsyncConnection, log_id: int) -> LockedCompletion | None:
    """The session the log belongs to, locked; ``None`` when the log is not visible."""
    return await fetch_one(conn, QUERIES.lock_log_completion, {"id": log_id}, LockedCompletion)


async def update_exercise_log(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.update_exercise_log, values)


# Completing and skipping -------------------------------------------------------------------------------------


async def finish_completion(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.finish_completion, values)


async def count_completed_session(conn: AsyncConnection, enrollment_id: int) -> str:
    """Count one more completed session; the enrollment's status afterwards."""
    status: str = await fetch_value(conn, QUERIES.count_completed_session, {"id": enrollment_id})
    return status


async def skip_completion(conn: AsyncConnection, completion_id: int, reason: str) -> None:
    await conn.execute(QUERIES.skip_completion, {"id": completion_id, "reason": reason})


async def count_skipped_session(conn: AsyncConnection, enrollment_id: int) -> None:
    await conn.execute(QUERIES.count_skipped_session, {"id": enrollment_id})


async def record_status_change(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.record_status_change, values)


async def insert_form_instance(conn: AsyncConnection, completion_id: int, form_template_id: int) -> int:
    form_id: int = await fetch_value(
        conn, QUERIES.insert_form_instance, {"completion_id": completion_id, "form_template_id": form_template_id}
    )
    await conn.execute(QUERIES.link_form_instance, {"id": completion_id, "form_id": form_id})
    return form_id
