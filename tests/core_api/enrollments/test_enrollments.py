"""Enrollments: assign, read, list, approve, status changes and expiry, through the API on PostgreSQL.

Plans are made and published through the API (tests/core_api/helpers/plans.py); time is moved by rewriting an
enrollment's dates with SQL as the superuser.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from core_api.jobs.expire_enrollments import expire_all

from tests.core_api.helpers.enrollments import START, assign, automation_events, change, history
from tests.core_api.helpers.plans import audit_actions, create_plan, publish, published_plan
from tests.core_api.helpers.responses import Client, problem
from tests.core_api.seed import Org
from tools.databases import PostgresUrls


def enrolled(client: Client, conn: psycopg.Connection, org: Org, **plan_fields: Any) -> dict[str, Any]:
    plan = published_plan(client, conn, org, **plan_fields)
    response = assign(client, org, plan["id"])
    assert response.status_code == 201, response.text
    enrollment: dict[str, Any] = response.json()
    return enrollment


def move_dates(conn: psycopg.Connection, enrollment_id: int, end: date) -> None:
    conn.execute(
        "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s WHERE id = %s",
        (end - timedelta(days=28), end, enrollment_id),
    )


# Assign ----------------------------------------------------------------------------------------------------


def test_assign_freezes_the_latest_version(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan = published_plan(core_api, superuser, org, frequency_per_week=3, duration_weeks=4)
    enrollment = assign(core_api, org, plan["id"]).json()

    assert enrollment["status"] == "active"
    assert enrollment["start_date"] == START.isoformat()
    assert enrollment["end_date"] == (START + timedelta(days=28)).isoformat()  # start + 4 x 7 days
    assert enrollment["sessions_total"] == 12
    assert enrollment["frequency_per_week"] == 3
    assert enrollment["sessions_completed"] == 0
    assert enrollment["completion_percentage"] == 0
    assert enrollment["treatment_plan_version"] == 1
    assert enrollment["self_assigned"] is False
    assert enrollment["assigned_by_specialist"] == {"id": org.specialist, "name": "Dr. Maria Kent"}
    assert enrollment["patient"] == {"id": org.patient, "name": "Jane Doe"}
    assert enrollment["treatment_plan"]["type"] == "telerehab"
    assert enrollment["plan_version"]["version"] == 1
    assert [s["session_number"] for s in enrollment["plan_version"]["sessions"]] == [1]
    assert enrollment["plan_version"]["sessions"][0]["exercises_count"] == 2
    assert enrollment["progress"]["sessions_remaining"] == 12
    assert enrollment["progress"]["total_weeks"] == 4
    assert enrollment["status_history"] == []
    assert enrollment["session_history"] == []
    psp = superuser.execute(
        "SELECT patient_service_plan_id FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)
    )
    assert psp.fetchone() is not None
    events = automation_events(superuser, enrollment["id"])
    assert [event for event, _ in events] == ["treatment_plan.assigned"]
    assert events[0][1]["self_assigned"] is False
    assert events[0][1]["treatment_plan_version"] == 1
    assert audit_actions(superuser, str(enrollment["id"])) == ["patient_treatment_plan.assigned"]

    # A new published version changes nothing for the enrollment; the next assignment gets it.
    update = {"duration_weeks": 6, "frequency_per_week": 2, "name": "Post-ACL Rehab v2"}
    response = core_api.put(f"/v1/treatment-plans/{plan['id']}", json=update, headers=org.headers("specialist"))
    assert response.status_code == 200, response.text
    publish(core_api, org, plan["id"])
    kept = core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}", headers=org.headers("admin")).json()
    assert kept["treatment_plan_version"] == 1
    assert kept["sessions_total"] == 12
    assert kept["end_date"] == enrollment["end_date"]
    assert kept["plan_version"]["duration_weeks"] == 4
    newer = assign(core_api, org, plan["id"]).json()
    assert newer["treatment_plan_version"] == 2
    assert newer["sessions_total"] == 12  # 2 per week for 6 weeks
    assert newer["end_date"] == (START + timedelta(weeks=6)).isoformat()
    assert newer["treatment_plan"]["name"] == "Post-ACL Rehab v2"


def test_assign_a_plan_requiring_approval_waits_for_it(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enrolled(core_api, superuser, org, requires_approval=True)
    assert enrollment["status"] == "pending_approval"
    assert enrollment["approved_at"] is None


def test_telerehab_needs_an_active_service_plan_with_telerehab_access(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    telerehab = published_plan(core_api, superuser, org)
    body = problem(assign(core_api, org, telerehab["id"], patient_id=org.other_patient), 409)
    assert "telerehab access" in body["detail"]

    in_clinic = published_plan(core_api, superuser, org, type="in_clinic")
    response = assign(core_api, org, in_clinic["id"], patient_id=org.other_patient)
    assert response.status_code == 201, response.text

    # A named service plan must be the patient's own, and active with telerehab access.
    psp = superuser.execute(
        "INSERT INTO patient_service_plans (organization_id, patient_id, service_plan_id, starts_on, ends_on) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (org.id, org.patient, org.service_plan, date.today() - timedelta(days=60), date.today() - timedelta(days=1)),
    ).fetchone()
    assert psp is not None
    problem(assign(core_api, org, telerehab["id"], patient_service_plan_id=psp[0]), 409)
    fields = problem(
        assign(core_api, org, telerehab["id"], patient_id=org.other_patient, patient_service_plan_id=psp[0]), 422
    )
    assert {e["field"] for e in fields["errors"]} == {"patient_service_plan_id"}


def test_assign_needs_a_published_version(core_api: Client, org: Org) -> None:
    draft = create_plan(core_api, org)
    body = problem(assign(core_api, org, draft["id"]), 409)
    assert "published version" in body["detail"]


@pytest.mark.parametrize(
    ("change_body", "field"),
    [
        ({"unexpected": 1}, "unexpected"),
        ({"start_date": "10/02/2026"}, "start_date"),
        ({"patient_id": 0}, "patient_id"),
        ({"treatment_plan_id": "not-a-uuid"}, "treatment_plan_id"),
    ],
)
def test_assign_rejects_bad_bodies(
    core_api: Client, org: Org, superuser: psycopg.Connection, change_body: dict[str, Any], field: str
) -> None:
    plan = published_plan(core_api, superuser, org)
    errors = problem(assign(core_api, org, plan["id"], **change_body), 422)["errors"]
    assert any(field in e["field"] or field in e["message"] for e in errors), errors


def test_assign_refuses_records_of_another_organization(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    plan = published_plan(core_api, superuser, org)
    foreign_plan = published_plan(core_api, superuser, other_org)
    response = assign(
        core_api, org, plan["id"], patient_id=other_org.patient, assigned_by_specialist_id=other_org.specialist
    )
    assert {e["field"] for e in problem(response, 422)["errors"]} == {"patient_id", "assigned_by_specialist_id"}
    response = assign(core_api, org, foreign_plan["id"])
    assert {e["field"] for e in problem(response, 422)["errors"]} == {"treatment_plan_id"}


def test_assign_roles(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan = published_plan(core_api, superuser, org)
    problem(core_api.post("/v1/patient-treatment-plans", json={}), 401)
    problem(assign(core_api, org, plan["id"], role="patient"), 403)
    assert assign(core_api, org, plan["id"], role="admin").status_code == 201


def test_the_detail_shows_the_session_history(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org)
    superuser.execute(
        "INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id, "
        "session_number, status, started_at, completed_at, duration_seconds, exercises_total) "
        "VALUES (%s, %s, %s, 1, 'completed', now() - interval '1 hour', now(), 1800, 2)",
        (org.id, org.patient, enrollment["id"]),
    )
    body = core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}", headers=org.headers("patient")).json()
    assert [(s["session_number"], s["status"], s["duration_seconds"]) for s in body["session_history"]] == [
        (1, "completed", 1800)
    ]


# Read and list ---------------------------------------------------------------------------------------------


def test_get_is_for_staff_and_the_patient_themself(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enrolled(core_api, superuser, org)
    path = f"/v1/patient-treatment-plans/{enrollment['id']}"
    assert core_api.get(path, headers=org.headers("patient")).json()["id"] == enrollment["id"]
    assert core_api.get(path, headers=org.headers("specialist")).status_code == 200
    problem(core_api.get(path, headers=org.headers("other_patient")), 404)
    problem(core_api.get(path, headers=other_org.headers("admin")), 404)
    problem(core_api.get("/v1/patient-treatment-plans/999999999", headers=org.headers("admin")), 404)
    problem(core_api.get("/v1/patient-treatment-plans/0", headers=org.headers("admin")), 422)


def test_list_filters_and_pages(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    telerehab = published_plan(core_api, superuser, org, requires_approval=True)
    in_clinic = published_plan(core_api, superuser, org, type="in_clinic")
    first = assign(core_api, org, telerehab["id"]).json()
    second = assign(core_api, org, in_clinic["id"], patient_id=org.other_patient).json()
    third = assign(core_api, org, in_clinic["id"]).json()
    enrolled(core_api, superuser, other_org)

    def ids(query: str) -> list[int]:
        response = core_api.get(f"/v1/patient-treatment-plans{query}", headers=org.headers("admin"))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["patient_treatment_plans"]]

    assert ids("") == [third["id"], second["id"], first["id"]]
    assert ids(f"?patient_id={org.patient}") == [third["id"], first["id"]]
    assert ids("?status=pending_approval") == [first["id"]]
    assert ids("?type=in_clinic") == [third["id"], second["id"]]
    assert ids(f"?treatment_plan_id={telerehab['id']}") == [first["id"]]
    page = core_api.get("/v1/patient-treatment-plans?limit=2&page=2", headers=org.headers("admin")).json()
    assert (page["total"], page["page"], page["limit"], page["total_pages"]) == (3, 2, 2, 2)
    assert [item["id"] for item in page["patient_treatment_plans"]] == [first["id"]]
    problem(core_api.get("/v1/patient-treatment-plans?limit=101", headers=org.headers("admin")), 422)
    problem(core_api.get("/v1/patient-treatment-plans?status=dormant", headers=org.headers("admin")), 422)
    problem(core_api.get("/v1/patient-treatment-plans", headers=org.headers("patient")), 403)


def test_lists_take_the_standard_sort_from_a_whitelist(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = published_plan(core_api, superuser, org)
    later = assign(core_api, org, plan["id"], start_date=(START + timedelta(days=5)).isoformat()).json()
    soon = assign(core_api, org, plan["id"], start_date=(START + timedelta(days=2)).isoformat()).json()
    now = assign(core_api, org, plan["id"]).json()

    def ids(path: str, sort: str) -> list[int]:
        response = core_api.get(f"{path}?sort={sort}", headers=org.headers("admin"))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["patient_treatment_plans"]]

    for path in ("/v1/patient-treatment-plans", f"/v1/patients/{org.patient}/treatment-plans"):
        assert ids(path, "start_date") == [now["id"], soon["id"], later["id"]]
        assert ids(path, "-start_date") == [later["id"], soon["id"], now["id"]]
        assert ids(path, "end_date") == [now["id"], soon["id"], later["id"]]
        assert ids(path, "created_at") == [later["id"], soon["id"], now["id"]]
        assert ids(path, "-created_at") == [now["id"], soon["id"], later["id"]]
        for bad in ("password", "patient_id", "start_date;drop"):
            body = problem(core_api.get(f"{path}?sort={bad}", headers=org.headers("admin")), 422)
            assert "sort" in str(body), body


def test_patient_plans(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org)
    path = f"/v1/patients/{org.patient}/treatment-plans"
    for role in ("patient", "specialist"):
        body = core_api.get(path, headers=org.headers(role)).json()
        assert [item["id"] for item in body["patient_treatment_plans"]] == [enrollment["id"]]
    assert core_api.get(f"{path}?status=paused", headers=org.headers("admin")).json()["total"] == 0
    problem(core_api.get(path, headers=org.headers("other_patient")), 404)
    problem(core_api.get(path, headers=other_org.headers("admin")), 404)
    problem(core_api.get(f"{path}?status=nope", headers=org.headers("admin")), 422)


# Approve and status changes --------------------------------------------------------------------------------


def test_approve_activates_a_pending_enrollment(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org, requires_approval=True)
    path = f"/v1/patient-treatment-plans/{enrollment['id']}/approve"
    problem(core_api.post(path, headers=org.headers("patient")), 403)
    # Only approval activates a pending enrollment.
    refused = problem(change(core_api, org, enrollment["id"], "active"), 409)
    assert refused["allowed_transitions"] == ["cancelled"]
    assert "approv" in refused["detail"]

    approved = core_api.post(path, headers=org.headers("specialist"))
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "active"
    assert body["approved_at"] is not None
    assert body["status_history"][0]["from_status"] == "pending_approval"
    assert body["status_history"][0]["changed_by_user_id"] == org.specialist_user
    row = superuser.execute(
        "SELECT approved_by_user_id FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)
    ).fetchone()
    assert row == (org.specialist_user,)
    assert [e for e, _ in automation_events(superuser, enrollment["id"])] == [
        "treatment_plan.assigned",
        "treatment_plan.activated",
    ]
    assert audit_actions(superuser, str(enrollment["id"]))[-1] == "patient_treatment_plan.approved"

    again = problem(core_api.post(path, headers=org.headers("admin")), 409)
    assert again["type"].endswith("/illegal-transition")
    assert again["allowed_transitions"] == ["paused", "completed", "cancelled", "expired"]
    problem(core_api.post("/v1/patient-treatment-plans/999999999/approve", headers=org.headers("admin")), 404)


def test_status_changes_follow_the_lifecycle(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org)
    eid = enrollment["id"]

    assert change(core_api, org, eid, "paused", role="patient").json()["status"] == "paused"
    assert change(core_api, org, eid, "active", role="patient").json()["status"] == "active"
    problem(change(core_api, org, eid, "cancelled", role="patient"), 403)
    problem(change(core_api, org, eid, "paused", role="other_patient"), 404)
    done = change(core_api, org, eid, "completed")
    assert done.json()["status"] == "completed"

    final = problem(change(core_api, org, eid, "active"), 409)
    assert final["allowed_transitions"] == []
    assert "final" in final["detail"]
    assert history(superuser, eid) == [
        ("active", "paused", "moving to paused", "patient"),
        ("paused", "active", "moving to active", "patient"),
        ("active", "completed", "moving to completed", "specialist"),
    ]
    assert (
        audit_actions(superuser, str(eid))
        == ["patient_treatment_plan.assigned"] + ["patient_treatment_plan.status_changed"] * 3
    )
    detail = core_api.get(f"/v1/patient-treatment-plans/{eid}", headers=org.headers("patient")).json()
    assert [h["to_status"] for h in detail["status_history"]] == ["paused", "active", "completed"]


@pytest.mark.parametrize(
    "body",
    [
        {"status": "paused"},
        {"status": "paused", "reason": ""},
        {"status": "paused", "reason": "   "},
        {"status": "paused", "reason": "x" * 501},
        {"status": "sleeping", "reason": "why not"},
        {"status": "paused", "reason": "ok", "note": "unknown field"},
    ],
)
def test_status_change_rejects_bad_bodies(
    core_api: Client, org: Org, superuser: psycopg.Connection, body: dict[str, Any]
) -> None:
    enrollment = enrolled(core_api, superuser, org)
    response = core_api.put(
        f"/v1/patient-treatment-plans/{enrollment['id']}/status", json=body, headers=org.headers("admin")
    )
    problem(response, 422)


def test_a_500_character_reason_is_accepted(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org)
    response = core_api.put(
        f"/v1/patient-treatment-plans/{enrollment['id']}/status",
        json={"status": "cancelled", "reason": "x" * 500},
        headers=org.headers("admin"),
    )
    assert response.status_code == 200, response.text


def test_status_change_of_another_organization_is_not_found(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enrolled(core_api, superuser, org)
    problem(change(core_api, other_org, enrollment["id"], "paused"), 404)
    problem(
        core_api.post(f"/v1/patient-treatment-plans/{enrollment['id']}/approve", headers=other_org.headers("admin")),
        404,
    )


# Expiry ----------------------------------------------------------------------------------------------------


def test_reading_expires_an_overdue_enrollment(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enrolled(core_api, superuser, org)
    move_dates(superuser, enrollment["id"], date.today() - timedelta(days=2))

    body = core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}", headers=org.headers("patient")).json()
    assert body["status"] == "expired"
    assert history(superuser, enrollment["id"]) == [("active", "expired", "end_date passed", "system")]
    assert audit_actions(superuser, str(enrollment["id"]))[-1] == "patient_treatment_plan.expired"
    # Expired is final; reading again changes nothing.
    problem(change(core_api, org, enrollment["id"], "active"), 409)
    core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}", headers=org.headers("admin"))
    assert len(history(superuser, enrollment["id"])) == 1


def test_lists_expire_paused_enrollments_but_not_pending_or_current_ones(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    paused = enrolled(core_api, superuser, org)
    change(core_api, org, paused["id"], "paused")
    pending = enrolled(core_api, superuser, org, requires_approval=True)
    ends_today = enrolled(core_api, superuser, org)
    for enrollment in (paused, pending):
        move_dates(superuser, enrollment["id"], date.today() - timedelta(days=1))
    # The patient lives in Europe/Madrid: their "today" is what counts; an end_date of today has not passed.
    move_dates(superuser, ends_today["id"], date.today() + timedelta(days=1))

    body = core_api.get(f"/v1/patients/{org.patient}/treatment-plans", headers=org.headers("specialist")).json()
    statuses = {item["id"]: item["status"] for item in body["patient_treatment_plans"]}
    assert statuses == {paused["id"]: "expired", pending["id"]: "pending_approval", ends_today["id"]: "active"}


def test_the_job_expires_every_organization(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    overdue = [enrolled(core_api, superuser, org), enrolled(core_api, superuser, other_org)]
    current = enrolled(core_api, superuser, org)
    for enrollment in overdue:
        move_dates(superuser, enrollment["id"], date.today() - timedelta(days=3))

    expired = asyncio.run(expire_all(postgres.owner))
    assert expired[org.id] >= 1
    assert expired[other_org.id] >= 1
    for enrollment in overdue:
        row = superuser.execute("SELECT status FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],))
        assert row.fetchone() == ("expired",)
        assert history(superuser, enrollment["id"])[-1][1:] == ("expired", "end_date passed", "system")
    row = superuser.execute("SELECT status FROM patient_treatment_plans WHERE id = %s", (current["id"],))
    assert row.fetchone() == ("active",)
    assert asyncio.run(expire_all(postgres.owner)).get(org.id) == 0
