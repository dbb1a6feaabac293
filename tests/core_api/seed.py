"""One organization's worth of reference data, written as the superuser (below row-level security).

Each test that needs data seeds its own organization, so tests never see each other's rows and need no
clean-up; cross-organization tests seed two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tools.tokens import mint_token

# The seeded post-session form: one question of each type, the last one optional.
POST_SESSION_FORM: dict[str, Any] = {
    "questions": [
        {"type": "scale", "id": "pain_level", "prompt": "Pain right now", "min": 0, "max": 10},
        {"type": "choice", "id": "knee_bend", "prompt": "Knee bend", "options": ["worse", "same", "better"]},
        {
            "type": "choice",
            "id": "hard_parts",
            "prompt": "What was hard?",
            "options": ["balance", "strength", "range"],
            "multiple": True,
            "required": False,
        },
        {"type": "text", "id": "comments", "prompt": "Anything else?", "max_length": 20, "required": False},
    ]
}


@dataclass
class Org:
    id: int
    keys: Path
    admin_user: int
    specialist_user: int
    specialist: int
    specialty: int
    patient_user: int
    patient: int
    other_patient_user: int
    other_patient: int
    form_template: int
    service_plan: int
    exercises: list[uuid.UUID] = field(default_factory=list)
    draft_exercise: uuid.UUID | None = None

    def headers(self, role: str, *, patient: int | None = None) -> dict[str, str]:
        """Authorization headers of this organization's admin, specialist, patient or other patient."""
        users = {
            "admin": (self.admin_user, None),
            "specialist": (self.specialist_user, None),
            "patient": (self.patient_user, self.patient),
            "other_patient": (self.other_patient_user, self.other_patient),
        }
        user, patient_id = users[role]
        token = mint_token(
            self.keys,
            user_id=user,
            role="patient" if role == "other_patient" else role,  # type: ignore[arg-type]
            organization_id=self.id,
            patient_id=patient if patient is not None else patient_id,
        )
        return {"Authorization": f"Bearer {token}"}


def _one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def seed_organization(conn: psycopg.Connection, keys: Path, name: str = "Clinic") -> Org:
    """An organization with staff, two patients (the first with telerehab and library access), a
    specialty, a post-session form, three published exercises and one draft exercise."""
    org = _one(conn, "INSERT INTO organizations (name) VALUES (%s) RETURNING id", name)

    def user(role: str, display: str) -> int:
        return int(
            _one(
                conn,
                "INSERT INTO users (organization_id, role, display_name) VALUES (%s, %s, %s) RETURNING id",
                org,
                role,
                display,
            )
        )

    admin_user = user("admin", "Admin")
    specialist_user = user("specialist", "Dr. Maria Kent")
    patient_user = user("patient", "Jane Doe")
    other_patient_user = user("patient", "John Roe")
    specialty = _one(
        conn, "INSERT INTO specialties (organization_id, name) VALUES (%s, 'Physiotherapy') RETURNING id", org
    )
    specialist = _one(
        conn,
        "INSERT INTO specialists (organization_id, user_id, name, specialty_id) "
        "VALUES (%s, %s, 'Dr. Maria Kent', %s) RETURNING id",
        org,
        specialist_user,
        specialty,
    )
    patient, other_patient = (
        _one(
            conn,
            "INSERT INTO patients (organization_id, user_id, name, time_zone) VALUES (%s, %s, %s, %s) RETURNING id",
            org,
            user_id,
            patient_name,
            "Europe/Madrid",
        )
        for user_id, patient_name in ((patient_user, "Jane Doe"), (other_patient_user, "John Roe"))
    )
    form_template = _one(
        conn,
        "INSERT INTO form_templates (organization_id, title, schema) "
        "VALUES (%s, 'Pain & Mobility Questionnaire', %s) RETURNING id",
        org,
        Jsonb(POST_SESSION_FORM),
    )
    service_plan = _one(
        conn,
        "INSERT INTO service_plans (organization_id, name, telerehab_access, library_access) "
        "VALUES (%s, 'Telerehab Plus', true, true) RETURNING id",
        org,
    )
    conn.execute(
        "INSERT INTO patient_service_plans (organization_id, patient_id, service_plan_id, starts_on) "
        "VALUES (%s, %s, %s, %s)",
        (org, patient, service_plan, date.today() - timedelta(days=30)),
    )
    exercises = [
        _one(
            conn,
            "INSERT INTO exercises (organization_id, name, difficulty, published, video_thumbnail_url) "
            "VALUES (%s, %s, %s, true, 'https://cdn.example/thumb.jpg') RETURNING id",
            org,
            exercise_name,
            difficulty,
        )
        for exercise_name, difficulty in (
            ("Quad Set", "beginner"),
            ("Heel Slides", "beginner"),
            ("Straight Leg Raise", "intermediate"),
        )
    ]
    draft_exercise = _one(
        conn,
        "INSERT INTO exercises (organization_id, name, published) VALUES (%s, 'Prone Hang', false) RETURNING id",
        org,
    )
    return Org(
        id=org,
        keys=keys,
        admin_user=admin_user,
        specialist_user=specialist_user,
        specialist=specialist,
        specialty=specialty,
        patient_user=patient_user,
        patient=patient,
        other_patient_user=other_patient_user,
        other_patient=other_patient,
        form_template=form_template,
        service_plan=service_plan,
        exercises=exercises,
        draft_exercise=draft_exercise,
    )
