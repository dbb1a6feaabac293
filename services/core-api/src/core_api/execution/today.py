"""Today's session: which session each of a patient's enrollments offers now, and which one leads.

Rotation: an enrollment's sessions are offered in the order of its frozen version, cycling: with three
sessions the next one after ``n`` completed sessions is ``n % 3 + 1`` (1, 2, 3, 1, 2, 3, ...). Skipped
sessions do not advance the rotation: the skipped session is offered again.

Weeks are plan weeks (``core_api.enrollments.weeks``); "sessions this week" counts sessions completed in
the current week's local days. See docs/session-execution.md.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
from contracts.enrollments import EnrollmentStatus
from contracts.execution import NoSessionReason
from contracts.plan_details import PlanSession
from contracts.today import TodayPlan, TodayPlanRef, TodayProgress, TodaySessions

from core_api.enrollments import weeks
from core_api.execution import repository as repo

_sessions_decoder = msgspec.json.Decoder(list[PlanSession])


def plan_sessions(sessions_json: str) -> list[PlanSession]:
    """The sessions of an enrollment's frozen plan version, as stored."""
    return _sessions_decoder.decode(sessions_json)


def next_session_number(sessions_completed: int, session_count: int) -> int:
    """The session offered after ``sessions_completed`` completed ones, cycling through the sessions."""
    return sessions_completed % session_count + 1


def no_session_reason(
    status: str, local_date: date, start_date: date, end_date: date, sessions_done: int, sessions_total: int
) -> NoSessionReason | None:
    """Why the enrollment offers no session on ``local_date``, or ``None`` when it offers one.

    Each of the plan's ``sessions_total`` sessions is completed or skipped (declined) once, so when
    ``sessions_done`` (completed + skipped) reaches the total nothing more is offered."""
    if status != EnrollmentStatus.ACTIVE:
        return NoSessionReason(status)
    if local_date < start_date:
        return NoSessionReason.NOT_STARTED
    if local_date > end_date:
        # The status comes from the database's clock (enrollment_status_now), local_date from this
        # process's: they can straddle the patient's midnight by a moment. The outcome is the same.
        return NoSessionReason.EXPIRED
    if sessions_done >= sessions_total:
        return NoSessionReason.ALL_SESSIONS_DONE
    return None


def today_plan(row: repo.TodayEnrollment, now: datetime, zone: ZoneInfo) -> TodayPlan:
    """What ``row``'s enrollment offers at ``now``: the next session (or why none) and its progress."""
    sessions = row.sessions
    week = weeks.plan_week(row.start_date, now, zone)
    reason = no_session_reason(
        row.status,
        weeks.local_date(zone, now),
        row.start_date,
        row.end_date,
        row.sessions_completed + row.sessions_skipped,
        row.sessions_total,
    )
    next_session = None
    if reason is None and sessions:
        number = next_session_number(row.sessions_completed, len(sessions))
        next_session = next((s for s in sessions if s.session_number == number), sessions[0])
    return TodayPlan(
        patient_treatment_plan_id=row.id,
        treatment_plan=TodayPlanRef(id=row.treatment_plan_id, name=row.plan_name),
        enrollment_status=EnrollmentStatus(row.status),
        next_session=next_session,
        no_session_reason=reason,
        in_progress_session_completion_id=row.in_progress_id,
        progress=TodayProgress(
            sessions_completed=row.sessions_completed,
            sessions_skipped=row.sessions_skipped,
            sessions_total=row.sessions_total,
            current_week=weeks.current_week(row.start_date, now, zone, row.duration_weeks),
            total_weeks=row.duration_weeks,
            sessions_this_week=sum(1 for at in row.completed_at if week.starts_at <= at < week.ends_at),
            frequency_per_week=row.frequency_per_week,
            completion_percentage=round(100 * row.sessions_completed / row.sessions_total, 2),
        ),
    )


def due_next(rows: list[repo.TodayEnrollment], plans: list[TodayPlan]) -> TodayPlan | None:
    """The enrollment today's session shows at the top level: among those offering a session, one with a
    session in progress (the patient resumes it), then one still short of its weekly frequency this week,
    then the earliest start date, then the lowest id. ``None`` when no enrollment offers a session."""
    offered = [(row, plan) for row, plan in zip(rows, plans, strict=True) if plan.next_session is not None]
    if not offered:
        return None
    _, plan = min(
        offered,
        key=lambda pair: (
            pair[1].in_progress_session_completion_id is None,
            pair[1].progress.sessions_this_week >= pair[1].progress.frequency_per_week,
            pair[0].start_date,
            pair[0].id,
        ),
    )
    return plan


def today_sessions(
    patient_id: int, rows: list[repo.TodayEnrollment], now: datetime, zone: ZoneInfo, *, pose_allowed: bool
) -> TodaySessions:
    """The today's-session response: every enrollment's plan, and the one :func:`due_next` picks at the top."""
    plans = [today_plan(row, now, zone) for row in rows]
    due = due_next(rows, plans)
    return TodaySessions(
        patient_treatment_plan_id=None if due is None else due.patient_treatment_plan_id,
        treatment_plan=None if due is None else due.treatment_plan,
        next_session=None if due is None else due.next_session,
        progress=None if due is None else due.progress,
        in_progress_session_completion_id=None if due is None else due.in_progress_session_completion_id,
        patient_id=patient_id,
        time_zone=zone.key,
        local_date=weeks.local_date(zone, now),
        pose_tracking_allowed=pose_allowed,
        treatment_plans=plans,
    )
