"""Adherence weekly history: building the rows of weekly_adherence_reports, storing them
(:func:`recompute_weekly`, and the organization page's missing weeks), and reading them back as the trend.
See docs/adherence.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import structlog
from contracts.adherence import AdherenceTrend, AdherenceTrendWeek
from psycopg import AsyncConnection
from service_common.errors import NotFoundError

from core_api.adherence import repository as repo
from core_api.adherence.alerts import raise_alerts, threshold_alerts
from core_api.adherence.loading import Enrollment, duration_weeks, load
from core_api.adherence.reports import weekly
from core_api.enrollments.weeks import local_date, week_index, week_start

_encoder = msgspec.json.Encoder()
log = structlog.get_logger("adherence")


def week_row(enrollment: Enrollment, index: int) -> repo.WeeklyReportRow:
    """The stored row of the enrollment's 0-based plan week ``index`` (within the plan), as of
    ``enrollment.as_of``."""
    row = enrollment.row
    first_day = week_start(row.start_date, index)
    report = weekly(enrollment, first_day)
    slots, _ = enrollment.week(index)
    closes_at = max(slot.closes_at for slot in slots)
    # Only a window opening or closing changes the week by the clock alone.
    boundaries = [instant for slot in slots for instant in (slot.opens_at, slot.closes_at)]
    # Compared in the slots' zone (UTC): no offset look-ups per comparison.
    as_of = enrollment.as_of.astimezone(closes_at.tzinfo)
    fresh_until = min((instant for instant in boundaries if instant > as_of), default=closes_at)
    return repo.WeeklyReportRow(
        id=row.id,
        week_start=first_day,
        week_number=index + 1,
        closes_at=closes_at,
        adherence_percent=report.summary.adherence_percent,
        noncompliance_percent=report.summary.noncompliance_percent,
        report=_encoder.encode(report).decode(),
        computed_at=enrollment.as_of,
        fresh_until=fresh_until,
        time_zone=row.time_zone,
    )


def recent_weeks(enrollment: Enrollment) -> list[int]:
    """The 0-based plan weeks stored for ``enrollment.as_of``: the week before the one containing it (in the
    patient's zone) and that week, those within the plan."""
    row = enrollment.row
    current = week_index(row.start_date, local_date(enrollment.zone, enrollment.as_of))
    return [index for index in (current - 1, current) if 0 <= index < duration_weeks(row)]


async def recompute_weekly(conn: AsyncConnection, enrollment_id: int, as_of: datetime | None = None) -> None:
    """Store the weekly report of the plan week containing ``as_of`` (default now; in the patient's zone), and finalize
    the week before it: a row computed before its week closed is refreshed, one computed after is final
    and never changes. Raises the ``below_threshold`` alert of either week (once per week). Runs in
    ``conn``'s transaction and row-level security; does nothing for an enrollment the caller cannot see."""
    as_of = as_of or datetime.now(UTC)
    rows = await repo.enrollments(conn, ids=[enrollment_id])
    if not rows:
        return
    [enrollment] = await load(conn, rows, as_of, "recent")
    weeks = recent_weeks(enrollment)
    await repo.upsert_weekly_reports(conn, [week_row(enrollment, index) for index in weeks])
    await raise_alerts(conn, threshold_alerts(enrollment, weeks))


async def store_weeks(conn: AsyncConnection, week: date, enrollment_ids: list[int], as_of: datetime) -> None:
    """Compute, as of ``as_of``, and store the plan week containing ``week`` of each enrollment: the three
    loading queries for all of them and one upsert. No alerts: reading raises none."""
    enrollments = await load(conn, await repo.enrollments(conn, ids=enrollment_ids), as_of, week)
    rows = [week_row(each, week_index(each.row.start_date, week)) for each in enrollments]
    await repo.upsert_weekly_reports(conn, rows)
    log.info("adherence.weeks_stored_on_read", week=week.isoformat(), rows=len(rows))


async def trend(conn: AsyncConnection, enrollment_id: int) -> AdherenceTrend:
    """The enrollment's stored weekly series, by week; 404 when the caller cannot see it."""
    rows = await repo.trend(conn, enrollment_id)
    if not rows:
        raise NotFoundError(f"enrollment {enrollment_id} does not exist")
    return AdherenceTrend(
        patient_treatment_plan_id=enrollment_id,
        weeks=[
            AdherenceTrendWeek(
                week_start=row.week_start,
                week_number=row.week_number,
                adherence_percent=row.adherence_percent,
                noncompliance_percent=row.noncompliance_percent,
                final=bool(row.final),
                computed_at=row.computed_at,
                sessions_verified=row.sessions_verified,
                sessions_contradicted=row.sessions_contradicted,
            )
            for row in rows
            if row.week_start is not None
            and row.week_number is not None
            and row.adherence_percent is not None
            and row.noncompliance_percent is not None
            and row.computed_at is not None
        ],
    )
