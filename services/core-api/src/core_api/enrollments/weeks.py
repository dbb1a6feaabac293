"""Plan weeks: week *k* (0-based) of an enrollment is its start date plus 7k and the six days after it, as
calendar days in the patient's IANA time zone, bounded by local midnights (167 or 169 hours across a
daylight-saving change). Every area counts weeks with these functions; the one SQL copy of
:func:`week_index` (adherence's ``organization_week``) is checked against it by a property test.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec


def week_index(start_date: date, day: date) -> int:
    """The 0-based plan week containing ``day`` (negative before the start, past the end after it)."""
    return (day - start_date).days // 7


def week_start(start_date: date, index: int) -> date:
    """The first day of the 0-based plan week ``index``."""
    return start_date + timedelta(days=7 * index)


def local_date(zone: ZoneInfo, instant: datetime) -> date:
    """The patient's calendar day at ``instant``."""
    return instant.astimezone(zone).date()


class PlanWeek(msgspec.Struct, frozen=True):
    """A week of an enrollment: its 1-based number (0 before the start date) and its local-midnight
    bounds, ``starts_at`` inclusive and ``ends_at`` exclusive (equal before the start date)."""

    number: int
    starts_at: datetime
    ends_at: datetime


def plan_week(start_date: date, now: datetime, zone: ZoneInfo) -> PlanWeek:
    """The enrollment week ``now`` falls in, counted in local calendar days of ``zone``."""
    index = week_index(start_date, local_date(zone, now))
    first_day = week_start(start_date, max(index, 0))
    starts_at = datetime.combine(first_day, time(), tzinfo=zone)
    if index < 0:
        return PlanWeek(number=0, starts_at=starts_at, ends_at=starts_at)
    ends_at = datetime.combine(first_day + timedelta(days=7), time(), tzinfo=zone)
    return PlanWeek(number=index + 1, starts_at=starts_at, ends_at=ends_at)


def current_week(start_date: date, now: datetime, zone: ZoneInfo, duration_weeks: int) -> int:
    """The 1-based week shown as an enrollment's progress: 0 before the start, the last week after the end."""
    return min(plan_week(start_date, now, zone).number, duration_weeks)
