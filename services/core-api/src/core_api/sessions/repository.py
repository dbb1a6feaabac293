"""SQL for plan sessions and their exercises. Only queries here; the rules live in the service, the
renumbering in ``ordering``.
"""

from __future__ import annotations

from uuid import UUID

from contracts.sessions import SessionExercise, TreatmentPlanSession
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_all, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.sessions")


# Sessions --------------------------------------------------------------------------------------------------


async def plan_exists(conn: AsyncConnection, plan_id: UUID) -> bool:
    """Whether the caller can see the plan (own or global) and it is not deleted."""
    return bool(await fetch_value(conn, QUERIES.plan_exists, {"plan_id": plan_id}))


async def list_sessions(conn: AsyncConnection, plan_id: UUID) -> list[TreatmentPlanSession]:
    return await fetch_all(conn, QUERIES.list_sessions, {"plan_id": plan_id}, TreatmentPlanSession)


async def get_session(conn: AsyncConnection, plan_id: UUID, session_id: int) -> TreatmentPlanSession | None:
    """The session, or ``None`` when it is not one of ``plan_id``'s."""
    return await fetch_one(conn, QUERIES.get_session, {"plan_id": plan_id, "id": session_id}, TreatmentPlanSession)


async def read_session(conn: AsyncConnection, session_id: int) -> TreatmentPlanSession | None:
    """The session, or ``None`` when the caller cannot see it or its plan is deleted."""
    return await fetch_one(conn, QUERIES.read_session, {"id": session_id}, TreatmentPlanSession)


async def session_count(conn: AsyncConnection, plan_id: UUID) -> int:
    return int(await fetch_value(conn, QUERIES.session_count, {"plan_id": plan_id}))


async def insert_session(conn: AsyncConnection, values: Params) -> int:
    session_id: int = await fetch_value(conn, QUERIES.insert_session, values)
    return session_id


async def update_session(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.update_session, values)


async def delete_session(conn: AsyncConnection, session_id: int) -> None:
    await conn.execute(QUERIES.delete_session, {"id": session_id})


# Session exercises -----------------------------------------------------------------------------------------


async def session_plan_id(conn: AsyncConnection, session_id: int) -> UUID | None:
    """The plan of a session the caller can see, or ``None`` (no such session, or its plan is deleted)."""
    plan_id: UUID | None = await fetch_value(conn, QUERIES.session_plan_id, {"session_id": session_id})
    return plan_id


async def list_session_exercises(conn: AsyncConnection, session_id: int) -> list[SessionExercise]:
    return await fetch_all(conn, QUERIES.session_exercises, {"session_id": session_id, "id": None}, SessionExercise)


async def get_session_exercise(
    conn: AsyncConnection, session_id: int, session_exercise_id: int
) -> SessionExercise | None:
    """The prescription, or ``None`` when it is not one of ``session_id``'s."""
    return await fetch_one(
        conn,
        QUERIES.session_exercises,
        {"session_id": session_id, "id": session_exercise_id},
        SessionExercise,
    )


async def read_session_exercise(conn: AsyncConnection, session_exercise_id: int) -> SessionExercise | None:
    """The prescription, or ``None`` when the caller cannot see it or its plan is deleted."""
    return await fetch_one(conn, QUERIES.read_session_exercise, {"id": session_exercise_id}, SessionExercise)


async def session_exercise_count(conn: AsyncConnection, session_id: int) -> int:
    return int(await fetch_value(conn, QUERIES.session_exercise_count, {"session_id": session_id}))


async def exercise_published(conn: AsyncConnection, exercise_id: UUID) -> bool | None:
    """Whether the exercise is published; ``None`` when the caller's organization has no such exercise."""
    published: bool | None = await fetch_value(conn, QUERIES.exercise_published, {"exercise_id": exercise_id})
    return published


async def insert_session_exercise(conn: AsyncConnection, values: Params) -> int:
    session_exercise_id: int = await fetch_value(conn, QUERIES.insert_session_exercise, values)
    return session_exercise_id


async def update_session_exercise(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.update_session_exercise, values)


async def delete_session_exercise(conn: AsyncConnection, session_exercise_id: int) -> None:
    await conn.execute(QUERIES.delete_session_exercise, {"id": session_exercise_id})
