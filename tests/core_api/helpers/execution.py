"""Session execution for tests: the seeded patient enrolled in a library plan, then starting and completing
its sessions through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from contracts.execution import ExerciseLogUpdateBody

from tests.contracts.helpers.examples import example_of
from tests.core_api.helpers.plans import add_session, create_plan, publish, self_assign
from tests.core_api.helpers.responses import Client, Json, ok
from tests.core_api.seed import Org

# The seeded patient's time zone.
MADRID = ZoneInfo("Europe/Madrid")


def enroll(
    client: Client, conn: psycopg.Connection, org: Org, *, sessions: int = 3, weeks: int = 4, frequency: int = 3
) -> Json:
    """The seeded patient self-assigned to a library plan of ``sessions`` sessions of two exercises each,
    with the organization's post-session form, starting today in the patient's zone."""
    plan = create_plan(
        client,
        org,
        visibility="library",
        duration_weeks=weeks,
        frequency_per_week=frequency,
        post_session_form_template_id=org.form_template,
    )
    for number in range(1, sessions + 1):
        add_session(conn, org, plan["id"], number, exercises=2)
    publish(client, org, plan["id"])
    enrollment: Json = ok(self_assign(client, org, plan["id"], start_date=datetime.now(MADRID).date().isoformat()), 201)
    return enrollment


def start(client: Client, org: Org, enrollment_id: int, number: int, role: str = "patient", **body: Any) -> Any:
    return client.post(
        f"/v1/patient-treatment-plans/{enrollment_id}/sessions/{number}/start",
        json=body,
        headers=org.headers(role),
    )


def complete(client: Client, org: Org, completion_id: int, role: str = "patient", **body: Any) -> Any:
    return client.post(
        f"/v1/patient-session-completions/{completion_id}/complete", json=body, headers=org.headers(role)
    )


def skip(client: Client, org: Org, completion_id: int, role: str = "patient", **body: Any) -> Any:
    return client.post(f"/v1/patient-session-completions/{completion_id}/skip", json=body, headers=org.headers(role))


def logged_in_full(**changes: Any) -> Json:
    """The spec's log of an exercise done in full (the contract's example), with the pose scored too."""
    body: Json = {**example_of(ExerciseLogUpdateBody), "pose_data_captured": True, "pose_accuracy_score": 85.5}
    return {**body, **changes}


def today(client: Client, org: Org, role: str = "patient") -> Json:
    body: Json = ok(client.get(f"/v1/patients/{org.patient}/treatment-plans/today", headers=org.headers(role)))
    return body


def audit_actions(conn: psycopg.Connection, entity_type: str, entity_id: int) -> list[str]:
    """Every action audited on one entity, oldest first."""
    rows = conn.execute(
        "SELECT action FROM audit_log WHERE entity_type = %s AND entity_id = %s ORDER BY id",
        (entity_type, str(entity_id)),
    ).fetchall()
    return [row[0] for row in rows]
