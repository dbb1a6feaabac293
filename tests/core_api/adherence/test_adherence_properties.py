"""Properties of the adherence engine over random schedules, histories, sessions and instants, and the
window layout: per frequency, across daylight-saving changes, and whatever the server's own time zone."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from contracts.adherence import SlotState
from core_api.adherence.engine import (
    COMPLIANT,
    NONCOMPLIANT,
    Completion,
    CompletionStatus,
    Schedule,
    Slot,
    StatusChange,
    compute_slots,
    percentages,
    slot_windows,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.core_api.helpers.schedules import Scenario, scenarios, schedules


def by_week(slots: list[Slot]) -> dict[int, list[Slot]]:
    weeks: dict[int, list[Slot]] = {}
    for slot in slots:
        weeks.setdefault(slot.week, []).append(slot)
    return weeks


# Counting ----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_the_states_of_each_week_add_up_to_its_slots(scenario: Scenario) -> None:
    schedule, history, completions, as_of = scenario
    weeks = by_week(compute_slots(schedule, history, completions, as_of))
    assert sorted(weeks) == list(range(schedule.duration_weeks))
    for slots in weeks.values():
        assert [slot.index_in_week for slot in slots] == list(range(schedule.frequency_per_week))
        counts = percentages([slot.state for slot in slots])
        not_offered = sum(slot.state in (SlotState.NOT_YET_AVAILABLE, SlotState.NOT_APPLICABLE) for slot in slots)
        assert counts.compliant + counts.noncompliant + counts.unknown + not_offered == schedule.frequency_per_week
        assert counts.offered == counts.compliant + counts.noncompliant + counts.unknown


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(SlotState)), max_size=200))
def test_percentages_stay_within_0_and_100(states: list[SlotState]) -> None:
    result = percentages(states)
    assert 0 <= result.adherence_percent <= 100
    assert 0 <= result.noncompliance_percent <= 100
    assert result.adherence_percent + result.noncompliance_percent <= 100
    if result.offered == 0:
        assert (result.adherence_percent, result.noncompliance_percent) == (100, 0)
    else:
        assert result.adherence_percent == 100 * result.compliant // result.offered


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_weeks_percentages_stay_within_0_and_100(scenario: Scenario) -> None:
    schedule, history, completions, as_of = scenario
    for slots in by_week(compute_slots(schedule, history, completions, as_of)).values():
        result = percentages([slot.state for slot in slots])
        assert 0 <= result.adherence_percent <= 100
        assert 0 <= result.noncompliance_percent <= 100


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(-2, 7), st.integers(0, 3))
def test_computing_some_weeks_gives_the_same_slots_as_computing_all(scenario: Scenario, first: int, count: int) -> None:
    """The jobs compute only the weeks they store; each week's slots must not depend on the others."""
    schedule, history, completions, as_of = scenario
    weeks = range(first, first + count)
    every = compute_slots(schedule, history, completions, as_of)
    assert compute_slots(schedule, history, completions, as_of, weeks) == [s for s in every if s.week in weeks]


# Monotonicity ------------------------------------------------------------------------------------------


@st.composite
def mostly_active_scenarios(draw: st.DrawFn) -> Scenario:
    """A scenario of an enrollment active from before its start (later changes may still pause it), as of
    an instant inside its weeks, so that windows are open or missed."""
    schedule, history, completions, _ = draw(scenarios())
    zone = ZoneInfo(schedule.time_zone)
    begin = datetime.combine(schedule.start_date, datetime.min.time(), tzinfo=zone)
    as_of = begin + draw(
        st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(weeks=schedule.duration_weeks))
    )
    return schedule, [StatusChange(begin - timedelta(days=3), "active"), *history], completions, as_of


@settings(max_examples=200, deadline=None)
@given(mostly_active_scenarios(), st.data())
def test_completing_a_missing_session_never_lowers_adherence(scenario: Scenario, data: st.DataObject) -> None:
    """Turn one open or expired slot without a session into a session completed inside its window, as of
    the same instant: adherence never drops (overall and for that week) and noncompliance never rises."""
    schedule, history, completions, as_of = scenario
    before = compute_slots(schedule, history, completions, as_of)
    missing = [slot for slot in before if slot.state in (SlotState.UNSTARTED, SlotState.EXPIRED)]
    assume(missing)
    slot = data.draw(st.sampled_from(missing))
    latest_end = min(slot.closes_at - timedelta(microseconds=1), as_of)
    assume(latest_end > slot.opens_at)
    span = latest_end - slot.opens_at
    started = slot.opens_at + span * data.draw(st.floats(0, 0.99))
    ended = started + (latest_end - started) * data.draw(st.floats(0.01, 1))
    assume(started < ended <= latest_end)
    extra = Completion(10_000, started, CompletionStatus.COMPLETED, ended)
    after = compute_slots(schedule, history, [*completions, extra], as_of)

    assert after[before.index(slot)].state == SlotState.COMPLETED
    for scope_before, scope_after in (
        (before, after),
        ([s for s in before if s.week == slot.week], [s for s in after if s.week == slot.week]),
    ):
        old = percentages([s.state for s in scope_before])
        new = percentages([s.state for s in scope_after])
        assert new.adherence_percent >= old.adherence_percent
        assert new.noncompliance_percent <= old.noncompliance_percent
        assert new.compliant == old.compliant + 1


def _status_at(history: list[StatusChange], instant: datetime) -> str:
    """The status in effect at ``instant`` ("none" before the enrollment existed)."""
    current = "none"
    for change in sorted(history, key=lambda change: change.at):
        if change.at <= instant:
            current = change.status
    return current


@st.composite
def paused_scenarios(draw: st.DrawFn) -> tuple[Scenario, tuple[datetime, datetime]]:
    """A scenario of an enrollment active from before its start, and a pause interval; sessions start
    only while the enrollment is active (the API refuses others), so none while paused."""
    schedule, history, completions, as_of = draw(scenarios())
    zone = ZoneInfo(schedule.time_zone)
    begin = datetime.combine(schedule.start_date, datetime.min.time(), tzinfo=zone)
    history = [StatusChange(begin - timedelta(days=3), "active"), *history]
    completions = [c for c in completions if _status_at(history, c.started_at) == "active"]
    pause_start = begin + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(weeks=7)))
    pause_end = pause_start + draw(st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(weeks=3)))
    completions = [c for c in completions if not pause_start <= c.started_at < pause_end]
    return (schedule, history, completions, as_of), (pause_start, pause_end)


@settings(max_examples=300, deadline=None)
@given(paused_scenarios())
def test_a_pause_never_counts_against_the_patient(case: tuple[Scenario, tuple[datetime, datetime]]) -> None:
    (schedule, history, completions, as_of), (pause_start, pause_end) = case
    # Paused from pause_start; at pause_end the enrollment is back in whatever status it had then.
    paused = [
        *(change for change in history if not pause_start <= change.at < pause_end),
        StatusChange(pause_start, "paused"),
        StatusChange(pause_end, _status_at(history, pause_end)),
    ]
    before = compute_slots(schedule, history, completions, as_of)
    after = compute_slots(schedule, paused, completions, as_of)

    for old_slot, new_slot in zip(before, after, strict=True):
        # A slot never turns noncompliant, nor loses a completion, because of a pause.
        assert not (new_slot.state in NONCOMPLIANT and old_slot.state not in NONCOMPLIANT)
        assert (new_slot.state in COMPLIANT) == (old_slot.state in COMPLIANT)
        # A window that closed entirely inside the pause is not applicable.
        if pause_start <= new_slot.opens_at and new_slot.closes_at <= min(pause_end, as_of):
            assert new_slot.state == SlotState.NOT_APPLICABLE
        # So is an open or future window while the pause is still going on.
        if pause_start <= new_slot.opens_at and pause_start <= as_of < pause_end:
            assert new_slot.state == SlotState.NOT_APPLICABLE
    for scope in (None, *range(schedule.duration_weeks)):
        old = percentages([s.state for s in before if scope is None or s.week == scope])
        new = percentages([s.state for s in after if scope is None or s.week == scope])
        assert new.adherence_percent >= old.adherence_percent
        assert new.noncompliant <= old.noncompliant
        assert new.compliant == old.compliant


# The server's time zone --------------------------------------------------------------------------------

SERVER_ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kathmandu", "Australia/Lord_Howe"]


@contextmanager
def server_zone(name: str) -> Iterator[int]:
    """Run with the process's local time zone set to ``name`` (TZ and tzset); yields its UTC offset now."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield time.localtime().tm_gmtoff
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_results_do_not_depend_on_the_servers_time_zone(scenario: Scenario) -> None:
    schedule, history, completions, as_of = scenario
    results = []
    offsets = set()
    for zone in SERVER_ZONES:
        with server_zone(zone) as offset:
            offsets.add(offset)
            results.append((slot_windows(schedule), compute_slots(schedule, history, completions, as_of)))
    assert len(offsets) == len(SERVER_ZONES), "the process's local zone really changed"
    assert all(result == results[0] for result in results[1:])


# Window layout -----------------------------------------------------------------------------------------

# Per frequency, each slot's (first day, day after its last day) within the week.
LAYOUT = {
    1: [(0, 7)],
    2: [(0, 3), (3, 7)],
    3: [(0, 2), (2, 4), (4, 7)],
    4: [(0, 1), (1, 3), (3, 5), (5, 7)],
    5: [(0, 1), (1, 2), (2, 4), (4, 5), (5, 7)],
    6: [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 7)],
    7: [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)],
}


@pytest.mark.parametrize("frequency", sorted(LAYOUT))
@pytest.mark.parametrize("zone_name", ["UTC", "Europe/Madrid", "Asia/Kathmandu"])
def test_window_layout_for_one_to_seven_a_week(frequency: int, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    start = date(2026, 2, 9)
    windows = slot_windows(Schedule(start, 2, frequency, zone_name))
    expected = [
        (
            week,
            index,
            datetime.combine(start + timedelta(days=7 * week + first), datetime.min.time(), tzinfo=zone),
            datetime.combine(start + timedelta(days=7 * week + after), datetime.min.time(), tzinfo=zone),
        )
        for week in range(2)
        for index, (first, after) in enumerate(LAYOUT[frequency])
    ]
    assert windows == expected


# Daylight saving: (zone, the Monday starting the week of the change, the change's local date, hours of
# that day).
DST_WEEKS = [
    ("Europe/Madrid", date(2026, 3, 23), date(2026, 3, 29), 23),
    ("Europe/Madrid", date(2026, 10, 19), date(2026, 10, 25), 25),
    ("America/New_York", date(2026, 3, 2), date(2026, 3, 8), 23),
    ("America/New_York", date(2026, 10, 26), date(2026, 11, 1), 25),
]


def _day_hours(day: date, zone: ZoneInfo) -> float:
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return (next_midnight - midnight) / timedelta(hours=1)


@pytest.mark.parametrize(("zone_name", "monday", "change_day", "change_day_hours"), DST_WEEKS)
@pytest.mark.parametrize("frequency", [*sorted(LAYOUT), 14])
def test_daylight_saving_weeks_keep_local_midnights(
    zone_name: str, monday: date, change_day: date, change_day_hours: int, frequency: int
) -> None:
    zone = ZoneInfo(zone_name)
    assert _day_hours(change_day, zone) == change_day_hours
    schedule = Schedule(monday - timedelta(days=7), 3, frequency, zone_name)
    windows = slot_windows(schedule)
    week = [(opens, closes) for number, _, opens, closes in windows if number == 1]
    # The week of the change starts and ends at local midnight and is an hour shorter or longer.
    assert week[0][0] == datetime.combine(monday, datetime.min.time(), tzinfo=zone)
    assert week[-1][1] == datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=zone)
    week_hours = (week[-1][1].astimezone(UTC) - week[0][0].astimezone(UTC)) / timedelta(hours=1)
    assert week_hours == 168 + change_day_hours - 24
    # The weeks around it are 168 hours.
    for number in (0, 2):
        other = [(opens, closes) for n, _, opens, closes in windows if n == number]
        assert (other[-1][1].astimezone(UTC) - other[0][0].astimezone(UTC)) == timedelta(hours=168)
    for opens, closes in week:
        local_opens, local_closes = opens.astimezone(zone), closes.astimezone(zone)
        # Every window opens and closes on the local wall clock: midnight, or noon above seven a week.
        assert (local_opens.hour, local_opens.minute) in ((0, 0), (12, 0))
        assert (local_closes.hour, local_closes.minute) in ((0, 0), (12, 0))
        # Its real length is the sum of the local days (or half days) it spans.
        utc_hours = (closes.astimezone(UTC) - opens.astimezone(UTC)) / timedelta(hours=1)
        if frequency <= 7:
            days = [opens.date() + timedelta(days=i) for i in range((closes.date() - opens.date()).days)]
            assert utc_hours == sum(_day_hours(day, zone) for day in days)
        elif opens.date() == change_day and local_opens.hour == 0:
            assert utc_hours == 12 + change_day_hours - 24  # the change happens in the small hours
        else:
            assert utc_hours == 12
    if frequency <= 7:
        assert [(o.date() - monday).days for o, _ in week] == [first for first, _ in LAYOUT[frequency]]


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_every_week_is_167_168_or_169_hours(schedule: Schedule) -> None:
    weeks = Counter[int]()
    for number, _, opens, closes in slot_windows(schedule):
        weeks[number] += int((closes.astimezone(UTC) - opens.astimezone(UTC)).total_seconds())
    # Lord Howe (one of the drawn zones) moves by half an hour, the others by an hour.
    assert all(167 * 3600 <= seconds <= 169 * 3600 for seconds in weeks.values()), weeks


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata"]))
def test_results_depend_on_instants_not_on_the_zone_they_are_given_in(scenario: Scenario, zone_name: str) -> None:
    """The engine compares in UTC; the same instants given in any zone give the same slots, and the
    windows' UTC instants are those of the local windows."""
    schedule, history, completions, as_of = scenario
    zone = ZoneInfo(zone_name)
    moved_history = [StatusChange(at=change.at.astimezone(zone), status=change.status) for change in history]
    moved_completions = [
        Completion(
            id=c.id,
            started_at=c.started_at.astimezone(zone),
            status=c.status,
            ended_at=None if c.ended_at is None else c.ended_at.astimezone(zone),
        )
        for c in completions
    ]
    slots = compute_slots(schedule, history, completions, as_of)
    assert compute_slots(schedule, moved_history, moved_completions, as_of.astimezone(zone)) == slots
    windows = slot_windows(schedule)
    assert [(s.week, s.index_in_week, s.opens_at, s.closes_at) for s in slots] == windows
    assert all(s.opens_at.tzinfo == ZoneInfo("UTC") for s in slots)
