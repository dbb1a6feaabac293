"""SQL for treatment plans, their versions and the library. Only queries here; the rules live in the
service."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from contracts.plan_details import TreatmentPlanDetail, TreatmentPlanSummary
from contracts.plan_library import LibraryPlan
from contracts.plan_versions import PlanVersionDetail, PlanVersionSummary, PublishResult
from contracts.plans import Difficulty, PlanScope, PlanStatus, PlanType, PlanVisibility
from contracts.refs import SpecialistRef, SpecialtyRef
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from core_api.db.queries import load_queries
from core_api.db.rows import Params, false_columns, fetch_all, fetch_json, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.plans")

# Sort keys a list accepts, mapped to the column they order by. Anything else is refused by the
# controller's Literal type before it gets here.
SORT_COLUMNS = {"created_at": "created_at", "updated_at": "updated_at", "name": "name"}


class LockedPlan(msgspec.Struct, frozen=True):
    """A plan's editable columns, read under ``FOR UPDATE``."""

    id: UUID
    organization_id: int | None
    name: str
    description: str
    type: PlanType
    visibility: PlanVisibility
    condition_tags: list[str]
    frequency_per_week: int
    duration_weeks: int
    specialist_id: int | None
    specialty_id: int | None
    requires_approval: bool
    post_session_form_template_id: int | None
    service_plan_id: int | None
    status: PlanStatus
    version: int
    published: bool
    created_for_patient_id: int | None


class PlanRow(msgspec.Struct, frozen=True):
    """A list row: the summary plus the window's total."""

    total: int
    id: UUID
    name: str
    description: str | None
    type: PlanType
    scope: PlanScope
    visibility: PlanVisibility
    condition_tags: list[str]
    created_from_id: UUID | None
    created_for_patient_id: int | None
    frequency_per_week: int
    duration_weeks: int
    total_sessions: int
    specialist: SpecialistRef | None
    specialty: SpecialtyRef | None
    requires_approval: bool
    post_session_form_template_id: int | None
    service_plan_id: int | None
    status: PlanStatus
    version: int
    published: bool
    sessions_count: int
    created_at: datetime
    updated_at: datetime

    def summary(self) -> TreatmentPlanSummary:
        values = msgspec.structs.asdict(self)
        del values["total"]
        return TreatmentPlanSummary(**values)

    def library_item(self, difficulty: Difficulty | None) -> LibraryPlan:
        shared = {name: getattr(self, name) for name in LibraryPlan.__struct_fields__ if name != "difficulty_level"}
        return LibraryPlan(**shared, difficulty_level=difficulty)


class VersionRef(msgspec.Struct, frozen=True):
    id: int
    version: int
    frequency_per_week: int
    duration_weeks: int


async def plan_detail(conn: AsyncConnection, plan_id: UUID) -> TreatmentPlanDetail | None:
    return await fetch_json(conn, QUERIES.plan_detail, {"id": plan_id}, TreatmentPlanDetail)


async def plan_detail_json(conn: AsyncConnection, plan_id: UUID) -> Any:
    """The detail document as JSON values, as a version snapshot stores it."""
    text = await fetch_value(conn, QUERIES.plan_detail, {"id": plan_id})
    return None if text is None else msgspec.json.decode(text)


async def lock_plan(conn: AsyncConnection, plan_id: UUID) -> LockedPlan | None:
    """The plan, locked until the transaction ends; ``None`` when the caller cannot change it."""
    return await fetch_one(conn, QUERIES.lock_plan, {"id": plan_id}, LockedPlan)


async def insert_plan(conn: AsyncConnection, values: Params) -> UUID:
    plan_id: UUID = await fetch_value(conn, QUERIES.insert_plan, values)
    return plan_id


async def update_plan(conn: AsyncConnection, values: Params) -> None:
    await conn.execute(QUERIES.update_plan, values)


async def soft_delete_plan(conn: AsyncConnection, plan_id: UUID) -> None:
    await conn.execute(QUERIES.soft_delete_plan, {"id": plan_id})


async def unusable_references(conn: AsyncConnection, values: Params) -> list[str]:
    """The reference fields of ``values`` naming rows the caller's organization cannot use."""
    return await false_columns(conn, QUERIES.references_in_scope, values)


async def patient_exists(conn: AsyncConnection, patient_id: int) -> bool:
    return bool(await fetch_value(conn, QUERIES.patient_exists, {"patient_id": patient_id}))


async def session_exercise_counts(conn: AsyncConnection, plan_id: UUID) -> list[tuple[int, int]]:
    cursor = await conn.execute(QUERIES.session_exercise_counts, {"id": plan_id})
    return [(int(number), int(count)) for number, count in await cursor.fetchall()]


async def insert_version(conn: AsyncConnection, plan_id: UUID, snapshot: Any, user_id: int) -> None:
    await conn.execute(QUERIES.insert_version, {"id": plan_id, "snapshot": Jsonb(snapshot), "user_id": user_id})


async def mark_published(conn: AsyncConnection, plan_id: UUID, status: PlanStatus) -> PublishResult:
    result = await fetch_one(conn, QUERIES.mark_published, {"id": plan_id, "status": status}, PublishResult)
    assert result is not None
    return result


async def latest_version_number(conn: AsyncConnection, plan_id: UUID) -> int | None:
    value = await fetch_value(conn, QUERIES.latest_version_number, {"id": plan_id})
    return None if value is None else int(value)


async def list_versions(conn: AsyncConnection, plan_id: UUID) -> list[PlanVersionSummary]:
    return await fetch_all(conn, QUERIES.list_versions, {"id": plan_id}, PlanVersionSummary)


async def version_detail(conn: AsyncConnection, plan_id: UUID, version: int) -> PlanVersionDetail | None:
    return await fetch_json(conn, QUERIES.version_detail, {"id": plan_id, "version": version}, PlanVersionDetail)


async def version_snapshot(conn: AsyncConnection, plan_id: UUID, version: int) -> Any:
    return await fetch_value(conn, QUERIES.version_snapshot, {"id": plan_id, "version": version})


async def replace_sessions(conn: AsyncConnection, plan_id: UUID, organization_id: int | None, sessions: Any) -> None:
    """Delete the plan's sessions and recreate them from a snapshot's ``sessions`` array."""
    await conn.execute(QUERIES.delete_sessions, {"id": plan_id})
    await conn.execute(
        QUERIES.restore_sessions,
        {"id": plan_id, "organization_id": organization_id, "sessions": Jsonb(sessions)},
    )


async def set_version_and_status(conn: AsyncConnection, plan_id: UUID, version: int, status: PlanStatus) -> None:
    await conn.execute(QUERIES.set_version_and_status, {"id": plan_id, "version": version, "status": status})


async def clone_plan(conn: AsyncConnection, values: Params) -> UUID:
    plan_id: UUID = await fetch_value(conn, QUERIES.clone_plan, values)
    await conn.execute(
        QUERIES.clone_sessions,
        {"id": plan_id, "source_id": values["source_id"], "organization_id": values["organization_id"]},
    )
    return plan_id


async def promote_plan(conn: AsyncConnection, plan_id: UUID, visibility: PlanVisibility | None) -> None:
    await conn.execute(QUERIES.promote_plan, {"id": plan_id, "visibility": visibility})


async def list_plans(conn: AsyncConnection, filters: Params, sort: str) -> list[PlanRow]:
    """One page of plans, ordered by ``sort`` (a key of :data:`SORT_COLUMNS`, ``-`` for descending)."""
    column = SORT_COLUMNS[sort.removeprefix("-")]
    direction = sql.SQL("DESC" if sort.startswith("-") else "ASC")
    order = sql.SQL("{} {}, p.id").format(sql.Identifier("p", column), direction)
    # The file's SQL is a literal of this repository; only the whitelisted ORDER BY is composed into it.
    query = sql.SQL(QUERIES.list_plans.decode()).format(order=order)
    async with conn.cursor(row_factory=_plan_rows) as cursor:
        await cursor.execute(query, filters)
        return await cursor.fetchall()


def _plan_rows(cursor: Any) -> Any:
    names = [column.name for column in cursor.description]

    def make(values: Any) -> PlanRow:
        return msgspec.convert(dict(zip(names, values, strict=True)), PlanRow)

    return make


async def library_difficulty(conn: AsyncConnection, plan_ids: list[UUID]) -> dict[UUID, Difficulty]:
    cursor = await conn.execute(QUERIES.library_difficulty, {"ids": plan_ids})
    return {plan_id: Difficulty(level) for plan_id, level in await cursor.fetchall() if level}


async def active_library_access(conn: AsyncConnection, patient_id: int) -> int | None:
    value = await fetch_value(conn, QUERIES.active_library_access, {"patient_id": patient_id})
    return None if value is None else int(value)


async def in_library(conn: AsyncConnection, plan_id: UUID) -> bool:
    """Whether the plan is in the patient library; ``False`` also when the caller cannot see it."""
    return bool(await fetch_value(conn, QUERIES.in_library, {"id": plan_id}))


async def latest_version(conn: AsyncConnection, plan_id: UUID) -> VersionRef | None:
    return await fetch_one(conn, QUERIES.latest_version, {"id": plan_id}, VersionRef)
