"""Forms: typed template questions, the post-session form instance, and submitting responses."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.core_api.helpers.execution import audit_actions, complete, enroll, start
from tests.core_api.helpers.responses import Client, Json, ok, problem
from tests.core_api.seed import Org

VALID = {"pain_level": 3, "knee_bend": "better", "hard_parts": ["balance", "range"], "comments": "fine"}


def fields(response: Any, status: int = 422) -> set[str]:
    """The fields a problem response names."""
    return {error["field"] for error in problem(response, status).get("errors") or []}


def post_session_form(client: Client, conn: psycopg.Connection, org: Org) -> int:
    """The id of the pending post-session form a completed session of the seeded patient created."""
    enrollment = enroll(client, conn, org)
    started = ok(start(client, org, enrollment["id"], 1), 201)
    done = ok(complete(client, org, started["id"], pain_level_after=2))
    form_id: int = done["post_session_form_id"]
    return form_id


def submit(client: Client, org: Org, form_id: int, responses: Json, role: str = "patient") -> Any:
    return client.post(f"/v1/form-instances/{form_id}/submit", json={"responses": responses}, headers=org.headers(role))


# Templates --------------------------------------------------------------------------------------------------


def template(*questions: Json) -> Json:
    return {"title": "Check-in", "kind": "other", "schema": {"questions": list(questions)}}


SCALE = {"type": "scale", "id": "pain", "prompt": "Pain", "min": 0, "max": 10}
CHOICE = {"type": "choice", "id": "mood", "prompt": "Mood", "options": ["good", "bad"]}


@pytest.mark.parametrize(
    "body",
    [
        template(SCALE, SCALE | {"type": "text", "prompt": "Again"}),
        template(SCALE | {"min": 5, "max": 5}),
        template(SCALE | {"min": 6, "max": 5}),
        template(SCALE | {"labels": [{"value": 11, "label": "worst"}]}),
        template(CHOICE | {"options": ["only"]}),
        template(CHOICE | {"options": ["same", "same"]}),
        template(CHOICE | {"options": [f"o{n}" for n in range(21)]}),
        template({"type": "text", "id": "why", "prompt": "Why", "max_length": 2001}),
        template({"type": "rating", "id": "x", "prompt": "X"}),
        template(SCALE | {"id": "Not A Slug"}),
        template(),
        template(*({"type": "boolean", "id": f"q{n}", "prompt": "Q"} for n in range(51))),
    ],
)
def test_invalid_template_schemas_are_refused(core_api: Client, org: Org, body: Json) -> None:
    assert any(
        field.startswith("schema")
        for field in fields(core_api.post("/v1/form-templates", json=body, headers=org.headers("admin")))
    )


def test_a_typed_template_is_stored_with_its_defaults(core_api: Client, org: Org) -> None:
    body = template(
        SCALE | {"labels": [{"value": 0, "label": "none"}]}, CHOICE, {"type": "boolean", "id": "ok", "prompt": "OK?"}
    )
    created = ok(core_api.post("/v1/form-templates", json=body, headers=org.headers("admin")), 201)
    scale, choice, boolean = created["schema"]["questions"]
    assert scale["labels"] == [{"value": 0, "label": "none"}]
    assert (scale["required"], choice["multiple"], boolean["type"]) == (True, False, "boolean")


# Instances --------------------------------------------------------------------------------------------------


def test_a_completed_session_creates_a_form_the_patient_submits(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    form_id = post_session_form(core_api, superuser, org)
    form = ok(core_api.get(f"/v1/form-instances/{form_id}", headers=org.headers("patient")))
    assert (form["status"], form["kind"], form["patient_id"], form["responses"]) == (
        "pending",
        "post_session",
        org.patient,
        None,
    )
    assert [q["id"] for q in form["questions"]] == ["pain_level", "knee_bend", "hard_parts", "comments"]
    assert form["session_completion_id"] is not None

    pending = ok(
        core_api.get(f"/v1/patients/{org.patient}/form-instances?status=pending", headers=org.headers("specialist"))
    )
    assert [f["id"] for f in pending["form_instances"]] == [form_id]

    submitted = ok(submit(core_api, org, form_id, VALID))
    assert (submitted["status"], submitted["responses"]) == ("submitted", VALID)
    assert submitted["submitted_at"] is not None
    assert (
        ok(core_api.get(f"/v1/patients/{org.patient}/form-instances?status=pending", headers=org.headers("patient")))[
            "total"
        ]
        == 0
    )
    assert ok(core_api.get(f"/v1/patients/{org.patient}/form-instances", headers=org.headers("admin")))["total"] == 1

    assert audit_actions(superuser, "form_instance", form_id) == ["form_instance.submitted"]
    events = superuser.execute(
        "SELECT event_type, payload ->> 'kind', payload ->> 'patient_id' FROM automation_events "
        "WHERE entity_type = 'form_instance' AND entity_id = %s",
        (str(form_id),),
    ).fetchall()
    assert events == [("form.submitted", "post_session", str(org.patient))]

    again = submit(core_api, org, form_id, VALID)
    assert problem(again, 409)["status"] == 409
    assert audit_actions(superuser, "form_instance", form_id) == ["form_instance.submitted"]


def test_optional_questions_may_be_left_out(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    form_id = post_session_form(core_api, superuser, org)
    submitted = ok(
        submit(core_api, org, form_id, {"pain_level": 0, "knee_bend": "same", "comments": None}, role="specialist")
    )
    assert submitted["responses"] == {"pain_level": 0, "knee_bend": "same"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pain_level": None}, "pain_level"),
        ({"pain_level": 11}, "pain_level"),
        ({"pain_level": -1}, "pain_level"),
        ({"pain_level": 2.5}, "pain_level"),
        ({"pain_level": True}, "pain_level"),
        ({"pain_level": "3"}, "pain_level"),
        ({"knee_bend": "sideways"}, "knee_bend"),
        ({"knee_bend": ["better"]}, "knee_bend"),
        ({"hard_parts": "balance"}, "hard_parts"),
        ({"hard_parts": ["balance", "flying"]}, "hard_parts"),
        ({"hard_parts": ["range", "range"]}, "hard_parts"),
        ({"comments": "x" * 21}, "comments"),
        ({"comments": 5}, "comments"),
        ({"comments": "a\u0000b"}, "comments"),
        ({"mood": "good"}, "mood"),
    ],
)
def test_responses_are_validated_against_the_template(
    core_api: Client, org: Org, superuser: psycopg.Connection, change: Json, field: str
) -> None:
    form_id = post_session_form(core_api, superuser, org)
    assert fields(submit(core_api, org, form_id, VALID | change)) == {f"responses.{field}"}
    assert ok(core_api.get(f"/v1/form-instances/{form_id}", headers=org.headers("patient")))["status"] == "pending"
    assert audit_actions(superuser, "form_instance", form_id) == []


def test_every_missing_required_answer_is_named(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    form_id = post_session_form(core_api, superuser, org)
    assert fields(submit(core_api, org, form_id, {})) == {"responses.pain_level", "responses.knee_bend"}
    assert fields(submit(core_api, org, form_id, {"pain_level": 1, "knee_bend": "same", "extra": 1, "more": "x"})) == {
        "responses.extra",
        "responses.more",
    }


def test_other_patients_and_organizations_get_404(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    form_id = post_session_form(core_api, superuser, org)
    for headers in (org.headers("other_patient"), other_org.headers("admin"), other_org.headers("patient")):
        problem(core_api.get(f"/v1/form-instances/{form_id}", headers=headers), 404)
        problem(core_api.post(f"/v1/form-instances/{form_id}/submit", json={"responses": VALID}, headers=headers), 404)
    problem(core_api.get(f"/v1/patients/{org.patient}/form-instances", headers=org.headers("other_patient")), 404)
    problem(core_api.get(f"/v1/patients/{org.patient}/form-instances", headers=other_org.headers("admin")), 404)
    problem(core_api.get("/v1/form-instances/999999999", headers=org.headers("admin")), 404)
    assert fields(core_api.get(f"/v1/patients/{org.patient}/form-instances?status=done", headers=org.headers("admin")))
    assert ok(core_api.get(f"/v1/form-instances/{form_id}", headers=org.headers("patient")))["status"] == "pending"


def test_a_template_stored_before_typed_questions_reads_as_empty(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    row = superuser.execute(
        "INSERT INTO form_templates (organization_id, title, kind) VALUES (%s, 'Legacy', 'intake') RETURNING id",
        (org.id,),
    ).fetchone()
    assert row is not None
    listed = ok(core_api.get("/v1/form-templates?kind=intake", headers=org.headers("admin")))
    assert [t["schema"] for t in listed["form_templates"] if t["id"] == row[0]] == [{"questions": []}]
