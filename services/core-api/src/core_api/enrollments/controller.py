"""HTTP routes of enrollments: list, assign, read, approve, change status, and a patient's plans.

Staff (admins and specialists) use every route; a patient reads their own enrollments and may pause and
resume them. Another patient's enrollment is a 404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from contracts.enrollments import (
    EnrollmentAssign,
    EnrollmentStatus,
    EnrollmentStatusChange,
    PatientTreatmentPlanDetail,
    PatientTreatmentPlanList,
)
from contracts.plans import PlanType
from litestar import Controller
from litestar.params import FromQuery, JSONBody
from service_common.auth.actor import CurrentActor

from core_api.dependencies import Enrollments
from core_api.enrollments.service import EnrollmentFilters
from core_api.paging import IdPath, IdQuery, PageRequest
from core_api.routing import STAFF, WRITE_ERRORS, act, create, read, update

# The spec's standard ``sort``: a whitelisted field, ``-`` for descending.
Sort = Literal["-created_at", "created_at", "-start_date", "start_date", "-end_date", "end_date"]


class EnrollmentController(Controller):
    path = "/v1"
    tags = ["enrollments"]

    @read("/patient-treatment-plans", "ListPatientTreatmentPlans", STAFF)
    async def list_enrollments(
        self,
        actor: CurrentActor,
        enrollments: Enrollments,
        patient_id: IdQuery = None,
        treatment_plan_id: FromQuery[UUID | None] = None,
        status: FromQuery[EnrollmentStatus | None] = None,
        type: FromQuery[PlanType | None] = None,
        sort: FromQuery[Sort] = "-created_at",
        *,
        paging: PageRequest,
    ) -> PatientTreatmentPlanList:
        """The organization's enrollments, filtered, sorted (newest first by default) and paged."""
        filters = EnrollmentFilters(
            patient_id=patient_id,
            treatment_plan_id=treatment_plan_id,
            status=status,
            type=type,
            sort=sort,
            paging=paging,
        )
        return await enrollments.list(actor, filters)

    @create("/patient-treatment-plans", "AssignTreatmentPlan", STAFF, errors=WRITE_ERRORS)
    async def assign(
        self, actor: CurrentActor, enrollments: Enrollments, data: JSONBody[EnrollmentAssign]
    ) -> PatientTreatmentPlanDetail:
        """Enroll a patient in the plan's latest published version: pending_approval when the plan
        requires approval, else active. Telerehab plans need an active service plan with telerehab access
        (409 otherwise)."""
        return await enrollments.assign(actor, data)

    @read("/patient-treatment-plans/{enrollment_id:int}", "GetPatientTreatmentPlan")
    async def get_enrollment(
        self, actor: CurrentActor, enrollments: Enrollments, enrollment_id: IdPath
    ) -> PatientTreatmentPlanDetail:
        """One enrollment with its frozen plan version, progress, status history and session history.
        Staff see the organization's; a patient only their own."""
        return await enrollments.get(actor, enrollment_id)

    @act("/patient-treatment-plans/{enrollment_id:int}/approve", "ApprovePatientTreatmentPlan", STAFF)
    async def approve(
        self, actor: CurrentActor, enrollments: Enrollments, enrollment_id: IdPath
    ) -> PatientTreatmentPlanDetail:
        """Activate a pending_approval enrollment; any other status is a 409 naming the allowed moves."""
        return await enrollments.approve(actor, enrollment_id)

    @update("/patient-treatment-plans/{enrollment_id:int}/status", "ChangePatientTreatmentPlanStatus")
    async def change_status(
        self,
        actor: CurrentActor,
        enrollments: Enrollments,
        enrollment_id: IdPath,
        data: JSONBody[EnrollmentStatusChange],
    ) -> PatientTreatmentPlanDetail:
        """Move the enrollment along its lifecycle, with a reason. A move the lifecycle forbids is a 409
        whose ``allowed_transitions`` lists the legal ones. Patients may only pause and resume their own."""
        return await enrollments.change_status(actor, enrollment_id, data)

    @read("/patients/{patient_id:int}/treatment-plans", "ListTreatmentPlansOfPatient")
    async def list_patient_plans(
        self,
        actor: CurrentActor,
        enrollments: Enrollments,
        patient_id: IdPath,
        status: FromQuery[EnrollmentStatus | None] = None,
        sort: FromQuery[Sort] = "-created_at",
        *,
        paging: PageRequest,
    ) -> PatientTreatmentPlanList:
        """The patient's enrollments, sorted (newest first by default): staff see any patient of the
        organization, a patient only themself."""
        filters = EnrollmentFilters(status=status, sort=sort, paging=paging)
        return await enrollments.list_for_patient(actor, patient_id, filters)
