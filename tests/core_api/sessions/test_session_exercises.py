"""The exercises a session prescribes: add, list, edit, remove, reorder, and who may do what."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.core_api.helpers.responses import Client, ok, problem
from tests.core_api.helpers.sessions import (
    add_exercise,
    add_session,
    audit_rows,
    blames,
    create_plan,
    exercises_url,
    global_plan,
    list_exercises,
    plan_detail,
    plan_with_sessions,
    publish,
)
from tests.core_api.seed import Org


def a_session(client: Client, org: Org) -> tuple[str, int]:
    plan_id, (session_id,) = plan_with_sessions(client, org, 1)
    return plan_id, session_id


def order(exercises: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(sort_order, id) of each exercise, in list order."""
    return [(e["sort_order"], e["id"]) for e in exercises]


# Adding and listing ----------------------------------------------------------------------------------------


def test_exercises_are_appended_and_listed_with_the_full_exercise(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    superuser.execute(
        "UPDATE exercises SET video_url = 'https://cdn.example/quad.mp4', estimated_duration_seconds = 45 "
        "WHERE id = %s",
        (org.exercises[0],),
    )
    _, session_id = a_session(core_api, org)

    first = add_exercise(
        core_api,
        org,
        session_id,
        org.exercises[0],
        rest_between_sets_seconds=30,
        rest_after_exercise_seconds=60,
        notes="Focus on controlled contraction",
    )
    second = add_exercise(
        core_api, org, session_id, org.exercises[1], mode="duration", sets=2, reps=None, hold_seconds=60
    )

    assert first == {
        "id": first["id"],
        "exercise_id": str(org.exercises[0]),
        "sort_order": 0,
        "exercise": {
            "id": str(org.exercises[0]),
            "name": "Quad Set",
            "video_url": "https://cdn.example/quad.mp4",
            "video_thumbnail_url": "https://cdn.example/thumb.jpg",
            "difficulty": "beginner",
            "estimated_duration_seconds": 45,
        },
        "mode": "reps",
        "sets": 3,
        "reps": 10,
        "hold_seconds": None,
        "duration_seconds": None,
        "rest_between_sets_seconds": 30,
        "rest_after_exercise_seconds": 60,
        "notes": "Focus on controlled contraction",
    }
    assert (second["sort_order"], second["mode"], second["hold_seconds"]) == (1, "duration", 60)
    assert list_exercises(core_api, org, session_id) == [first, second]
    [(action, role, before, after)] = audit_rows(superuser, "treatment_plan_session_exercise", first["id"])
    assert (action, role, before, after) == ("treatment_plan_session_exercise.created", "specialist", None, first)


def test_a_taken_sort_order_inserts_and_shifts_the_later_exercises(core_api: Client, org: Org) -> None:
    _, session_id = a_session(core_api, org)
    ids = [add_exercise(core_api, org, session_id, exercise)["id"] for exercise in org.exercises]

    inserted = add_exercise(core_api, org, session_id, org.exercises[0], sort_order=1)
    last = add_exercise(core_api, org, session_id, org.exercises[1], sort_order=4)

    assert order(list_exercises(core_api, org, session_id)) == [
        (0, ids[0]),
        (1, inserted["id"]),
        (2, ids[1]),
        (3, ids[2]),
        (4, last["id"]),
    ]
    beyond = core_api.post(
        exercises_url(session_id),
        json={"exercise_id": str(org.exercises[0]), "mode": "reps", "reps": 5, "sort_order": 6},
        headers=org.headers("specialist"),
    )
    assert problem(beyond, 422)["errors"] == [{"field": "sort_order", "message": "must be between 0 and 5"}]


# Validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "blamed"),
    [
        ({"mode": "reps", "reps": None}, {"reps"}),
        ({"mode": "duration", "reps": None}, {"hold_seconds", "duration_seconds"}),
        ({"mode": "duration", "reps": 10}, {"hold_seconds", "duration_seconds"}),
    ],
)
def test_each_mode_needs_its_fields(core_api: Client, org: Org, fields: dict[str, Any], blamed: set[str]) -> None:
    _, session_id = a_session(core_api, org)
    body = {"exercise_id": str(org.exercises[0]), "sets": 3} | fields
    response = core_api.post(exercises_url(session_id), json=body, headers=org.headers("specialist"))
    assert {error["field"] for error in problem(response, 422)["errors"]} == blamed
    assert list_exercises(core_api, org, session_id) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"exercise_id": "not-a-uuid"}, "exercise_id"),
        ({"mode": "isometric"}, "mode"),
        ({"sets": 0}, "sets"),
        ({"reps": 1001}, "reps"),
        ({"hold_seconds": 0, "mode": "duration"}, "hold_seconds"),
        ({"rest_between_sets_seconds": -1}, "rest_between_sets_seconds"),
        ({"notes": "x" * 2001}, "notes"),
        ({"sort_order": -1}, "sort_order"),
        ({"session_id": 1}, "session_id"),
        ({"organization_id": 1}, "organization_id"),
    ],
)
def test_bad_exercise_bodies_name_the_field(core_api: Client, org: Org, fields: dict[str, Any], field: str) -> None:
    _, session_id = a_session(core_api, org)
    body = {"exercise_id": str(org.exercises[0]), "mode": "reps", "reps": 10} | fields
    response = core_api.post(exercises_url(session_id), json=body, headers=org.headers("specialist"))
    assert blames(response, field)


def test_only_admins_prescribe_draft_exercises_and_nobody_another_organizations(
    core_api: Client, org: Org, other_org: Org
) -> None:
    _, session_id = a_session(core_api, org)
    url = exercises_url(session_id)

    def prescribe(exercise: uuid.UUID, role: str) -> Any:
        body = {"exercise_id": str(exercise), "mode": "reps", "reps": 10}
        return core_api.post(url, json=body, headers=org.headers(role))

    assert org.draft_exercise is not None
    draft = problem(prescribe(org.draft_exercise, "specialist"), 422)
    assert draft["errors"] == [
        {"field": "exercise_id", "message": "a draft exercise can only be prescribed by an admin"}
    ]
    assert ok(prescribe(org.draft_exercise, "admin"), 201)["exercise"]["name"] == "Prone Hang"
    for exercise in (other_org.exercises[0], uuid.uuid4()):
        for role in ("specialist", "admin"):
            missing = problem(prescribe(exercise, role), 422)
            assert missing["errors"] == [{"field": "exercise_id", "message": "no such exercise"}]
    assert len(list_exercises(core_api, org, session_id)) == 1


# Editing ---------------------------------------------------------------------------------------------------


def test_a_partial_update_keeps_the_other_fields_and_checks_the_result(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    _, session_id = a_session(core_api, org)
    created = add_exercise(core_api, org, session_id, org.exercises[0], notes="Slowly")
    url = f"{exercises_url(session_id)}/{created['id']}"
    headers = org.headers("specialist")

    updated = ok(core_api.put(url, json={"sets": 4, "notes": None}, headers=headers))
    switched = ok(core_api.put(url, json={"mode": "duration", "duration_seconds": 45}, headers=headers))
    swapped = ok(core_api.put(url, json={"exercise_id": str(org.exercises[2])}, headers=headers))

    assert (updated["sets"], updated["reps"], updated["notes"]) == (4, 10, None)
    assert (switched["mode"], switched["duration_seconds"], switched["sets"]) == ("duration", 45, 4)
    assert (swapped["exercise_id"], swapped["exercise"]["name"]) == (str(org.exercises[2]), "Straight Leg Raise")
    incomplete = core_api.put(url, json={"duration_seconds": None}, headers=headers)
    assert {e["field"] for e in problem(incomplete, 422)["errors"]} == {"hold_seconds", "duration_seconds"}
    assert blames(core_api.put(url, json={"mode": "reps", "reps": None}, headers=headers), "reps")
    assert org.draft_exercise is not None
    draft = core_api.put(url, json={"exercise_id": str(org.draft_exercise)}, headers=headers)
    assert blames(draft, "exercise_id")
    assert blames(core_api.put(url, json={"id": 5}, headers=headers), "id")
    assert list_exercises(core_api, org, session_id) == [swapped]
    rows = audit_rows(superuser, "treatment_plan_session_exercise", created["id"])
    assert [row[0] for row in rows] == ["treatment_plan_session_exercise.created"] + [
        "treatment_plan_session_exercise.updated"
    ] * 3
    assert (rows[1][2]["sets"], rows[1][3]["sets"]) == (3, 4)


def test_an_update_with_a_sort_order_moves_the_exercise(core_api: Client, org: Org) -> None:
    _, session_id = a_session(core_api, org)
    ids = [add_exercise(core_api, org, session_id, org.exercises[i % 3])["id"] for i in range(4)]
    headers = org.headers("specialist")

    moved = ok(core_api.put(f"{exercises_url(session_id)}/{ids[3]}", json={"sort_order": 1}, headers=headers))
    assert moved["sort_order"] == 1
    assert [e["id"] for e in list_exercises(core_api, org, session_id)] == [ids[0], ids[3], ids[1], ids[2]]

    beyond = core_api.put(f"{exercises_url(session_id)}/{ids[0]}", json={"sort_order": 4}, headers=headers)
    assert problem(beyond, 422)["errors"] == [{"field": "sort_order", "message": "must be between 0 and 3"}]


def test_removing_an_exercise_closes_the_gap(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan_id, session_id = a_session(core_api, org)
    ids = [add_exercise(core_api, org, session_id, exercise)["id"] for exercise in org.exercises]

    response = core_api.delete(f"{exercises_url(session_id)}/{ids[0]}", headers=org.headers("admin"))

    assert response.status_code == 204
    assert order(list_exercises(core_api, org, session_id)) == [(0, ids[1]), (1, ids[2])]
    exercises = plan_detail(core_api, org, plan_id)["sessions"][0]["exercises"]
    assert [(e["sort_order"], e["id"]) for e in exercises] == [(0, ids[1]), (1, ids[2])]
    action, role, before, after = audit_rows(superuser, "treatment_plan_session_exercise", ids[0])[-1]
    assert (action, role, before["sort_order"], after) == ("treatment_plan_session_exercise.deleted", "admin", 0, None)
    again = core_api.delete(f"{exercises_url(session_id)}/{ids[0]}", headers=org.headers("admin"))
    problem(again, 404)


# Reordering ------------------------------------------------------------------------------------------------


def test_reorder_sets_sort_orders_and_the_plan_detail_follows(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan_id, session_id = a_session(core_api, org)
    ids = [add_exercise(core_api, org, session_id, exercise)["id"] for exercise in org.exercises]
    wanted = [ids[1], ids[0], ids[2]]

    reordered = ok(
        core_api.put(
            f"{exercises_url(session_id)}/reorder", json={"exercise_ids": wanted}, headers=org.headers("specialist")
        )
    )

    assert order(reordered["exercises"]) == [(0, ids[1]), (1, ids[0]), (2, ids[2])]
    exercises = plan_detail(core_api, org, plan_id)["sessions"][0]["exercises"]
    assert [(e["sort_order"], e["id"]) for e in exercises] == [(0, ids[1]), (1, ids[0]), (2, ids[2])]
    rows = audit_rows(superuser, "treatment_plan_session", session_id)
    assert [row[0] for row in rows] == [
        "treatment_plan_session.created",
        "treatment_plan_session_exercises.reordered",
    ]
    _, _, before, after = rows[1]
    assert [e["id"] for e in before["exercises"]] == ids
    assert after == reordered


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (lambda ids, other: ids[1:], "missing"),
        (lambda ids, other: [*ids, ids[2]], "listed more than once"),
        (lambda ids, other: [*ids[:2], other], "not a session exercise of this session"),
    ],
)
def test_reorder_needs_a_permutation_of_the_sessions_exercises(
    core_api: Client, org: Org, pick: Any, message: str
) -> None:
    _, (session_id, other_session) = plan_with_sessions(core_api, org, 2)
    ids = [add_exercise(core_api, org, session_id, exercise)["id"] for exercise in org.exercises]
    other = add_exercise(core_api, org, other_session, org.exercises[0])["id"]

    response = core_api.put(
        f"{exercises_url(session_id)}/reorder",
        json={"exercise_ids": pick(ids, other)},
        headers=org.headers("specialist"),
    )

    errors = problem(response, 422)["errors"]
    assert {e["field"] for e in errors} == {"exercise_ids"}
    assert any(e["message"].startswith(message) for e in errors)
    assert [e["id"] for e in list_exercises(core_api, org, session_id)] == ids


# Who may do what -------------------------------------------------------------------------------------------


def exercise_routes(session_id: int, session_exercise_id: int, exercise: uuid.UUID) -> list[tuple[str, str, Any]]:
    """(method, url, body) of every session exercise route."""
    url = exercises_url(session_id)
    return [
        ("GET", url, None),
        ("POST", url, {"exercise_id": str(exercise), "mode": "reps", "reps": 8}),
        ("PUT", f"{url}/{session_exercise_id}", {"sets": 5}),
        ("PUT", f"{url}/reorder", {"exercise_ids": [session_exercise_id]}),
        ("DELETE", f"{url}/{session_exercise_id}", None),
    ]


def test_patients_are_refused(core_api: Client, org: Org) -> None:
    _, session_id = a_session(core_api, org)
    created = add_exercise(core_api, org, session_id, org.exercises[0])
    for method, url, body in exercise_routes(session_id, created["id"], org.exercises[1]):
        problem(core_api.request(method, url, json=body, headers=org.headers("patient")), 403)
    assert list_exercises(core_api, org, session_id) == [created]


def test_sessions_of_another_organization_missing_or_deleted_plans_are_404(
    core_api: Client, org: Org, other_org: Org
) -> None:
    _, session_id = a_session(core_api, org)
    created = add_exercise(core_api, org, session_id, org.exercises[0])
    deleted_plan, deleted_session = a_session(core_api, org)
    in_deleted = add_exercise(core_api, org, deleted_session, org.exercises[0])
    assert core_api.delete(f"/v1/treatment-plans/{deleted_plan}", headers=org.headers("admin")).status_code == 204
    _, other_session = a_session(core_api, other_org)

    for method, url, body in exercise_routes(session_id, created["id"], other_org.exercises[0]):
        problem(core_api.request(method, url, json=body, headers=other_org.headers("admin")), 404)
    for method, url, body in [
        *exercise_routes(999_999_999, created["id"], org.exercises[0]),
        *exercise_routes(deleted_session, in_deleted["id"], org.exercises[0]),
    ]:
        problem(core_api.request(method, url, json=body, headers=org.headers("specialist")), 404)
    # A session exercise is addressed through its own session only.
    other = add_exercise(core_api, other_org, other_session, other_org.exercises[0])
    for method in ("PUT", "DELETE"):
        url = f"{exercises_url(session_id)}/{other['id']}"
        problem(core_api.request(method, url, json={"sets": 2}, headers=org.headers("specialist")), 404)
    assert list_exercises(core_api, org, session_id) == [created]


def test_global_plans_sessions_are_readable_but_not_writable(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    _, session_id = global_plan(superuser)
    headers = org.headers("admin")
    assert ok(core_api.get(exercises_url(session_id), headers=headers)) == {"exercises": []}
    body = {"exercise_id": str(org.exercises[0]), "mode": "reps", "reps": 8}
    problem(core_api.post(exercises_url(session_id), json=body, headers=headers), 403)
    reorder = core_api.put(f"{exercises_url(session_id)}/reorder", json={"exercise_ids": []}, headers=headers)
    problem(reorder, 403)


def test_only_a_draft_plans_exercises_change(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    plan_id, session_id = a_session(core_api, org)
    created = add_exercise(core_api, org, session_id, org.exercises[0])
    publish(core_api, org, plan_id)

    for method, url, body in exercise_routes(session_id, created["id"], org.exercises[1])[1:]:
        conflict = problem(core_api.request(method, url, json=body, headers=org.headers("specialist")), 409)
        assert "active" in conflict["detail"]
    assert list_exercises(core_api, org, session_id) == [created]
    assert len(audit_rows(superuser, "treatment_plan_session_exercise", created["id"])) == 1


def test_a_new_draft_version_is_editable_again(core_api: Client, org: Org) -> None:
    plan_id = create_plan(core_api, org)
    session = add_session(core_api, org, plan_id, "Only")
    add_exercise(core_api, org, session["id"], org.exercises[0])
    publish(core_api, org, plan_id)
    ok(core_api.put(f"/v1/treatment-plans/{plan_id}", json={"name": "v2"}, headers=org.headers("specialist")))

    added = add_exercise(core_api, org, session["id"], org.exercises[1])

    assert added["sort_order"] == 1
    assert plan_detail(core_api, org, plan_id)["version"] == 2
