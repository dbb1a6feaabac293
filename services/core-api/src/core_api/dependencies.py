"""What core-api's handlers take by name besides their path, query and body parameters: the caller
(``actor: CurrentActor``) and their area's service (``plans: Plans``, ...).

:data:`DEPENDENCIES` is registered app-wide in :func:`core_api.app.create_app`. A service is made anew for
each request from the app's state (its connection pool, settings and telemetry token issuer), as the
handlers made it themselves before. None of these takes a parameter of its own, so neither the OpenAPI
document nor the strict request hook sees them.
"""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from service_common.auth.actor import caller_dependency, current_actor
from service_common.dependencies import state_dependency

from core_api.adherence.service import AdherenceService
from core_api.audit.service import AuditService
from core_api.automation.service import AutomationService
from core_api.consent.service import ConsentService
from core_api.enrollments.service import EnrollmentService
from core_api.execution.service import ExecutionService
from core_api.forms.service import FormService
from core_api.library.service import ReferenceService
from core_api.paging import PAGING
from core_api.plans.service import PlanService
from core_api.privacy.service import PrivacyService
from core_api.progress.service import ProgressService
from core_api.sessions.service import SessionExerciseService, SessionService

# Each alias marks a handler parameter of that name (``adherence: Adherence``) as the dependency below.
Adherence = NamedDependency[AdherenceService]
Audit = NamedDependency[AuditService]
Automation = NamedDependency[AutomationService]
Consent = NamedDependency[ConsentService]
Enrollments = NamedDependency[EnrollmentService]
Execution = NamedDependency[ExecutionService]
Forms = NamedDependency[FormService]
Reference = NamedDependency[ReferenceService]
Plans = NamedDependency[PlanService]
Privacy = NamedDependency[PrivacyService]
Progress = NamedDependency[ProgressService]
SessionExercises = NamedDependency[SessionExerciseService]
Sessions = NamedDependency[SessionService]

DEPENDENCIES: dict[str, Provide] = {
    "actor": caller_dependency(current_actor),
    "paging": PAGING,
    "adherence": state_dependency(lambda state: AdherenceService(state.pool)),
    "audit": state_dependency(lambda state: AuditService(state.pool)),
    "automation": state_dependency(lambda state: AutomationService(state.pool, state.settings.automation)),
    "consent": state_dependency(lambda state: ConsentService(state.pool, state.telemetry_tokens)),
    "enrollments": state_dependency(lambda state: EnrollmentService(state.pool)),
    "execution": state_dependency(lambda state: ExecutionService(state.pool, state.settings.evidence)),
    "forms": state_dependency(lambda state: FormService(state.pool)),
    "reference": state_dependency(lambda state: ReferenceService(state.pool, state.telemetry_tokens)),
    "plans": state_dependency(lambda state: PlanService(state.pool)),
    "privacy": state_dependency(lambda state: PrivacyService(state.pool)),
    "progress": state_dependency(lambda state: ProgressService(state.pool)),
    "session_exercises": state_dependency(lambda state: SessionExerciseService(state.pool)),
    "sessions": state_dependency(lambda state: SessionService(state.pool)),
}
