"""Plan weeks: the one SQL copy of the arithmetic (adherence's ``organization_week`` places each enrollment's
plan week in SQL) gives the same week as ``core_api.enrollments.weeks`` for any start date and day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from core_api.adherence.repository import QUERIES
from core_api.enrollments.weeks import current_week, plan_week, week_index, week_start
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.databases import PostgresUrls

_SQL = QUERIES.organization_week.decode()
# The plan week SQL computes from the day difference, as written in the query.
_WEEK_INDEX = re.search(r"\(SELECT (CASE WHEN d\.days .*? END) AS week_index\)", _SQL)
_WEEK_START = re.search(r"(ptp\.start_date \+ 7 \* k\.week_index) AS week_start", _SQL)
assert _WEEK_INDEX is not None, "organization_week no longer computes the plan week index"
assert _WEEK_START is not None, "organization_week no longer computes the plan week's start"
_PLACE = f"""
SELECT k.week_index, {_WEEK_START[1]}
FROM unnest(%(start)s::date[], %(day)s::date[]) WITH ORDINALITY AS ptp (start_date, day, position)
CROSS JOIN LATERAL (SELECT ptp.day - ptp.start_date AS days) d
CROSS JOIN LATERAL (SELECT {_WEEK_INDEX[1]} AS week_index) k
ORDER BY ptp.position
""".encode()

_DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@pytest.fixture(scope="module")
def conn(postgres: PostgresUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres.superuser, autocommit=True) as connection:
        yield connection


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_DATES, st.integers(min_value=-400, max_value=400)), min_size=1, max_size=50))
def test_sql_places_a_day_in_the_same_plan_week(conn: psycopg.Connection, pairs: list[tuple[date, int]]) -> None:
    starts = [start for start, _ in pairs]
    days = [start + timedelta(days=offset) for start, offset in pairs]
    rows = conn.execute(_PLACE, {"start": starts, "day": days}).fetchall()
    expected = [
        (week_index(start, day), week_start(start, week_index(start, day)))
        for start, day in zip(starts, days, strict=True)
    ]
    assert [tuple(row) for row in rows] == expected


@given(_DATES, st.integers(min_value=-30, max_value=400), st.sampled_from(["UTC", "Europe/Madrid", "Pacific/Auckland"]))
def test_plan_week_numbers_from_one_and_bounds_its_local_days(start: date, offset_hours: int, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    now = datetime.combine(start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=offset_hours)
    week = plan_week(start, now, zone)
    index = week_index(start, now.astimezone(zone).date())
    assert week.number == (index + 1 if index >= 0 else 0)
    if week.number:
        assert week.starts_at <= now < week.ends_at
        assert week.starts_at.date() == week_start(start, index)
    else:
        assert week.starts_at == week.ends_at == datetime.combine(start, datetime.min.time(), tzinfo=zone)
    assert current_week(start, now, zone, 2) == min(week.number, 2)
