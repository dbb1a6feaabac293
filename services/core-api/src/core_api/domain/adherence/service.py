"""Adherence reports: the engine's slots arranged by week and by day, for one enrollment or an organization.

Every state and percentage comes from ``engine``; this module only loads what it needs (the enrollments,
their status history and their sessions: three queries whatever the number of enrollments or weeks),
calls it as of now, and arranges the slots. Weekly reports are also kept as history in
weekly_adherence_reports by :func:`recompute_weekly`. See docs/adherence.md.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
import structlog
from contracts.adherence import (
    AdherenceDay,
    AdherenceSlot,
    AdherenceStats,
    AdherenceSummary,
    AdherenceTrend,
    AdherenceTrendWeek,
    AdherenceWeek,
    EventStreamReport,
    OrganizationSettings,
    OrganizationSettingsUpdate,
    OrganizationWeeklyAdherence,
    OrganizationWeeklyRow,
    PlanAdherenceStats,
    SlotState,
    WeeklyAdherenceReport,
)
from contracts.enrollments import EnrolledPlanRef
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth import Actor
from service_common.errors import NotFoundError

from core_api import audit, automation
from core_api.db.tenancy import actor_transaction
from core_api.domain.adherence import engine
from core_api.domain.adherence import repository as repo
from core_api.paging import offset, total_pages
from core_api.time_zones import patient_zone

_encoder = msgspec.json.Encoder()
log = structlog.get_logger("adherence")


class OrganizationFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The organization page's filters, already validated by the controller."""

    week: date | None = None
    min_percent: int | None = None
    max_percent: int | None = None
    specialist_id: int | None = None
    q: str | None = None
    page: int = 1
    limit: int = 25


@dataclass(frozen=True)
class Enrollment:
    """An enrollment with everything the engine needs, and its slots as of ``as_of``."""

    row: repo.EnrollmentRow
    zone: ZoneInfo
    slots: list[engine.Slot]
    as_of: datetime
    # The slots and summary of each week asked for, computed once (a week row and its alert share them).
    _weeks: dict[int, tuple[list[engine.Slot], AdherenceSummary]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def below_threshold(self) -> bool:
        return _summary(self.slots).adherence_percent < self.row.threshold_percent

    def week(self, index: int) -> tuple[list[engine.Slot], AdherenceSummary]:
        """The slots of the 0-based plan week ``index`` and their summary."""
        found = self._weeks.get(index)
        if found is None:
            slots = [slot for slot in self.slots if slot.week == index]
            found = self._weeks[index] = (slots, _summary(slots))
        return found


# Loading and computing ---------------------------------------------------------------------------------


def _duration_weeks(row: repo.EnrollmentRow) -> int:
    return row.sessions_total // row.frequency_per_week


def _history(row: repo.EnrollmentRow, changes: list[repo.StatusChangeRow]) -> list[engine.StatusChange]:
    """The engine's history: the status the enrollment was created with (the first change's from_status,
    or its stored status when it never changed), then every change. An expiry not recorded yet changes
    nothing here: it happens after the plan's last window closed."""
    initial = changes[0].from_status if changes else row.stored_status
    return [engine.StatusChange(at=row.created_at, status=str(initial))] + [
        engine.StatusChange(at=change.created_at, status=change.to_status) for change in changes
    ]


# Which weeks to compute: every week; the week containing as_of (in the patient's zone) and the one
# before it, which is what the weekly history stores; or the plan week containing a given date.
Weeks = Literal["all", "recent"] | date


def _week_range(row: repo.EnrollmentRow, zone: ZoneInfo, as_of: datetime, weeks: Weeks) -> range | None:
    if weeks == "all":
        return None
    if weeks == "recent":
        current = plan_week_index(row.start_date, _local_today(zone, as_of))
        return range(current - 1, current + 1)
    index = plan_week_index(row.start_date, weeks)
    return range(index, index + 1)


def _sessions_since(as_of: datetime, weeks: Weeks) -> datetime | None:
    """An instant before every window of the selected weeks, whatever the zone: sessions that started
    earlier cannot count for them (a session counts for the window containing its start)."""
    if weeks == "all":
        return None
    if weeks == "recent":
        return as_of - timedelta(days=16)
    return datetime.combine(weeks - timedelta(days=8), time(0), tzinfo=UTC)


async def load(
    conn: AsyncConnection, rows: list[repo.EnrollmentRow], as_of: datetime, weeks: Weeks = "all"
) -> list[Enrollment]:
    """Compute the slots of ``rows`` as of ``as_of`` (only those of ``weeks``), with two more queries
    for all of them."""
    ids = [row.id for row in rows]
    changes: dict[int, list[repo.StatusChangeRow]] = defaultdict(list)
    # The stored rows go to the engine as they are (engine.Session): no conversion per session.
    sessions: dict[int, list[repo.CompletionRow]] = defaultdict(list)
    if ids:
        for change in await repo.status_changes(conn, ids):
            changes[change.patient_treatment_plan_id].append(change)
        for completion in await repo.completions(conn, ids, _sessions_since(as_of, weeks)):
            sessions[completion.patient_treatment_plan_id].append(completion)
    loaded = []
    for row in rows:
        zone = patient_zone(row.time_zone)
        schedule = engine.Schedule(
            start_date=row.start_date,
            duration_weeks=_duration_weeks(row),
            frequency_per_week=row.frequency_per_week,
            time_zone=zone.key,
        )
        slots = engine.compute_slots(
            schedule, _history(row, changes[row.id]), sessions[row.id], as_of, _week_range(row, zone, as_of, weeks)
        )
        loaded.append(Enrollment(row=row, zone=zone, slots=slots, as_of=as_of))
    return loaded


async def _one(conn: AsyncConnection, enrollment_id: int, as_of: datetime) -> Enrollment:
    rows = await repo.enrollments(conn, ids=[enrollment_id])
    if not rows:
        raise NotFoundError(f"enrollment {enrollment_id} does not exist")
    [enrollment] = await load(conn, rows, as_of)
    return enrollment


# Arranging ---------------------------------------------------------------------------------------------


def _rate(part: int, whole: int, empty: float) -> float:
    return round(100 * part / whole, 1) if whole else empty


def _summary(slots: list[engine.Slot]) -> AdherenceSummary:
    counts = engine.percentages([slot.state for slot in slots])
    return AdherenceSummary(
        adherence_percent=counts.adherence_percent,
        noncompliance_percent=counts.noncompliance_percent,
        rate=_rate(counts.compliant, counts.offered, 100.0),
        noncompliance_rate=_rate(counts.noncompliant, counts.offered, 0.0),
        compliant=counts.compliant,
        noncompliant=counts.noncompliant,
        unknown=counts.unknown,
        offered=counts.offered,
    )


_SLOT_STATES = {state: SlotState(state.value) for state in engine.SlotState}


def _slot(slot: engine.Slot, zone: ZoneInfo) -> AdherenceSlot:
    return AdherenceSlot(
        week=slot.week + 1,
        index_in_week=slot.index_in_week + 1,
        opens_at=slot.opens_at,
        closes_at=slot.closes_at,
        opens_at_local=slot.opens_at.astimezone(zone),
        closes_at_local=slot.closes_at.astimezone(zone),
        state=_SLOT_STATES[slot.state],
        completion_id=slot.completion_id,
    )


def event_stream(enrollment: Enrollment) -> EventStreamReport:
    row = enrollment.row
    by_week: dict[int, list[engine.Slot]] = defaultdict(list)
    for slot in enrollment.slots:
        by_week[slot.week].append(slot)
    weeks = [
        AdherenceWeek(
            week=week + 1,
            start_date=row.start_date + timedelta(days=7 * week),
            end_date=row.start_date + timedelta(days=7 * week + 6),
            summary=_summary(slots),
            slots=[_slot(slot, enrollment.zone) for slot in slots],
        )
        for week, slots in sorted(by_week.items())
    ]
    summary = _summary(enrollment.slots)
    return EventStreamReport(
        patient_treatment_plan_id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        time_zone=enrollment.zone.key,
        start_date=row.start_date,
        end_date=row.end_date,
        frequency_per_week=row.frequency_per_week,
        as_of=enrollment.as_of,
        threshold_percent=row.threshold_percent,
        below_threshold=summary.adherence_percent < row.threshold_percent,
        summary=summary,
        weeks=weeks,
    )


def plan_week_index(start_date: date, day: date) -> int:
    """The 0-based plan week containing ``day`` (negative before the start, past the end after it)."""
    return math.floor((day - start_date).days / 7)


def weekly(enrollment: Enrollment, day: date) -> WeeklyAdherenceReport:
    """The plan week of ``enrollment`` that contains the local date ``day``: its seven days, the slots that
    open on each, and the week's percentages."""
    row = enrollment.row
    index = plan_week_index(row.start_date, day)
    week_start = row.start_date + timedelta(days=7 * index)
    slots, summary = enrollment.week(index)
    by_day: dict[date, list[AdherenceSlot]] = defaultdict(list)
    for slot in slots:
        arranged = _slot(slot, enrollment.zone)
        by_day[arranged.opens_at_local.date()].append(arranged)
    days = _week_days(week_start)
    in_plan = 0 <= index < _duration_weeks(row)
    return WeeklyAdherenceReport(
        patient_treatment_plan_id=row.id,
        patient_id=row.patient_id,
        time_zone=enrollment.zone.key,
        date=day,
        week=index + 1 if in_plan else None,
        week_start=week_start,
        week_end=days[-1],
        as_of=enrollment.as_of,
        threshold_percent=row.threshold_percent,
        below_threshold=summary.adherence_percent < row.threshold_percent,
        summary=summary,
        days=[AdherenceDay(date=each, slots=by_day.get(each, [])) for each in days],
        next_slot_date=row.start_date if index < 0 else None,
    )


# Enrollments of an organization share few week starts: the bulk recompute lays out each week's days once.
@functools.lru_cache(maxsize=1024)
def _week_days(week_start: date) -> tuple[date, ...]:
    return tuple(week_start + timedelta(days=offset_days) for offset_days in range(7))


def _local_today(zone: ZoneInfo, as_of: datetime) -> date:
    return as_of.astimezone(zone).date()


# History -----------------------------------------------------------------------------------------------


def week_row(enrollment: Enrollment, index: int) -> repo.WeeklyReportRow:
    """The stored row of the enrollment's 0-based plan week ``index`` (within the plan), as of
    ``enrollment.as_of``."""
    row = enrollment.row
    week_start = row.start_date + timedelta(days=7 * index)
    report = weekly(enrollment, week_start)
    slots, _ = enrollment.week(index)
    closes_at = max(slot.closes_at for slot in slots)
    # Only a window opening or closing changes the week by the clock alone.
    boundaries = [instant for slot in slots for instant in (slot.opens_at, slot.closes_at)]
    fresh_until = min((instant for instant in boundaries if instant > enrollment.as_of), default=closes_at)
    return repo.WeeklyReportRow(
        id=row.id,
        week_start=week_start,
        week_number=index + 1,
        closes_at=closes_at,
        adherence_percent=report.summary.adherence_percent,
        noncompliance_percent=report.summary.noncompliance_percent,
        report=_encoder.encode(report).decode(),
        computed_at=enrollment.as_of,
        fresh_until=fresh_until,
        time_zone=row.time_zone,
    )


def week_rows(enrollment: Enrollment) -> list[repo.WeeklyReportRow]:
    """The stored rows of the plan week containing ``enrollment.as_of`` (in the patient's zone) and of the
    week before it, those within the plan."""
    row = enrollment.row
    current = plan_week_index(row.start_date, _local_today(enrollment.zone, enrollment.as_of))
    return [week_row(enrollment, index) for index in (current - 1, current) if 0 <= index < _duration_weeks(row)]


def threshold_alerts(enrollment: Enrollment, rows: list[repo.WeeklyReportRow]) -> list[repo.Alert]:
    """``below_threshold`` alerts for the weeks of ``rows`` whose adherence is strictly below the
    organization's threshold and that already missed a session (a noncompliant slot): a week whose
    first window is merely still open is not an alert."""
    alerts = []
    for week in rows:
        _, summary = enrollment.week(week.week_number - 1)
        if summary.adherence_percent < enrollment.row.threshold_percent and summary.noncompliant > 0:
            alerts.append(
                repo.Alert(
                    id=enrollment.row.id,
                    kind="below_threshold",
                    week_start=week.week_start,
                    evidence={
                        "patient_treatment_plan_id": enrollment.row.id,
                        "patient_id": enrollment.row.patient_id,
                        "week_start": week.week_start.isoformat(),
                        "week_number": week.week_number,
                        "adherence_percent": summary.adherence_percent,
                        "noncompliance_percent": summary.noncompliance_percent,
                        "threshold_percent": enrollment.row.threshold_percent,
                        "compliant": summary.compliant,
                        "noncompliant": summary.noncompliant,
                        "offered": summary.offered,
                        "as_of": enrollment.as_of.isoformat(),
                    },
                )
            )
    return alerts


ALERT_EVENTS = {"below_threshold": "adherence.below_threshold", "pain": "pain.alert"}


async def raise_alerts(conn: AsyncConnection, alerts: list[repo.Alert]) -> int:
    """Record the alerts and write the outbox event of each one that is new for its enrollment, kind and
    week; returns how many were new."""
    inserted = await repo.insert_alerts(conn, alerts)
    for alert in inserted:
        await automation.fire(
            conn,
            alert.organization_id,
            ALERT_EVENTS[alert.kind],
            "patient_treatment_plan",
            alert.patient_treatment_plan_id,
            alert.evidence,
        )
    return len(inserted)


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
    weeks = week_rows(enrollment)
    await repo.upsert_weekly_reports(conn, weeks)
    await raise_alerts(conn, threshold_alerts(enrollment, weeks))


PAIN_HIGH = 7
PAIN_RISE = 2


async def check_pain(conn: AsyncConnection, completion_id: int) -> None:
    """The pain rule on a completed session: pain after it of at least 7, or a rise of at least 2 over
    the enrollment's previous completed session, raises ``pain.alert`` (once per plan week)."""
    found = await repo.completion_pain(conn, completion_id)
    if found is None or found.pain_level_after is None:
        return
    pain = found.pain_level_after
    previous = found.previous_pain_level_after
    rise = None if previous is None else pain - previous
    reasons = [
        reason for reason, hit in (("high", pain >= PAIN_HIGH), ("rise", rise is not None and rise >= PAIN_RISE)) if hit
    ]
    if not reasons:
        return
    zone = patient_zone(found.time_zone)
    index = plan_week_index(found.start_date, _local_today(zone, found.started_at))
    week_start = found.start_date + timedelta(days=7 * index)
    evidence = {
        "patient_treatment_plan_id": found.patient_treatment_plan_id,
        "week_start": week_start.isoformat(),
        "reasons": reasons,
        "session_completion_id": found.id,
        "pain_level_after": pain,
        "previous_session_completion_id": found.previous_id,
        "previous_pain_level_after": previous,
        "rise": rise,
    }
    alert = repo.Alert(id=found.patient_treatment_plan_id, kind="pain", week_start=week_start, evidence=evidence)
    await raise_alerts(conn, [alert])


async def trend(conn: AsyncConnection, enrollment_id: int) -> AdherenceTrend:
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
            )
            for row in rows
            if row.week_start is not None
            and row.week_number is not None
            and row.adherence_percent is not None
            and row.noncompliance_percent is not None
            and row.computed_at is not None
        ],
    )


# The service -------------------------------------------------------------------------------------------


class AdherenceService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection]) -> None:
        self._pool = pool

    async def event_stream(self, actor: Actor, enrollment_id: int) -> EventStreamReport:
        async with actor_transaction(self._pool, actor) as conn:
            await audit.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            return event_stream(await _one(conn, enrollment_id, datetime.now(UTC)))

    async def weekly(self, actor: Actor, enrollment_id: int, day: date | None) -> WeeklyAdherenceReport:
        async with actor_transaction(self._pool, actor) as conn:
            await audit.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            enrollment = await _one(conn, enrollment_id, datetime.now(UTC))
            return weekly(enrollment, day or _local_today(enrollment.zone, enrollment.as_of))

    async def trend(self, actor: Actor, enrollment_id: int) -> AdherenceTrend:
        async with actor_transaction(self._pool, actor) as conn:
            await audit.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            return await trend(conn, enrollment_id)

    async def update_settings(self, actor: Actor, data: OrganizationSettingsUpdate) -> OrganizationSettings:
        """Set the organization's adherence threshold, with an audit row of the change."""
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.lock_threshold(conn)
            if before is None:
                raise NotFoundError("the organization does not exist")
            await repo.update_threshold(conn, data.adherence_threshold_percent)
            after = OrganizationSettings(adherence_threshold_percent=data.adherence_threshold_percent)
            await audit.record(
                conn,
                actor,
                "organization.settings_updated",
                "organization",
                actor.organization_id,
                before=OrganizationSettings(adherence_threshold_percent=before),
                after=after,
            )
        return after

    async def organization_weekly(self, actor: Actor, filters: OrganizationFilters) -> OrganizationWeeklyAdherence:
        """The page read from weekly_adherence_reports; rows it needs that are missing or stale are
        computed and stored first, in the same transaction (docs/adherence.md)."""
        as_of = datetime.now(UTC)
        async with actor_transaction(self._pool, actor) as conn:
            settings = await repo.organization_settings(conn)
            if settings is None:
                raise NotFoundError("the organization does not exist")
            week = filters.week or _local_today(patient_zone(settings.time_zone), as_of)
            visible, specialist_id = await self._specialist_scope(conn, actor, filters.specialist_id)
            page = repo.StoredWeekPage(total=0, rows=[], stale=[])
            if visible:
                query = repo.WeekQuery(week=week, specialist_id=specialist_id, q=filters.q)
                page = await _read_week(conn, query, filters, as_of)
                if page.stale:
                    await _store_weeks(conn, query.week, page.stale, as_of)
                    page = await _read_week(conn, query, filters, as_of)
        threshold = settings.adherence_threshold_percent
        return OrganizationWeeklyAdherence(
            week=week,
            threshold_percent=threshold,
            rows=[_organization_row(stored, threshold) for stored in page.rows],
            total=page.total,
            page=filters.page,
            limit=filters.limit,
            total_pages=total_pages(page.total, filters.limit),
        )

    async def stats(self, actor: Actor) -> AdherenceStats:
        as_of = datetime.now(UTC)
        async with actor_transaction(self._pool, actor) as conn:
            settings = await repo.organization_settings(conn)
            if settings is None:
                raise NotFoundError("the organization does not exist")
            enrollments = await load(conn, await self._active(conn, actor), as_of)
        plans: dict[str, tuple[EnrolledPlanRef, list[bool]]] = {}
        for enrollment in enrollments:
            row = enrollment.row
            ref = EnrolledPlanRef(id=row.treatment_plan_id, name=row.plan_name, type=row.plan_type)
            plans.setdefault(str(row.treatment_plan_id), (ref, []))[1].append(enrollment.below_threshold)
        flags = [enrollment.below_threshold for enrollment in enrollments]
        return AdherenceStats(
            threshold_percent=settings.adherence_threshold_percent,
            active=len(flags),
            compliant=flags.count(False),
            noncompliant=flags.count(True),
            plans=[
                PlanAdherenceStats(
                    treatment_plan=ref, active=len(below), compliant=below.count(False), noncompliant=below.count(True)
                )
                for ref, below in sorted(plans.values(), key=lambda item: (item[0].name, str(item[0].id)))
            ],
        )

    async def _active(self, conn: AsyncConnection, actor: Actor) -> list[repo.EnrollmentRow]:
        """The organization's active enrollments the actor may list."""
        visible, specialist_id = await self._specialist_scope(conn, actor, None)
        if not visible:
            return []
        return await repo.enrollments(conn, active_only=True, specialist_id=specialist_id)

    async def _specialist_scope(
        self, conn: AsyncConnection, actor: Actor, specialist_id: int | None
    ) -> tuple[bool, int | None]:
        """Whose enrollments the actor may list: a specialist only those they assigned (nothing when
        asking for another specialist's), an admin all or the requested specialist's."""
        if actor.role != "specialist":
            return True, specialist_id
        own = await repo.specialist_of_user(conn, actor.user_id)
        if own is None or (specialist_id is not None and specialist_id != own):
            return False, None
        return True, own


async def _read_week(
    conn: AsyncConnection, query: repo.WeekQuery, filters: OrganizationFilters, as_of: datetime
) -> repo.StoredWeekPage:
    return await repo.organization_week(
        conn,
        query,
        min_percent=filters.min_percent,
        max_percent=filters.max_percent,
        limit=filters.limit,
        offset=offset(filters.page, filters.limit),
        now=as_of,
    )


async def _store_weeks(conn: AsyncConnection, week: date, enrollment_ids: list[int], as_of: datetime) -> None:
    """Compute, as of ``as_of``, and store the plan week containing ``week`` of each enrollment: the three
    loading queries for all of them and one upsert. No alerts: reading raises none."""
    enrollments = await load(conn, await repo.enrollments(conn, ids=enrollment_ids), as_of, week)
    rows = [week_row(each, plan_week_index(each.row.start_date, week)) for each in enrollments]
    await repo.upsert_weekly_reports(conn, rows)
    log.info("adherence.weeks_stored_on_read", week=week.isoformat(), rows=len(rows))


def _organization_row(stored: repo.StoredWeekRow, threshold: int) -> OrganizationWeeklyRow:
    """A page row from its stored week; a week outside the plan offers nothing (100 %, no slots)."""
    summary = stored.summary or _summary([])
    days = stored.days or [
        AdherenceDay(date=stored.week_start + timedelta(days=offset_days), slots=[]) for offset_days in range(7)
    ]
    return OrganizationWeeklyRow(
        patient_treatment_plan_id=stored.patient_treatment_plan_id,
        patient=stored.patient,
        treatment_plan=stored.treatment_plan,
        assigned_by_specialist_id=stored.assigned_by_specialist_id,
        week=stored.week,
        week_start=stored.week_start,
        below_threshold=summary.adherence_percent < threshold,
        summary=summary,
        days=days,
    )
