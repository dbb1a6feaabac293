"""Assembles the core-api Litestar app."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.datastructures import State
from service_common.app import service_app
from service_common.auth.openapi import bearer_security
from service_common.health import healthz, readiness_route

from core_api.adherence.controller import AdherenceController
from core_api.audit.controller import AuditController
from core_api.automation.controller import AutomationController
from core_api.consent.controller import ConsentController, jwks
from core_api.db.pool import check_database, create_pool, database_unavailable_handlers, pool_lifespan
from core_api.dependencies import DEPENDENCIES
from core_api.enrollments.controller import EnrollmentController
from core_api.execution.controller import SessionExecutionController
from core_api.forms.controller import FormInstanceController
from core_api.library.controller import REFERENCE_CONTROLLERS
from core_api.plans.controller import TreatmentPlanController
from core_api.privacy.controller import PrivacyController
from core_api.progress.controller import ProgressController
from core_api.sessions.controller import TreatmentPlanSessionController
from core_api.settings import Settings, load_settings
from core_api.telemetry_tokens import TelemetryTokenIssuer
from core_api.user_check import UserCheckingVerifier

VERSION = "0.1.0"

# The path parameter that holds the ``id`` of each resource a POST answers with: the OpenAPI document links
# that answer to the routes of the resource (and, through fields such as ``patient_id``, to others), and
# its 201 sends ``Location``, the path of the GET route ending in that parameter.
RESOURCE_ID_PARAMETERS = {
    "AutomationDelivery": "delivery_id",
    "AutomationRuleCreated": "rule_id",
    "Exercise": "exercise_id",
    "FormInstance": "instance_id",
    "FormTemplate": "form_template_id",
    "Patient": "patient_id",
    "PatientServicePlan": "patient_service_plan_id",
    "PatientTreatmentPlan": "enrollment_id",
    "PatientTreatmentPlanDetail": "enrollment_id",
    "PublishResult": "plan_id",
    "SessionCompletion": "completion_id",
    "ServicePlan": "service_plan_id",
    "SessionExercise": "session_exercise_id",
    "Specialist": "specialist_id",
    "Specialty": "specialty_id",
    "StartedSession": "completion_id",
    "TreatmentPlanDetail": "plan_id",
    "TreatmentPlanSession": "session_id",
    "User": "user_id",
}


BEARER_DESCRIPTION = (
    "An access token (a JWT signed with EdDSA or RS256) from the identity provider: sign in there and send "
    "its token as `Authorization: Bearer`.\n\n"
    "The telemetry service does not take this token. Exchange it with `POST /v1/telemetry/token` for a "
    "short-lived telemetry token (`token`, valid until `expires_at`, at most 10 minutes), send that one to "
    "telemetry as its bearer token, and ask for a new one here before `expires_at`."
)
"""The bearer scheme's description in the OpenAPI document: which token, and the telemetry token flow."""


# Every tag the routes use, with what a frontend finds under it.
TAGS = {
    "adherence": "Weekly adherence of enrollments (share of prescribed sessions done), the organization's "
    "threshold and its statistics.",
    "audit": "The organization's tamper-evident audit log and the check of its hash chain.",
    "automation": "Webhook rules fired by clinical events, and their deliveries with retries.",
    "consent": "A patient's analytics and biometric consent, and the short-lived telemetry tokens it admits.",
    "enrollments": "A patient's enrollment in a frozen version of a treatment plan (a patient treatment plan), "
    "its approval and lifecycle.",
    "exercises": "The exercise library: instructions, video and difficulty, the organization's and global ones.",
    "form templates": "Questionnaire templates (pain, consent, outcome forms) that form instances are made from.",
    "forms": "Form instances a patient answers (online or, for consent, on paper) and their answers.",
    "patients": "The organization's patients and the service plans they hold.",
    "privacy": "GDPR export and erasure of a patient's data.",
    "progress": "A plan's progress and analytics for one enrollment, and the organization's dashboard.",
    "service plans": "The parts of the product (telerehab, the patient app) an organization sells to patients.",
    "session execution": "A patient doing a session: today's session, start, exercise logs, complete or skip.",
    "specialists": "The organization's clinicians and their specialties.",
    "specialties": "Clinical specialties (physiotherapy, ...), the organization's and global ones.",
    "treatment plan sessions": "The sessions of a draft plan and the exercises each prescribes.",
    "treatment plans": "Treatment plans: drafts, published versions, the library, cloning and self-assignment.",
    "users": "Accounts of the organization with their role (admin, specialist or patient).",
}


async def _database_ready(state: State) -> None:
    await check_database(state.pool)


def create_app(settings: Settings | None = None) -> Litestar:
    """The core-api app for ``settings`` (default: read from the environment)."""
    settings = settings or load_settings()
    pool = create_pool(settings.database)
    return service_app(
        title="core-api",
        version=VERSION,
        description="Clinical API of the telerehabilitation platform: treatment plans, enrollments, "
        "session execution, adherence, consent and audit.",
        route_handlers=[
            healthz,
            readiness_route({"database": _database_ready}),
            jwks,
            # Every other route takes the bearer token (the middleware checks it on all but the public paths).
            Router(
                "/",
                security=bearer_security(),
                route_handlers=[
                    TreatmentPlanController,
                    *REFERENCE_CONTROLLERS,
                    TreatmentPlanSessionController,
                    EnrollmentController,
                    SessionExecutionController,
                    FormInstanceController,
                    ProgressController,
                    AdherenceController,
                    AutomationController,
                    AuditController,
                    ConsentController,
                    PrivacyController,
                ],
            ),
        ],
        lifespan=[pool_lifespan(pool)],
        state={
            "pool": pool,
            "settings": settings,
            "telemetry_tokens": TelemetryTokenIssuer(settings.telemetry_token),
        },
        log_settings=settings.log,
        max_body_bytes=settings.http.max_body_bytes,
        verifier=UserCheckingVerifier(settings.auth, pool),
        dependencies=DEPENDENCIES,
        bearer_description=BEARER_DESCRIPTION,
        cors_origins=settings.http.cors_origins,
        extra_exception_handlers=database_unavailable_handlers(),
        resource_id_parameters=RESOURCE_ID_PARAMETERS,
        tags=TAGS,
        roles=("admin", "specialist", "patient"),
        origin="http://localhost:8000",
    )
