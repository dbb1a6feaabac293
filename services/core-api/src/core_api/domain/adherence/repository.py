"""SQL for adherence reports. Only queries here; the engine computes, the service arranges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
from contracts.enrollments import EnrollmentStatus
from contracts.plans import PlanType
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.domain.adherence")
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
    created_at: datetime
    threshold_percent: int


class StatusChangeRow(msgspec.Struct, frozen=True):
    patient_treatment_plan_id: int
    from_status: str
    to_status: str
    created_at: datetime


class CompletionRow(msgspec.Struct, frozen=True):
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


class TrendRow(msgspec.Struct, frozen=True):
    """A stored week of an enrollment; the week fields are null when nothing is stored yet."""

    patient_treatment_plan_id: int
    week_start: date | None
    week_number: int | None
    adherence_percent: int | None
    noncompliance_percent: int | None
    final: bool | None
    computed_at: datetime | None


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert to record: ``kind`` is ``below_threshold`` or ``pain``; ``evidence`` its payload."""

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
    enrollment_id: int | None = None,
    active_only: bool = False,
    specialist_id: int | None = None,
    q: str | None = None,
) -> list[EnrollmentRow]:
    """The visible enrollments matching the filters, by id."""
    params = {"id": enrollment_id, "active_only": active_only, "specialist_id": specialist_id, "q": q}
    return await fetch_all(conn, QUERIES.enrollments, params, EnrollmentRow)


async def status_changes(conn: AsyncConnection, ids: list[int]) -> list[StatusChangeRow]:
    return await fetch_all(conn, QUERIES.status_changes, {"ids": ids}, StatusChangeRow)


async def completions(conn: AsyncConnection, ids: list[int]) -> list[CompletionRow]:
    return await fetch_all(conn, QUERIES.completions, {"ids": ids}, CompletionRow)


async def specialist_of_user(conn: AsyncConnection, user_id: int) -> int | None:
    value = await fetch_value(conn, QUERIES.specialist_of_user, {"user_id": user_id})
    return None if value is None else int(value)


async def organization_settings(conn: AsyncConnection) -> OrganizationSettings | None:
    return await fetch_one(conn, QUERIES.organization_threshold, {}, OrganizationSettings)


async def upsert_weekly_report(conn: AsyncConnection, row: WeeklyReportRow) -> None:
    """Insert the week's report or refresh it unless it is final (see migration 0005)."""
    await conn.execute(QUERIES.upsert_weekly_report, msgspec.structs.asdict(row))


async def upsert_weekly_reports(conn: AsyncConnection, rows: list[WeeklyReportRow]) -> None:
    """:func:`upsert_weekly_report` for many rows in one pipelined batch."""
    if rows:
        async with conn.cursor() as cursor:
            await cursor.executemany(QUERIES.upsert_weekly_report, [msgspec.structs.asdict(row) for row in rows])


async def trend(conn: AsyncConnection, enrollment_id: int) -> list[TrendRow]:
    return await fetch_all(conn, QUERIES.trend, {"id": enrollment_id}, TrendRow)


async def insert_alerts(conn: AsyncConnection, alerts: list[Alert]) -> list[InsertedAlert]:
    """Record the alerts in one batch; only those that did not exist yet come back."""
    if not alerts:
        return []
    params = [
        {"id": a.id, "kind": a.kind, "week_start": a.week_start, "evidence": _encoder.encode(a.evidence).decode()}
        for a in alerts
    ]
    inserted: list[InsertedAlert] = []
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.executemany(QUERIES.insert_alert, params, returning=True)
        while True:
            inserted.extend(msgspec.convert(row, InsertedAlert) for row in await cursor.fetchall())
            if not cursor.nextset():
                break
    return inserted


async def completion_pain(conn: AsyncConnection, completion_id: int) -> CompletionPainRow | None:
    return await fetch_one(conn, QUERIES.completion_pain, {"id": completion_id}, CompletionPainRow)


async def lock_threshold(conn: AsyncConnection) -> int | None:
    value = await fetch_value(conn, QUERIES.lock_organization_settings, {})
    return None if value is None else int(value)


async def update_threshold(conn: AsyncConnection, percent: int) -> None:
    await conn.execute(QUERIES.update_organization_threshold, {"percent": percent})
