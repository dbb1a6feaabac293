"""Every core-api route with the roles that may call it, checked against the app's own route table by
tests/core_api/app/test_route_matrix.py, and the route matrix's made-up calls."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

STAFF = frozenset({"admin", "specialist"})
ADMIN = frozenset({"admin"})
PATIENT = frozenset({"patient"})
EVERYONE = frozenset({"admin", "specialist", "patient"})

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # Treatment plans
    ("GET", "/v1/treatment-plans"): STAFF,
    ("POST", "/v1/treatment-plans"): STAFF,
    ("GET", "/v1/treatment-plans/library"): EVERYONE,
    ("GET", "/v1/treatment-plans/{plan_id:uuid}"): EVERYONE,
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}"): STAFF,
    ("DELETE", "/v1/treatment-plans/{plan_id:uuid}"): STAFF,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/publish"): STAFF,
    ("GET", "/v1/treatment-plans/{plan_id:uuid}/versions"): STAFF,
    ("GET", "/v1/treatment-plans/{plan_id:uuid}/versions/{version:int}"): STAFF,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/rollback/{version:int}"): STAFF,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/clone"): STAFF,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/promote"): ADMIN,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/self-assign"): PATIENT,
    # Sessions and their exercises
    ("GET", "/v1/treatment-plans/{plan_id:uuid}/sessions"): STAFF,
    ("POST", "/v1/treatment-plans/{plan_id:uuid}/sessions"): STAFF,
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}/sessions/reorder"): STAFF,
    ("PUT", "/v1/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}"): STAFF,
    ("DELETE", "/v1/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}"): STAFF,
    ("GET", "/v1/treatment-plan-sessions/{session_id:int}"): STAFF,
    ("GET", "/v1/treatment-plan-sessions/{session_id:int}/exercises"): STAFF,
    ("POST", "/v1/treatment-plan-sessions/{session_id:int}/exercises"): STAFF,
    ("PUT", "/v1/treatment-plan-sessions/{session_id:int}/exercises/reorder"): STAFF,
    ("PUT", "/v1/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}"): STAFF,
    ("DELETE", "/v1/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}"): STAFF,
    ("GET", "/v1/session-exercises/{session_exercise_id:int}"): STAFF,
    # Reference data
    ("POST", "/v1/users"): ADMIN,
    ("GET", "/v1/users/{user_id:int}"): STAFF,
    ("GET", "/v1/specialties"): STAFF,
    ("POST", "/v1/specialties"): ADMIN,
    ("GET", "/v1/specialties/{specialty_id:int}"): STAFF,
    ("GET", "/v1/specialists"): STAFF,
    ("POST", "/v1/specialists"): ADMIN,
    ("GET", "/v1/specialists/{specialist_id:int}"): STAFF,
    ("GET", "/v1/patients"): STAFF,
    ("POST", "/v1/patients"): STAFF,
    ("GET", "/v1/patients/{patient_id:int}"): EVERYONE,
    ("PUT", "/v1/patients/{patient_id:int}"): STAFF,
    ("GET", "/v1/patients/{patient_id:int}/service-plans"): EVERYONE,
    ("POST", "/v1/patients/{patient_id:int}/service-plans"): ADMIN,
    ("GET", "/v1/patient-service-plans/{patient_service_plan_id:int}"): EVERYONE,
    ("GET", "/v1/exercises"): STAFF,
    ("POST", "/v1/exercises"): STAFF,
    ("GET", "/v1/exercises/{exercise_id:uuid}"): STAFF,
    ("PUT", "/v1/exercises/{exercise_id:uuid}"): STAFF,
    ("GET", "/v1/form-templates"): STAFF,
    ("POST", "/v1/form-templates"): ADMIN,
    ("GET", "/v1/form-templates/{form_template_id:int}"): STAFF,
    ("GET", "/v1/service-plans"): STAFF,
    ("POST", "/v1/service-plans"): ADMIN,
    ("GET", "/v1/service-plans/{service_plan_id:int}"): STAFF,
    # Enrollments
    ("GET", "/v1/patient-treatment-plans"): STAFF,
    ("POST", "/v1/patient-treatment-plans"): STAFF,
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}"): EVERYONE,
    ("POST", "/v1/patient-treatment-plans/{enrollment_id:int}/approve"): STAFF,
    ("PUT", "/v1/patient-treatment-plans/{enrollment_id:int}/status"): EVERYONE,
    ("GET", "/v1/patients/{patient_id:int}/treatment-plans"): EVERYONE,
    # Session execution
    ("GET", "/v1/patients/{patient_id:int}/treatment-plans/today"): EVERYONE,
    ("POST", "/v1/patient-treatment-plans/{enrollment_id:int}/sessions/{session_number:int}/start"): EVERYONE,
    ("PUT", "/v1/patient-exercise-logs/{log_id:int}"): EVERYONE,
    ("GET", "/v1/patient-session-completions/{completion_id:int}"): EVERYONE,
    ("GET", "/v1/patient-session-completions/{completion_id:int}/exercise-logs"): EVERYONE,
    ("POST", "/v1/patient-session-completions/{completion_id:int}/complete"): EVERYONE,
    ("POST", "/v1/patient-session-completions/{completion_id:int}/skip"): EVERYONE,
    # Forms
    ("GET", "/v1/form-instances/{instance_id:int}"): EVERYONE,
    ("POST", "/v1/form-instances/{instance_id:int}/submit"): EVERYONE,
    ("POST", "/v1/form-instances/{instance_id:int}/paper-submission"): STAFF,
    ("GET", "/v1/patients/{patient_id:int}/form-instances"): EVERYONE,
    # Progress, analytics, dashboards
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/progress"): EVERYONE,
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/analytics"): STAFF,
    ("GET", "/v1/dashboards/organization"): STAFF,
    # Adherence
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/adherence"): EVERYONE,
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/adherence/weekly"): EVERYONE,
    ("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/adherence/trend"): EVERYONE,
    ("GET", "/v1/adherence/weekly"): STAFF,
    ("GET", "/v1/adherence/stats"): STAFF,
    # Consent and telemetry tokens
    ("GET", "/v1/patients/{patient_id:int}/consent"): EVERYONE,
    ("POST", "/v1/patients/{patient_id:int}/consent"): EVERYONE,
    ("POST", "/v1/telemetry/token"): EVERYONE,
    # GDPR
    ("GET", "/v1/patients/{patient_id:int}/export"): frozenset({"admin", "patient"}),
    ("POST", "/v1/patients/{patient_id:int}/erasure"): frozenset({"admin", "patient"}),
    ("GET", "/v1/patients/{patient_id:int}/erasure"): ADMIN,
    # Automations
    ("POST", "/v1/automation/rules"): ADMIN,
    ("GET", "/v1/automation/rules"): ADMIN,
    ("GET", "/v1/automation/rules/{rule_id:int}"): ADMIN,
    ("PATCH", "/v1/automation/rules/{rule_id:int}"): ADMIN,
    ("DELETE", "/v1/automation/rules/{rule_id:int}"): ADMIN,
    ("GET", "/v1/automation/deliveries"): ADMIN,
    ("POST", "/v1/automation/deliveries/{delivery_id:int}/retry"): ADMIN,
    ("GET", "/v1/organizations/current/settings"): STAFF,
    ("PUT", "/v1/organizations/current/settings"): ADMIN,
    # Audit
    ("GET", "/v1/audit/verify"): ADMIN,
}

PUBLIC = re.compile(r"^/(healthz|readyz)$|^/schema|^/\.well-known/")


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, but OPTIONS and the public health and schema paths."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or PUBLIC.match(route.path):
            continue
        for handler in route.route_handlers:
            found.update((method, route.path) for method in handler.http_methods if method != "OPTIONS")
    return found


def concrete(path: str) -> str:
    """The path with a made-up value for each parameter: ids that exist nowhere."""
    path = re.sub(r"\{[a-z_]+:uuid\}", str(uuid.uuid4()), path)
    return re.sub(r"\{[a-z_]+:int\}", "987654321", path)


def call(client: TestClient[Litestar], method: str, path: str, headers: dict[str, str]) -> Any:
    body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, concrete(path), headers=headers, json=body)
