"""Consent for tests: the patient's consent changes through the API, consent form instances written
straight into the database, and their submission through the API."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org

CONSENT_QUESTIONS: list[dict[str, Any]] = [
    {"type": "boolean", "id": "biometric_consent", "prompt": "I agree to camera pose tracking"},
    {
        "type": "scale",
        "id": "analytics_level",
        "prompt": "What may be collected",
        "min": 0,
        "max": 3,
        "required": False,
    },
]


def consent(client: Client, org: Org, role: str = "patient", patient: int | None = None, **body: Any) -> Any:
    return client.post(f"/v1/patients/{patient or org.patient}/consent", json=body, headers=org.headers(role))


def consent_form(
    conn: psycopg.Connection, org: Org, patient: int, *, given: bool | None, questions: list[Any] | None = None
) -> int:
    """A consent form instance of the patient (questions ``biometric_consent`` and optional
    ``analytics_level``), pending when ``given`` is ``None``, else stored as submitted with
    ``biometric_consent`` = ``given`` straight in the database (not the patient's statement: no API call)."""
    template = conn.execute(
        "INSERT INTO form_templates (organization_id, title, kind, schema) VALUES (%s, 'Consent', "
        "'consent', %s) RETURNING id",
        (org.id, Jsonb({"questions": questions or CONSENT_QUESTIONS})),
    ).fetchone()
    assert template is not None
    row = conn.execute(
        "INSERT INTO form_instances (organization_id, patient_id, form_template_id, status, responses, submitted_at) "
        "VALUES (%s, %s, %s, %s, %s, CASE WHEN %s THEN now() END) RETURNING id",
        (
            org.id,
            patient,
            template[0],
            "pending" if given is None else "submitted",
            None if given is None else Jsonb({"biometric_consent": given}),
            given is not None,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def submit_form(client: Client, org: Org, instance: int, role: str = "patient", **responses: Any) -> Any:
    return client.post(
        f"/v1/form-instances/{instance}/submit", json={"responses": responses}, headers=org.headers(role)
    )
