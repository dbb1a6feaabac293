"""Treatment plan CRUD, publishing and versions, clone and promote, the library and self-assign.

Plans are made through the API; sessions are written with SQL as the superuser so these tests do not
depend on the session routes (tested in their own module).
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from tests.core_api.helpers.plans import (
    PLAN,
    add_session,
    audit_actions,
    create_plan,
    publish,
    published_plan,
    self_assign,
)
from tests.core_api.helpers.responses import Client, problem
from tests.core_api.seed import Org
from tools.databases import PostgresUrls


def clone(client: Client, org: Org, plan_id: str, **body: Any) -> Any:
    return client.post(f"/v1/treatment-plans/{plan_id}/clone", json=body, headers=org.headers("specialist"))


# Create, read, update, delete ------------------------------------------------------------------------------


def test_create_makes_a_draft_at_version_1(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan = create_plan(core_api, org)

    assert plan["status"] == "draft"
    assert plan["version"] == 1
    assert plan["published"] is False
    assert plan["scope"] == "org"
    assert plan["total_sessions"] == 12
    assert plan["specialist"] == {"id": org.specialist, "name": "Dr. Maria Kent"}
    assert plan["specialty"] == {"id": org.specialty, "name": "Physiotherapy"}
    assert plan["sessions"] == []
    assert plan["created_by_user_id"] == org.specialist_user
    assert audit_actions(superuser, plan["id"]) == ["treatment_plan.created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (PLAN | {"organization_id": 99}, "organization_id"),
        (PLAN | {"status": "active"}, "status"),
        (PLAN | {"frequency_per_week": 0}, "frequency_per_week"),
        (PLAN | {"duration_weeks": 105}, "duration_weeks"),
        (PLAN | {"type": "hologram"}, "type"),
        (PLAN | {"name": "   "}, "name"),
        (PLAN | {"condition_tags": ["Not A Slug"]}, "condition_tags[0]"),
        ({k: v for k, v in PLAN.items() if k != "name"}, "name"),
    ],
)
def test_create_rejects_bad_bodies_naming_the_field(
    core_api: Client, org: Org, body: dict[str, Any], field: str
) -> None:
    response = core_api.post("/v1/treatment-plans", json=body, headers=org.headers("specialist"))
    errors = problem(response, 422)["errors"]
    assert any(field in error["field"] or field in error["message"] for error in errors), errors


def test_create_refuses_references_of_another_organization(core_api: Client, org: Org, other_org: Org) -> None:
    body = PLAN | {
        "specialist_id": other_org.specialist,
        "post_session_form_template_id": other_org.form_template,
    }
    response = core_api.post("/v1/treatment-plans", json=body, headers=org.headers("specialist"))
    fields = {error["field"] for error in problem(response, 422)["errors"]}
    assert fields == {"specialist_id", "post_session_form_template_id"}


def test_roles_and_authentication(core_api: Client, org: Org) -> None:
    problem(core_api.post("/v1/treatment-plans", json=PLAN), 401)
    problem(core_api.post("/v1/treatment-plans", json=PLAN, headers=org.headers("patient")), 403)
    problem(core_api.get("/v1/treatment-plans", headers=org.headers("patient")), 403)
    assert core_api.post("/v1/treatment-plans", json=PLAN, headers=org.headers("admin")).status_code == 201


def test_another_organizations_plan_is_404_for_every_operation(core_api: Client, org: Org, other_org: Org) -> None:
    plan = create_plan(core_api, org)
    headers = other_org.headers("admin")
    path = f"/v1/treatment-plans/{plan['id']}"
    problem(core_api.get(path, headers=headers), 404)
    problem(core_api.put(path, json={"name": "mine now"}, headers=headers), 404)
    problem(core_api.delete(path, headers=headers), 404)
    problem(core_api.post(f"{path}/publish", headers=headers), 404)
    problem(core_api.get(f"{path}/versions", headers=headers), 404)
    problem(core_api.post(f"{path}/clone", json={}, headers=headers), 404)
    problem(core_api.post(f"{path}/promote", json={}, headers=headers), 404)
    listed = core_api.get("/v1/treatment-plans", headers=headers).json()["treatment_plans"]
    assert plan["id"] not in {item["id"] for item in listed}


def test_missing_and_deleted_plans_are_404(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    problem(core_api.get(f"/v1/treatment-plans/{uuid.uuid4()}", headers=org.headers("specialist")), 404)
    plan = create_plan(core_api, org)
    assert core_api.delete(f"/v1/treatment-plans/{plan['id']}", headers=org.headers("specialist")).status_code == 204
    problem(core_api.get(f"/v1/treatment-plans/{plan['id']}", headers=org.headers("specialist")), 404)
    assert audit_actions(superuser, plan["id"]) == ["treatment_plan.created", "treatment_plan.deleted"]


def test_detail_nests_sessions_and_exercises_in_order(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = create_plan(core_api, org)
    add_session(superuser, org, plan["id"], 2, exercises=1)
    add_session(superuser, org, plan["id"], 1, exercises=3)

    detail = core_api.get(f"/v1/treatment-plans/{plan['id']}", headers=org.headers("specialist")).json()

    assert [s["session_number"] for s in detail["sessions"]] == [1, 2]
    assert [e["sort_order"] for e in detail["sessions"][0]["exercises"]] == [0, 1, 2]
    first = detail["sessions"][0]["exercises"][0]
    assert first["exercise"]["name"] == "Quad Set"
    assert first["mode"] == "reps"
    assert first["reps"] == 10


def test_update_a_draft_in_place(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan = create_plan(core_api, org)
    response = core_api.put(
        f"/v1/treatment-plans/{plan['id']}",
        json={"name": "Renamed", "description": None},
        headers=org.headers("specialist"),
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "Renamed"
    assert updated["description"] == ""
    assert updated["version"] == 1
    assert updated["frequency_per_week"] == 3
    assert audit_actions(superuser, plan["id"])[-1] == "treatment_plan.updated"
    problem(
        core_api.put(f"/v1/treatment-plans/{plan['id']}", json={"version": 7}, headers=org.headers("specialist")),
        422,
    )


# Publishing and versions -------------------------------------------------------------------------------------


def test_publish_needs_a_session_and_every_session_an_exercise(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = create_plan(core_api, org)
    path = f"/v1/treatment-plans/{plan['id']}/publish"
    assert problem(core_api.post(path, headers=org.headers("specialist")), 422)["errors"][0]["field"] == "sessions"
    add_session(superuser, org, plan["id"], 1, exercises=1)
    add_session(superuser, org, plan["id"], 2, exercises=0)
    errors = problem(core_api.post(path, headers=org.headers("specialist")), 422)["errors"]
    assert errors == [{"field": "sessions[1].exercises", "message": "the session has no exercises"}]


@pytest.mark.parametrize(("requires_approval", "status"), [(False, "active"), (True, "pending_approval")])
def test_publish_freezes_a_version_and_sets_status_by_approval(
    core_api: Client, org: Org, superuser: psycopg.Connection, requires_approval: bool, status: str
) -> None:
    plan = create_plan(core_api, org, requires_approval=requires_approval)
    add_session(superuser, org, plan["id"], 1, exercises=2)

    result = publish(core_api, org, plan["id"])

    assert result["version"] == 1
    assert result["status"] == status
    assert result["published"] is True
    versions = core_api.get(f"/v1/treatment-plans/{plan['id']}/versions", headers=org.headers("specialist")).json()
    assert [v["version"] for v in versions["versions"]] == [1]
    assert versions["versions"][0]["sessions_count"] == 1
    snapshot = core_api.get(f"/v1/treatment-plans/{plan['id']}/versions/1", headers=org.headers("specialist")).json()
    assert len(snapshot["sessions_snapshot"][0]["exercises"]) == 2
    assert snapshot["plan_snapshot"]["status"] == status
    problem(core_api.post(f"/v1/treatment-plans/{plan['id']}/publish", headers=org.headers("specialist")), 409)
    problem(core_api.get(f"/v1/treatment-plans/{plan['id']}/versions/2", headers=org.headers("specialist")), 404)


def test_editing_a_published_plan_opens_the_next_version_and_rollback_restores(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = published_plan(core_api, superuser, org)
    headers = org.headers("specialist")

    edited = core_api.put(f"/v1/treatment-plans/{plan['id']}", json={"duration_weeks": 6}, headers=headers).json()
    assert (edited["version"], edited["status"], edited["published"]) == (2, "draft", True)
    add_session(superuser, org, plan["id"], 2, exercises=1)
    assert publish(core_api, org, plan["id"])["version"] == 2

    rolled = core_api.post(f"/v1/treatment-plans/{plan['id']}/rollback/1", headers=headers)
    assert rolled.status_code == 200, rolled.text
    restored = rolled.json()

    assert restored["version"] == 3
    assert restored["status"] == "active"
    assert [s["session_number"] for s in restored["sessions"]] == [1]
    assert len(restored["sessions"][0]["exercises"]) == 2
    versions = core_api.get(f"/v1/treatment-plans/{plan['id']}/versions", headers=headers).json()["versions"]
    assert [(v["version"], v["sessions_count"]) for v in versions] == [(3, 1), (2, 2), (1, 1)]
    problem(core_api.post(f"/v1/treatment-plans/{plan['id']}/rollback/9", headers=headers), 404)
    assert "treatment_plan.rolled_back" in audit_actions(superuser, plan["id"])


def test_two_publishes_at_once_publish_once(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan = create_plan(core_api, org)
    add_session(superuser, org, plan["id"], 1, exercises=1)
    statuses: list[int] = []

    def publish_once() -> None:
        response = core_api.post(f"/v1/treatment-plans/{plan['id']}/publish", headers=org.headers("specialist"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=publish_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    count = superuser.execute(
        "SELECT count(*) FROM treatment_plan_versions WHERE treatment_plan_id = %s", (plan["id"],)
    ).fetchone()
    assert count == (1,)


# Lists ------------------------------------------------------------------------------------------------------


def test_list_filters_sort_and_pages(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    headers = org.headers("specialist")
    shoulder = create_plan(core_api, org, name="Shoulder mobility", condition_tags=["shoulder_pain"], type="in_clinic")
    knee = published_plan(core_api, superuser, org, name="Knee strength after surgery")
    create_plan(core_api, org, name="Ankle balance", condition_tags=["ankle"])

    def names(query: str) -> list[str]:
        response = core_api.get(f"/v1/treatment-plans?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [plan["name"] for plan in response.json()["treatment_plans"]]

    assert names("sort=name") == ["Ankle balance", "Knee strength after surgery", "Shoulder mobility"]
    assert names("sort=-name")[0] == "Shoulder mobility"
    assert names("type=in_clinic") == [shoulder["name"]]
    assert names("published=true") == [knee["name"]]
    assert names("status=draft&sort=name") == ["Ankle balance", "Shoulder mobility"]
    assert sorted(names("condition_tags=shoulder_pain,ankle")) == ["Ankle balance", "Shoulder mobility"]
    assert sorted(names("condition_tags=shoulder_pain&condition_tags=post_acl")) == sorted(
        [shoulder["name"], knee["name"]]
    )
    assert names("q=surgery") == [knee["name"]]
    assert names("specialist_id=999999") == []
    assert names("scope=custom") == []
    page = core_api.get("/v1/treatment-plans?limit=2&page=2&sort=name", headers=headers).json()
    assert (page["total"], page["total_pages"], page["page"], len(page["treatment_plans"])) == (3, 2, 2, 1)
    problem(core_api.get("/v1/treatment-plans?limit=101", headers=headers), 422)
    problem(core_api.get("/v1/treatment-plans?sort=password", headers=headers), 422)
    problem(core_api.get("/v1/treatment-plans?condition_tags=DROP%20TABLE", headers=headers), 422)


# Clone and promote -------------------------------------------------------------------------------------------


def global_plan(conn: psycopg.Connection, org: Org) -> str:
    """A published global plan with one session, as a platform operator would publish it."""
    row = conn.execute(
        "INSERT INTO treatment_plans (name, type, frequency_per_week, duration_weeks, visibility, published, "
        "status) VALUES ('Global low back care', 'telerehab', 2, 6, 'library', true, 'active') RETURNING id"
    ).fetchone()
    assert row is not None
    plan_id = str(row[0])
    session = conn.execute(
        "INSERT INTO treatment_plan_sessions (treatment_plan_id, session_number, name) VALUES (%s, 1, 'Core') "
        "RETURNING id",
        (plan_id,),
    ).fetchone()
    assert session is not None
    conn.execute(
        "INSERT INTO exercises (id, name, published, difficulty) VALUES (%s, 'Global bridge', true, 'advanced')",
        (exercise := uuid.uuid4(),),
    )
    conn.execute(
        "INSERT INTO treatment_plan_session_exercises (session_id, exercise_id, sort_order, mode, duration_seconds) "
        "VALUES (%s, %s, 0, 'duration', 30)",
        (session[0], exercise),
    )
    snapshot = '{"sessions": [{"exercises": [{"exercise": {"difficulty": "advanced"}}]}]}'
    conn.execute(
        "INSERT INTO treatment_plan_versions (treatment_plan_id, version, name, type, frequency_per_week, "
        "duration_weeks, sessions_count, snapshot) VALUES (%s, 1, 'Global low back care', 'telerehab', 2, 6, 1, %s)",
        (plan_id, snapshot),
    )
    return plan_id


def test_clone_keeps_lineage_across_scopes(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    source = published_plan(core_api, superuser, org)

    custom = clone(core_api, org, source["id"], name="Jane Doe - Post-ACL", created_for_patient_id=org.patient)
    assert custom.status_code == 201, custom.text
    cloned = custom.json()
    assert cloned["created_from_id"] == source["id"]
    assert cloned["created_for_patient_id"] == org.patient
    assert (cloned["scope"], cloned["status"], cloned["version"], cloned["visibility"]) == (
        "custom",
        "draft",
        1,
        "internal",
    )
    assert cloned["name"] == "Jane Doe - Post-ACL"
    assert len(cloned["sessions"]) == 1
    assert len(cloned["sessions"][0]["exercises"]) == 2

    from_global = clone(core_api, org, global_plan(superuser, org))
    assert from_global.status_code == 201, from_global.text
    copied = from_global.json()
    assert (copied["scope"], copied["name"]) == ("org", "Global low back care")
    assert copied["sessions"][0]["exercises"][0]["mode"] == "duration"


def test_clone_for_a_patient_of_another_organization_is_refused(core_api: Client, org: Org, other_org: Org) -> None:
    source = create_plan(core_api, org)
    response = clone(core_api, org, source["id"], created_for_patient_id=other_org.patient)
    assert problem(response, 422)["errors"][0]["field"] == "created_for_patient_id"


def test_global_plans_are_read_only_for_organizations(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id = global_plan(superuser, org)
    headers = org.headers("admin")
    assert core_api.get(f"/v1/treatment-plans/{plan_id}", headers=headers).json()["scope"] == "global"
    problem(core_api.put(f"/v1/treatment-plans/{plan_id}", json={"name": "ours"}, headers=headers), 403)
    problem(core_api.delete(f"/v1/treatment-plans/{plan_id}", headers=headers), 403)


def test_promote_is_for_admins_and_custom_plans(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    source = create_plan(core_api, org)
    custom = clone(core_api, org, source["id"], created_for_patient_id=org.patient).json()

    problem(
        core_api.post(f"/v1/treatment-plans/{custom['id']}/promote", json={}, headers=org.headers("specialist")),
        403,
    )
    problem(
        core_api.post(f"/v1/treatment-plans/{source['id']}/promote", json={}, headers=org.headers("admin")),
        409,
    )
    promoted = core_api.post(
        f"/v1/treatment-plans/{custom['id']}/promote",
        json={"visibility": "library"},
        headers=org.headers("admin"),
    )
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert (body["created_for_patient_id"], body["scope"], body["visibility"]) == (None, "org", "library")
    assert audit_actions(superuser, custom["id"]) == ["treatment_plan.cloned", "treatment_plan.promoted"]


def test_put_cannot_change_visibility(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    # Visibility changes only through the admin-only promote; PUT refuses it like any server-owned field.
    plan = create_plan(core_api, org)
    custom = clone(core_api, org, plan["id"], created_for_patient_id=org.other_patient).json()
    for plan_id in (plan["id"], custom["id"]):
        for role in ("specialist", "admin"):
            response = core_api.put(
                f"/v1/treatment-plans/{plan_id}",
                json={"name": "Renamed", "visibility": "library"},
                headers=org.headers(role),
            )
            assert "`visibility`" in problem(response, 422)["detail"]
    rows = superuser.execute(
        "SELECT name, visibility FROM treatment_plans WHERE id = ANY(%s)", ([plan["id"], custom["id"]],)
    ).fetchall()
    assert sorted(rows) == [(PLAN["name"], "internal"), (PLAN["name"], "internal")]


def custom_plan_in_library_visibility(client: Client, conn: psycopg.Connection, org: Org, patient: int) -> str:
    """A published custom plan made for ``patient`` whose visibility was set to ``library`` below the API,
    as a PUT could before it refused the field (issue 15, item 5)."""
    source = create_plan(client, org)
    add_session(conn, org, source["id"], 1)
    response = clone(client, org, source["id"], name="John Roe - knee", created_for_patient_id=patient)
    assert response.status_code == 201, response.text
    plan_id: str = response.json()["id"]
    conn.execute("UPDATE treatment_plans SET visibility = 'library' WHERE id = %s", (plan_id,))
    publish(client, org, plan_id)
    return plan_id


def test_another_patients_custom_plan_is_not_listed_read_or_self_assigned(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    # Made for the other patient; the patient (with library access) must not learn of it or use it.
    plan_id = custom_plan_in_library_visibility(core_api, superuser, org, org.other_patient)
    patient = org.headers("patient")

    for headers in (patient, org.headers("specialist")):
        listed = core_api.get("/v1/treatment-plans/library?limit=100", headers=headers)
        assert listed.status_code == 200, listed.text
        assert plan_id not in {item["id"] for item in listed.json()["treatment_plans"]}
        searched = core_api.get("/v1/treatment-plans/library?q=John", headers=headers).json()
        assert searched["total"] == 0
    problem(core_api.get(f"/v1/treatment-plans/{plan_id}", headers=patient), 404)
    problem(self_assign(core_api, org, plan_id), 404)
    enrolled = superuser.execute(
        "SELECT count(*) FROM patient_treatment_plans WHERE treatment_plan_id = %s", (plan_id,)
    ).fetchone()
    assert enrolled == (0,)
    # Staff still see and assign it, to its own patient only.
    assert core_api.get(f"/v1/treatment-plans/{plan_id}", headers=org.headers("specialist")).status_code == 200


def test_row_level_security_shows_a_custom_plan_to_staff_and_its_patient_only(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    plan_id = custom_plan_in_library_visibility(core_api, superuser, org, org.other_patient)

    def visible(role: str, patient: int | None) -> bool:
        with psycopg.connect(postgres.app) as conn:
            conn.execute(
                "SELECT set_config('app.organization_id', %s, true), set_config('app.role', %s, true), "
                "set_config('app.patient_id', %s, true)",
                (str(org.id), role, "" if patient is None else str(patient)),
            )
            return bool(conn.execute("SELECT id FROM treatment_plans WHERE id = %s", (plan_id,)).fetchall())

    assert not visible("patient", org.patient)
    assert visible("patient", org.other_patient)
    assert visible("specialist", None)
    assert visible("admin", None)


def test_promote_puts_a_custom_plan_in_every_patients_library(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id = custom_plan_in_library_visibility(core_api, superuser, org, org.other_patient)
    promoted = core_api.post(
        f"/v1/treatment-plans/{plan_id}/promote", json={"visibility": "library"}, headers=org.headers("admin")
    )
    assert promoted.status_code == 200, promoted.text
    patient = org.headers("patient")

    listed = core_api.get("/v1/treatment-plans/library?limit=100", headers=patient).json()
    assert plan_id in {item["id"] for item in listed["treatment_plans"]}
    assert core_api.get(f"/v1/treatment-plans/{plan_id}", headers=patient).json()["created_for_patient_id"] is None
    assigned = self_assign(core_api, org, plan_id)
    assert assigned.status_code == 201, assigned.text


# The library and self-assign ---------------------------------------------------------------------------------


def test_library_shows_published_library_plans_of_the_org_and_global(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    in_library = published_plan(core_api, superuser, org, name="Library knee", visibility="library")
    published_plan(core_api, superuser, org, name="Internal knee")
    create_plan(core_api, org, name="Draft library", visibility="library")
    published_plan(core_api, superuser, other_org, name="Other clinic library", visibility="library")
    global_id = global_plan(superuser, org)

    response = core_api.get("/v1/treatment-plans/library?sort=name", headers=org.headers("patient"))

    assert response.status_code == 200, response.text
    items = {item["id"]: item for item in response.json()["treatment_plans"]}
    assert set(items) >= {in_library["id"], global_id}
    assert {item["name"] for item in items.values()}.isdisjoint(
        {"Internal knee", "Draft library", "Other clinic library"}
    )
    assert items[global_id]["scope"] == "global"
    assert items[global_id]["difficulty_level"] == "advanced"
    assert items[in_library["id"]]["difficulty_level"] == "beginner"
    problem(core_api.get("/v1/treatment-plans/library", headers=org.headers("other_patient")), 403)


def test_self_assign_enrolls_the_patient_in_the_latest_version(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = published_plan(core_api, superuser, org, visibility="library", requires_approval=True)
    start = date.today() + timedelta(days=1)

    response = self_assign(core_api, org, plan["id"], start_date=start.isoformat())

    assert response.status_code == 201, response.text
    enrollment = response.json()
    assert enrollment["status"] == "active"
    assert enrollment["self_assigned"] is True
    assert enrollment["assigned_by_specialist"] is None
    assert enrollment["patient"] == {"id": org.patient, "name": "Jane Doe"}
    assert enrollment["treatment_plan_version"] == 1
    assert enrollment["end_date"] == (start + timedelta(days=28)).isoformat()
    assert (enrollment["sessions_total"], enrollment["frequency_per_week"]) == (12, 3)
    event = superuser.execute(
        "SELECT event_type, payload ->> 'treatment_plan_version' FROM automation_events WHERE entity_id = %s",
        (str(enrollment["id"]),),
    ).fetchall()
    assert event == [("treatment_plan.assigned", "1")]

    # Editing and republishing the plan leaves the enrollment on the version it was assigned.
    core_api.put(f"/v1/treatment-plans/{plan['id']}", json={"duration_weeks": 8}, headers=org.headers("specialist"))
    publish(core_api, org, plan["id"])
    row = superuser.execute(
        "SELECT treatment_plan_version, end_date FROM patient_treatment_plans WHERE id = %s",
        (enrollment["id"],),
    ).fetchone()
    assert row == (1, start + timedelta(days=28))


def test_self_assign_refusals(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    internal = published_plan(core_api, superuser, org)
    library = published_plan(core_api, superuser, org, visibility="library")

    problem(self_assign(core_api, org, internal["id"]), 404)
    problem(self_assign(core_api, org, library["id"], role="other_patient"), 403)
    problem(self_assign(core_api, org, library["id"], role="specialist"), 403)
    problem(self_assign(core_api, org, library["id"], start_date="2026-02-30"), 422)


def test_patients_see_library_plans_only(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    internal = published_plan(core_api, superuser, org)
    library = published_plan(core_api, superuser, org, visibility="library")
    problem(core_api.get(f"/v1/treatment-plans/{internal['id']}", headers=org.headers("patient")), 404)
    assert core_api.get(f"/v1/treatment-plans/{library['id']}", headers=org.headers("patient")).status_code == 200


def test_row_level_security_hides_one_patients_enrollment_from_another(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    library = published_plan(core_api, superuser, org, visibility="library")
    enrollment = self_assign(core_api, org, library["id"]).json()
    with psycopg.connect(postgres.app) as conn:
        conn.execute(
            "SELECT set_config('app.organization_id', %s, true), set_config('app.role', 'patient', true), "
            "set_config('app.patient_id', %s, true)",
            (str(org.id), str(org.other_patient)),
        )
        hidden = conn.execute("SELECT id FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)).fetchall()
        conn.execute("SELECT set_config('app.patient_id', %s, true)", (str(org.patient),))
        visible = conn.execute("SELECT id FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)).fetchall()
    assert hidden == []
    assert visible == [(enrollment["id"],)]


def test_the_app_role_without_a_tenant_sees_no_plan(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    create_plan(core_api, org)
    global_plan(superuser, org)
    with psycopg.connect(postgres.app) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in ("treatment_plans", "treatment_plan_sessions", "exercises", "patients", "audit_log")
        ]
    assert counts == [(0,)] * 5


def test_options_lists_every_method_of_a_path_without_a_token(core_api: Client) -> None:
    assert core_api.options("/v1/treatment-plans").headers["allow"] == "GET, OPTIONS, POST"
    assert core_api.options(f"/v1/treatment-plans/{uuid.uuid4()}").headers["allow"] == "DELETE, GET, OPTIONS, PUT"
