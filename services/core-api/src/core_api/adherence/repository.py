"""SQL for adherence reports. Only queries here; the engine computes, the service arranges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
from contracts.adherence import AdherenceDay, AdherenceSummary
from contracts.enrollments import EnrolledPlanRef, EnrollmentStatus, PatientRef
from contracts.plans import PlanType
from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from contracts import organization_settings as contract
from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all, fetch_json, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.adherence")
_encoder = msgspec.json.Encoder()


class EnrollmentRow(msgspec.Struct, frozen=True):
    id: int
    patient_id: int
    patient_name: str
    time_zone: str
    treatment_plan_id: UUID
    plan_name: str
    plan_type: PlanType
    assigned_by_specialist_id: int | None
    start_date: date
    end_date: date
    frequency_per_week: int
    sessions_total: int
    status: EnrollmentStatus
    stored_status: EnrollmentStatus
    created_at: datetime
    threshold_percent: int


class StatusChangeRow(msgspec.Struct, frozen=True):
    patient_treatment_plan_id: int
    from_status: str
    to_status: str
    created_at: datetime


# Built from the rows' tuples (array_like): the nightly job loads tens of thousands at once.
class CompletionRow(msgspec.Struct, frozen=True, array_like=True, gc=False):
    id: int
    patient_treatment_plan_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None


class OrganizationSettings(msgspec.Struct, frozen=True):
    adherence_threshold_percent: int
    time_zone: str


class WeeklyReportRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of weekly_adherence_reports to insert or refresh."""

    id: int
    week_start: date
    week_number: int
    closes_at: datetime
    adherence_percent: int
    noncompliance_percent: int
    report: str  # JSON text
    computed_at: datetime
    # The first instant after computed_at at which a window of the week opens or closes.
    fresh_until: datetime
    # The patient's zone as stored, which the windows were laid out in.
    time_zone: str


class StoredWeekRow(msgspec.Struct, frozen=True):
    """An organization page row as stored; the week fields are null for a week outside the plan."""

    patient_treatment_plan_id: int
    patient: PatientRef
    treatment_plan: EnrolledPlanRef
    assigned_by_specialist_id: int | None
    week_start: date
    week: int | None
    summary: AdherenceSummary | None
    days: list[AdherenceDay] | None
    sessions_verified: int
    sessions_contradicted: int


class StoredWeekPage(msgspec.Struct, frozen=True):
    """A page of stored rows, how many match in all, and the enrollments whose row is missing or stale."""

    total: int
    rows: list[StoredWeekRow]
    stale: list[int]


class TrendRow(msgspec.Struct, frozen=True):
    """A stored week of an enrollment; the week fields are null when nothing is stored yet."""

    patient_treatment_plan_id: int
    week_start: date | None
    week_number: int | None
    adherence_percent: int | None
    noncompliance_percent: int | None
    final: bool | None
    computed_at: datetime | None
    sessions_verified: int
    sessions_contradicted: int


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert to record: ``kind`` is ``below_threshold``, ``pain`` or ``evidence_contradicted``; ``evidence``
    its payload."""

    id: int
    kind: str
    week_start: date
    evidence: dict[str, Any]


class InsertedAlert(msgspec.Struct, frozen=True):
    id: int
    organization_id: int
    patient_treatment_plan_id: int
    kind: str
    week_start: date
    evidence: dict[str, Any]


class CompletionPainRow(msgspec.Struct, frozen=True):
    id: int
    patient_treatment_plan_id: int
    pain_level_after: int | None
    started_at: datetime
    start_date: date
    time_zone: str
    previous_id: int | None
    previous_pain_level_after: int | None


async def enrollments(
    conn: AsyncConnection,
    *,
    ids: list[int] | None = None,
    active_only: bool = False,
    specialist_id: int | None = None,
    q: str | None = None,
) -> list[EnrollmentRow]:
    """The visible enrollments matching the filters, by id."""
    params = {"ids": ids, "active_only": active_only, "specialist_id": specialist_id, "q": q}
    return await fetch_all(conn, QUERIES.enrollments, params, EnrollmentRow)


class WeekQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The organization page's selection: each enrollment's plan week containing ``week``."""

    week: date
    specialist_id: int | None
    q: str | None
    # True: only the enrollments whose week has a contradicted session; False: only those without.
    has_contradicted: bool | None = None


async def organization_week(
    conn: AsyncConnection,
    query: WeekQuery,
    *,
    min_percent: int | None,
    max_percent: int | None,
    limit: int,
    offset: int,
    now: datetime,
) -> StoredWeekPage:
    """One page of stored week rows, lowest adherence first; how many rows match in all; and which
    enrollments' rows are missing or no longer hold at ``now``."""
    params = msgspec.structs.asdict(query) | {
        "now": now,
        "min_percent": min_percent,
        "max_percent": max_percent,
        "limit": limit,
        "offset": offset,
    }
    page = await fetch_json(conn, QUERIES.organization_week, params, StoredWeekPage)
    return page or StoredWeekPage(total=0, rows=[], stale=[])


async def status_changes(conn: AsyncConnection, ids: list[int]) -> list[StatusChangeRow]:
    return await fetch_all(conn, QUERIES.status_changes, {"ids": ids}, StatusChangeRow)


async def completions(conn: AsyncConnection, ids: list[int], since: datetime | None = None) -> list[CompletionRow]:
    """The sessions of the enrollments ``ids`` (those started at or after ``since`` when given)."""
    # Binary tuples converted in C: no dict per row.
    async with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
        await cursor.execute(QUERIES.completions, {"ids": ids, "since": since})
        return msgspec.convert(await cursor.fetchall(), list[CompletionRow])


async def evidence_states(conn: AsyncConnection, completion_ids: list[int]) -> dict[int, str]:
    """The evidence state of those of ``completion_ids`` that are ``verified`` or ``contradicted``."""
    if not completion_ids:
        return {}
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute(QUERIES.evidence_states, {"ids": completion_ids})
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def specialist_of_user(conn: AsyncConnection, user_id: int) -> int | None:
    value = await fetch_value(conn, QUERIES.specialist_of_user, {"user_id": user_id})
    return None if value is None else int(value)


async def organization_settings(conn: AsyncConnection) -> OrganizationSettings | None:
    return await fetch_one(conn, QUERIES.organization_threshold, {}, OrganizationSettings)


async def upsert_weekly_reports(conn: AsyncConnection, rows: list[WeeklyReportRow]) -> None:
    """Insert the weeks' reports or refresh those not final yet (see migration 0005), in one statement."""
    if rows:
        columns = {field: [getattr(row, field) for row in rows] for field in WeeklyReportRow.__struct_fields__}
        await conn.execute(QUERIES.upsert_weekly_reports, columns)


async def final_weeks(conn: AsyncConnection, first: date, last: date) -> set[tuple[int, date]]:
    """(enrollment id, week start) of the visible final rows of weeks starting from ``first`` to ``last``."""
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute(QUERIES.final_weeks, {"first": first, "last": last})
        return {(row[0], row[1]) for row in await cursor.fetchall()}


async def alerted_weeks(
    conn: AsyncConnection, ids: list[int], kind: str, first: date, last: date
) -> set[tuple[int, date]]:
    """(enrollment id, week start) of the ``kind`` alerts that enrollments ``ids`` have for the weeks starting
    from ``first`` to ``last``."""
    params = {"ids": ids, "kind": kind, "first": first, "last": last}
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute(QUERIES.alerted_weeks, params)
        return {(row[0], row[1]) for row in await cursor.fetchall()}


async def trend(conn: AsyncConnection, enrollment_id: int) -> list[TrendRow]:
    return await fetch_all(conn, QUERIES.trend, {"id": enrollment_id}, TrendRow)


async def insert_alerts(conn: AsyncConnection, alerts: list[Alert]) -> list[InsertedAlert]:
    """Record the alerts in one statement; only those that did not exist yet come back, in the order given."""
    if not alerts:
        return []
    params = {
        "id": [a.id for a in alerts],
        "kind": [a.kind for a in alerts],
        "week_start": [a.week_start for a in alerts],
        "evidence": [_encoder.encode(a.evidence).decode() for a in alerts],
    }
    inserted = await fetch_all(conn, QUERIES.insert_alerts, params, InsertedAlert)
    # Ids follow the insertion order, which follows the given order; RETURNING does not promise it.
    return sorted(inserted, key=lambda alert: alert.id)


async def completion_pain(conn: AsyncConnection, completion_id: int) -> CompletionPainRow | None:
    return await fetch_one(conn, QUERIES.completion_pain, {"id": completion_id}, CompletionPainRow)


async def lock_settings(conn: AsyncConnection) -> contract.OrganizationSettings | None:
    return await fetch_one(conn, QUERIES.lock_organization_settings, {}, contract.OrganizationSettings)


async def read_settings(conn: AsyncConnection) -> contract.OrganizationSettings | None:
    return await fetch_one(conn, QUERIES.read_organization_settings, {}, contract.OrganizationSettings)


async def update_settings(
    conn: AsyncConnection, data: contract.OrganizationSettingsUpdate
) -> contract.OrganizationSettings | None:
    """Store the settings given (the evidence thresholds only when set) and return them all."""
    params = msgspec.structs.asdict(data)
    return await fetch_one(conn, QUERIES.update_organization_settings, params, contract.OrganizationSettings)
