"""HTTP routes of form instances: read one, list a patient's, submit responses.

A patient reads and submits their own forms; staff (admins and specialists) of the organization may do
so on a patient's behalf, except a consent form: that is the patient's own statement, which staff enter
only from the patient's signed paper form, through its own audited route. Another patient's or
organization's form is a 404: row-level security does not show it.
"""

from __future__ import annotations

from contracts.forms import FormInstance, FormInstanceList, FormInstanceStatus, FormSubmit, PaperFormSubmit
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.forms.service import FormService
from core_api.paging import DEFAULT_LIMIT, IdPath, LimitParam, PageParam

PARTICIPANTS = allow_roles("admin", "specialist", "patient")
STAFF = allow_roles("admin", "specialist")
READ_ERRORS = problem_responses(401, 403, 404, 422)
SUBMIT_ERRORS = problem_responses(401, 403, 404, 409, 422)


def _service(state: State) -> FormService:
    return FormService(state.pool)


class FormInstanceController(Controller):
    path = "/v1/form-instances"
    tags = ["forms"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @get("/{instance_id:int}", operation_id="GetFormInstance", responses=READ_ERRORS)
    async def get_instance(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        instance_id: IdPath,
    ) -> FormInstance:
        """One form instance with its template's questions and, once submitted, its responses."""
        return await _service(state).get(current_actor(request), instance_id)

    @post(
        "/{instance_id:int}/submit",
        operation_id="SubmitFormInstance",
        responses=SUBMIT_ERRORS,
        status_code=HTTP_200_OK,
    )
    async def submit(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        instance_id: IdPath,
        data: JSONBody[FormSubmit],
    ) -> FormInstance:
        """Answer a pending form once: every required question, each answer of its question's type; a 422
        names ``responses.<question id>`` for each wrong answer, a second submission is a 409. A consent
        form is the patient's to answer: staff get a 403 and use the paper submission."""
        return await _service(state).submit(current_actor(request), instance_id, data)

    @post(
        "/{instance_id:int}/paper-submission",
        operation_id="SubmitPaperConsentForm",
        responses=SUBMIT_ERRORS,
        status_code=HTTP_200_OK,
        guards=[STAFF],
    )
    async def submit_paper(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        instance_id: IdPath,
        data: JSONBody[PaperFormSubmit],
    ) -> FormInstance:
        """Staff enter a pending consent form the patient signed on paper: the answers, where the signed
        document is kept and why it is entered by staff, all audited. Once the patient has decided in the
        app, a paper form granting more than they allow now is a 409 (``consent-superseded``)."""
        return await _service(state).submit_paper(current_actor(request), instance_id, data)


class PatientFormInstanceController(Controller):
    path = "/v1/patients/{patient_id:int}/form-instances"
    tags = ["forms"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @get("/", operation_id="ListPatientFormInstances", responses=READ_ERRORS)
    async def list_instances(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
        status: FromQuery[FormInstanceStatus | None] = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> FormInstanceList:
        """The patient's form instances, newest first, optionally only those of one status: staff see any
        patient's, a patient only their own."""
        return await _service(state).list_for_patient(current_actor(request), patient_id, status, page, limit)


FORM_CONTROLLERS = [FormInstanceController, PatientFormInstanceController]
