"""The rules of enrollments: assigning a plan to a patient, approval, status changes and expiry.

Enrollments are created by ``enroll``. Status moves follow ``lifecycle``; each one writes a history row with its
reason and an audit row in the transaction that makes it. See docs/enrollments.md.

Expiry is computed where status is read and recorded where it is written (``expiry``): status changes and
approval record it first, the detail too, whose status history must end with the expiry its status shows.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from contracts.enrollments import (
    EnrollmentAssign,
    EnrollmentStatus,
    EnrollmentStatusChange,
    PatientTreatmentPlanDetail,
    PatientTreatmentPlanList,
)
from contracts.plans import PlanType
from contracts.problems import FieldError
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import (
    ConflictError,
    ForbiddenError,
    IllegalTransitionError,
    NotFoundError,
    UnprocessableError,
)

from core_api.adherence.history import recompute_weekly
from core_api.audit import trail
from core_api.automation import outbox
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments import repository as repo
from core_api.enrollments.enroll import ENTITY, enroll
from core_api.enrollments.expiry import expire_overdue, status_write
from core_api.enrollments.lifecycle import Action, IllegalTransition, TransitionNotPermitted, check_transition
from core_api.not_found import or_404
from core_api.paging import FIRST_PAGE, Paging
from core_api.plans.repository import latest_version

ALL_SESSIONS_COMPLETED_REASON = "every session of the plan was completed"
APPROVAL_REASON = "approved"


class EnrollmentFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The list filters, already validated by the controller."""

    patient_id: int | None = None
    treatment_plan_id: UUID | None = None
    status: EnrollmentStatus | None = None
    type: PlanType | None = None
    sort: str = repo.DEFAULT_SORT
    paging: Paging = FIRST_PAGE

    def params(self) -> dict[str, Any]:
        values = msgspec.structs.asdict(self)
        del values["paging"], values["sort"]
        return self.paging.params(**values, id=None)


class EnrollmentService(PoolService):
    # Reads --------------------------------------------------------------------------------------------

    async def list(self, actor: Actor, filters: EnrollmentFilters) -> PatientTreatmentPlanList:
        async with actor_transaction(self._pool, actor) as conn:
            page = await _page(conn, filters)
            await trail.record_read(
                conn,
                actor,
                "patient_treatment_plan.list",
                "organization",
                actor.organization_id,
                patient_id=filters.patient_id,
            )
            return page

    async def list_for_patient(
        self, actor: Actor, patient_id: int, filters: EnrollmentFilters
    ) -> PatientTreatmentPlanList:
        async with actor_transaction(self._pool, actor) as conn:
            # Row-level security hides other patients (and other organizations' patients) from the caller.
            if not await repo.patient_visible(conn, patient_id):
                raise NotFoundError(f"patient {patient_id} does not exist")
            page = await _page(conn, msgspec.structs.replace(filters, patient_id=patient_id))
            await trail.record_read(
                conn, actor, "patient_treatment_plan.read", "patient", patient_id, patient_id=patient_id
            )
            return page

    async def get(self, actor: Actor, enrollment_id: int) -> PatientTreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            await expire_overdue(conn, enrollment_id=enrollment_id)
            detail = await _detail(conn, enrollment_id)
            await trail.record_read(
                conn, actor, "patient_treatment_plan.read", ENTITY, enrollment_id, patient_id=detail.patient.id
            )
            return detail

    # Assignment ----------------------------------------------------------------------------------------

    async def assign(self, actor: Actor, data: EnrollmentAssign) -> PatientTreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            unusable = await repo.unusable_assignment_references(conn, msgspec.structs.asdict(data))
            if unusable:
                raise UnprocessableError(
                    "the assignment refers to records this organization does not have",
                    errors=[FieldError(name, _UNUSABLE[name]) for name in unusable],
                )
            plan = await repo.plan_for_assignment(conn, data.treatment_plan_id)
            version = await latest_version(conn, data.treatment_plan_id)
            if plan is None or version is None:
                raise ConflictError(f"treatment plan {data.treatment_plan_id} has no published version to assign")
            service_plan_id = data.patient_service_plan_id
            if plan.type == PlanType.TELEREHAB:
                service_plan_id = await repo.active_telerehab_service_plan(
                    conn, data.patient_id, data.patient_service_plan_id
                )
                if service_plan_id is None:
                    raise ConflictError(
                        "a telerehab plan needs the patient to hold a service plan with telerehab access "
                        "that is active today"
                        + (" (the one named is not)" if data.patient_service_plan_id is not None else "")
                    )
            status = EnrollmentStatus.PENDING_APPROVAL if plan.requires_approval else EnrollmentStatus.ACTIVE
            enrollment = await enroll(
                conn,
                actor,
                patient_id=data.patient_id,
                plan_id=data.treatment_plan_id,
                version=version,
                start_date=data.start_date,
                status=status,
                patient_service_plan_id=service_plan_id,
                assigned_by_specialist_id=data.assigned_by_specialist_id,
            )
            await trail.record(conn, actor, "patient_treatment_plan.assigned", ENTITY, enrollment.id, after=enrollment)
            return await _detail(conn, enrollment.id)

    # Lifecycle -----------------------------------------------------------------------------------------

    async def approve(self, actor: Actor, enrollment_id: int) -> PatientTreatmentPlanDetail:
        async with status_write(self._pool, actor, enrollment_id) as conn:
            current = await _lock(conn, enrollment_id)
            _check(current.status, EnrollmentStatus.ACTIVE, Action.APPROVE, actor)
            before = await repo.get_enrollment(conn, enrollment_id)
            await repo.record_status_change(
                conn, current, EnrollmentStatus.ACTIVE, APPROVAL_REASON, actor, approve=True
            )
            after = await repo.get_enrollment(conn, enrollment_id)
            await outbox.fire(
                conn,
                current.organization_id,
                "treatment_plan.activated",
                ENTITY,
                enrollment_id,
                {"patient_treatment_plan_id": enrollment_id, "approved_by_user_id": actor.user_id},
            )
            await trail.record(
                conn, actor, "patient_treatment_plan.approved", ENTITY, enrollment_id, before=before, after=after
            )
            await recompute_weekly(conn, enrollment_id)
            return await _detail(conn, enrollment_id)

    async def change_status(
        self, actor: Actor, enrollment_id: int, data: EnrollmentStatusChange
    ) -> PatientTreatmentPlanDetail:
        async with status_write(self._pool, actor, enrollment_id) as conn:
            current = await _lock(conn, enrollment_id)
            _check(current.status, data.status, Action.STATUS_CHANGE, actor)
            before = await repo.get_enrollment(conn, enrollment_id)
            await repo.record_status_change(conn, current, data.status, data.reason, actor)
            after = await repo.get_enrollment(conn, enrollment_id)
            assert after is not None
            if data.status is EnrollmentStatus.ACTIVE and after.sessions_completed >= after.sessions_total:
                # The last session, started before a pause, was completed during it: paused -> completed is
                # not in the table, so the resumption goes on to completed (active -> completed) at once.
                resumed = await _lock(conn, enrollment_id)
                await repo.record_status_change(
                    conn, resumed, EnrollmentStatus.COMPLETED, ALL_SESSIONS_COMPLETED_REASON, actor
                )
                await outbox.fire(
                    conn,
                    current.organization_id,
                    "treatment_plan.completed",
                    ENTITY,
                    enrollment_id,
                    {
                        "patient_treatment_plan_id": enrollment_id,
                        "sessions_completed": after.sessions_completed,
                        "sessions_total": after.sessions_total,
                    },
                )
                after = await repo.get_enrollment(conn, enrollment_id)
            await trail.record(
                conn,
                actor,
                "patient_treatment_plan.status_changed",
                ENTITY,
                enrollment_id,
                before=before,
                after={"enrollment": after, "reason": data.reason},
            )
            await recompute_weekly(conn, enrollment_id)
            return await _detail(conn, enrollment_id)


_UNUSABLE = {
    "patient_id": "no such patient in this organization",
    "assigned_by_specialist_id": "no such specialist in this organization",
    "patient_service_plan_id": "no such service plan of this patient",
    "treatment_plan_id": "no such treatment plan for this patient in this organization",
}


def _check(current: EnrollmentStatus, target: EnrollmentStatus, action: Action, actor: Actor) -> None:
    try:
        check_transition(current, target, action, patient=actor.role == "patient")
    except IllegalTransition as exc:
        allowed = [str(status) for status in exc.allowed]
        raise IllegalTransitionError(
            f"{exc.why}; allowed from {current}: {', '.join(allowed) or 'none'}", allowed_transitions=allowed
        ) from None
    except TransitionNotPermitted as exc:
        raise ForbiddenError(str(exc)) from None


async def _lock(conn: AsyncConnection, enrollment_id: int) -> repo.LockedEnrollment:
    return or_404(await repo.lock_enrollment(conn, enrollment_id), f"enrollment {enrollment_id} does not exist")


async def _page(conn: AsyncConnection, filters: EnrollmentFilters) -> PatientTreatmentPlanList:
    rows = await repo.list_enrollments(conn, filters.params(), filters.sort)
    total = rows[0][1] if rows else 0
    return filters.paging.listing(PatientTreatmentPlanList, [enrollment for enrollment, _ in rows], total)


async def _detail(conn: AsyncConnection, enrollment_id: int) -> PatientTreatmentPlanDetail:
    base = await repo.get_enrollment(conn, enrollment_id)
    extras = await repo.detail_extras(conn, enrollment_id)
    if base is None or extras is None:
        raise NotFoundError(f"enrollment {enrollment_id} does not exist")
    return PatientTreatmentPlanDetail(
        **msgspec.structs.asdict(base),
        plan_version=extras.plan_version,
        progress=extras.progress,
        status_history=extras.status_history,
        session_history=await repo.session_history(conn, enrollment_id),
    )
