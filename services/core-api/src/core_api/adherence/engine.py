"""The adherence engine: every expected session slot of an enrollment, its time window and its state.

Pure and deterministic: it takes the enrollment's schedule, its status history, its session completions,
the patient's time zone and an instant, and returns the slots as they stood at that instant. Nothing here
reads a clock or a database, so every report, the API and the tests compute adherence the same way.
The rules and worked examples are in docs/adherence.md.

Layout. An enrollment prescribes ``frequency_per_week`` sessions for ``duration_weeks`` weeks. Week *k*
runs from local midnight of ``start_date + 7k`` to local midnight seven days later, in the patient's
zone (so a week is 167 or 169 hours across a daylight-saving change). Its slots open spread evenly over
it on whole days (on half days above seven a week), and each stays open until the next one opens or the
week ends.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec
from contracts.adherence import SlotState

from core_api.enrollments.weeks import week_start

COMPLIANT = frozenset({SlotState.COMPLETED})
NONCOMPLIANT = frozenset({SlotState.DECLINED, SlotState.EXPIRED, SlotState.ABANDONED})
UNKNOWN = frozenset({SlotState.UNSTARTED, SlotState.STARTED})
NOT_OFFERED = frozenset({SlotState.NOT_YET_AVAILABLE, SlotState.NOT_APPLICABLE})


class CompletionStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


# The engine's values are frozen msgspec Structs: built in C (a frozen dataclass sets each field through
# object.__setattr__, about six times slower), and those holding only scalars are left out of the garbage
# collector's tracking (gc=False), so the tens of thousands of a nightly run do not trigger collections.
class Completion(msgspec.Struct, frozen=True, gc=False):
    """A session the patient started (and maybe finished or skipped). Times are timezone-aware."""

    id: int
    started_at: datetime
    status: CompletionStatus
    # When it was completed or skipped; None while in progress.
    ended_at: datetime | None = None


class Session(Protocol):
    """What the engine reads of a session: a :class:`Completion`, or a stored row with these fields
    (``status`` one of :class:`CompletionStatus`' values)."""

    @property
    def id(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def ended_at(self) -> datetime | None: ...


class StatusChange(msgspec.Struct, frozen=True, gc=False):
    """The enrollment entered ``status`` at ``at``. The first change is its creation."""

    at: datetime
    status: str


class Schedule(msgspec.Struct, frozen=True, gc=False):
    start_date: date
    duration_weeks: int
    frequency_per_week: int
    time_zone: str


class Slot(msgspec.Struct, frozen=True, gc=False):
    week: int  # 0-based
    index_in_week: int  # 0-based
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC, exclusive
    state: SlotState
    completion_id: int | None


class Percentages(msgspec.Struct, frozen=True, gc=False):
    adherence_percent: int
    noncompliance_percent: int
    compliant: int
    noncompliant: int
    unknown: int
    offered: int


def percentages(states: list[SlotState]) -> Percentages:
    """Adherence % = floor(100 * compliant / offered), 100 when nothing was offered yet; noncompliance % =
    floor(100 * noncompliant / (compliant + noncompliant + unknown)), 0 when that is zero."""
    compliant = sum(map(states.count, COMPLIANT))
    noncompliant = sum(map(states.count, NONCOMPLIANT))
    unknown = sum(map(states.count, UNKNOWN))
    offered = compliant + noncompliant + unknown
    return Percentages(
        adherence_percent=100 * compliant // offered if offered else 100,
        noncompliance_percent=100 * noncompliant // offered if offered else 0,
        compliant=compliant,
        noncompliant=noncompliant,
        unknown=unknown,
        offered=offered,
    )


_UTC = ZoneInfo("UTC")


def slot_windows(schedule: Schedule, weeks: range | None = None) -> list[tuple[int, int, datetime, datetime]]:
    """(week, index, opens_at, closes_at) of every slot (of the 0-based ``weeks`` only, when given, those
    within the plan), in order; instants are timezone-aware (local)."""
    return [(week, index, opens, closes) for week, index, opens, closes, _, _ in _layout(schedule, weeks)]


# (week, index, opens, closes, opens in UTC, closes in UTC) of one slot.
_Window = tuple[int, int, datetime, datetime, datetime, datetime]


def _layout(schedule: Schedule, weeks: range | None) -> tuple[_Window, ...]:
    every_week = range(schedule.duration_weeks)
    selected = every_week if weeks is None else range(max(weeks.start, 0), min(weeks.stop, every_week.stop))
    return _windows(schedule.start_date, schedule.frequency_per_week, schedule.time_zone, selected.start, selected.stop)


# Enrollments share start dates, frequencies and zones, so a night's recompute lays out few distinct weeks.
@functools.lru_cache(maxsize=4096)
def _windows(start_date: date, frequency: int, time_zone: str, first_week: int, stop_week: int) -> tuple[_Window, ...]:
    """The windows of the weeks ``first_week`` up to ``stop_week``; the local instants are in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    # Whole days up to one session a day; half days beyond (at most fourteen a week).
    units_per_day = 1 if frequency <= 7 else 2
    units = 7 * units_per_day
    opens = [math.floor(j * units / frequency) for j in range(frequency)]
    windows: list[_Window] = []
    for week in range(first_week, stop_week):
        first_day = week_start(start_date, week)
        instants = [_unit_instant(first_day, unit, units_per_day, zone) for unit in [*opens, units]]
        in_utc = [instant.astimezone(_UTC) for instant in instants]
        windows.extend(
            (week, index, instants[index], instants[index + 1], in_utc[index], in_utc[index + 1])
            for index in range(frequency)
        )
    return tuple(windows)


def _unit_instant(week_start: date, unit: int, units_per_day: int, zone: ZoneInfo) -> datetime:
    day, part = divmod(unit, units_per_day)
    # Half days start at local noon: the wall clock, not 12 elapsed hours, so DST days split the same way.
    return datetime.combine(week_start + timedelta(days=day), time(12 * part), tzinfo=zone)


def _active_intervals(history: list[StatusChange], until: datetime) -> list[tuple[datetime, datetime]]:
    """The spans (in UTC) during which the enrollment was ``active``, up to ``until`` (in UTC)."""
    spans = []
    ordered = sorted(history, key=lambda change: change.at)
    for position, change in enumerate(ordered):
        if change.status != "active":
            continue
        start = change.at.astimezone(_UTC)
        end = ordered[position + 1].at.astimezone(_UTC) if position + 1 < len(ordered) else until
        if end > start:
            spans.append((start, end))
    return spans


def _overlaps(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(span_start < end and start < span_end for span_start, span_end in spans)


def _active_at(spans: list[tuple[datetime, datetime]], instant: datetime) -> bool:
    return any(span_start <= instant < span_end for span_start, span_end in spans)


# A session that had started by ``as_of`` as the engine weighs it: (the preference of what it was at
# ``as_of``, started_at in UTC, id, ended_at). The smallest of a window's first three decides the window.
_Started = tuple[int, datetime, int, datetime | None]
_COMPLETED, _SKIPPED, _IN_PROGRESS = 0, 1, 2
# Keyed by value: a stored row's status is the plain string.
_PREFERENCE: dict[str, int] = {
    CompletionStatus.COMPLETED: _COMPLETED,
    CompletionStatus.SKIPPED: _SKIPPED,
    CompletionStatus.IN_PROGRESS: _IN_PROGRESS,
}
_WITH_COMPLETION = frozenset({SlotState.COMPLETED, SlotState.DECLINED, SlotState.ABANDONED, SlotState.STARTED})


def _decisive(started: _Started) -> tuple[int, datetime, int]:
    return started[0], started[1], started[2]


def compute_slots(
    schedule: Schedule,
    history: list[StatusChange],
    completions: Sequence[Session],
    as_of: datetime,
    weeks: range | None = None,
) -> list[Slot]:
    """Every slot of the enrollment with its state as of ``as_of`` (timezone-aware); only those of the
    0-based ``weeks`` when given (a week's states never depend on another week's, so they are the same
    slots the whole computation gives, for less work).

    A completion belongs to the slot whose window contains its ``started_at``; each slot takes the first
    completion that started in it (a completed one before a skipped one before one in progress), and
    extra sessions in one window do not count for other windows.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    # Every instant is compared in UTC: one zone, so comparisons need no offset look-ups.
    as_of = as_of.astimezone(_UTC)
    windows = _layout(schedule, weeks)
    last_close = windows[-1][5] if windows else as_of
    active = _active_intervals(history, max(as_of, last_close) + timedelta(days=1))
    active_now = _active_at(active, as_of)
    opens_list = [window[4] for window in windows]
    by_slot: dict[int, list[_Started]] = {}
    for completion in completions:
        started_at = completion.started_at.astimezone(_UTC)
        if started_at > as_of:
            continue  # not started as of as_of: it decides nothing
        position = bisect.bisect_right(opens_list, started_at) - 1
        if position >= 0 and started_at < windows[position][5]:
            ended_at = completion.ended_at
            # Finished later than as_of means still in progress then.
            finished = ended_at is not None and ended_at <= as_of
            preference = _PREFERENCE[completion.status] if finished else _IN_PROGRESS
            by_slot.setdefault(position, []).append((preference, started_at, completion.id, ended_at))
    slots = []
    for position, (week, index, _, _, opens, closes) in enumerate(windows):
        # A closed window counts if the enrollment was active at some moment of it; an open or future one
        # if it is active now or was since the window opened (a paused or pending enrollment offers
        # nothing new).
        if as_of <= opens:
            applicable = active_now
        elif as_of < closes:
            applicable = active_now or _overlaps(active, opens, as_of)
        else:
            applicable = _overlaps(active, opens, closes)
        candidates = by_slot.get(position)
        chosen = None
        if candidates:
            chosen = candidates[0] if len(candidates) == 1 else min(candidates, key=_decisive)
        state = _state(opens, closes, as_of, chosen) if applicable else SlotState.NOT_APPLICABLE
        slots.append(
            Slot(
                week=week,
                index_in_week=index,
                opens_at=opens,
                closes_at=closes,
                state=state,
                completion_id=chosen[2] if chosen is not None and state in _WITH_COMPLETION else None,
            )
        )
    return slots


def _state(opens: datetime, closes: datetime, as_of: datetime, chosen: _Started | None) -> SlotState:
    """The state of an applicable window, decided by the session ``chosen`` for it (if any)."""
    if chosen is not None:
        preference, _, _, ended_at = chosen
        if preference == _SKIPPED:
            return SlotState.DECLINED
        if preference == _COMPLETED and ended_at is not None and ended_at < closes:
            return SlotState.COMPLETED
        # Started in the window but not finished before it closed (or not finished yet).
        return SlotState.ABANDONED if as_of >= closes else SlotState.STARTED
    if as_of < opens:
        return SlotState.NOT_YET_AVAILABLE
    return SlotState.EXPIRED if as_of >= closes else SlotState.UNSTARTED
