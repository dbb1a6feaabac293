"""HTTP routes of form instances: read one, list a patient's, submit responses.

A patient reads and submits their own forms; staff (admins and specialists) of the organization may do
so on a patient's behalf, except a consent form: that is the patient's own statement, which staff enter
only from the patient's signed paper form, through its own audited route. Another patient's or
organization's form is a 404: row-level security does not show it.
"""

from __future__ import annotations

from contracts.forms import FormInstance, FormInstanceList, FormInstanceStatus, FormSubmit, PaperFormSubmit
from litestar import Controller
from litestar.params import FromQuery, JSONBody
from service_common.auth.actor import CurrentActor

from core_api.dependencies import Forms
from core_api.paging import IdPath, PageRequest
from core_api.routing import PARTICIPANTS, STAFF, act, read


class FormInstanceController(Controller):
    path = "/v1"
    tags = ["forms"]
    guards = [PARTICIPANTS]

    @read("/form-instances/{instance_id:int}", "GetFormInstance")
    async def get_instance(self, actor: CurrentActor, forms: Forms, instance_id: IdPath) -> FormInstance:
        """One form instance with its template's questions and, once submitted, its responses."""
        return await forms.get(actor, instance_id)

    @act("/form-instances/{instance_id:int}/submit", "SubmitFormInstance")
    async def submit(
        self, actor: CurrentActor, forms: Forms, instance_id: IdPath, data: JSONBody[FormSubmit]
    ) -> FormInstance:
        """Answer a pending form once: every required question, each answer of its question's type; a 422
        names ``responses.<question id>`` for each wrong answer, a second submission is a 409. A consent
        form is the patient's to answer: staff get a 403 and use the paper submission."""
        return await forms.submit(actor, instance_id, data)

    @act("/form-instances/{instance_id:int}/paper-submission", "SubmitPaperConsentForm", STAFF)
    async def submit_paper(
        self, actor: CurrentActor, forms: Forms, instance_id: IdPath, data: JSONBody[PaperFormSubmit]
    ) -> FormInstance:
        """Staff enter a pending consent form the patient signed on paper: the answers, where the signed
        document is kept and why it is entered by staff, all audited. Once the patient has decided in the
        app, a paper form granting more than they allow now is a 409 (``consent-superseded``)."""
        return await forms.submit_paper(actor, instance_id, data)

    @read("/patients/{patient_id:int}/form-instances", "ListPatientFormInstances")
    async def list_instances(
        self,
        actor: CurrentActor,
        forms: Forms,
        patient_id: IdPath,
        status: FromQuery[FormInstanceStatus | None] = None,
        *,
        paging: PageRequest,
    ) -> FormInstanceList:
        """The patient's form instances, newest first, optionally only those of one status: staff see any
        patient's, a patient only their own."""
        return await forms.list_for_patient(actor, patient_id, status, paging)
