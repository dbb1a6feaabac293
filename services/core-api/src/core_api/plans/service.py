"""The rules of treatment plan authoring, versioning, cloning, promotion and the patient library.

Versions: a new plan is a draft at version 1. Publishing freezes the current version number as a
snapshot (``treatment_plan_versions``) and makes the plan ``active`` (or ``pending_approval`` when it
requires approval). Editing a published plan opens the next version number as a draft on the same plan;
enrollments keep following the snapshot they were assigned. Rollback restores an earlier snapshot's
sessions and publishes them at once as the next version. See docs/treatment-plans.md.

Every mutation locks the plan row first, so concurrent edits of one plan (a publish racing a reorder)
run one after the other, and writes its audit row in the same transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from contracts.enrollments import EnrollmentStatus, PatientTreatmentPlan, SelfAssign
from contracts.plan_details import TreatmentPlanDetail, TreatmentPlanList
from contracts.plan_library import LibraryPage
from contracts.plan_versions import PlanClone, PlanPromote, PlanVersionDetail, PlanVersionList, PublishResult
from contracts.plans import PlanStatus, TreatmentPlanCreate, TreatmentPlanUpdate
from contracts.problems import FieldError
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError

from core_api.audit import trail
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments.enroll import enroll
from core_api.not_found import or_404
from core_api.paging import FIRST_PAGE, Paging
from core_api.plans import repository as repo
from core_api.plans.locking import lock_for_change

# Published states: editing such a plan opens a new draft version instead of changing it in place.
PUBLISHED_STATES = frozenset({PlanStatus.ACTIVE, PlanStatus.PENDING_APPROVAL})
REFERENCE_FIELDS = ("specialist_id", "specialty_id", "post_session_form_template_id", "service_plan_id")


class PlanFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The list and library filters, already validated by the controller."""

    type: str | None = None
    status: str | None = None
    scope: str | None = None
    visibility: str | None = None
    specialist_id: int | None = None
    specialty_id: int | None = None
    condition_tags: list[str] | None = None
    published: bool | None = None
    q: str | None = None
    sort: str = "-created_at"
    paging: Paging = FIRST_PAGE

    def params(self, *, library_only: bool) -> dict[str, Any]:
        values = msgspec.structs.asdict(self)
        del values["sort"], values["paging"]
        return self.paging.params(**values, library_only=library_only)


def status_after_publish(requires_approval: bool) -> PlanStatus:
    return PlanStatus.PENDING_APPROVAL if requires_approval else PlanStatus.ACTIVE


class PlanService(PoolService):
    # Reads --------------------------------------------------------------------------------------------

    async def list(self, actor: Actor, filters: PlanFilters) -> TreatmentPlanList:
        async with actor_transaction(self._pool, actor) as conn:
            rows = await repo.list_plans(conn, filters.params(library_only=False), filters.sort)
        total = rows[0].total if rows else 0
        return filters.paging.listing(TreatmentPlanList, [row.summary() for row in rows], total)

    async def get(self, actor: Actor, plan_id: UUID) -> TreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            plan = await repo.plan_detail(conn, plan_id)
            if plan is None or (actor.role == "patient" and not await repo.in_library(conn, plan_id)):
                raise NotFoundError(f"treatment plan {plan_id} does not exist")
        return plan

    async def versions(self, actor: Actor, plan_id: UUID) -> PlanVersionList:
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.plan_detail(conn, plan_id) is None:
                raise NotFoundError(f"treatment plan {plan_id} does not exist")
            return PlanVersionList(versions=await repo.list_versions(conn, plan_id))

    async def version(self, actor: Actor, plan_id: UUID, version: int) -> PlanVersionDetail:
        async with actor_transaction(self._pool, actor) as conn:
            detail = await repo.version_detail(conn, plan_id, version)
        return or_404(detail, f"treatment plan {plan_id} has no published version {version}")

    # Authoring ------------------------------------------------------------------------------------------

    async def create(self, actor: Actor, data: TreatmentPlanCreate) -> TreatmentPlanDetail:
        values = msgspec.structs.asdict(data)
        values["description"] = values["description"] or ""
        values |= {"organization_id": actor.organization_id, "user_id": actor.user_id}
        async with actor_transaction(self._pool, actor) as conn:
            await _check_references(conn, values)
            plan_id = await repo.insert_plan(conn, values)
            plan = await _detail(conn, plan_id)
            await trail.record(conn, actor, "treatment_plan.created", "treatment_plan", plan_id, after=plan)
        return plan

    async def update(self, actor: Actor, plan_id: UUID, data: TreatmentPlanUpdate) -> TreatmentPlanDetail:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        async with actor_transaction(self._pool, actor) as conn:
            current = await lock_for_change(conn, plan_id)
            before = await _detail(conn, plan_id)
            values = msgspec.structs.asdict(current) | changes
            values["description"] = values["description"] or ""
            if current.status == PlanStatus.DRAFT:
                pass
            elif current.status in PUBLISHED_STATES:
                # A published plan is never edited in place: the edit opens the next version as a draft.
                values["version"] = current.version + 1
                values["status"] = PlanStatus.DRAFT
            else:
                raise ConflictError(f"a {current.status} treatment plan cannot be edited")
            await _check_references(conn, values)
            await repo.update_plan(conn, values)
            plan = await _detail(conn, plan_id)
            await trail.record(
                conn, actor, "treatment_plan.updated", "treatment_plan", plan_id, before=before, after=plan
            )
        return plan

    async def delete(self, actor: Actor, plan_id: UUID) -> None:
        async with actor_transaction(self._pool, actor) as conn:
            await lock_for_change(conn, plan_id)
            before = await _detail(conn, plan_id)
            # Enrollments keep their frozen version: deleting a plan cancels nobody's program.
            await repo.soft_delete_plan(conn, plan_id)
            await trail.record(conn, actor, "treatment_plan.deleted", "treatment_plan", plan_id, before=before)

    # Publishing and versions ----------------------------------------------------------------------------

    async def publish(self, actor: Actor, plan_id: UUID) -> PublishResult:
        async with actor_transaction(self._pool, actor) as conn:
            current = await lock_for_change(conn, plan_id)
            if current.status != PlanStatus.DRAFT:
                raise ConflictError(f"only a draft can be published; this plan is {current.status}")
            await _check_publishable(conn, plan_id)
            result = await repo.mark_published(conn, plan_id, status_after_publish(current.requires_approval))
            await repo.insert_version(conn, plan_id, await repo.plan_detail_json(conn, plan_id), actor.user_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan.published",
                "treatment_plan",
                plan_id,
                before={"status": current.status, "version": current.version},
                after=result,
            )
        return result

    async def rollback(self, actor: Actor, plan_id: UUID, version: int) -> TreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            current = await lock_for_change(conn, plan_id)
            snapshot = or_404(
                await repo.version_snapshot(conn, plan_id, version),
                f"treatment plan {plan_id} has no published version {version}",
            )
            before = await _detail(conn, plan_id)
            latest = await repo.latest_version_number(conn, plan_id) or 0
            # An unpublished draft's number is reused (its content is replaced); otherwise the next one.
            next_version = max(current.version, latest + 1)
            await repo.replace_sessions(conn, plan_id, current.organization_id, snapshot["sessions"])
            await repo.set_version_and_status(conn, plan_id, next_version, PlanStatus.DRAFT)
            await repo.mark_published(conn, plan_id, status_after_publish(current.requires_approval))
            await repo.insert_version(conn, plan_id, await repo.plan_detail_json(conn, plan_id), actor.user_id)
            plan = await _detail(conn, plan_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan.rolled_back",
                "treatment_plan",
                plan_id,
                before=before,
                after={"restored_version": version, "plan": plan},
            )
        return plan

    # Clone and promote ---------------------------------------------------------------------------------

    async def clone(self, actor: Actor, plan_id: UUID, data: PlanClone) -> TreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.plan_detail(conn, plan_id) is None:
                raise NotFoundError(f"treatment plan {plan_id} does not exist")
            if data.created_for_patient_id is not None and not await repo.patient_exists(
                conn, data.created_for_patient_id
            ):
                raise UnprocessableError(
                    "the patient does not exist",
                    errors=[FieldError("created_for_patient_id", "no such patient in this organization")],
                )
            new_id = await repo.clone_plan(
                conn,
                {
                    "source_id": plan_id,
                    "organization_id": actor.organization_id,
                    "name": data.name,
                    "created_for_patient_id": data.created_for_patient_id,
                    "user_id": actor.user_id,
                },
            )
            plan = await _detail(conn, new_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan.cloned",
                "treatment_plan",
                new_id,
                after={"created_from_id": str(plan_id), "plan": plan},
            )
        return plan

    async def promote(self, actor: Actor, plan_id: UUID, data: PlanPromote) -> TreatmentPlanDetail:
        async with actor_transaction(self._pool, actor) as conn:
            current = await lock_for_change(conn, plan_id)
            if current.created_for_patient_id is None:
                raise ConflictError("only a custom plan (made for one patient) can be promoted")
            before = await _detail(conn, plan_id)
            await repo.promote_plan(conn, plan_id, data.visibility)
            plan = await _detail(conn, plan_id)
            await trail.record(
                conn, actor, "treatment_plan.promoted", "treatment_plan", plan_id, before=before, after=plan
            )
        return plan

    # The patient library --------------------------------------------------------------------------------

    async def library(self, actor: Actor, filters: PlanFilters) -> LibraryPage:
        async with actor_transaction(self._pool, actor) as conn:
            if actor.role == "patient":
                await _require_library_access(conn, actor)
            rows = await repo.list_plans(conn, filters.params(library_only=True), filters.sort)
            difficulty = await repo.library_difficulty(conn, [row.id for row in rows])
        total = rows[0].total if rows else 0
        return filters.paging.listing(LibraryPage, [row.library_item(difficulty.get(row.id)) for row in rows], total)

    async def self_assign(self, actor: Actor, plan_id: UUID, data: SelfAssign) -> PatientTreatmentPlan:
        if actor.patient_id is None:
            raise ForbiddenError("only a patient can assign a plan to themself")
        async with actor_transaction(self._pool, actor) as conn:
            service_plan_id = await _require_library_access(conn, actor)
            if not await repo.in_library(conn, plan_id):
                raise NotFoundError(f"treatment plan {plan_id} is not in the library")
            version = or_404(
                await repo.latest_version(conn, plan_id), f"treatment plan {plan_id} is not in the library"
            )
            enrollment = await enroll(
                conn,
                actor,
                patient_id=actor.patient_id,
                plan_id=plan_id,
                version=version,
                start_date=data.start_date,
                status=EnrollmentStatus.ACTIVE,
                patient_service_plan_id=service_plan_id,
                self_assigned=True,
            )
            await trail.record(
                conn,
                actor,
                "patient_treatment_plan.self_assigned",
                "patient_treatment_plan",
                enrollment.id,
                after=enrollment,
            )
        return enrollment


async def _detail(conn: AsyncConnection, plan_id: UUID) -> TreatmentPlanDetail:
    return or_404(await repo.plan_detail(conn, plan_id), f"treatment plan {plan_id} does not exist")


async def _check_references(conn: AsyncConnection, values: dict[str, Any]) -> None:
    unusable = await repo.unusable_references(conn, {name: values[name] for name in REFERENCE_FIELDS})
    if unusable:
        raise UnprocessableError(
            "the plan refers to records this organization does not have",
            errors=[FieldError(name, "no such record in this organization") for name in unusable],
        )


async def _check_publishable(conn: AsyncConnection, plan_id: UUID) -> None:
    counts = await repo.session_exercise_counts(conn, plan_id)
    if not counts:
        raise UnprocessableError(
            "a plan needs at least one session to be published",
            errors=[FieldError("sessions", "the plan has no sessions")],
        )
    empty = [number for number, exercises in counts if exercises == 0]
    if empty:
        raise UnprocessableError(
            "every session needs at least one exercise to be published",
            errors=[
                FieldError(f"sessions[{number - 1}].exercises", "the session has no exercises") for number in empty
            ],
        )


async def _require_library_access(conn: AsyncConnection, actor: Actor) -> int:
    assert actor.patient_id is not None
    service_plan_id = await repo.active_library_access(conn, actor.patient_id)
    if service_plan_id is None:
        raise ForbiddenError("browsing the library needs an active service plan with library access")
    return service_plan_id
