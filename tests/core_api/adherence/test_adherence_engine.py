"""The adherence engine: worked examples (the same as docs/adherence.md) and properties over any schedule."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from contracts.adherence import SlotState
from core_api.adherence.engine import (
    Completion,
    CompletionStatus,
    Schedule,
    StatusChange,
    compute_slots,
    percentages,
    slot_windows,
)
from hypothesis import given, settings

from tests.core_api.helpers.schedules import Scenario, scenarios, schedules

MADRID = ZoneInfo("Europe/Madrid")
SCHEDULE = Schedule(start_date=date(2026, 2, 9), duration_weeks=4, frequency_per_week=3, time_zone="Europe/Madrid")
ACTIVE_FROM_START = [StatusChange(datetime(2026, 2, 9, tzinfo=MADRID), "active")]


def local(day: int, hour: int = 0, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID)


def done(identifier: int, start: datetime, minutes: int = 30) -> Completion:
    return Completion(identifier, start, CompletionStatus.COMPLETED, start + timedelta(minutes=minutes))


def states(completions: list[Completion], as_of: datetime, history: list[StatusChange] | None = None) -> list[str]:
    slots = compute_slots(SCHEDULE, history or ACTIVE_FROM_START, completions, as_of)
    return [slot.state.value for slot in slots[:6]]


def test_three_a_week_open_on_days_0_2_4_of_each_week() -> None:
    windows = slot_windows(SCHEDULE)
    assert len(windows) == 12
    assert [(opens, closes) for _, _, opens, closes in windows[:3]] == [
        (local(9), local(11)),
        (local(11), local(13)),
        (local(13), local(16)),
    ]


def test_a_session_done_in_its_window_and_the_next_one_open() -> None:
    slots = compute_slots(SCHEDULE, ACTIVE_FROM_START, [done(1, local(9, 18))], local(12, 10))
    assert [slot.state for slot in slots[:4]] == [
        SlotState.COMPLETED,
        SlotState.UNSTARTED,
        SlotState.NOT_YET_AVAILABLE,
        SlotState.NOT_YET_AVAILABLE,
    ]
    assert slots[0].completion_id == 1
    # Offered: the completed slot and the open one; adherence dips while a window is open and unfinished.
    result = percentages([slot.state for slot in slots])
    assert (result.adherence_percent, result.noncompliance_percent, result.offered) == (50, 0, 2)


def test_a_window_closes_unstarted_and_expires() -> None:
    slots = compute_slots(SCHEDULE, ACTIVE_FROM_START, [done(1, local(9, 18))], local(14, 10))
    assert [s.state for s in slots[:3]] == [SlotState.COMPLETED, SlotState.EXPIRED, SlotState.UNSTARTED]
    result = percentages([slot.state for slot in slots])
    assert (result.adherence_percent, result.noncompliance_percent) == (33, 33)


def test_a_skipped_session_is_declined() -> None:
    skipped = Completion(2, local(11, 9), CompletionStatus.SKIPPED, local(11, 9, 5))
    assert states([skipped], local(12))[1] == "declined"


def test_finishing_after_the_window_closed_is_abandoned_and_unfinished_is_started_until_then() -> None:
    late = Completion(3, local(10, 23, 50), CompletionStatus.COMPLETED, local(11, 0, 20))
    assert states([late], local(10, 23, 55))[0] == "started"
    assert states([late], local(11, 1))[0] == "abandoned"
    running = Completion(4, local(9, 10), CompletionStatus.IN_PROGRESS)
    assert states([running], local(10))[0] == "started"
    assert states([running], local(11))[0] == "abandoned"


def test_two_sessions_in_one_window_count_once() -> None:
    assert states([done(1, local(9, 8)), done(2, local(9, 20))], local(13, 1))[:2] == ["completed", "expired"]


def test_windows_while_paused_or_pending_are_not_applicable() -> None:
    history = [
        StatusChange(local(8, 12), "pending_approval"),
        StatusChange(local(9, 12), "active"),
        StatusChange(local(10, 12), "paused"),
        StatusChange(local(17, 9), "active"),
    ]
    assert states([], local(18), history)[:5] == [
        "expired",
        "not_applicable",
        "not_applicable",
        "expired",
        "unstarted",
    ]
    # While paused, future windows are not offered either.
    assert states([], local(12), history)[:4] == ["expired", "not_applicable", "not_applicable", "not_applicable"]


def test_nothing_offered_yet_is_100_percent() -> None:
    result = percentages([slot.state for slot in compute_slots(SCHEDULE, ACTIVE_FROM_START, [], local(1))])
    assert (result.adherence_percent, result.noncompliance_percent, result.offered) == (100, 0, 0)


def test_weeks_follow_local_midnight_across_daylight_saving() -> None:
    # Europe/Madrid moves to summer time on Sunday 2026-03-29: that week is 167 hours long.
    schedule = Schedule(date(2026, 3, 23), 2, 1, "Europe/Madrid")
    (_, _, first_opens, first_closes), (_, _, second_opens, _) = slot_windows(schedule)
    assert first_closes == second_opens == datetime(2026, 3, 30, tzinfo=MADRID)
    assert first_closes - first_opens == timedelta(days=7)  # wall-clock difference
    assert first_closes.astimezone(UTC) - first_opens.astimezone(UTC) == timedelta(hours=167)


def test_more_than_daily_uses_half_days() -> None:
    windows = slot_windows(Schedule(date(2026, 2, 9), 1, 14, "UTC"))
    assert len(windows) == 14
    assert all(closes - opens == timedelta(hours=12) for _, _, opens, closes in windows)


# Properties ----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(schedules)
def test_windows_tile_the_enrollment_without_gaps(schedule: Schedule) -> None:
    windows = slot_windows(schedule)
    zone = ZoneInfo(schedule.time_zone)
    assert len(windows) == schedule.frequency_per_week * schedule.duration_weeks
    for (_, _, _, closes), (_, _, next_opens, _) in pairwise(windows):
        assert closes == next_opens
    assert all(opens < closes for _, _, opens, closes in windows)
    week_starts = [opens for _, index, opens, _ in windows if index == 0]
    assert [start.astimezone(zone).time().hour for start in week_starts] == [0] * schedule.duration_weeks
    assert windows[-1][3] == datetime.combine(
        schedule.start_date + timedelta(weeks=schedule.duration_weeks), datetime.min.time(), tzinfo=zone
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_states_are_consistent_with_time_and_completions(scenario: Scenario) -> None:
    schedule, history, completions, as_of = scenario
    slots = compute_slots(schedule, history, completions, as_of)
    by_id = {completion.id: completion for completion in completions}

    for slot in slots:
        if slot.state == SlotState.NOT_YET_AVAILABLE:
            assert slot.opens_at > as_of
        if slot.state in (SlotState.EXPIRED, SlotState.ABANDONED):
            assert slot.closes_at <= as_of
        if slot.state in (SlotState.UNSTARTED, SlotState.STARTED):
            assert slot.opens_at <= as_of < slot.closes_at
        if slot.state == SlotState.COMPLETED:
            completion = by_id[slot.completion_id]  # type: ignore[index]
            assert completion.ended_at is not None
            assert slot.opens_at <= completion.started_at < slot.closes_at
            assert completion.ended_at < slot.closes_at
            assert completion.ended_at <= as_of
        if slot.state in (SlotState.UNSTARTED, SlotState.EXPIRED, SlotState.NOT_YET_AVAILABLE):
            assert slot.completion_id is None

    counted = [slot.completion_id for slot in slots if slot.completion_id is not None]
    assert len(counted) == len(set(counted)), "one session never satisfies two slots"
    result = percentages([slot.state for slot in slots])
    assert 0 <= result.adherence_percent <= 100
    assert 0 <= result.noncompliance_percent <= 100
    assert result.offered == result.compliant + result.noncompliant + result.unknown
    assert result.offered + Counter(slot.state for slot in slots)[SlotState.NOT_YET_AVAILABLE] + Counter(
        slot.state for slot in slots
    )[SlotState.NOT_APPLICABLE] == len(slots)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_completing_a_session_never_lowers_adherence(scenario: Scenario) -> None:
    schedule, history, completions, as_of = scenario
    before = percentages([slot.state for slot in compute_slots(schedule, history, completions, as_of)])
    open_slots = [s for s in compute_slots(schedule, history, completions, as_of) if s.state == SlotState.UNSTARTED]
    if not open_slots:
        return
    start = max(open_slots[0].opens_at, as_of - timedelta(minutes=1))
    extra = Completion(10_000, start, CompletionStatus.COMPLETED, start + timedelta(seconds=30))
    after = percentages(
        [slot.state for slot in compute_slots(schedule, history, [*completions, extra], as_of + timedelta(seconds=31))]
    )
    assert after.compliant >= before.compliant
