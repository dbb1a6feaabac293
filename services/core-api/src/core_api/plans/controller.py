"""HTTP routes of treatment plans: CRUD, publishing and versions, clone and promote, the patient library."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from contracts.enrollments import PatientTreatmentPlan, SelfAssign
from contracts.plan_details import TreatmentPlanDetail, TreatmentPlanList
from contracts.plan_library import LibraryPage
from contracts.plan_versions import PlanClone, PlanPromote, PlanVersionDetail, PlanVersionList, PublishResult
from contracts.plans import PlanScope, PlanStatus, PlanType, PlanVisibility, TreatmentPlanCreate, TreatmentPlanUpdate
from contracts.problems import FieldError
from litestar import Controller
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from service_common.auth.actor import CurrentActor
from service_common.auth.guards import allow_roles
from service_common.errors import UnprocessableError

from core_api.dependencies import Plans
from core_api.paging import IdQuery, PageRequest
from core_api.plans.service import PlanFilters
from core_api.routing import ADMIN, STAFF, WRITE_ERRORS, act, create, read, remove, update

Sort = Literal["-created_at", "created_at", "-updated_at", "updated_at", "name", "-name"]
ScopeParam = Annotated[Literal["global", "org", "custom", "all"], QueryParameter(name="scope")]
QueryText = Annotated[
    str | None, QueryParameter(min_length=1, max_length=200, description="search name and description")
]
PlanVersionNumber = Annotated[int, PathParameter(ge=1, le=1_000_000)]
# Each value is one tag or a comma-separated list of up to 20 (``?condition_tags=a,b&condition_tags=c``).
CONDITION_TAGS_VALUE = r"^ *[a-z0-9_]{1,64} *(, *[a-z0-9_]{1,64} *){0,19}$"
ConditionTagsQuery = Annotated[
    list[str] | None,
    QueryParameter(
        max_items=20,
        description="plans with any of these condition tags",
        schema_extra={"items": Schema(type=OpenAPIType.STRING, pattern=CONDITION_TAGS_VALUE)},
    ),
]


def parse_condition_tags(raw: list[str] | None) -> list[str] | None:
    """The tags of ``?condition_tags=a,b&condition_tags=c``, or ``None`` for no filter; each value must
    match :data:`CONDITION_TAGS_VALUE`, as the OpenAPI document says."""
    if not raw:
        return None
    bad = [value for value in raw if not re.fullmatch(CONDITION_TAGS_VALUE, value)]
    if bad:
        raise UnprocessableError(
            "each condition_tags value is up to 20 comma-separated lowercase slugs",
            errors=[
                FieldError("query:condition_tags", f"not a list of condition tags: {value[:64]!r}") for value in bad[:5]
            ],
        )
    return [tag.strip() for value in raw for tag in value.split(",")]


class TreatmentPlanController(Controller):
    path = "/v1/treatment-plans"
    tags = ["treatment plans"]

    @read("/", "ListTreatmentPlans", STAFF)
    async def list_plans(
        self,
        actor: CurrentActor,
        plans: Plans,
        type: FromQuery[PlanType | None] = None,
        status: FromQuery[PlanStatus | None] = None,
        scope_filter: ScopeParam = "all",
        visibility: FromQuery[PlanVisibility | None] = None,
        specialist_id: IdQuery = None,
        specialty_id: IdQuery = None,
        condition_tags: ConditionTagsQuery = None,
        published: FromQuery[bool | None] = None,
        q: QueryText = None,
        sort: FromQuery[Sort] = "-created_at",
        *,
        paging: PageRequest,
    ) -> TreatmentPlanList:
        """Plans of the caller's organization and global plans, filtered, sorted and paged."""
        filters = PlanFilters(
            type=type,
            status=status,
            scope=None if scope_filter == "all" else PlanScope(scope_filter),
            visibility=visibility,
            specialist_id=specialist_id,
            specialty_id=specialty_id,
            condition_tags=parse_condition_tags(condition_tags),
            published=published,
            q=q,
            sort=sort,
            paging=paging,
        )
        return await plans.list(actor, filters)

    @read("/library", "BrowseTreatmentPlanLibrary")
    async def browse_library(
        self,
        actor: CurrentActor,
        plans: Plans,
        type: FromQuery[PlanType | None] = None,
        specialty_id: IdQuery = None,
        condition_tags: ConditionTagsQuery = None,
        q: QueryText = None,
        sort: FromQuery[Sort] = "-created_at",
        *,
        paging: PageRequest,
    ) -> LibraryPage:
        """Published library plans, global and the organization's. Patients need a service plan with
        library access."""
        filters = PlanFilters(
            type=type,
            specialty_id=specialty_id,
            condition_tags=parse_condition_tags(condition_tags),
            q=q,
            sort=sort,
            paging=paging,
        )
        return await plans.library(actor, filters)

    @create("/", "CreateTreatmentPlan", STAFF, errors=WRITE_ERRORS)
    async def create_plan(
        self, actor: CurrentActor, plans: Plans, data: JSONBody[TreatmentPlanCreate]
    ) -> TreatmentPlanDetail:
        """A new draft plan at version 1."""
        return await plans.create(actor, data)

    @read("/{plan_id:uuid}", "GetTreatmentPlan")
    async def get_plan(self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID]) -> TreatmentPlanDetail:
        """The plan with its sessions and exercises. Patients see library plans only."""
        return await plans.get(actor, plan_id)

    @update("/{plan_id:uuid}", "UpdateTreatmentPlan", STAFF)
    async def update_plan(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], data: JSONBody[TreatmentPlanUpdate]
    ) -> TreatmentPlanDetail:
        """Edit a draft in place; editing a published plan opens its next version as a draft."""
        return await plans.update(actor, plan_id, data)

    @remove("/{plan_id:uuid}", "DeleteTreatmentPlan", STAFF)
    async def delete_plan(self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID]) -> None:
        """Soft-delete the plan; enrollments continue on their assigned version."""
        await plans.delete(actor, plan_id)

    @act("/{plan_id:uuid}/publish", "PublishTreatmentPlan", STAFF)
    async def publish_plan(self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID]) -> PublishResult:
        """Freeze the draft as a version: needs at least one session, each with at least one exercise."""
        return await plans.publish(actor, plan_id)

    @read("/{plan_id:uuid}/versions", "ListTreatmentPlanVersions", STAFF)
    async def list_versions(self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID]) -> PlanVersionList:
        """Every published version, newest first."""
        return await plans.versions(actor, plan_id)

    @read("/{plan_id:uuid}/versions/{version:int}", "GetTreatmentPlanVersion", STAFF)
    async def get_version(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], version: PlanVersionNumber
    ) -> PlanVersionDetail:
        """One published version with its sessions snapshot."""
        return await plans.version(actor, plan_id, version)

    @act("/{plan_id:uuid}/rollback/{version:int}", "RollbackTreatmentPlan", STAFF)
    async def rollback_plan(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], version: PlanVersionNumber
    ) -> TreatmentPlanDetail:
        """Restore a version's sessions and publish them as the next version."""
        return await plans.rollback(actor, plan_id, version)

    @create("/{plan_id:uuid}/clone", "CloneTreatmentPlan", STAFF, errors=WRITE_ERRORS)
    async def clone_plan(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], data: JSONBody[PlanClone]
    ) -> TreatmentPlanDetail:
        """Copy a visible plan (global or own) into the caller's organization as a draft at version 1."""
        return await plans.clone(actor, plan_id, data)

    @act("/{plan_id:uuid}/promote", "PromoteTreatmentPlan", ADMIN)
    async def promote_plan(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], data: JSONBody[PlanPromote]
    ) -> TreatmentPlanDetail:
        """Make a custom plan reusable across the organization's patients."""
        return await plans.promote(actor, plan_id, data)

    @create("/{plan_id:uuid}/self-assign", "SelfAssignTreatmentPlan", allow_roles("patient"), errors=WRITE_ERRORS)
    async def self_assign(
        self, actor: CurrentActor, plans: Plans, plan_id: FromPath[UUID], data: JSONBody[SelfAssign]
    ) -> PatientTreatmentPlan:
        """Enroll the calling patient in a library plan's latest published version."""
        return await plans.self_assign(actor, plan_id, data)
