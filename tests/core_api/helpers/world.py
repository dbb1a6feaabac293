"""The write routes of core-api with a minimal valid body for each, and a world to call them in: one
organization with a real object behind every path parameter (built by the ``world`` fixture of
tests/core_api/app/conftest.py)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from litestar import Litestar
from litestar.routes import HTTPRoute
from service_common.strict_requests import _body_type

from tests.core_api.helpers.app import APP
from tests.core_api.helpers.responses import Client, Json
from tests.core_api.helpers.routes import ROUTES
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

WRITE_ROUTES = sorted(route for route in ROUTES if route[0] in {"POST", "PUT", "PATCH"})

# A schema-valid body per body type: the least each type accepts. A route with a new body type fails
# ``test_every_write_route_has_a_minimal_body`` until its body is added here.
MINIMAL_BODIES: dict[str, Json] = {
    "PlanClone": {"name": "Copy"},
    "TreatmentPlanCreate": {"name": "Knee", "type": "telerehab", "frequency_per_week": 3, "duration_weeks": 4},
    "TreatmentPlanUpdate": {"name": "Knee, renamed"},
    "PlanPromote": {},
    "SelfAssign": {"start_date": date.today().isoformat()},
    "UserCreate": {"role": "specialist", "display_name": "Dr. New"},
    "SpecialtyCreate": {"name": "Hand therapy"},
    "SpecialistCreate": {"name": "Dr. Other", "specialty_id": 1},
    "PatientCreate": {"name": "Ann Lee", "time_zone": "Europe/Madrid"},
    "PatientServicePlanCreate": {"service_plan_id": 1, "starts_on": date.today().isoformat()},
    "PatientUpdate": {"name": "Jane Doe"},
    "ExerciseCreate": {"name": "Wall Sit"},
    "ExerciseUpdate": {"description": "Slowly"},
    "FormTemplateCreate": {
        "title": "Check-in",
        "schema": {"questions": [{"type": "scale", "id": "pain", "prompt": "Pain", "min": 0, "max": 10}]},
    },
    "ServicePlanCreate": {"name": "Basic"},
    "SessionCreate": {"name": "Extra session"},
    "SessionUpdate": {"name": "Renamed session"},
    "SessionReorder": {"session_ids": [1]},
    "SessionExerciseCreate": {
        "exercise_id": str(uuid.UUID(int=1)),
        "mode": "reps",
        "sets": 3,
        "reps": 10,
        "notes": "n",
    },
    "SessionExerciseUpdate": {"notes": "Keep the knee straight"},
    "SessionExerciseReorder": {"exercise_ids": [1]},
    "EnrollmentAssign": {"patient_id": 1, "treatment_plan_id": str(uuid.UUID(int=1)), "start_date": "2026-01-05"},
    "EnrollmentStatusChange": {"status": "paused", "reason": "Holiday"},
    "SessionStart": {"pain_level_before": 3},
    "ExerciseLogUpdate": {"actual_sets": 3, "skip_reason": "none"},
    "SessionComplete": {"pain_level_after": 2, "notes": "Fine"},
    "SessionSkip": {"reason": "Sick"},
    "FormSubmit": {"responses": {"pain_level": 3, "knee_bend": "same", "hard_parts": ["balance"], "comments": "ok"}},
    "PaperFormSubmit": {
        "responses": {"biometric_consent": True},
        "document_reference": "scan-2026-0042",
        "reason": "signed in clinic",
    },
    "OrganizationSettingsUpdate": {"adherence_threshold_percent": 70},
    "AutomationRuleCreate": {
        "event_type": "treatment_plan.session_completed",
        "action": "webhook",
        "webhook_url": "http://127.0.0.1:9/hook",
    },
    "AutomationRuleUpdate": {"enabled": False},
    "ConsentChange": {"analytics_level": 2},
}


def handlers(app: Litestar) -> dict[tuple[str, str], Any]:
    """Every route handler of ``app`` by (method, path)."""
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                found.update({(method, route.path): handler for method in handler.http_methods})
    return found


HANDLERS = handlers(APP)
BODY_ROUTES = [route for route in WRITE_ROUTES if _body_type(HANDLERS[route]) is not None]


def body_type_name(route: tuple[str, str]) -> str:
    return str(_body_type(HANDLERS[route]).__name__)


def minimal_body(route: tuple[str, str]) -> Json:
    return dict(MINIMAL_BODIES[body_type_name(route)])


def role_for(route: tuple[str, str]) -> str:
    return next(role for role in ("admin", "specialist", "patient") if role in ROUTES[route])


@dataclass
class World:
    """One organization with a real object behind every path parameter of the write routes."""

    client: Client
    org: Org
    postgres: PostgresUrls
    params: dict[str, str]

    def path(self, template: str) -> str:
        return re.sub(r"\{([a-z_]+):[a-z]+\}", lambda m: self.params[m.group(1)], template)

    def headers(self, route: tuple[str, str]) -> dict[str, str]:
        return self.org.headers(role_for(route))

    def next_xid(self) -> int:
        """PostgreSQL's next transaction id: every transaction that writes (or locks a row) takes one."""
        with psycopg.connect(self.postgres.superuser, autocommit=True) as conn:
            row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
        assert row is not None
        return int(row[0])

    def committed_since(self, xid: int) -> list[int]:
        """The transactions since ``xid`` that committed: a refused request may lock a row and roll back,
        but must commit nothing."""
        with psycopg.connect(self.postgres.superuser, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT x FROM generate_series(%s::bigint, %s::bigint - 1) AS x "
                "WHERE pg_xact_status(x::text::xid8) = 'committed'",
                (xid, self.next_xid()),
            ).fetchall()
        return [row[0] for row in rows]

    def send(self, route: tuple[str, str], **kwargs: Any) -> Any:
        """``route`` called with ``kwargs``, after checking the call committed nothing to the database."""
        before = self.next_xid()
        response = self.client.request(route[0], self.path(route[1]), **kwargs)
        assert response.status_code < 500, response.text
        assert self.committed_since(before) == [], f"{route} wrote: {response.status_code} {response.text}"
        return response
