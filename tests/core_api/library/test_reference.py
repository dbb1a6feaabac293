"""The reference data routes: users, specialties, specialists, patients and their service plans,
exercises, form templates and service plans.

Global rows written here (by a platform admin) are visible to every organization of the test run, so
their names carry a random suffix and list assertions look for rows rather than count all of them.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_api.app import create_app
from core_api.settings import TelemetryTokenSettings
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings

from tests.core_api.helpers.responses import Client, ok, problem
from tests.core_api.helpers.settings import app_settings
from tests.core_api.seed import Org
from tools.databases import PostgresUrls
from tools.tokens import mint_token

LIST_PATHS = [
    "/v1/specialties",
    "/v1/specialists",
    "/v1/patients",
    "/v1/exercises",
    "/v1/form-templates",
    "/v1/service-plans",
]


def fields(response: Any, status: int = 422) -> set[str]:
    """The fields a problem response names."""
    return {error["field"] for error in problem(response, status).get("errors") or []}


def query_fields(response: Any) -> set[str]:
    """The query parameters a 422 names (the part of ``field`` after its ``<source>:`` prefix)."""
    return {field.rpartition(":")[2] for field in fields(response)}


def rejects(response: Any, field: str) -> None:
    """The response is a 422 naming ``field``, as the field at fault or in the message (unknown fields)."""
    errors = problem(response, 422)["errors"]
    assert any(field in error["field"] or field in error["message"] for error in errors), errors


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def platform_admin(org: Org) -> dict[str, str]:
    token = mint_token(org.keys, user_id=org.admin_user, role="admin", organization_id=org.id, platform_admin=True)
    return {"Authorization": f"Bearer {token}"}


def audit(conn: psycopg.Connection, entity_type: str, entity_id: object) -> list[tuple[Any, ...]]:
    """(action, organization, actor user, actor role, after) of the entity's audit rows, oldest first."""
    return conn.execute(
        "SELECT action, organization_id, actor_user_id, actor_role, after FROM audit_log "
        "WHERE entity_type = %s AND entity_id = %s ORDER BY id",
        (entity_type, str(entity_id)),
    ).fetchall()


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


# Users ------------------------------------------------------------------------------------------------------


def test_admin_creates_and_staff_read_users(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    user = created(
        core_api.post(
            "/v1/users",
            json={"role": "specialist", "display_name": "Dr. Lee", "email": "lee@clinic.example"},
            headers=org.headers("admin"),
        )
    )
    assert (user["role"], user["display_name"], user["email"]) == ("specialist", "Dr. Lee", "lee@clinic.example")
    assert ok(core_api.get(f"/v1/users/{user['id']}", headers=org.headers("specialist"))) == user
    without_email = created(
        core_api.post("/v1/users", json={"role": "patient", "display_name": "Pat"}, headers=org.headers("admin"))
    )
    assert without_email["email"] is None
    [(action, organization, actor, role, after)] = audit(superuser, "user", user["id"])
    assert (action, organization, actor, role) == ("user.created", org.id, org.admin_user, "admin")
    assert after["display_name"] == "Dr. Lee"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "admin", "display_name": "X", "organization_id": 1}, "organization_id"),
        ({"role": "superuser", "display_name": "X"}, "role"),
        ({"role": "admin", "display_name": "  "}, "display_name"),
        ({"role": "admin", "display_name": "X", "email": "not-an-email"}, "email"),
        ({"display_name": "X"}, "role"),
    ],
)
def test_user_bodies_are_validated(core_api: Client, org: Org, body: dict[str, Any], field: str) -> None:
    errors = problem(core_api.post("/v1/users", json=body, headers=org.headers("admin")), 422)["errors"]
    assert any(field in error["field"] or field in error["message"] for error in errors), errors


def test_user_roles_and_scope(core_api: Client, org: Org, other_org: Org) -> None:
    body = {"role": "admin", "display_name": "X"}
    problem(core_api.post("/v1/users", json=body), 401)
    problem(core_api.post("/v1/users", json=body, headers=org.headers("specialist")), 403)
    problem(core_api.get(f"/v1/users/{org.admin_user}", headers=org.headers("patient")), 403)
    problem(core_api.get(f"/v1/users/{org.admin_user}", headers=other_org.headers("admin")), 404)
    problem(core_api.get("/v1/users/999999999", headers=org.headers("admin")), 404)
    problem(core_api.get("/v1/users/0", headers=org.headers("admin")), 422)


# Specialties ------------------------------------------------------------------------------------------------


def test_specialties_own_and_global(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    own = created(
        core_api.post("/v1/specialties", json={"name": unique("Sports medicine")}, headers=org.headers("admin"))
    )
    assert own["global"] is False
    shared = created(
        core_api.post(
            "/v1/specialties", json={"name": unique("Neurology"), "global": True}, headers=platform_admin(org)
        )
    )
    assert shared["global"] is True

    def listed(who: Org) -> set[int]:
        return {
            s["id"]
            for s in ok(core_api.get("/v1/specialties?limit=100", headers=who.headers("specialist")))["specialties"]
        }

    assert {own["id"], shared["id"], org.specialty} <= listed(org)
    assert shared["id"] in listed(other_org)
    assert own["id"] not in listed(other_org)
    found = ok(core_api.get("/v1/specialties?q=physio", headers=org.headers("admin")))
    assert [s["name"] for s in found["specialties"] if not s["global"]] == ["Physiotherapy"]
    assert audit(superuser, "specialty", shared["id"])[0][:2] == ("specialty.created", org.id)


def test_specialty_names_are_unique_per_owner_whatever_the_case(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    response = core_api.post("/v1/specialties", json={"name": "PHYSIOTHERAPY"}, headers=org.headers("admin"))
    assert fields(response, 409) == {"name"}
    # The same name in another organization is another specialty.
    created(core_api.post("/v1/specialties", json={"name": "Cardiology"}, headers=org.headers("admin")))
    created(core_api.post("/v1/specialties", json={"name": "Cardiology"}, headers=other_org.headers("admin")))
    # The refused insert rolled back with its transaction: no audit row for it either.
    assert superuser.execute(
        "SELECT count(*) FROM audit_log WHERE organization_id = %s AND action = 'specialty.created'", (org.id,)
    ).fetchone() == (1,)


def test_specialty_writes_need_an_admin_and_global_ones_a_platform_admin(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    name = unique("Oncology")
    problem(core_api.post("/v1/specialties", json={"name": name}, headers=org.headers("specialist")), 403)
    problem(core_api.post("/v1/specialties", json={"name": name, "global": True}, headers=org.headers("admin")), 403)
    problem(core_api.get("/v1/specialties", headers=org.headers("patient")), 403)
    assert superuser.execute("SELECT count(*) FROM specialties WHERE name = %s", (name,)).fetchone() == (0,)
    rejects(
        core_api.post("/v1/specialties", json={"name": name, "organization_id": None}, headers=org.headers("admin")),
        "organization_id",
    )


# Specialists ------------------------------------------------------------------------------------------------


def new_user(client: Client, org: Org, role: str) -> int:
    user = created(client.post("/v1/users", json={"role": role, "display_name": role}, headers=org.headers("admin")))
    return int(user["id"])


def test_admin_creates_specialists_with_usable_specialties_and_users(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    user = new_user(core_api, org, "specialist")
    body = {"name": "Dr. Ann Smith", "specialty_id": org.specialty, "user_id": user}
    specialist = created(core_api.post("/v1/specialists", json=body, headers=org.headers("admin")))
    assert specialist["specialty"] == {"id": org.specialty, "name": "Physiotherapy"}
    assert specialist["user_id"] == user
    assert ok(core_api.get(f"/v1/specialists/{specialist['id']}", headers=org.headers("specialist"))) == specialist
    assert audit(superuser, "specialist", specialist["id"])[0][0] == "specialist.created"

    shared = created(
        core_api.post(
            "/v1/specialties", json={"name": unique("Geriatrics"), "global": True}, headers=platform_admin(org)
        )
    )
    with_global = created(
        core_api.post(
            "/v1/specialists", json={"name": "Dr. Global", "specialty_id": shared["id"]}, headers=org.headers("admin")
        )
    )
    assert with_global["specialty"]["id"] == shared["id"]

    listed = ok(core_api.get(f"/v1/specialists?specialty_id={shared['id']}", headers=org.headers("admin")))
    assert [s["id"] for s in listed["specialists"]] == [with_global["id"]]
    everyone = ok(core_api.get("/v1/specialists", headers=org.headers("specialist")))
    assert everyone["total"] == 3
    assert [s["name"] for s in everyone["specialists"]] == ["Dr. Ann Smith", "Dr. Global", "Dr. Maria Kent"]


def test_specialist_references_are_checked(core_api: Client, org: Org, other_org: Org) -> None:
    def create(**body: Any) -> Any:
        return core_api.post(
            "/v1/specialists",
            json={"name": "Dr. X", "specialty_id": org.specialty} | body,
            headers=org.headers("admin"),
        )

    assert fields(create(specialty_id=other_org.specialty)) == {"specialty_id"}
    assert fields(create(specialty_id=999_999_999)) == {"specialty_id"}
    assert fields(create(user_id=org.patient_user)) == {"user_id"}
    assert fields(create(user_id=other_org.specialist_user)) == {"user_id"}
    assert fields(create(specialty_id=other_org.specialty, user_id=org.admin_user)) == {"specialty_id", "user_id"}
    # The seeded specialist already is this user.
    assert fields(create(user_id=org.specialist_user), 409) == {"user_id"}
    rejects(create(organization_id=org.id), "organization_id")
    rejects(core_api.post("/v1/specialists", json={"name": "Dr. X"}, headers=org.headers("admin")), "specialty_id")


def test_specialist_roles_and_scope(core_api: Client, org: Org, other_org: Org) -> None:
    body = {"name": "Dr. X", "specialty_id": org.specialty}
    problem(core_api.post("/v1/specialists", json=body, headers=org.headers("specialist")), 403)
    problem(core_api.get("/v1/specialists", headers=org.headers("patient")), 403)
    problem(core_api.get(f"/v1/specialists/{org.specialist}", headers=org.headers("patient")), 403)
    problem(core_api.get(f"/v1/specialists/{org.specialist}", headers=other_org.headers("admin")), 404)
    problem(core_api.get("/v1/specialists/999999999", headers=org.headers("admin")), 404)
    listed = ok(core_api.get("/v1/specialists", headers=other_org.headers("admin")))["specialists"]
    assert org.specialist not in {s["id"] for s in listed}


# Patients ---------------------------------------------------------------------------------------------------

PATIENT = {
    "name": "Alex Moreno",
    "email": "alex@example.org",
    "date_of_birth": "1980-05-17",
    "time_zone": "Europe/Madrid",
}


def test_staff_create_patients(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    login = new_user(core_api, org, "patient")
    patient = created(
        core_api.post("/v1/patients", json=PATIENT | {"user_id": login}, headers=org.headers("specialist"))
    )
    assert {k: patient[k] for k in PATIENT} == PATIENT
    assert patient["user_id"] == login
    minimal = created(
        core_api.post(
            "/v1/patients",
            json={"name": "Sam", "time_zone": "America/Argentina/Buenos_Aires"},
            headers=org.headers("admin"),
        )
    )
    assert (minimal["email"], minimal["date_of_birth"], minimal["user_id"]) == (None, None, None)
    [(action, _, actor, role, after)] = audit(superuser, "patient", patient["id"])
    assert (action, actor, role, after["time_zone"]) == (
        "patient.created",
        org.specialist_user,
        "specialist",
        "Europe/Madrid",
    )
    problem(core_api.post("/v1/patients", json=PATIENT, headers=org.headers("patient")), 403)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "Europe/Madrid; DROP TABLE patients"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"organization_id": 2}, "organization_id"),
        ({"id": 5}, "id"),
        ({"email": "nobody"}, "email"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        # A date in the future: two days on, because the parameter is computed when the tests are collected
        # and the suite can cross midnight (in the patient's zone, too) before this test runs.
        ({"date_of_birth": (date.today() + timedelta(days=2)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": "17/05/1980"}, "date_of_birth"),
        ({"name": ""}, "name"),
    ],
)
def test_patient_bodies_are_validated(core_api: Client, org: Org, change: dict[str, Any], field: str) -> None:
    errors = problem(core_api.post("/v1/patients", json=PATIENT | change, headers=org.headers("admin")), 422)["errors"]
    assert any(field in error["field"] or field in error["message"] for error in errors), errors


def test_a_patient_needs_a_time_zone_and_a_patient_login(core_api: Client, org: Org, other_org: Org) -> None:
    without_zone = {k: v for k, v in PATIENT.items() if k != "time_zone"}
    rejects(core_api.post("/v1/patients", json=without_zone, headers=org.headers("admin")), "time_zone")
    for user in (org.specialist_user, other_org.patient_user, 999_999_999):
        response = core_api.post("/v1/patients", json=PATIENT | {"user_id": user}, headers=org.headers("admin"))
        assert fields(response) == {"user_id"}
    # The seeded patient already is this user.
    response = core_api.post("/v1/patients", json=PATIENT | {"user_id": org.patient_user}, headers=org.headers("admin"))
    assert fields(response, 409) == {"user_id"}


def test_patient_list_searches_and_pages(core_api: Client, org: Org) -> None:
    headers = org.headers("specialist")
    for name in ("Anna Bell", "Bob Brown", "Carla Bellini"):
        created(core_api.post("/v1/patients", json=PATIENT | {"name": name}, headers=headers))

    def names(query: str) -> list[str]:
        return [p["name"] for p in ok(core_api.get(f"/v1/patients?{query}", headers=headers))["patients"]]

    assert names("") == ["Anna Bell", "Bob Brown", "Carla Bellini", "Jane Doe", "John Roe"]
    assert names("q=BELL") == ["Anna Bell", "Carla Bellini"]
    assert names("q=%25") == []  # a LIKE wildcard is just a character
    page = ok(core_api.get("/v1/patients?limit=2&page=3", headers=headers))
    assert (page["total"], page["total_pages"], page["page"], page["limit"]) == (5, 3, 3, 2)
    assert [p["name"] for p in page["patients"]] == ["John Roe"]
    past_the_end = ok(core_api.get("/v1/patients?limit=2&page=9", headers=headers))
    assert (past_the_end["patients"], past_the_end["total"]) == ([], 5)
    problem(core_api.get("/v1/patients", headers=org.headers("patient")), 403)


def test_a_patient_reads_only_themself(core_api: Client, org: Org, other_org: Org) -> None:
    own = ok(core_api.get(f"/v1/patients/{org.patient}", headers=org.headers("patient")))
    assert (own["id"], own["name"], own["time_zone"]) == (org.patient, "Jane Doe", "Europe/Madrid")
    problem(core_api.get(f"/v1/patients/{org.other_patient}", headers=org.headers("patient")), 404)
    assert (
        ok(core_api.get(f"/v1/patients/{org.other_patient}", headers=org.headers("specialist")))["name"] == "John Roe"
    )
    problem(core_api.get(f"/v1/patients/{org.patient}", headers=other_org.headers("admin")), 404)
    problem(core_api.get("/v1/patients/999999999", headers=org.headers("admin")), 404)
    problem(core_api.get(f"/v1/patients/{2**63}", headers=org.headers("admin")), 422)


def test_staff_read_the_actor_hash_the_patients_telemetry_token_carries(core_api: Client, org: Org) -> None:
    # The telemetry read routes of one view or pose session take the patient's actor hash; staff get it
    # with the patient, and it is exactly the hash the patient's own telemetry tokens carry.
    token = ok(core_api.post("/v1/telemetry/token", headers=org.headers("patient")))
    other_token = ok(core_api.post("/v1/telemetry/token", headers=org.headers("other_patient")))
    by_staff = {
        role: ok(core_api.get(f"/v1/patients/{org.patient}", headers=org.headers(role)))["telemetry_actor_hash"]
        for role in ("admin", "specialist")
    }
    own = ok(core_api.get(f"/v1/patients/{org.patient}", headers=org.headers("patient")))
    other = ok(core_api.get(f"/v1/patients/{org.other_patient}", headers=org.headers("specialist")))

    assert by_staff == {"admin": token["actor_hash"], "specialist": token["actor_hash"]}
    assert own["telemetry_actor_hash"] == token["actor_hash"]
    assert other["telemetry_actor_hash"] == other_token["actor_hash"] != token["actor_hash"]
    # Another patient's record, hash included, stays out of a patient's reach (row-level security).
    problem(core_api.get(f"/v1/patients/{org.other_patient}", headers=org.headers("patient")), 404)


def test_without_a_telemetry_hash_key_the_patient_is_still_read(
    postgres: PostgresUrls, auth_settings: AuthSettings, org: Org, tmp_path: Path
) -> None:
    settings = app_settings(
        postgres,
        auth_settings,
        pool_max_size=2,
        telemetry_token=TelemetryTokenSettings(hash_key_file=str(tmp_path / "missing.key")),
    )
    with TestClient(create_app(settings)) as client:
        patient = ok(client.get(f"/v1/patients/{org.patient}", headers=org.headers("specialist")))

    assert (patient["name"], patient["telemetry_actor_hash"]) == ("Jane Doe", None)


def test_patient_update_is_partial(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    patient = created(core_api.post("/v1/patients", json=PATIENT, headers=org.headers("admin")))
    path = f"/v1/patients/{patient['id']}"
    updated = ok(core_api.put(path, json={"name": "Alex M. Moreno", "email": None}, headers=org.headers("specialist")))
    assert updated == patient | {"name": "Alex M. Moreno", "email": None}
    moved = ok(core_api.put(path, json={"time_zone": "Asia/Kolkata"}, headers=org.headers("admin")))
    assert (moved["time_zone"], moved["name"], moved["date_of_birth"]) == (
        "Asia/Kolkata",
        "Alex M. Moreno",
        "1980-05-17",
    )
    actions = audit(superuser, "patient", patient["id"])
    assert [row[0] for row in actions] == ["patient.created", "patient.updated", "patient.updated"]
    assert superuser.execute(
        "SELECT before ->> 'name', after ->> 'name' FROM audit_log WHERE entity_type = 'patient' "
        "AND entity_id = %s AND action = 'patient.updated' ORDER BY id LIMIT 1",
        (str(patient["id"]),),
    ).fetchone() == ("Alex Moreno", "Alex M. Moreno")

    assert fields(core_api.put(path, json={"time_zone": "Atlantis/Capital"}, headers=org.headers("admin"))) == {
        "time_zone"
    }
    rejects(core_api.put(path, json={"organization_id": other_org.id}, headers=org.headers("admin")), "organization_id")
    assert fields(core_api.put(path, json={"user_id": org.admin_user}, headers=org.headers("admin"))) == {"user_id"}
    problem(core_api.put(path, json={"name": "Me"}, headers=org.headers("patient")), 403)
    problem(core_api.put(path, json={"name": "Mine"}, headers=other_org.headers("admin")), 404)
    problem(core_api.put("/v1/patients/999999999", json={"name": "Nobody"}, headers=org.headers("admin")), 404)
    assert ok(core_api.get(path, headers=org.headers("admin")))["name"] == "Alex M. Moreno"


# Exercises --------------------------------------------------------------------------------------------------

EXERCISE = {
    "name": "Wall Sit",
    "description": "Isometric quadriceps strengthening",
    "instructions": "Slide down the wall until the knees are at 90 degrees.",
    "video_url": "https://cdn.example.com/wall-sit.mp4",
    "video_thumbnail_url": "https://cdn.example.com/wall-sit.jpg",
    "difficulty": "intermediate",
    "estimated_duration_seconds": 60,
}


def test_staff_create_exercises_as_drafts(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    exercise = created(core_api.post("/v1/exercises", json=EXERCISE, headers=org.headers("specialist")))
    assert {k: exercise[k] for k in EXERCISE} == EXERCISE
    assert (exercise["published"], exercise["global"]) == (False, False)
    assert ok(core_api.get(f"/v1/exercises/{exercise['id']}", headers=org.headers("admin"))) == exercise
    minimal = created(core_api.post("/v1/exercises", json={"name": "Calf Raise"}, headers=org.headers("admin")))
    assert (minimal["difficulty"], minimal["description"], minimal["video_url"]) == ("beginner", "", None)
    assert audit(superuser, "exercise", exercise["id"])[0][:4] == (
        "exercise.created",
        org.id,
        org.specialist_user,
        "specialist",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"video_url": "javascript:alert(1)"}, "video_url"),
        ({"difficulty": "impossible"}, "difficulty"),
        ({"estimated_duration_seconds": 0}, "estimated_duration_seconds"),
        ({"organization_id": 1}, "organization_id"),
        ({"published": "yes"}, "published"),
    ],
)
def test_exercise_bodies_are_validated(core_api: Client, org: Org, change: dict[str, Any], field: str) -> None:
    errors = problem(core_api.post("/v1/exercises", json=EXERCISE | change, headers=org.headers("admin")), 422)[
        "errors"
    ]
    assert any(field in error["field"] or field in error["message"] for error in errors), errors


def test_exercise_list_shows_own_and_global_with_filters(core_api: Client, org: Org, other_org: Org) -> None:
    marker = uuid.uuid4().hex[:8]
    shared = created(
        core_api.post(
            "/v1/exercises",
            json={"name": f"Global plank {marker}", "published": True, "difficulty": "advanced", "global": True},
            headers=platform_admin(org),
        )
    )
    assert shared["global"] is True
    own = created(core_api.post("/v1/exercises", json={"name": f"Own plank {marker}"}, headers=org.headers("admin")))

    def names(who: Org, query: str) -> list[str]:
        body = ok(core_api.get(f"/v1/exercises?q={marker}&{query}", headers=who.headers("specialist")))
        return [e["name"] for e in body["exercises"]]

    assert names(org, "") == [shared["name"], own["name"]]
    assert names(other_org, "") == [shared["name"]]
    assert names(org, "published=false") == [own["name"]]
    assert names(org, "difficulty=advanced") == [shared["name"]]
    seeded = ok(core_api.get("/v1/exercises?published=false&limit=100", headers=org.headers("admin")))["exercises"]
    assert "Prone Hang" in {e["name"] for e in seeded if not e["global"]}
    problem(core_api.get("/v1/exercises?difficulty=impossible", headers=org.headers("admin")), 422)
    problem(core_api.get("/v1/exercises", headers=org.headers("patient")), 403)
    problem(core_api.get(f"/v1/exercises/{own['id']}", headers=org.headers("patient")), 403)
    problem(core_api.get(f"/v1/exercises/{own['id']}", headers=other_org.headers("admin")), 404)
    problem(core_api.get(f"/v1/exercises/{uuid.uuid4()}", headers=org.headers("admin")), 404)
    assert ok(core_api.get(f"/v1/exercises/{shared['id']}", headers=other_org.headers("specialist")))["global"] is True


def test_global_exercises_are_written_by_platform_admins_only(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    body = {"name": unique("Global lunge"), "global": True}
    problem(core_api.post("/v1/exercises", json=body, headers=org.headers("admin")), 403)
    problem(core_api.post("/v1/exercises", json=body, headers=org.headers("specialist")), 403)
    assert superuser.execute("SELECT count(*) FROM exercises WHERE name = %s", (body["name"],)).fetchone() == (0,)
    shared = created(core_api.post("/v1/exercises", json=body, headers=platform_admin(org)))
    path = f"/v1/exercises/{shared['id']}"
    problem(core_api.put(path, json={"published": True}, headers=org.headers("admin")), 403)
    problem(core_api.put(path, json={"published": True}, headers=other_org.headers("specialist")), 403)
    published = ok(core_api.put(path, json={"published": True}, headers=platform_admin(org)))
    assert (published["published"], published["global"]) == (True, True)
    rejects(core_api.put(path, json={"global": False}, headers=platform_admin(org)), "global")


def test_exercise_update_is_partial(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    exercise = created(core_api.post("/v1/exercises", json=EXERCISE, headers=org.headers("admin")))
    path = f"/v1/exercises/{exercise['id']}"
    updated = ok(
        core_api.put(path, json={"published": True, "video_thumbnail_url": None}, headers=org.headers("specialist"))
    )
    assert updated == exercise | {"published": True, "video_thumbnail_url": None}
    assert [row[0] for row in audit(superuser, "exercise", exercise["id"])] == ["exercise.created", "exercise.updated"]
    assert fields(core_api.put(path, json={"difficulty": "hard"}, headers=org.headers("admin"))) == {"difficulty"}
    problem(core_api.put(path, json={"name": "Mine"}, headers=org.headers("patient")), 403)
    problem(core_api.put(path, json={"name": "Mine"}, headers=other_org.headers("admin")), 404)
    problem(core_api.put(f"/v1/exercises/{uuid.uuid4()}", json={"name": "X"}, headers=org.headers("admin")), 404)


# Form templates ---------------------------------------------------------------------------------------------

FORM = {
    "title": "Knee Function Intake",
    "kind": "intake",
    "schema": {
        "questions": [
            {"type": "scale", "id": "pain", "prompt": "Pain", "required": True, "min": 0, "max": 10, "labels": []}
        ]
    },
}


def test_admin_creates_form_templates(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    form = created(core_api.post("/v1/form-templates", json=FORM, headers=org.headers("admin")))
    assert {k: form[k] for k in FORM} == FORM
    assert form["global"] is False
    assert audit(superuser, "form_template", form["id"])[0][0] == "form_template.created"
    intake = ok(core_api.get("/v1/form-templates?kind=intake", headers=org.headers("specialist")))
    assert form["id"] in {t["id"] for t in intake["form_templates"]}
    assert all(t["kind"] == "intake" for t in intake["form_templates"])
    seeded = ok(core_api.get("/v1/form-templates?kind=post_session&limit=100", headers=org.headers("admin")))
    assert "Pain & Mobility Questionnaire" in {t["title"] for t in seeded["form_templates"] if not t["global"]}
    theirs = ok(core_api.get("/v1/form-templates?limit=100", headers=other_org.headers("admin")))
    assert form["id"] not in {t["id"] for t in theirs["form_templates"]}


def test_form_template_rules(core_api: Client, org: Org) -> None:
    headers = org.headers("admin")
    rejects(core_api.post("/v1/form-templates", json=FORM | {"kind": "survey"}, headers=headers), "kind")
    rejects(core_api.post("/v1/form-templates", json=FORM | {"schema": [1, 2]}, headers=headers), "schema")
    problem(core_api.post("/v1/form-templates", json=FORM, headers=org.headers("specialist")), 403)
    problem(core_api.post("/v1/form-templates", json=FORM | {"global": True}, headers=headers), 403)
    problem(core_api.get("/v1/form-templates", headers=org.headers("patient")), 403)
    shared = created(
        core_api.post(
            "/v1/form-templates",
            json=FORM | {"title": unique("Consent"), "kind": "consent", "global": True},
            headers=platform_admin(org),
        )
    )
    assert shared["global"] is True


# Service plans and the plans patients hold ------------------------------------------------------------------


def test_admin_creates_service_plans(core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection) -> None:
    body = {"name": "Library Only", "library_access": True}
    plan = created(core_api.post("/v1/service-plans", json=body, headers=org.headers("admin")))
    assert (plan["name"], plan["telerehab_access"], plan["library_access"]) == ("Library Only", False, True)
    assert audit(superuser, "service_plan", plan["id"])[0][0] == "service_plan.created"
    listed = ok(core_api.get("/v1/service-plans", headers=org.headers("specialist")))
    assert [p["name"] for p in listed["service_plans"]] == ["Library Only", "Telerehab Plus"]
    assert plan["id"] not in {
        p["id"] for p in ok(core_api.get("/v1/service-plans", headers=other_org.headers("admin")))["service_plans"]
    }
    problem(core_api.post("/v1/service-plans", json=body, headers=org.headers("specialist")), 403)
    problem(core_api.get("/v1/service-plans", headers=org.headers("patient")), 403)
    rejects(
        core_api.post("/v1/service-plans", json=body | {"organization_id": 1}, headers=org.headers("admin")),
        "organization_id",
    )


def test_a_service_plan_price_has_an_amount_and_a_currency(core_api: Client, org: Org) -> None:
    body = {"name": "Telerehab Monthly", "telerehab_access": True, "price_cents": 4900, "currency": "EUR"}
    plan = created(core_api.post("/v1/service-plans", json=body, headers=org.headers("admin")))
    assert (plan["price_cents"], plan["currency"]) == (4900, "EUR")
    listed = ok(core_api.get("/v1/service-plans", headers=org.headers("admin")))["service_plans"]
    assert {(p["name"], p["price_cents"], p["currency"]) for p in listed} >= {("Telerehab Monthly", 4900, "EUR")}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"price_cents": 4900}, "currency"),
        ({"currency": "EUR"}, "price_cents"),
        ({"price_cents": -1, "currency": "EUR"}, "price_cents"),
        ({"price_cents": 100, "currency": "eur"}, "currency"),
    ]
    for bad, field in cases:
        rejects(core_api.post("/v1/service-plans", json={"name": "Bad"} | bad, headers=org.headers("admin")), field)


def test_admin_gives_a_patient_a_service_plan(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    today = date.today()
    path = f"/v1/patients/{org.other_patient}/service-plans"
    held = created(
        core_api.post(
            path,
            json={"service_plan_id": org.service_plan, "starts_on": (today - timedelta(days=1)).isoformat()},
            headers=org.headers("admin"),
        )
    )
    assert held["patient_id"] == org.other_patient
    assert held["service_plan"]["id"] == org.service_plan
    assert (held["ends_on"], held["cancelled_at"], held["active"]) == (None, None, True)
    later = created(
        core_api.post(
            path,
            json={
                "service_plan_id": org.service_plan,
                "starts_on": (today + timedelta(days=30)).isoformat(),
                "ends_on": (today + timedelta(days=30)).isoformat(),
            },
            headers=org.headers("admin"),
        )
    )
    assert later["active"] is False
    [(action, _, actor, _, after)] = audit(superuser, "patient_service_plan", held["id"])
    assert (action, actor, after["patient_id"]) == ("patient_service_plan.created", org.admin_user, org.other_patient)

    listed = ok(core_api.get(path, headers=org.headers("specialist")))
    assert [p["id"] for p in listed["patient_service_plans"]] == [later["id"], held["id"]]
    assert listed["total"] == 2
    own = ok(core_api.get(path, headers=org.headers("other_patient")))
    assert own == listed


def test_patient_service_plan_rules(core_api: Client, org: Org, other_org: Org) -> None:
    path = f"/v1/patients/{org.patient}/service-plans"
    body = {"service_plan_id": org.service_plan, "starts_on": "2026-03-01"}
    headers = org.headers("admin")
    assert fields(core_api.post(path, json=body | {"ends_on": "2026-02-28"}, headers=headers)) == {"ends_on"}
    assert fields(core_api.post(path, json=body | {"service_plan_id": other_org.service_plan}, headers=headers)) == {
        "service_plan_id"
    }
    rejects(core_api.post(path, json={"service_plan_id": org.service_plan}, headers=headers), "starts_on")
    rejects(core_api.post(path, json=body | {"patient_id": org.other_patient}, headers=headers), "patient_id")
    problem(core_api.post(path, json=body, headers=org.headers("specialist")), 403)
    problem(core_api.post(path, json=body, headers=org.headers("patient")), 403)
    problem(core_api.post(f"/v1/patients/{other_org.patient}/service-plans", json=body, headers=headers), 404)
    problem(core_api.post("/v1/patients/999999999/service-plans", json=body, headers=headers), 404)
    # Reads: staff, and the patient themself only.
    assert ok(core_api.get(path, headers=org.headers("patient")))["total"] == 1
    problem(core_api.get(path, headers=org.headers("other_patient")), 404)
    problem(core_api.get(path, headers=other_org.headers("admin")), 404)


# Every list ------------------------------------------------------------------------------------------------


NUL_FORM = FORM | {"schema": {"questions": [{"id": "q", "type": "text", "prompt": "Why\u0000"}]}}


def test_text_postgresql_cannot_store_is_refused(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    headers = org.headers("admin")
    rejects(core_api.post("/v1/service-plans", json={"name": "Basic\u0000"}, headers=headers), "name")
    rejects(
        core_api.post("/v1/users", json={"role": "admin", "display_name": "A\u0000"}, headers=headers), "display_name"
    )
    rejects(core_api.post("/v1/form-templates", json=NUL_FORM, headers=headers), "prompt")
    rejects(core_api.post("/v1/patients", json=PATIENT | {"email": "a\u0000@b"}, headers=headers), "email")
    rejects(core_api.post("/v1/exercises", json=EXERCISE | {"instructions": "\u0000"}, headers=headers), "instructions")
    assert query_fields(core_api.get("/v1/exercises?q=a%00", headers=headers)) == {"q"}
    assert superuser.execute("SELECT count(*) FROM audit_log WHERE organization_id = %s", (org.id,)).fetchone() == (0,)


@pytest.mark.parametrize("path", [*LIST_PATHS, "/v1/patients/{patient}/service-plans"])
def test_lists_bound_their_pages(core_api: Client, org: Org, path: str) -> None:
    url = path.format(patient=org.patient)
    headers = org.headers("admin")
    first = ok(core_api.get(url, headers=headers))
    assert (first["page"], first["limit"]) == (1, 25)
    assert first["total_pages"] == -(-first["total"] // 25)
    assert query_fields(core_api.get(f"{url}?limit=101", headers=headers)) == {"limit"}
    assert query_fields(core_api.get(f"{url}?limit=0", headers=headers)) == {"limit"}
    assert query_fields(core_api.get(f"{url}?page=0", headers=headers)) == {"page"}
    assert ok(core_api.get(f"{url}?limit=100", headers=headers))["limit"] == 100
