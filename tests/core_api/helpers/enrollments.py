"""Enrollments for tests: assigning a plan to the seeded patient, changing its status, and reading the
status history PostgreSQL keeps."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org

# Relative to today, so nothing expires while a test runs.
START = date.today()


def assign(client: Client, org: Org, plan_id: str, *, role: str = "specialist", **fields: Any) -> Any:
    body = {
        "patient_id": org.patient,
        "treatment_plan_id": plan_id,
        "start_date": START.isoformat(),
        "assigned_by_specialist_id": org.specialist,
        "patient_service_plan_id": None,
    } | fields
    return client.post("/v1/patient-treatment-plans", json=body, headers=org.headers(role))


def change(client: Client, org: Org, enrollment_id: int, status: str, role: str = "specialist") -> Any:
    return client.put(
        f"/v1/patient-treatment-plans/{enrollment_id}/status",
        json={"status": status, "reason": f"moving to {status}"},
        headers=org.headers(role),
    )


def automation_events(conn: psycopg.Connection, enrollment_id: int) -> list[tuple[str, Any]]:
    """(event type, payload) of each outbox event about the enrollment, oldest first."""
    rows = conn.execute(
        "SELECT event_type, payload FROM automation_events "
        "WHERE entity_type = 'patient_treatment_plan' AND entity_id = %s ORDER BY id",
        (str(enrollment_id),),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def history(conn: psycopg.Connection, enrollment_id: int) -> list[tuple[str, str, str, str]]:
    """(from, to, reason, role) of each status change of the enrollment, oldest first."""
    rows = conn.execute(
        "SELECT from_status, to_status, reason, changed_by_role FROM patient_treatment_plan_status_changes "
        "WHERE patient_treatment_plan_id = %s ORDER BY id",
        (enrollment_id,),
    ).fetchall()
    return [(row[0], row[1], row[2], row[3]) for row in rows]
