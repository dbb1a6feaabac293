"""Every core-api route that names an object, called on real objects the caller must not reach.

The routes come from ``ROUTES`` (tests/core_api/helpers/routes.py), so a new route with an id in its path
cannot escape: :data:`PATH_VALUES` must know each of its parameters and :data:`BODIES` its body, or the
first test fails.
Objects are real: organization B has a published plan with sessions and exercises, an enrollment with a
started session (a completion and its exercise logs), a form instance, an automation rule and a dead
delivery; in organization A, the second patient has an enrollment, a completion, logs and a form of
their own. Then every role of A that the matrix allows on a route calls it with each of B's objects, and
A's first patient also with the second patient's: each answer is a 404 problem that reveals nothing of
the object (never 200, 403 or 500). Controls show the same ids answer 200 to their owners, so the 404s
are the tenancy's and not made-up ids'. Roles the matrix leaves out get 403 in ``test_route_matrix``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_api.app import create_app
from litestar.testing import TestClient
from psycopg.types.json import Jsonb
from service_common.auth.settings import AuthSettings

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.execution import enroll, start
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.helpers.routes import ROUTES
from tests.core_api.helpers.settings import LOOPBACK_WEBHOOKS, app_settings
from tests.core_api.seed import Org, seed_organization
from tools.databases import PostgresUrls

PARAMETER = re.compile(r"\{([a-z_]+):(?:int|uuid)\}")

# Parameters that select part of an object rather than name one: the first plan version, the first session.
SELECTORS = {"version": 1, "session_number": 1}

# Parameters naming a patient's data: a patient of A is refused another patient of A's as well as B's.
PATIENT_SCOPED = frozenset(
    {"patient_id", "patient_service_plan_id", "enrollment_id", "completion_id", "log_id", "instance_id"}
)

# A valid body for each write route with an id in its path (None: the route takes none), so a 404 cannot
# hide behind a 422: the object must be looked up and not found.
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}"): {"name": "Taken over"},
    ("DELETE", "/v1/treatment-plans/{plan_id:uuid}"): None,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/publish"): None,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/rollback/{version:int}"): None,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/clone"): {},
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/promote"): {},
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/self-assign"): {"start_date": date.today().isoformat()},
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/sessions"): {"name": "Injected"},
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}/sessions/reorder"): "session_ids",
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}"): {"name": "Renamed"},
    ("DELETE", "/v1/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}"): None,
    ("POST", "/v1/treatment-plan-sessions/{session_id:int}/exercises"): "own_exercise",
    ("PUT", "/v1/treatment-plan-sessions/{session_id:int}/exercises/reorder"): "exercise_ids",
    ("PUT", "/v1/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}"): {"sets": 2},
    ("DELETE", "/v1/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}"): None,
    ("PUT", "/v1/patients/{patient_id:int}"): {"name": "Renamed"},
    ("POST", "/v1/patients/{patient_id:int}/service-plans"): "own_service_plan",
    ("PUT", "/v1/exercises/{exercise_id:uuid}"): {"name": "Renamed"},
    ("POST", "/v1/patient-treatment-plans/{enrollment_id:int}/approve"): None,
    ("PUT", "/v1/patient-treatment-plans/{enrollment_id:int}/status"): {"status": "paused", "reason": "taken"},
    ("POST", "/v1/patient-treatment-plans/{enrollment_id:int}/sessions/{session_number:int}/start"): {},
    ("PUT", "/v1/patient-exercise-logs/{log_id:int}"): {"actual_sets": 1},
    ("POST", "/v1/patient-session-completions/{completion_id:int}/complete"): {"pain_level_after": 1},
    ("POST", "/v1/patient-session-completions/{completion_id:int}/skip"): {"reason": "not mine"},
    ("POST", "/v1/form-instances/{instance_id:int}/submit"): {"responses": {"pain_level": 1, "knee_bend": "same"}},
    ("POST", "/v1/form-instances/{instance_id:int}/paper-submission"): {
        "responses": {"pain_level": 1, "knee_bend": "same"},
        "document_reference": "scan-0001",
        "reason": "signed in clinic",
    },
    ("POST", "/v1/patients/{patient_id:int}/consent"): {"analytics_level": 3, "biometric": True},
    ("POST", "/v1/patients/{patient_id:int}/erasure"): None,
    ("PATCH", "/v1/automation/rules/{rule_id:int}"): {"enabled": False},
    ("DELETE", "/v1/automation/rules/{rule_id:int}"): None,
    ("POST", "/v1/automation/deliveries/{delivery_id:int}/retry"): None,
}

OBJECT_ROUTES = sorted(route for route in ROUTES if PARAMETER.search(route[1]))


def parameters(path: str) -> list[str]:
    return PARAMETER.findall(path)


@dataclass
class World:
    """Organizations A and B, the app, and the ids of B's objects and of A's second patient's."""

    client: Client
    a: Org
    b: Org
    foreign: dict[str, Any]
    """B's object for every id parameter."""
    sibling: dict[str, Any]
    """A's second patient's object for every patient-scoped parameter."""
    markers: list[str]
    """Text only B's objects hold: a response to A containing one leaks B's data."""
    b_sessions: list[int]
    b_session_exercises: list[int]


def _one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _pending_form(conn: psycopg.Connection, org: Org, patient: int) -> int:
    return int(
        _one(
            conn,
            "INSERT INTO form_instances (organization_id, patient_id, form_template_id, status) "
            "VALUES (%s, %s, %s, 'pending') RETURNING id",
            org.id,
            patient,
            org.form_template,
        )
    )


def _held_service_plan(conn: psycopg.Connection, patient: int) -> int:
    """The id of the first service plan the patient holds."""
    return int(_one(conn, "SELECT min(id) FROM patient_service_plans WHERE patient_id = %s", patient))


def _enrollment_with_a_started_session(client: Client, conn: psycopg.Connection, org: Org, role: str) -> Any:
    """An enrollment of the org's first patient (or, with ``other_patient``, its second one on the same
    kind of plan) with session 1 started: the enrollment and the completion."""
    first = enroll(client, conn, org)
    if role == "patient":
        return first, ok(start(client, org, first["id"], 1), 201)
    conn.execute(
        "INSERT INTO patient_service_plans (organization_id, patient_id, service_plan_id, starts_on) "
        "VALUES (%s, %s, %s, current_date - 30)",
        (org.id, org.other_patient, org.service_plan),
    )
    enrollment = ok(
        client.post(
            f"/v1/treatment-plans/{first['treatment_plan']['id']}/self-assign",
            json={"start_date": first["start_date"]},
            headers=org.headers(role),
        ),
        201,
    )
    return enrollment, ok(start(client, org, enrollment["id"], 1, role=role), 201)


@pytest.fixture(scope="module")
def world(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[World]:
    settings = app_settings(
        postgres, auth_settings, automation=LOOPBACK_WEBHOOKS, telemetry_token=telemetry_token_settings(dev_keys)
    )
    with (
        psycopg.connect(postgres.superuser, autocommit=True) as conn,
        TestClient(create_app(settings)) as client,
    ):
        a = seed_organization(conn, dev_keys, "Tenant A")
        b = seed_organization(conn, dev_keys, "Tenant B")
        marker = f"tenant-b-{uuid.uuid4().hex[:10]}"
        conn.execute(
            "UPDATE patients SET name = %s || '-' || id, email = %s || '@example.com' WHERE organization_id = %s",
            (marker, marker, b.id),
        )
        conn.execute("UPDATE exercises SET name = %s WHERE organization_id = %s", (marker, b.id))

        b_enrollment, b_completion = _enrollment_with_a_started_session(client, conn, b, "patient")
        b_plan = b_enrollment["treatment_plan"]["id"]
        conn.execute("UPDATE treatment_plans SET name = %s WHERE id = %s", (marker, b_plan))
        b_sessions = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM treatment_plan_sessions WHERE treatment_plan_id = %s ORDER BY session_number",
                (b_plan,),
            )
        ]
        b_session_exercises = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM treatment_plan_session_exercises WHERE session_id = %s ORDER BY sort_order",
                (b_sessions[0],),
            )
        ]
        rule = _one(
            conn,
            "INSERT INTO automation_rules (organization_id, event_type, action, webhook_url, signing_secret) "
            "VALUES (%s, 'treatment_plan.assigned', 'webhook', 'https://hooks.example/b', 'whsec_b') RETURNING id",
            b.id,
        )
        event = _one(
            conn,
            "INSERT INTO automation_events (organization_id, event_type, entity_type, entity_id, payload) "
            "VALUES (%s, 'treatment_plan.assigned', 'patient_treatment_plan', %s, %s) RETURNING id",
            b.id,
            str(b_enrollment["id"]),
            Jsonb({"patient_treatment_plan_id": b_enrollment["id"]}),
        )
        delivery = _one(
            conn,
            "INSERT INTO automation_deliveries (organization_id, event_id, rule_id, ordering_key, status, attempts, "
            "last_error) VALUES (%s, %s, %s, 'k', 'dead', 10, 'HTTP 500') RETURNING id",
            b.id,
            event,
            rule,
        )
        foreign = {
            "plan_id": b_plan,
            "session_id": b_sessions[0],
            "session_exercise_id": b_session_exercises[0],
            "user_id": b.patient_user,
            "specialist_id": b.specialist,
            "specialty_id": b.specialty,
            "patient_id": b.patient,
            "patient_service_plan_id": _held_service_plan(conn, b.patient),
            "exercise_id": str(b.exercises[0]),
            "form_template_id": b.form_template,
            "service_plan_id": b.service_plan,
            "enrollment_id": b_enrollment["id"],
            "completion_id": b_completion["id"],
            "log_id": b_completion["exercise_logs"][0]["id"],
            "instance_id": _pending_form(conn, b, b.patient),
            "rule_id": rule,
            "delivery_id": delivery,
            **SELECTORS,
        }

        a_enrollment, a_completion = _enrollment_with_a_started_session(client, conn, a, "other_patient")
        sibling = {
            "patient_id": a.other_patient,
            "patient_service_plan_id": _held_service_plan(conn, a.other_patient),
            "enrollment_id": a_enrollment["id"],
            "completion_id": a_completion["id"],
            "log_id": a_completion["exercise_logs"][0]["id"],
            "instance_id": _pending_form(conn, a, a.other_patient),
            **SELECTORS,
        }
        yield World(
            client, a, b, foreign, sibling, [marker, "whsec_b", "hooks.example"], b_sessions, b_session_exercises
        )


def concrete(path: str, values: dict[str, Any]) -> str:
    return PARAMETER.sub(lambda match: str(values[match.group(1)]), path)


def body_for(world: World, method: str, path: str) -> Any:
    """The valid body of the route, with references to the caller's own organization where it needs any
    and to the targeted objects where the body lists them."""
    body = BODIES[(method, path)]
    if body == "session_ids":
        return {"session_ids": list(reversed(world.b_sessions))}
    if body == "exercise_ids":
        return {"exercise_ids": list(reversed(world.b_session_exercises))}
    if body == "own_exercise":
        return {"exercise_id": str(world.a.exercises[0]), "mode": "reps", "sets": 3, "reps": 10}
    if body == "own_service_plan":
        return {"service_plan_id": world.a.service_plan, "starts_on": date.today().isoformat()}
    return body


def attempts(world: World) -> Iterator[tuple[str, str, str, str, dict[str, Any]]]:
    """(method, path, role, target, values) of every call that must be a 404."""
    for method, path in OBJECT_ROUTES:
        for role in sorted(ROUTES[(method, path)]):
            yield method, path, role, "organization B", world.foreign
            if role == "patient" and PATIENT_SCOPED & set(parameters(path)):
                yield method, path, role, "another patient of A", world.sibling


def test_every_id_parameter_has_an_object_and_every_write_a_body() -> None:
    known = (
        set(PATIENT_SCOPED)
        | set(SELECTORS)
        | {
            "plan_id",
            "session_id",
            "session_exercise_id",
            "user_id",
            "specialist_id",
            "specialty_id",
            "exercise_id",
            "form_template_id",
            "service_plan_id",
            "rule_id",
            "delivery_id",
        }
    )
    unknown = {name for _, path in OBJECT_ROUTES for name in parameters(path)} - known
    assert unknown == set(), "id parameters without an object factory in this module"
    writes = {route for route in OBJECT_ROUTES if route[0] != "GET"}
    assert sorted(writes - BODIES.keys()) == [], "write routes without a body in BODIES"
    assert sorted(BODIES.keys() - writes) == [], "BODIES lists routes the matrix no longer has"


def test_the_objects_exist_for_their_owners(world: World) -> None:
    """Controls: B's admin reads each of B's objects, A's second patient their own."""
    tried = 0
    for method, path in OBJECT_ROUTES:
        if method != "GET" or path.endswith("/erasure"):
            continue  # an erasure status exists only once one is requested
        names = set(parameters(path))
        response = world.client.get(concrete(path, world.foreign), headers=world.b.headers("admin"))
        assert response.status_code == 200, (path, response.text)
        tried += 1
        if "patient" in ROUTES[(method, path)] and names & PATIENT_SCOPED and names <= set(world.sibling):
            response = world.client.get(concrete(path, world.sibling), headers=world.a.headers("other_patient"))
            assert response.status_code == 200, (path, response.text)
            tried += 1
    assert tried > 20


def test_every_allowed_role_of_a_gets_404_for_objects_it_must_not_reach(world: World) -> None:
    started = time.monotonic()
    wrong: list[str] = []
    counted = 0
    targets: dict[str, int] = {}
    for method, path, role, target, values in attempts(world):
        targets[target] = targets.get(target, 0) + 1
        body = None if method == "GET" else body_for(world, method, path)
        response = world.client.request(
            method,
            concrete(path, values),
            headers=world.a.headers(role),
            json=body,
        )
        counted += 1
        leaked = [marker for marker in world.markers if marker in response.text]
        if (
            response.status_code != 404
            or response.headers.get("content-type") != "application/problem+json"
            or response.json().get("type") != "https://problems.telerehab.example/not-found"
            or leaked
        ):
            wrong.append(f"{method} {path} as {role} on {target}: {response.status_code} {response.text[:200]}")
    elapsed = time.monotonic() - started
    summary = (
        f"{counted} (route, role, target) calls over {len(OBJECT_ROUTES)} routes with an id, {targets}, "
        f"in {elapsed:.1f}s"
    )
    print(summary)
    assert wrong == [], "\n".join([summary, *wrong])
    assert counted >= len(OBJECT_ROUTES), summary
