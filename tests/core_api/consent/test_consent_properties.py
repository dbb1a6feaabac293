"""Consent is the patient's decision: over any sequence of the patient's and staff's consent actions,
through the API on the real database, the consent in force never exceeds what the patient's latest own
statement allows, and never exceeds what the patient last said in the app (paper cannot overrule it).

The patient's own statements are their changes in the app, their submitted consent forms and their signed
paper forms that staff entered (when accepted). Staff may record decisions citing any form, submit forms
for the patient or enter paper forms: whatever they do, the property holds after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.core_api.helpers.consent import CONSENT_QUESTIONS
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.seed import Org
from tools.tokens import mint_token

# Both answers optional: a statement may leave either one out.
QUESTIONS = [CONSENT_QUESTIONS[0] | {"required": False}, *CONSENT_QUESTIONS[1:]]

Statement = tuple[int | None, bool | None]
statements = st.tuples(st.none() | st.integers(0, 3), st.none() | st.booleans()).filter(lambda s: s != (None, None))
staff_roles = st.sampled_from(["specialist", "admin"])
actions = st.one_of(
    st.tuples(st.just("patient_sets"), statements),
    st.tuples(st.just("patient_submits_form"), statements),
    st.tuples(st.just("staff_enters_paper_form"), statements, staff_roles),
    st.tuples(st.just("staff_records"), statements, staff_roles, st.integers(0, 20)),
    st.tuples(st.just("staff_submits_form"), statements, staff_roles),
)


@dataclass
class Patient:
    id: int
    headers: dict[str, str]
    forms: list[int] = field(default_factory=list)
    own_level: int = 0
    """What the patient's latest own statements allow (none: nothing, collection is opt-in)."""
    own_biometric: bool = False
    app_level: int | None = None
    """What the patient last said in the app, if anything."""
    app_biometric: bool | None = None

    def stated(self, level: int | None, biometric: bool | None, *, in_app: bool) -> None:
        if level is not None:
            self.own_level = level
            if in_app:
                self.app_level = level
        if biometric is not None:
            self.own_biometric = biometric
            if in_app:
                self.app_biometric = biometric


def new_patient(conn: psycopg.Connection, org: Org) -> Patient:
    row = conn.execute(
        "WITH u AS (INSERT INTO users (organization_id, role, display_name) VALUES (%s, 'patient', 'P') RETURNING id) "
        "INSERT INTO patients (organization_id, user_id, name, time_zone) SELECT %s, id, 'P', 'UTC' FROM u "
        "RETURNING id, user_id",
        (org.id, org.id),
    ).fetchone()
    assert row is not None
    token = mint_token(org.keys, user_id=row[1], role="patient", organization_id=org.id, patient_id=row[0])
    return Patient(id=row[0], headers={"Authorization": f"Bearer {token}"})


def new_form(conn: psycopg.Connection, org: Org, template: int, patient: Patient) -> int:
    row = conn.execute(
        "INSERT INTO form_instances (organization_id, patient_id, form_template_id, status) "
        "VALUES (%s, %s, %s, 'pending') RETURNING id",
        (org.id, patient.id, template),
    ).fetchone()
    assert row is not None
    patient.forms.append(int(row[0]))
    return int(row[0])


def answers(statement: Statement) -> dict[str, Any]:
    level, biometric = statement
    return {"analytics_level": level, "biometric_consent": biometric}


def change(statement: Statement) -> dict[str, Any]:
    level, biometric = statement
    return {key: value for key, value in (("analytics_level", level), ("biometric", biometric)) if value is not None}


def step(client: Client, conn: psycopg.Connection, org: Org, template: int, patient: Patient, action: Any) -> None:
    kind, statement = action[0], action[1]
    consent_url = f"/v1/patients/{patient.id}/consent"
    if kind == "patient_sets":
        ok(client.post(consent_url, json=change(statement), headers=patient.headers))
        patient.stated(*statement, in_app=True)
    elif kind == "patient_submits_form":
        form = new_form(conn, org, template, patient)
        body = {"responses": answers(statement)}
        ok(client.post(f"/v1/form-instances/{form}/submit", json=body, headers=patient.headers))
        patient.stated(*statement, in_app=True)
    elif kind == "staff_enters_paper_form":
        form = new_form(conn, org, template, patient)
        paper = {"responses": answers(statement), "document_reference": "scan-1", "reason": "signed in clinic"}
        response = client.post(
            f"/v1/form-instances/{form}/paper-submission", json=paper, headers=org.headers(action[2])
        )
        assert response.status_code in (200, 409), response.text
        if response.status_code == 200:
            patient.stated(*statement, in_app=False)
    elif kind == "staff_records":
        body = change(statement)
        if patient.forms:
            body["form_instance_id"] = patient.forms[action[3] % len(patient.forms)]
        response = client.post(consent_url, json=body, headers=org.headers(action[2]))
        assert response.status_code in (200, 409, 422), response.text
    else:
        form = new_form(conn, org, template, patient)
        body = {"responses": answers(statement)}
        response = client.post(f"/v1/form-instances/{form}/submit", json=body, headers=org.headers(action[2]))
        assert response.status_code == 403, response.text


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(actions, min_size=1, max_size=8))
def test_consent_never_exceeds_the_patients_latest_own_statement(
    core_api: Client, org: Org, superuser: psycopg.Connection, sequence: list[Any]
) -> None:
    template = superuser.execute(
        "INSERT INTO form_templates (organization_id, title, kind, schema) VALUES (%s, 'Consent', 'consent', %s) "
        "RETURNING id",
        (org.id, Jsonb({"questions": QUESTIONS})),
    ).fetchone()
    assert template is not None
    patient = new_patient(superuser, org)
    for action in sequence:
        step(core_api, superuser, org, template[0], patient, action)
        state = ok(core_api.get(f"/v1/patients/{patient.id}/consent", headers=org.headers("specialist")))
        level, biometric = state["analytics_level"], state["biometric"]
        assert level <= patient.own_level, (action, state)
        assert patient.own_biometric or not biometric, (action, state)
        assert patient.app_level is None or level <= patient.app_level, (action, state)
        assert patient.app_biometric is not False or not biometric, (action, state)
        if action[0] in ("patient_sets", "patient_submits_form"):
            # The patient's own statement takes effect as stated.
            stated_level, stated_biometric = action[1]
            assert stated_level is None or level == stated_level
            assert stated_biometric is None or biometric == stated_biometric
