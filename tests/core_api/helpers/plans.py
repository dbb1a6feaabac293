"""Treatment plans for tests: made and published through the API, their sessions written with SQL as the
superuser (so tests of other areas do not depend on the session routes)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org

PLAN = {
    "name": "Post-ACL Rehab Weeks 1-4",
    "description": "Progressive rehabilitation program for ACL reconstruction recovery",
    "type": "telerehab",
    "frequency_per_week": 3,
    "duration_weeks": 4,
    "condition_tags": ["post_acl", "knee_rehab"],
}


def create_plan(client: Client, org: Org, role: str = "specialist", **fields: Any) -> dict[str, Any]:
    body = PLAN | {"specialist_id": org.specialist, "specialty_id": org.specialty} | fields
    response = client.post("/v1/treatment-plans", json=body, headers=org.headers(role))
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


def add_session(conn: psycopg.Connection, org: Org, plan_id: str, number: int, exercises: int = 1) -> None:
    """A session with ``exercises`` exercises, written below the API."""
    row = conn.execute(
        "INSERT INTO treatment_plan_sessions (organization_id, treatment_plan_id, session_number, name) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (org.id, plan_id, number, f"Session {number}"),
    ).fetchone()
    assert row is not None
    for order in range(exercises):
        conn.execute(
            "INSERT INTO treatment_plan_session_exercises "
            "(organization_id, session_id, exercise_id, sort_order, mode, sets, reps) "
            "VALUES (%s, %s, %s, %s, 'reps', 3, 10)",
            (org.id, row[0], org.exercises[order % len(org.exercises)], order),
        )


def publish(client: Client, org: Org, plan_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/treatment-plans/{plan_id}/publish", headers=org.headers("specialist"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def published_plan(client: Client, conn: psycopg.Connection, org: Org, **fields: Any) -> dict[str, Any]:
    plan = create_plan(client, org, **fields)
    add_session(conn, org, plan["id"], 1, exercises=2)
    publish(client, org, plan["id"])
    return plan


def self_assign(client: Client, org: Org, plan_id: str, role: str = "patient", start_date: str | None = None) -> Any:
    """The patient's self-assignment to a library plan, starting ``start_date`` (default today)."""
    body = {"start_date": start_date or date.today().isoformat()}
    return client.post(f"/v1/treatment-plans/{plan_id}/self-assign", json=body, headers=org.headers(role))


def audit_actions(conn: psycopg.Connection, entity_id: str) -> list[str]:
    """The changes audited on a treatment plan or an enrollment with this id (reads are left out)."""
    rows = conn.execute(
        "SELECT action FROM audit_log WHERE entity_id = %s "
        "AND entity_type IN ('treatment_plan', 'patient_treatment_plan') AND action NOT LIKE '%%.read' ORDER BY id",
        (entity_id,),
    ).fetchall()
    return [row[0] for row in rows]
