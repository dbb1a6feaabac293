"""Adherence loading: enrollments and their slots as computed by ``engine`` as of an instant.

Every state and percentage comes from ``engine``; this module loads what it needs (the enrollments,
their status history and their sessions: three queries whatever the number of enrollments or weeks),
calls it, and sums slots up. Plan weeks are ``core_api.enrollments.weeks``'. See docs/adherence.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from contracts.adherence import AdherenceSummary
from psycopg import AsyncConnection
from service_common.errors import NotFoundError

from core_api.adherence import engine
from core_api.adherence import repository as repo
from core_api.enrollments.weeks import local_date, week_index
from core_api.time_zones import patient_zone


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
        return summarize(self.slots).adherence_percent < self.row.threshold_percent

    def week(self, index: int) -> tuple[list[engine.Slot], AdherenceSummary]:
        """The slots of the 0-based plan week ``index`` and their summary."""
        found = self._weeks.get(index)
        if found is None:
            slots = [slot for slot in self.slots if slot.week == index]
            found = self._weeks[index] = (slots, summarize(slots))
        return found


def duration_weeks(row: repo.EnrollmentRow) -> int:
    return row.sessions_total // row.frequency_per_week


# Summaries ---------------------------------------------------------------------------------------------


def _rate(part: int, whole: int, empty: float) -> float:
    return round(100 * part / whole, 1) if whole else empty


def summarize(slots: list[engine.Slot]) -> AdherenceSummary:
    """The percentage block of ``slots``."""
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


# Loading -----------------------------------------------------------------------------------------------


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
        current = week_index(row.start_date, local_date(zone, as_of))
        return range(current - 1, current + 1)
    index = week_index(row.start_date, weeks)
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
            duration_weeks=duration_weeks(row),
            frequency_per_week=row.frequency_per_week,
            time_zone=zone.key,
        )
        slots = engine.compute_slots(
            schedule, _history(row, changes[row.id]), sessions[row.id], as_of, _week_range(row, zone, as_of, weeks)
        )
        loaded.append(Enrollment(row=row, zone=zone, slots=slots, as_of=as_of))
    return loaded


async def load_one(conn: AsyncConnection, enrollment_id: int, as_of: datetime) -> Enrollment:
    """One enrollment with all its slots as of ``as_of``; 404 when the caller cannot see it."""
    rows = await repo.enrollments(conn, ids=[enrollment_id])
    if not rows:
        raise NotFoundError(f"enrollment {enrollment_id} does not exist")
    [enrollment] = await load(conn, rows, as_of)
    return enrollment
