"""Building draft plans, sessions and session exercises through the API, for the session test modules."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.core_api.helpers.responses import Client, Json, ok, problem
from tests.core_api.seed import Org

PLAN = {"name": "Post-ACL Rehab Weeks 1-4", "type": "telerehab", "frequency_per_week": 3, "duration_weeks": 4}


def blames(response: Any, field: str) -> bool:
    """Whether a 422 problem names ``field``, as the field at fault or (unknown and missing fields) in the
    message."""
    errors = problem(response, 422)["errors"]
    return any(field in error["field"] or f"`{field}`" in error["message"] for error in errors)


def create_plan(client: Client, org: Org) -> str:
    plan: Json = ok(client.post("/v1/treatment-plans", json=PLAN, headers=org.headers("specialist")), 201)
    return str(plan["id"])


def sessions_url(plan_id: str) -> str:
    return f"/v1/treatment-plans/{plan_id}/sessions"


def exercises_url(session_id: int) -> str:
    return f"/v1/treatment-plan-sessions/{session_id}/exercises"


def add_session(client: Client, org: Org, plan_id: str, name: str, **fields: Any) -> Json:
    body = {"name": name} | fields
    session: Json = ok(client.post(sessions_url(plan_id), json=body, headers=org.headers("specialist")), 201)
    return session


def add_exercise(client: Client, org: Org, session_id: int, exercise: uuid.UUID, **fields: Any) -> Json:
    body = {"exercise_id": str(exercise), "mode": "reps", "sets": 3, "reps": 10} | fields
    created: Json = ok(client.post(exercises_url(session_id), json=body, headers=org.headers("specialist")), 201)
    return created


def plan_with_sessions(client: Client, org: Org, count: int) -> tuple[str, list[int]]:
    """A draft plan with ``count`` sessions named S1..Sn; their ids in number order."""
    plan_id = create_plan(client, org)
    return plan_id, [add_session(client, org, plan_id, f"S{n}")["id"] for n in range(1, count + 1)]


def list_sessions(client: Client, org: Org, plan_id: str) -> list[Json]:
    sessions: list[Json] = ok(client.get(sessions_url(plan_id), headers=org.headers("specialist")))["sessions"]
    return sessions


def list_exercises(client: Client, org: Org, session_id: int) -> list[Json]:
    exercises: list[Json] = ok(client.get(exercises_url(session_id), headers=org.headers("specialist")))["exercises"]
    return exercises


def plan_detail(client: Client, org: Org, plan_id: str) -> Json:
    detail: Json = ok(client.get(f"/v1/treatment-plans/{plan_id}", headers=org.headers("specialist")))
    return detail


def publish(client: Client, org: Org, plan_id: str) -> None:
    ok(client.post(f"/v1/treatment-plans/{plan_id}/publish", headers=org.headers("specialist")))


def audit_rows(conn: psycopg.Connection, entity_type: str, entity_id: object) -> list[tuple[Any, ...]]:
    """(action, actor_role, before, after) of an entity's audit rows, oldest first."""
    return conn.execute(
        "SELECT action, actor_role, before, after FROM audit_log WHERE entity_type = %s AND entity_id = %s ORDER BY id",
        (entity_type, str(entity_id)),
    ).fetchall()


def global_plan(conn: psycopg.Connection) -> tuple[str, int]:
    """A draft global plan (no organization) with one session, written as the platform would."""
    row = conn.execute(
        "INSERT INTO treatment_plans (name, type, frequency_per_week, duration_weeks) "
        "VALUES ('Global knee care', 'telerehab', 2, 6) RETURNING id"
    ).fetchone()
    assert row is not None
    session = conn.execute(
        "INSERT INTO treatment_plan_sessions (treatment_plan_id, session_number, name) "
        "VALUES (%s, 1, 'Core') RETURNING id",
        (row[0],),
    ).fetchone()
    assert session is not None
    return str(row[0]), int(session[0])
