"""The rules of enrollments: assigning a plan to a patient, approval, status changes and expiry.

An enrollment follows one frozen published version of a plan: its sessions_total (frequency times weeks),
frequency_per_week and end_date (start_date + 7 * duration_weeks) are fixed when it is created, whatever
happens to the plan later. Status moves follow ``lifecycle``; each one writes a history row with its
reason and an audit row in the transaction that makes it. See docs/enrollments.md.

Expiry is computed where status is read and recorded where it is written. Every query that reads, filters
or counts enrollment statuses, in this area and every other (dashboards, adherence, today's session, the
GDPR export), goes through the SQL function ``enrollment_status_now`` (migration 0015): an active or paused
enrollment whose end_date is before the patient's today reads as expired, whether or not its expiry has
been recorded. Recording it (history row, audit row, ``treatment_plan.expired`` event, exactly once) is
:func:`expire_overdue`: the nightly job for everyone, and every write that depends on an enrollment's
status (status changes, approval, session starts, completions and skips, erasure) for the enrollments it
is about to change; status changes, approval, starts, completions and skips first in a transaction of
their own (:func:`record_expiry_first`), so that a write refused afterwards leaves the expiry recorded; the
detail too, whose status history must end with the expiry its status shows. An assignment whose whole
window is already over is refused (422 on ``start_date``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import msgspec
from contracts.enrollments import (
    EnrollmentAssign,
    EnrollmentStatus,
    EnrollmentStatusChange,
    PatientTreatmentPlan,
    PatientTreatmentPlanDetail,
    PatientTreatmentPlanList,
)
from contracts.plans import PlanType
from contracts.problems import FieldError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
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
from core_api.db.tenancy import actor_transaction
from core_api.enrollments import repository as repo
from core_api.enrollments.lifecycle import Action, IllegalTransition, TransitionNotPermitted, check_transition
from core_api.paging import offset, total_pages
from core_api.plans.repository import VersionRef, latest_version

ENTITY = "patient_treatment_plan"
ALL_SESSIONS_COMPLETED_REASON = "every session of the plan was completed"
APPROVAL_REASON = "approved"


class EnrollmentFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The list filters, already validated by the controller."""

    patient_id: int | None = None
    treatment_plan_id: UUID | None = None
    status: EnrollmentStatus | None = None
    type: PlanType | None = None
    sort: str = repo.DEFAULT_SORT
    page: int = 1
    limit: int = 25

    def params(self) -> dict[str, Any]:
        values = msgspec.structs.asdict(self)
        del values["page"], values["sort"]
        values["id"] = None
        values["offset"] = offset(self.page, self.limit)
        return values


def end_date_for(start_date: date, duration_weeks: int) -> date:
    """The day an enrollment of ``duration_weeks`` weeks starting on ``start_date`` ends."""
    return start_date + timedelta(days=7 * duration_weeks)


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


class EnrollmentService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection]) -> None:
        self._pool = pool

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
            await repo.expire_overdue(conn, enrollment_id=enrollment_id)
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
        await record_expiry_first(self._pool, actor, enrollment_id)
        async with actor_transaction(self._pool, actor) as conn:
            await repo.expire_overdue(conn, enrollment_id=enrollment_id)
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
        await record_expiry_first(self._pool, actor, enrollment_id)
        async with actor_transaction(self._pool, actor) as conn:
            await repo.expire_overdue(conn, enrollment_id=enrollment_id)
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
    current = await repo.lock_enrollment(conn, enrollment_id)
    if current is None:
        raise NotFoundError(f"enrollment {enrollment_id} does not exist")
    return current


async def record_expiry_first(pool: AsyncConnectionPool, actor: Actor, enrollment_id: int) -> None:
    """Record the enrollment's pending expiry in a transaction of its own, committed before the write that
    depends on its status: the expiry happened whatever becomes of the write, so a write refused afterwards
    (409 for a change an expired plan does not allow) leaves it recorded, as the nightly job would. The write
    calls :func:`expire_overdue` again in its own transaction, which records nothing more unless the
    patient's midnight passed in between."""
    async with actor_transaction(pool, actor) as conn:
        await repo.expire_overdue(conn, enrollment_id=enrollment_id)


async def expire_overdue(
    conn: AsyncConnection, *, enrollment_id: int | None = None, patient_id: int | None = None
) -> int:
    """Record the expiry of every enrollment visible in ``conn``'s tenant (narrowed to one enrollment or one
    patient when given) that reads as expired but is stored active or paused: its status, history row, audit
    row and ``treatment_plan.expired`` event, each once. Writes that depend on an enrollment's status call
    it before they lock the enrollment; the number recorded."""
    return await repo.expire_overdue(conn, enrollment_id=enrollment_id, patient_id=patient_id)


async def _page(conn: AsyncConnection, filters: EnrollmentFilters) -> PatientTreatmentPlanList:
    rows = await repo.list_enrollments(conn, filters.params(), filters.sort)
    total = rows[0][1] if rows else 0
    return PatientTreatmentPlanList(
        patient_treatment_plans=[enrollment for enrollment, _ in rows],
        total=total,
        page=filters.page,
        limit=filters.limit,
        total_pages=total_pages(total, filters.limit),
    )


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
