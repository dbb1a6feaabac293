"""SQL for enrollments (patient_treatment_plans) and their status history. Only queries here; the rules
live in the service and ``lifecycle``."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from contracts.enrollments import (
    EnrolledPlanVersion,
    EnrollmentProgress,
    EnrollmentStatus,
    EnrollmentStatusChangeRecord,
    PatientTreatmentPlan,
    SessionHistoryEntry,
)
from contracts.plans import PlanType
from psycopg import AsyncConnection, sql
from service_common.auth.actor import Actor

from core_api.db.queries import load_queries
from core_api.db.rows import Params, false_columns, fetch_all, fetch_json, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.enrollments")

# Sort keys a list accepts, mapped to the column they order by. Anything else is refused by the
# controller's Literal type before it gets here.
SORT_COLUMNS = {"created_at": "created_at", "start_date": "start_date", "end_date": "end_date"}
DEFAULT_SORT = "-created_at"

_NO_FILTERS: dict[str, Any] = {
    "id": None,
    "patient_id": None,
    "treatment_plan_id": None,
    "status": None,
    "type": None,
    "limit": 1,
    "offset": 0,
}


class LockedEnrollment(msgspec.Struct, frozen=True):
    id: int
    organization_id: int
    patient_id: int
    status: EnrollmentStatus


class PlanForAssignment(msgspec.Struct, frozen=True):
    type: PlanType
    requires_approval: bool


class NewEnrollment(msgspec.Struct, frozen=True, kw_only=True):
    """The columns of an enrollment being created."""

    organization_id: int
    patient_id: int
    plan_id: UUID
    version_id: int
    version: int
    patient_service_plan_id: int | None
    assigned_by_specialist_id: int | None
    self_assigned: bool
    start_date: date
    end_date: date
    frequency_per_week: int
    sessions_total: int
    status: EnrollmentStatus


class AssignmentWindow(msgspec.Struct, frozen=True):
    today: date
    over: bool


class DetailExtras(msgspec.Struct, frozen=True):
    plan_version: EnrolledPlanVersion
    progress: EnrollmentProgress
    status_history: list[EnrollmentStatusChangeRecord]


async def get_enrollment(conn: AsyncConnection, enrollment_id: int) -> PatientTreatmentPlan | None:
    """The enrollment as the API shows it, or ``None`` when it is not visible to the caller."""
    page = await list_enrollments(conn, _NO_FILTERS | {"id": enrollment_id})
    return page[0][0] if page else None


async def list_enrollments(
    conn: AsyncConnection, filters: Params, sort: str = DEFAULT_SORT
) -> list[tuple[PatientTreatmentPlan, int]]:
    """One page of enrollments matching ``filters`` (keys of the ``enrollments_json`` query), ordered by
    ``sort`` (a key of :data:`SORT_COLUMNS`, ``-`` for descending, ties by id the same way), each with the
    total number of matches."""
    column = SORT_COLUMNS[sort.removeprefix("-")]
    direction = sql.SQL("DESC" if sort.startswith("-") else "ASC")
    order = sql.SQL("{} {}, ptp.id {}").format(sql.Identifier("ptp", column), direction, direction)
    # The file's SQL is a literal of this repository; only the whitelisted ORDER BY is composed into it.
    query = sql.SQL(QUERIES.enrollments_json.decode()).format(order=order)
    cursor = await conn.execute(query, filters)
    return [
        (msgspec.json.decode(enrollment, type=PatientTreatmentPlan), int(total))
        for total, enrollment in await cursor.fetchall()
    ]


async def detail_extras(conn: AsyncConnection, enrollment_id: int) -> DetailExtras | None:
    return await fetch_json(conn, QUERIES.enrollment_detail_extras, {"id": enrollment_id}, DetailExtras)


async def session_history(conn: AsyncConnection, enrollment_id: int) -> list[SessionHistoryEntry]:
    """The sessions started under the enrollment (completions are written by session execution), in the
    order they were started."""
    return await fetch_all(conn, QUERIES.session_history, {"id": enrollment_id}, SessionHistoryEntry)


async def lock_enrollment(conn: AsyncConnection, enrollment_id: int) -> LockedEnrollment | None:
    """The enrollment, locked until the transaction ends; ``None`` when the caller cannot see it."""
    return await fetch_one(conn, QUERIES.lock_enrollment, {"id": enrollment_id}, LockedEnrollment)


async def record_status_change(
    conn: AsyncConnection,
    enrollment: LockedEnrollment,
    to_status: EnrollmentStatus,
    reason: str,
    actor: Actor,
    *,
    approve: bool = False,
) -> None:
    """Set the new status (and the approval columns when ``approve``) and append its history row."""
    if approve:
        await conn.execute(QUERIES.approve, {"id": enrollment.id, "user_id": actor.user_id})
    else:
        await conn.execute(QUERIES.set_status, {"id": enrollment.id, "status": to_status})
    await conn.execute(
        QUERIES.insert_status_change,
        {
            "organization_id": enrollment.organization_id,
            "patient_id": enrollment.patient_id,
            "id": enrollment.id,
            "from_status": enrollment.status,
            "to_status": to_status,
            "reason": reason,
            "user_id": actor.user_id,
            "role": actor.role,
        },
    )


async def expire_overdue(
    conn: AsyncConnection, *, enrollment_id: int | None = None, patient_id: int | None = None
) -> int:
    """Expire the visible active/paused enrollments past their end_date (narrowed to one enrollment or
    one patient when given), with history and audit rows; the number expired."""
    count = await fetch_value(conn, QUERIES.expire_overdue, {"id": enrollment_id, "patient_id": patient_id})
    return int(count or 0)


async def unusable_assignment_references(conn: AsyncConnection, values: Params) -> list[str]:
    """The request fields of an assignment that name rows the caller's organization cannot use."""
    return await false_columns(conn, QUERIES.assignment_references, values)


async def assignment_window(conn: AsyncConnection, patient_id: int, end_date: date) -> AssignmentWindow | None:
    """The patient's today and whether an enrollment ending on ``end_date`` would read as expired already;
    ``None`` when the patient is not visible."""
    return await fetch_one(
        conn, QUERIES.assignment_window, {"patient_id": patient_id, "end_date": end_date}, AssignmentWindow
    )


async def patient_visible(conn: AsyncConnection, patient_id: int) -> bool:
    return bool(await fetch_value(conn, QUERIES.patient_visible, {"id": patient_id}))


async def plan_for_assignment(conn: AsyncConnection, plan_id: UUID) -> PlanForAssignment | None:
    return await fetch_one(conn, QUERIES.plan_for_assignment, {"id": plan_id}, PlanForAssignment)


async def active_telerehab_service_plan(
    conn: AsyncConnection, patient_id: int, patient_service_plan_id: int | None
) -> int | None:
    value = await fetch_value(
        conn,
        QUERIES.active_telerehab_service_plan,
        {"patient_id": patient_id, "patient_service_plan_id": patient_service_plan_id},
    )
    return None if value is None else int(value)


async def insert_enrollment(conn: AsyncConnection, enrollment: NewEnrollment) -> int:
    enrollment_id: int = await fetch_value(conn, QUERIES.insert_enrollment, msgspec.structs.asdict(enrollment))
    return enrollment_id
