"""HTTP route of the GDPR export."""

from __future__ import annotations

from typing import Annotated

from contracts.privacy import ExportFormat, FhirBundle, PatientExport
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from service_common.auth import allow_roles, bearer_security, current_actor
from service_common.errors import problem_responses

from core_api.domain.privacy.service import PrivacyService

MAX_ID = 2**53 - 1
IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
FormatQuery = Annotated[
    ExportFormat, QueryParameter(description="`json` (the product's own sections) or `fhir` (a FHIR R4 Bundle)")
]


class PatientExportController(Controller):
    path = "/v1/patients/{patient_id:int}/export"
    tags = ["privacy"]
    security = bearer_security()
    guards = [allow_roles("admin", "patient")]

    @get("/", operation_id="ExportPatient", responses=problem_responses(401, 403, 404, 422))
    async def export(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
        format: FormatQuery = ExportFormat.JSON,
    ) -> PatientExport | FhirBundle:
        """Everything stored about the patient (GDPR access and portability): the patient themself or an
        admin of their organization. ``format=fhir`` gives a FHIR R4 collection Bundle of Patient,
        CarePlan, Observation, QuestionnaireResponse and Consent resources. Audited."""
        return await PrivacyService(state.pool).export(current_actor(request), patient_id, format)


PRIVACY_CONTROLLERS = [PatientExportController]
