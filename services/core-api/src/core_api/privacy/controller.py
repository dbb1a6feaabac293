"""HTTP route of the GDPR export."""

from __future__ import annotations

from typing import Annotated

from contracts.privacy import ErasureStatus, ExportFormat, FhirBundle, PatientExport
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.paging import IdPath
from core_api.privacy.service import PrivacyService

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


class PatientErasureController(Controller):
    path = "/v1/patients/{patient_id:int}/erasure"
    tags = ["privacy"]
    security = bearer_security()

    @post(
        "/",
        operation_id="RequestPatientErasure",
        status_code=HTTP_202_ACCEPTED,
        guards=[allow_roles("admin", "patient")],
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def request_erasure(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
    ) -> ErasureStatus:
        """Erase the patient (the patient themself or an admin): from now on they are gone from every list
        and report and nothing more is collected; the retention job strips their identity after the grace
        period, deletes their telemetry and, once the clinical retention period has passed, their clinical
        records (docs/privacy.md)."""
        return await PrivacyService(state.pool).request_erasure(current_actor(request), patient_id)

    @get(
        "/",
        operation_id="GetPatientErasure",
        guards=[allow_roles("admin")],
        responses=problem_responses(401, 403, 404, 422),
    )
    async def erasure_status(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
    ) -> ErasureStatus:
        """How far the patient's erasure has gone (admins)."""
        return await PrivacyService(state.pool).erasure_status(current_actor(request), patient_id)


PRIVACY_CONTROLLERS = [PatientExportController, PatientErasureController]
