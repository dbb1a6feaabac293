"""A draft plan's sessions: add, list, edit, delete with renumbering, reorder, and who may do what.

Concurrent reorders and a publish racing them run against core-api as a real process; the reorder
property (any permutation yields exactly that order) runs in process.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core_api.helpers.responses import Client, ok, problem
from tests.core_api.helpers.sessions import (
    PLAN,
    add_exercise,
    add_session,
    audit_rows,
    blames,
    create_plan,
    exercises_url,
    global_plan,
    list_sessions,
    plan_detail,
    plan_with_sessions,
    publish,
    sessions_url,
)
from tests.core_api.seed import Org


def numbering(sessions: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(s["session_number"], s["name"]) for s in sessions]


# Adding and listing ----------------------------------------------------------------------------------------


def test_sessions_are_appended_and_listed_with_their_exercise_counts(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id = create_plan(core_api, org)
    assert list_sessions(core_api, org, plan_id) == []

    first = add_session(
        core_api,
        org,
        plan_id,
        "Mobility Focus",
        description="Gentle mobility exercises",
        estimated_duration_minutes=25,
    )
    second = add_session(core_api, org, plan_id, "Strengthening Focus")
    add_exercise(core_api, org, first["id"], org.exercises[0])
    add_exercise(core_api, org, first["id"], org.exercises[1])

    assert first == {
        "id": first["id"],
        "session_number": 1,
        "name": "Mobility Focus",
        "description": "Gentle mobility exercises",
        "estimated_duration_minutes": 25,
        "exercises_count": 0,
    }
    assert second["session_number"] == 2
    assert second["description"] == ""
    listed = list_sessions(core_api, org, plan_id)
    assert [(s["id"], s["session_number"], s["exercises_count"]) for s in listed] == [
        (first["id"], 1, 2),
        (second["id"], 2, 0),
    ]
    [(action, role, before, after)] = audit_rows(superuser, "treatment_plan_session", first["id"])
    assert (action, role, before) == ("treatment_plan_session.created", "specialist", None)
    assert after == first


def test_a_taken_session_number_inserts_and_shifts_the_later_sessions_up(core_api: Client, org: Org) -> None:
    plan_id, _ = plan_with_sessions(core_api, org, 3)

    inserted = add_session(core_api, org, plan_id, "Balance & Control", session_number=2)
    at_the_end = add_session(core_api, org, plan_id, "Cool-down", session_number=5)

    assert (inserted["session_number"], at_the_end["session_number"]) == (2, 5)
    assert numbering(list_sessions(core_api, org, plan_id)) == [
        (1, "S1"),
        (2, "Balance & Control"),
        (3, "S2"),
        (4, "S3"),
        (5, "Cool-down"),
    ]


def test_a_session_number_that_would_leave_a_gap_is_refused(core_api: Client, org: Org) -> None:
    plan_id, _ = plan_with_sessions(core_api, org, 2)
    response = core_api.post(
        sessions_url(plan_id), json={"name": "Far", "session_number": 4}, headers=org.headers("specialist")
    )
    body = problem(response, 422)
    assert body["errors"] == [{"field": "session_number", "message": "must be between 1 and 3"}]
    assert len(list_sessions(core_api, org, plan_id)) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "S", "session_number": 0}, "session_number"),
        ({"name": "S", "estimated_duration_minutes": 0}, "estimated_duration_minutes"),
        ({"name": "S", "estimated_duration_minutes": 601}, "estimated_duration_minutes"),
        ({"name": "S", "treatment_plan_id": str(uuid.uuid4())}, "treatment_plan_id"),
        ({"name": "S", "organization_id": 1}, "organization_id"),
    ],
)
def test_bad_session_bodies_name_the_field(core_api: Client, org: Org, body: dict[str, Any], field: str) -> None:
    plan_id = create_plan(core_api, org)
    response = core_api.post(sessions_url(plan_id), json=body, headers=org.headers("specialist"))
    assert blames(response, field)


# Editing ---------------------------------------------------------------------------------------------------


def test_update_changes_only_the_fields_sent(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan_id = create_plan(core_api, org)
    session = add_session(core_api, org, plan_id, "Mobility", description="Gentle", estimated_duration_minutes=25)
    url = f"{sessions_url(plan_id)}/{session['id']}"
    headers = org.headers("admin")

    renamed = ok(core_api.put(url, json={"name": "Mobility Focus"}, headers=headers))
    cleared = ok(core_api.put(url, json={"estimated_duration_minutes": None}, headers=headers))

    assert (renamed["name"], renamed["description"], renamed["estimated_duration_minutes"]) == (
        "Mobility Focus",
        "Gentle",
        25,
    )
    assert (cleared["name"], cleared["estimated_duration_minutes"]) == ("Mobility Focus", None)
    actions = audit_rows(superuser, "treatment_plan_session", session["id"])
    assert [a[0] for a in actions] == [
        "treatment_plan_session.created",
        "treatment_plan_session.updated",
        "treatment_plan_session.updated",
    ]
    _, role, before, after = actions[1]
    assert role == "admin"
    assert (before["name"], after["name"]) == ("Mobility", "Mobility Focus")
    assert blames(core_api.put(url, json={"name": ""}, headers=headers), "name")
    assert blames(core_api.put(url, json={"exercises_count": 3}, headers=headers), "exercises_count")


def test_update_with_a_session_number_moves_the_session(core_api: Client, org: Org) -> None:
    plan_id, ids = plan_with_sessions(core_api, org, 4)
    headers = org.headers("specialist")

    moved = ok(core_api.put(f"{sessions_url(plan_id)}/{ids[0]}", json={"session_number": 3}, headers=headers))
    assert moved["session_number"] == 3
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S2"), (2, "S3"), (3, "S1"), (4, "S4")]

    ok(core_api.put(f"{sessions_url(plan_id)}/{ids[3]}", json={"session_number": 1}, headers=headers))
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S4"), (2, "S2"), (3, "S3"), (4, "S1")]

    beyond = core_api.put(f"{sessions_url(plan_id)}/{ids[0]}", json={"session_number": 5}, headers=headers)
    assert problem(beyond, 422)["errors"] == [{"field": "session_number", "message": "must be between 1 and 4"}]


def test_delete_cascades_to_exercises_and_renumbers_the_later_sessions(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id, ids = plan_with_sessions(core_api, org, 4)
    add_exercise(core_api, org, ids[1], org.exercises[0])
    add_exercise(core_api, org, ids[1], org.exercises[1])

    response = core_api.delete(f"{sessions_url(plan_id)}/{ids[1]}", headers=org.headers("specialist"))

    assert response.status_code == 204
    assert response.content == b""
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S1"), (2, "S3"), (3, "S4")]
    orphans = superuser.execute(
        "SELECT count(*) FROM treatment_plan_session_exercises WHERE session_id = %s", (ids[1],)
    ).fetchone()
    assert orphans == (0,)
    assert [s["name"] for s in plan_detail(core_api, org, plan_id)["sessions"]] == ["S1", "S3", "S4"]
    action, _, before, after = audit_rows(superuser, "treatment_plan_session", ids[1])[-1]
    assert (action, before["name"], before["exercises_count"], after) == (
        "treatment_plan_session.deleted",
        "S2",
        2,
        None,
    )
    gone = core_api.delete(f"{sessions_url(plan_id)}/{ids[1]}", headers=org.headers("specialist"))
    problem(gone, 404)


# Reordering ------------------------------------------------------------------------------------------------


def test_reorder_renumbers_and_the_plan_detail_follows(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id, ids = plan_with_sessions(core_api, org, 3)
    exercise = add_exercise(core_api, org, ids[2], org.exercises[2])

    reordered = ok(
        core_api.put(
            f"{sessions_url(plan_id)}/reorder",
            json={"session_ids": [ids[2], ids[0], ids[1]]},
            headers=org.headers("specialist"),
        )
    )

    assert [(s["id"], s["session_number"]) for s in reordered["sessions"]] == [(ids[2], 1), (ids[0], 2), (ids[1], 3)]
    assert reordered["sessions"][0]["exercises_count"] == 1
    detail = plan_detail(core_api, org, plan_id)
    assert [(s["id"], s["session_number"]) for s in detail["sessions"]] == [(ids[2], 1), (ids[0], 2), (ids[1], 3)]
    assert detail["sessions"][0]["exercises"][0]["id"] == exercise["id"]
    [(action, _, before, after)] = audit_rows(superuser, "treatment_plan", plan_id)[1:]
    assert action == "treatment_plan_sessions.reordered"
    assert [s["id"] for s in before["sessions"]] == ids
    assert after == reordered


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (lambda ids, other: ids[:2], "missing"),
        (lambda ids, other: [*ids, ids[0]], "listed more than once"),
        (lambda ids, other: [ids[0], ids[1], other], "not a session of this plan"),
        (lambda ids, other: [ids[0], ids[1], 999_999_999], "not a session of this plan"),
        (lambda ids, other: [], "missing"),
    ],
)
def test_reorder_needs_a_permutation_of_the_plans_sessions(core_api: Client, org: Org, pick: Any, message: str) -> None:
    plan_id, ids = plan_with_sessions(core_api, org, 3)
    _, (other,) = plan_with_sessions(core_api, org, 1)

    response = core_api.put(
        f"{sessions_url(plan_id)}/reorder", json={"session_ids": pick(ids, other)}, headers=org.headers("admin")
    )

    errors = problem(response, 422)["errors"]
    assert {e["field"] for e in errors} == {"session_ids"}
    assert any(e["message"].startswith(message) for e in errors)
    assert [s["id"] for s in list_sessions(core_api, org, plan_id)] == ids


@pytest.mark.parametrize(
    "body",
    [{}, {"session_ids": "1,2"}, {"session_ids": [0]}, {"session_ids": [1], "plan_id": 1}],
)
def test_reorder_bodies_are_validated(core_api: Client, org: Org, body: dict[str, Any]) -> None:
    plan_id, _ = plan_with_sessions(core_api, org, 1)
    response = core_api.put(f"{sessions_url(plan_id)}/reorder", json=body, headers=org.headers("specialist"))
    problem(response, 422)


@pytest.fixture
def five_sessions(core_api: Client, org: Org) -> tuple[str, list[int]]:
    return plan_with_sessions(core_api, org, 5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(5)))
def test_any_permutation_reorders_to_exactly_that_order(
    core_api: Client, org: Org, five_sessions: tuple[str, list[int]], order: list[int]
) -> None:
    plan_id, ids = five_sessions
    wanted = [ids[i] for i in order]

    reordered = ok(
        core_api.put(f"{sessions_url(plan_id)}/reorder", json={"session_ids": wanted}, headers=org.headers("admin"))
    )

    expected = [(session_id, number) for number, session_id in enumerate(wanted, start=1)]
    assert [(s["id"], s["session_number"]) for s in reordered["sessions"]] == expected
    detail = plan_detail(core_api, org, plan_id)
    assert [(s["id"], s["session_number"]) for s in detail["sessions"]] == expected


# Who may do what -------------------------------------------------------------------------------------------


def session_routes(plan_id: str, session_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, url, body) of every session route, on one plan and one of its sessions."""
    return [
        ("GET", sessions_url(plan_id), None),
        ("POST", sessions_url(plan_id), {"name": "New"}),
        ("PUT", f"{sessions_url(plan_id)}/{session_id}", {"name": "Renamed"}),
        ("PUT", f"{sessions_url(plan_id)}/reorder", {"session_ids": [session_id]}),
        ("DELETE", f"{sessions_url(plan_id)}/{session_id}", None),
    ]


def test_patients_are_refused_and_anonymous_callers_unauthenticated(core_api: Client, org: Org) -> None:
    plan_id, (session_id,) = plan_with_sessions(core_api, org, 1)
    for method, url, body in session_routes(plan_id, session_id):
        problem(core_api.request(method, url, json=body, headers=org.headers("patient")), 403)
        problem(core_api.request(method, url, json=body), 401)
    assert len(list_sessions(core_api, org, plan_id)) == 1


def test_another_organizations_missing_and_deleted_plans_are_404(core_api: Client, org: Org, other_org: Org) -> None:
    plan_id, (session_id,) = plan_with_sessions(core_api, org, 1)
    foreign_plan, (foreign_session,) = plan_with_sessions(core_api, other_org, 1)
    deleted_id, (deleted_session,) = plan_with_sessions(core_api, org, 1)
    assert core_api.delete(f"/v1/treatment-plans/{deleted_id}", headers=org.headers("admin")).status_code == 204

    for method, url, body in session_routes(plan_id, session_id):
        problem(core_api.request(method, url, json=body, headers=other_org.headers("admin")), 404)
    for method, url, body in [
        *session_routes(str(uuid.uuid4()), session_id),
        *session_routes(deleted_id, deleted_session),
    ]:
        problem(core_api.request(method, url, json=body, headers=org.headers("specialist")), 404)
    # A session of another plan (here: of another organization) is not one of this plan's.
    for method in ("PUT", "DELETE"):
        url = f"{sessions_url(plan_id)}/{foreign_session}"
        problem(core_api.request(method, url, json={"name": "x"}, headers=org.headers("specialist")), 404)
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S1")]
    assert numbering(list_sessions(core_api, other_org, foreign_plan)) == [(1, "S1")]


def test_global_plans_are_readable_but_not_writable(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan_id, session_id = global_plan(superuser)
    headers = org.headers("admin")

    assert [s["id"] for s in ok(core_api.get(sessions_url(plan_id), headers=headers))["sessions"]] == [session_id]
    for method, url, body in session_routes(plan_id, session_id)[1:]:
        problem(core_api.request(method, url, json=body, headers=headers), 403)


def test_only_a_draft_plans_sessions_change(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan_id, (session_id,) = plan_with_sessions(core_api, org, 1)
    add_exercise(core_api, org, session_id, org.exercises[0])
    publish(core_api, org, plan_id)

    for method, url, body in session_routes(plan_id, session_id)[1:]:
        body_409 = problem(core_api.request(method, url, json=body, headers=org.headers("specialist")), 409)
        assert "active" in body_409["detail"]
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S1")]
    assert [a[0] for a in audit_rows(superuser, "treatment_plan_session", session_id)] == [
        "treatment_plan_session.created"
    ]

    # Editing the plan opens its next version as a draft, whose sessions change again.
    ok(core_api.put(f"/v1/treatment-plans/{plan_id}", json={"name": "v2"}, headers=org.headers("specialist")))
    add_session(core_api, org, plan_id, "S2")
    assert numbering(list_sessions(core_api, org, plan_id)) == [(1, "S1"), (2, "S2")]


# Concurrency -----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_reorders_and_a_publish_leave_a_consistent_plan(
    core_api_url: str, org: Org, superuser: psycopg.Connection
) -> None:
    headers = org.headers("specialist")
    async with httpx.AsyncClient(base_url=core_api_url, headers=headers, timeout=30) as client:
        plan = (await client.post("/v1/treatment-plans", json=PLAN)).json()
        plan_id = plan["id"]
        ids = []
        for n in range(1, 7):
            session = (await client.post(sessions_url(plan_id), json={"name": f"S{n}"})).json()
            ids.append(session["id"])
            exercise = {"exercise_id": str(org.exercises[0]), "mode": "reps", "reps": 10}
            await client.post(exercises_url(session["id"]), json=exercise)
        shuffler = random.Random(7)
        orders = [shuffler.sample(ids, len(ids)) for _ in range(12)]
        statuses: dict[str, list[int]] = {"reorder": [], "publish": []}

        async def reorder(order: list[int]) -> None:
            response = await client.put(f"{sessions_url(plan_id)}/reorder", json={"session_ids": order})
            statuses["reorder"].append(response.status_code)

        async def publish_plan() -> None:
            response = await client.post(f"/v1/treatment-plans/{plan_id}/publish")
            statuses["publish"].append(response.status_code)

        async with anyio.create_task_group() as group:
            for index, order in enumerate(orders):
                group.start_soon(reorder, order)
                if index == len(orders) // 2:
                    group.start_soon(publish_plan)

        final = (await client.get(sessions_url(plan_id))).json()["sessions"]
        versions = (await client.get(f"/v1/treatment-plans/{plan_id}/versions/1")).json()

    assert statuses["publish"] == [200]
    assert set(statuses["reorder"]) <= {200, 409}
    assert [s["session_number"] for s in final] == [1, 2, 3, 4, 5, 6]
    assert sorted(s["id"] for s in final) == sorted(ids)
    final_order = [s["id"] for s in final]
    assert final_order in [ids, *orders]
    # Reorders that came after the publish were refused, so the published snapshot is the final order.
    assert [s["id"] for s in versions["sessions_snapshot"]] == final_order
    committed = audit_rows(superuser, "treatment_plan", plan_id)
    reorders = [row for row in committed if row[0] == "treatment_plan_sessions.reordered"]
    assert len(reorders) == statuses["reorder"].count(200)
