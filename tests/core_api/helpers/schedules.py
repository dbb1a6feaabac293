"""Hypothesis strategies for the adherence engine: any schedule, and a scenario of a schedule with a status
history, sessions and an instant to compute at."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core_api.adherence.engine import Completion, CompletionStatus, Schedule, StatusChange
from hypothesis import strategies as st

Scenario = tuple[Schedule, list[StatusChange], list[Completion], datetime]
"""A schedule, its status history, its sessions and the instant to compute at."""

ZONES = ["UTC", "Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
schedules = st.builds(
    Schedule,
    start_date=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    duration_weeks=st.integers(1, 6),
    frequency_per_week=st.integers(1, 14),
    time_zone=st.sampled_from(ZONES),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    schedule = draw(schedules)
    zone = ZoneInfo(schedule.time_zone)
    begin = datetime.combine(schedule.start_date, datetime.min.time(), tzinfo=zone)
    span = timedelta(weeks=schedule.duration_weeks + 1)
    offsets = st.timedeltas(min_value=-timedelta(days=2), max_value=span)
    statuses = st.sampled_from(["active", "paused", "pending_approval", "cancelled"])
    history = [
        StatusChange(begin + offset, status)
        for offset, status in draw(st.lists(st.tuples(offsets, statuses), max_size=5))
    ]
    completions = []
    for identifier, (offset, status, minutes) in enumerate(
        draw(st.lists(st.tuples(offsets, st.sampled_from(list(CompletionStatus)), st.integers(1, 3000)), max_size=12))
    ):
        started = begin + offset
        ended = None if status == CompletionStatus.IN_PROGRESS else started + timedelta(minutes=minutes)
        completions.append(Completion(identifier, started, status, ended))
    as_of = begin + draw(offsets)
    return schedule, history, completions, as_of
