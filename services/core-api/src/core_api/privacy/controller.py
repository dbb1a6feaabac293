"""HTTP routes of the GDPR export and erasure of a patient."""

from __future__ import annotations

from typing import Annotated

from contracts.privacy import ErasureStatus, ExportFormat, FhirBundle, PatientExport
from litestar import Controller, post
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.actor import CurrentActor
from service_common.auth.guards import allow_roles
from service_common.errors import problem_responses

from core_api.dependencies import Privacy
from core_api.paging import IdPath
from core_api.routing import ADMIN, read

FormatQuery = Annotated[
    ExportFormat, QueryParameter(description="`json` (the product's own sections) or `fhir` (a FHIR R4 Bundle)")
]


class PrivacyController(Controller):
    path = "/v1/patients/{patient_id:int}"
    tags = ["privacy"]

    @read("/export", "ExportPatient", allow_roles("admin", "patient"))
    async def export(
        self, actor: CurrentActor, privacy: Privacy, patient_id: IdPath, format: FormatQuery = ExportFormat.JSON
    ) -> PatientExport | FhirBundle:
        """Everything stored about the patient (GDPR access and portability): the patient themself or an
        admin of their organization. ``format=fhir`` gives a FHIR R4 collection Bundle of Patient,
        CarePlan, Observation, QuestionnaireResponse and Consent resources. Audited."""
        return await privacy.export(actor, patient_id, format)

    @post(
        "/erasure",
        operation_id="RequestPatientErasure",
        status_code=HTTP_202_ACCEPTED,
        guards=[allow_roles("admin", "patient")],
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def request_erasure(self, actor: CurrentActor, privacy: Privacy, patient_id: IdPath) -> ErasureStatus:
        """Erase the patient (the patient themself or an admin): from now on they are gone from every list
        and report and nothing more is collected; the retention job strips their identity after the grace
        period, deletes their telemetry and, once the clinical retention period has passed, their clinical
        records (docs/privacy.md)."""
        return await privacy.request_erasure(actor, patient_id)

    @read("/erasure", "GetPatientErasure", ADMIN)
    async def erasure_status(self, actor: CurrentActor, privacy: Privacy, patient_id: IdPath) -> ErasureStatus:
        """How far the patient's erasure has gone (admins)."""
        return await privacy.erasure_status(actor, patient_id)
