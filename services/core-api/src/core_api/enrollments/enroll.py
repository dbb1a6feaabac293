"""Creating an enrollment: the one way a patient comes to follow a plan, whether a specialist assigns it
(``EnrollmentService.assign``) or the patient picks a self-assignable plan (``PlanService``).

An enrollment follows one frozen published version of a plan: its sessions_total (frequency times weeks),
frequency_per_week and end_date (start_date + 7 * duration_weeks) are fixed when it is created, whatever
happens to the plan later. An assignment whose whole window is already over is refused (422 on
``start_date``).
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from contracts.enrollments import EnrollmentStatus, PatientTreatmentPlan
from contracts.problems import FieldError
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import UnprocessableError

from core_api.automation import outbox
from core_api.enrollments import repository as repo
from core_api.enrollments.weeks import week_start
from core_api.plans.repository import VersionRef

ENTITY = "patient_treatment_plan"


def end_date_for(start_date: date, duration_weeks: int) -> date:
    """The day an enrollment of ``duration_weeks`` weeks starting on ``start_date`` ends."""
    return week_start(start_date, duration_weeks)


async def enroll(
    conn: AsyncConnection,
    actor: Actor,
    *,
    patient_id: int,
    plan_id: UUID,
    version: VersionRef,
    start_date: date,
    status: EnrollmentStatus,
    patient_service_plan_id: int | None,
    assigned_by_specialist_id: int | None = None,
    self_assigned: bool = False,
) -> PatientTreatmentPlan:
    """Create an enrollment frozen on ``version`` and fire ``treatment_plan.assigned``, both in ``conn``'s
    transaction; the caller has checked the patient may follow the plan. Refuses (422 on ``start_date``)
    a window that is over already: the enrollment would read as expired from its first moment."""
    end_date = end_date_for(start_date, version.duration_weeks)
    window = await repo.assignment_window(conn, patient_id, end_date)
    if window is not None and window.over:
        earliest = window.today - timedelta(days=7 * version.duration_weeks)
        raise UnprocessableError(
            "the enrollment would be over before it starts",
            errors=[
                FieldError(
                    "start_date",
                    f"the plan would end on {end_date}, before today ({window.today}) in the patient's time zone; "
                    f"the earliest start date is {earliest}",
                )
            ],
        )
    enrollment_id = await repo.insert_enrollment(
        conn,
        repo.NewEnrollment(
            organization_id=actor.organization_id,
            patient_id=patient_id,
            plan_id=plan_id,
            version_id=version.id,
            version=version.version,
            patient_service_plan_id=patient_service_plan_id,
            assigned_by_specialist_id=assigned_by_specialist_id,
            self_assigned=self_assigned,
            start_date=start_date,
            end_date=end_date,
            frequency_per_week=version.frequency_per_week,
            sessions_total=version.frequency_per_week * version.duration_weeks,
            status=status,
        ),
    )
    await outbox.fire(
        conn,
        actor.organization_id,
        "treatment_plan.assigned",
        ENTITY,
        enrollment_id,
        {
            "patient_treatment_plan_id": enrollment_id,
            "treatment_plan_id": str(plan_id),
            "treatment_plan_version": version.version,
            "self_assigned": self_assigned,
        },
    )
    enrollment = await repo.get_enrollment(conn, enrollment_id)
    assert enrollment is not None
    return enrollment
