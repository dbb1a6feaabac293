"""Adherence report responses: an enrollment's slots arranged by week and by day, and the organization
page's rows arranged from their stored weeks. See docs/adherence.md.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import msgspec
from contracts.adherence import (
    AdherenceDay,
    AdherenceSlot,
    AdherenceWeek,
    EventStreamReport,
    OrganizationWeeklyRow,
    WeeklyAdherenceReport,
)

from core_api.adherence import engine
from core_api.adherence import repository as repo
from core_api.adherence.loading import Enrollment, duration_weeks, summarize
from core_api.enrollments.weeks import week_index, week_start

# A completed session's evidence state, by completion id: only `verified` and `contradicted` are counted.
EvidenceStates = Mapping[int, str]


def completed_sessions(slots: list[engine.Slot]) -> list[int]:
    """The completions that decided the ``completed`` slots among ``slots``."""
    return [slot.completion_id for slot in slots if slot.state in engine.COMPLIANT and slot.completion_id is not None]


def evidence_counts(slots: list[engine.Slot], evidence: EvidenceStates) -> tuple[int, int]:
    """Of the ``completed`` slots, how many sessions are ``verified`` and how many ``contradicted``."""
    states = [evidence.get(completion_id) for completion_id in completed_sessions(slots)]
    return states.count("verified"), states.count("contradicted")


def _slot(slot: engine.Slot, zone: ZoneInfo) -> AdherenceSlot:
    return AdherenceSlot(
        week=slot.week + 1,
        index_in_week=slot.index_in_week + 1,
        opens_at=slot.opens_at,
        closes_at=slot.closes_at,
        opens_at_local=slot.opens_at.astimezone(zone),
        closes_at_local=slot.closes_at.astimezone(zone),
        state=slot.state,
        completion_id=slot.completion_id,
    )


def _week(enrollment: Enrollment, week: int, slots: list[engine.Slot], evidence: EvidenceStates) -> AdherenceWeek:
    first_day = week_start(enrollment.row.start_date, week)
    verified, contradicted = evidence_counts(slots, evidence)
    return AdherenceWeek(
        week=week + 1,
        start_date=first_day,
        end_date=first_day + timedelta(days=6),
        summary=summarize(slots),
        slots=[_slot(slot, enrollment.zone) for slot in slots],
        sessions_verified=verified,
        sessions_contradicted=contradicted,
    )


def event_stream(enrollment: Enrollment, evidence: EvidenceStates) -> EventStreamReport:
    """Every slot of ``enrollment`` by week, with the verified and contradicted sessions among the
    completed slots (``evidence``: the states of their completions)."""
    row = enrollment.row
    by_week: dict[int, list[engine.Slot]] = defaultdict(list)
    for slot in enrollment.slots:
        by_week[slot.week].append(slot)
    weeks = [_week(enrollment, week, slots, evidence) for week, slots in sorted(by_week.items())]
    summary = summarize(enrollment.slots)
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
        sessions_verified=sum(week.sessions_verified for week in weeks),
        sessions_contradicted=sum(week.sessions_contradicted for week in weeks),
    )


def weekly(enrollment: Enrollment, day: date, evidence: EvidenceStates | None = None) -> WeeklyAdherenceReport:
    """The plan week of ``enrollment`` that contains the local date ``day``: its seven days, the slots that
    open on each, and the week's percentages; with ``evidence`` (the states of the completed slots'
    sessions), the verified and contradicted sessions among them (the stored rows leave them out)."""
    row = enrollment.row
    index = week_index(row.start_date, day)
    first_day = week_start(row.start_date, index)
    slots, summary = enrollment.week(index)
    by_day: dict[date, list[AdherenceSlot]] = defaultdict(list)
    for slot in slots:
        arranged = _slot(slot, enrollment.zone)
        by_day[arranged.opens_at_local.date()].append(arranged)
    days = _week_days(first_day)
    in_plan = 0 <= index < duration_weeks(row)
    counts = None if evidence is None else evidence_counts(slots, evidence)
    return WeeklyAdherenceReport(
        patient_treatment_plan_id=row.id,
        patient_id=row.patient_id,
        time_zone=enrollment.zone.key,
        date=day,
        week=index + 1 if in_plan else None,
        week_start=first_day,
        week_end=days[-1],
        as_of=enrollment.as_of,
        threshold_percent=row.threshold_percent,
        below_threshold=summary.adherence_percent < row.threshold_percent,
        summary=summary,
        days=[AdherenceDay(date=each, slots=by_day.get(each, [])) for each in days],
        next_slot_date=row.start_date if index < 0 else None,
        sessions_verified=None if counts is None else counts[0],
        sessions_contradicted=None if counts is None else counts[1],
    )


# Enrollments of an organization share few week starts: the bulk recompute lays out each week's days once.
@functools.lru_cache(maxsize=1024)
def _week_days(first_day: date) -> tuple[date, ...]:
    return tuple(first_day + timedelta(days=offset_days) for offset_days in range(7))


def organization_row(stored: repo.StoredWeekRow, threshold: int) -> OrganizationWeeklyRow:
    """A page row from its stored week; a week outside the plan offers nothing (100 %, no slots)."""
    summary = stored.summary or summarize([])
    days = stored.days or [AdherenceDay(date=each, slots=[]) for each in _week_days(stored.week_start)]
    return OrganizationWeeklyRow(
        **msgspec.structs.asdict(stored) | {"summary": summary, "days": days},
        below_threshold=summary.adherence_percent < threshold,
    )
