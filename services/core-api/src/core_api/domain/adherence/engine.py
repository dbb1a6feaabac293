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
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class SlotState(StrEnum):
    NOT_APPLICABLE = "not_applicable"
    DECLINED = "declined"
    COMPLETED = "completed"
    NOT_YET_AVAILABLE = "not_yet_available"
    EXPIRED = "expired"
    UNSTARTED = "unstarted"
    ABANDONED = "abandoned"
    STARTED = "started"


COMPLIANT = frozenset({SlotState.COMPLETED})
NONCOMPLIANT = frozenset({SlotState.DECLINED, SlotState.EXPIRED, SlotState.ABANDONED})
UNKNOWN = frozenset({SlotState.UNSTARTED, SlotState.STARTED})
NOT_OFFERED = frozenset({SlotState.NOT_YET_AVAILABLE, SlotState.NOT_APPLICABLE})


class CompletionStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Completion:
    """A session the patient started (and maybe finished or skipped). Times are timezone-aware."""

    id: int
    started_at: datetime
    status: CompletionStatus
    # When it was completed or skipped; None while in progress.
    ended_at: datetime | None = None


@dataclass(frozen=True)
class StatusChange:
    """The enrollment entered ``status`` at ``at``. The first change is its creation."""

    at: datetime
    status: str


@dataclass(frozen=True)
class Schedule:
    start_date: date
    duration_weeks: int
    frequency_per_week: int
    time_zone: str


@dataclass(frozen=True)
class Slot:
    week: int  # 0-based
    index_in_week: int  # 0-based
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC, exclusive
    state: SlotState
    completion_id: int | None


@dataclass(frozen=True)
class Percentages:
    adherence_percent: int
    noncompliance_percent: int
    compliant: int
    noncompliant: int
    unknown: int
    offered: int


def percentages(states: list[SlotState]) -> Percentages:
    """Adherence % = floor(100 * compliant / offered), 100 when nothing was offered yet; noncompliance % =
    floor(100 * noncompliant / (compliant + noncompliant + unknown)), 0 when that is zero."""
    compliant = sum(state in COMPLIANT for state in states)
    noncompliant = sum(state in NONCOMPLIANT for state in states)
    unknown = sum(state in UNKNOWN for state in states)
    offered = compliant + noncompliant + unknown
    return Percentages(
        adherence_percent=math.floor(100 * compliant / offered) if offered else 100,
        noncompliance_percent=math.floor(100 * noncompliant / offered) if offered else 0,
        compliant=compliant,
        noncompliant=noncompliant,
        unknown=unknown,
        offered=offered,
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def slot_windows(schedule: Schedule, weeks: range | None = None) -> list[tuple[int, int, datetime, datetime]]:
    """(week, index, opens_at, closes_at) of every slot (of the 0-based ``weeks`` only, when given, those
    within the plan), in order; instants are timezone-aware (local)."""
    zone = ZoneInfo(schedule.time_zone)
    frequency = schedule.frequency_per_week
    # Whole days up to one session a day; half days beyond (at most fourteen a week).
    units_per_day = 1 if frequency <= 7 else 2
    units = 7 * units_per_day
    windows = []
    every_week = range(schedule.duration_weeks)
    for week in every_week if weeks is None else range(max(weeks.start, 0), min(weeks.stop, every_week.stop)):
        week_start = schedule.start_date + timedelta(days=7 * week)
        opens = [math.floor(j * units / frequency) for j in range(frequency)]
        for index, unit in enumerate(opens):
            end_unit = opens[index + 1] if index + 1 < frequency else units
            windows.append(
                (
                    week,
                    index,
                    _unit_instant(week_start, unit, units_per_day, zone),
                    _unit_instant(week_start, end_unit, units_per_day, zone),
                )
            )
    return windows


def _unit_instant(week_start: date, unit: int, units_per_day: int, zone: ZoneInfo) -> datetime:
    day, part = divmod(unit, units_per_day)
    # Half days start at local noon: the wall clock, not 12 elapsed hours, so DST days split the same way.
    return datetime.combine(week_start + timedelta(days=day), time(12 * part), tzinfo=zone)


def _active_intervals(history: list[StatusChange], until: datetime) -> list[tuple[datetime, datetime]]:
    """The spans during which the enrollment was ``active``, up to ``until``."""
    spans = []
    ordered = sorted(history, key=lambda change: change.at)
    for position, change in enumerate(ordered):
        if change.status != "active":
            continue
        end = ordered[position + 1].at if position + 1 < len(ordered) else until
        if end > change.at:
            spans.append((change.at, end))
    return spans


def _overlaps(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(span_start < end and start < span_end for span_start, span_end in spans)


def _active_at(spans: list[tuple[datetime, datetime]], instant: datetime) -> bool:
    return any(span_start <= instant < span_end for span_start, span_end in spans)


def _applicable(spans: list[tuple[datetime, datetime]], opens: datetime, closes: datetime, as_of: datetime) -> bool:
    """A closed window counts if the enrollment was active at some moment of it; an open or future one if
    it is active now or was since the window opened (a paused or pending enrollment offers nothing new)."""
    if as_of <= opens:
        return _active_at(spans, as_of)
    if as_of < closes:
        return _active_at(spans, as_of) or _overlaps(spans, opens, as_of)
    return _overlaps(spans, opens, closes)


def compute_slots(
    schedule: Schedule,
    history: list[StatusChange],
    completions: list[Completion],
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
    windows = slot_windows(schedule, weeks)
    last_close = windows[-1][3] if windows else as_of
    active = _active_intervals(history, max(as_of, last_close) + timedelta(days=1))
    opens_list = [opens for _, _, opens, _ in windows]
    by_slot: dict[int, list[Completion]] = {}
    for completion in completions:
        position = bisect.bisect_right(opens_list, completion.started_at) - 1
        if position >= 0 and completion.started_at < windows[position][3]:
            by_slot.setdefault(position, []).append(completion)
    slots = []
    utc = ZoneInfo("UTC")
    for position, (week, index, opens, closes) in enumerate(windows):
        chosen = _representative(by_slot.get(position, []), as_of)
        state = _state(opens, closes, as_of, chosen, applicable=_applicable(active, opens, closes, as_of))
        slots.append(
            Slot(
                week=week,
                index_in_week=index,
                opens_at=opens.astimezone(utc),
                closes_at=closes.astimezone(utc),
                state=state,
                completion_id=chosen.id if chosen is not None and state in _WITH_COMPLETION else None,
            )
        )
    return slots


_WITH_COMPLETION = frozenset({SlotState.COMPLETED, SlotState.DECLINED, SlotState.ABANDONED, SlotState.STARTED})
_PREFERENCE = {CompletionStatus.COMPLETED: 0, CompletionStatus.SKIPPED: 1, CompletionStatus.IN_PROGRESS: 2}


def _representative(candidates: list[Completion], as_of: datetime) -> Completion | None:
    """The completion that decides a slot, among those that had started by ``as_of``."""
    seen = [c for c in candidates if c.started_at <= as_of]
    if not seen:
        return None
    return min(seen, key=lambda c: (_PREFERENCE[_status_at(c, as_of)], c.started_at, c.id))


def _status_at(completion: Completion, as_of: datetime) -> CompletionStatus:
    """What the completion was at ``as_of``: finished later means still in progress then."""
    if completion.ended_at is not None and completion.ended_at <= as_of:
        return completion.status
    return CompletionStatus.IN_PROGRESS


def _state(
    opens: datetime, closes: datetime, as_of: datetime, completion: Completion | None, *, applicable: bool
) -> SlotState:
    if not applicable:
        return SlotState.NOT_APPLICABLE
    if completion is not None:
        status = _status_at(completion, as_of)
        if status == CompletionStatus.SKIPPED:
            return SlotState.DECLINED
        if status == CompletionStatus.COMPLETED and completion.ended_at is not None and completion.ended_at < closes:
            return SlotState.COMPLETED
        # Started in the window but not finished before it closed (or not finished yet).
        return SlotState.ABANDONED if as_of >= closes else SlotState.STARTED
    if as_of < opens:
        return SlotState.NOT_YET_AVAILABLE
    return SlotState.EXPIRED if as_of >= closes else SlotState.UNSTARTED
