"""The rules of the progress and analytics reports. Every rule is spelled out in docs/progress.md.

Weekly adherence comes from the adherence engine (``core_api.adherence.engine``), fed with the
enrollment's schedule, status history and sessions; nothing here re-derives windows or slot states.
Days (streaks, days remaining, the current week) are calendar days in the patient's IANA time zone.
Each report runs a fixed number of SQL statements, whatever the number of sessions and logs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from statistics import fmean

import msgspec
from contracts.dashboard import (
    AdherenceRates,
    ExerciseUsage,
    OrganizationDashboard,
    PainReduction,
    PlanCompletionRates,
    TopExercises,
)
from contracts.problems import FieldError
from contracts.progress import (
    AnalyticsReport,
    Engagement,
    ExercisePerformance,
    PainPoint,
    PerformanceTrend,
    PlanAdherence,
    ProgressReport,
    SessionAnalytics,
    SessionCompletionSummary,
    Streak,
    WeeklyAdherence,
)
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import UnprocessableError

from core_api.adherence.engine import (
    COMPLIANT,
    NOT_OFFERED,
    Completion,
    CompletionStatus,
    Schedule,
    Session,
    Slot,
    StatusChange,
    compute_slots,
    percentages,
)
from core_api.adherence.reports import EvidenceStates, evidence_counts
from core_api.audit import trail
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments.weeks import current_week, local_date
from core_api.execution.completions import CompletionRow
from core_api.not_found import or_404
from core_api.progress import repository as repo
from core_api.time_zones import patient_zone

# A trend needs the later half of the pose scores to differ from the earlier half by this many points.
TREND_THRESHOLD_POINTS = 5.0
# How many exercises each list of the organization dashboard's top exercises holds.
TOP_EXERCISES = 5


def _round1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def streaks(days: set[date], today: date) -> Streak:
    """Runs of consecutive ``days``: the longest, and the one ending today or yesterday (a streak is still
    alive on a day the patient has not exercised yet)."""
    best = run = 0
    previous: date | None = None
    for day in sorted(days):
        run = run + 1 if previous is not None and day == previous + timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    current = run if previous is not None and previous >= today - timedelta(days=1) else 0
    return Streak(current=current, best=best)


def performance_trend(scores: list[float]) -> PerformanceTrend:
    """Compare the mean of the later half of ``scores`` (in session order) with the earlier half: at least
    ``TREND_THRESHOLD_POINTS`` higher is improving, as much lower is declining, else stable (also with
    fewer than two scores; with an odd count the middle score is left out)."""
    half = len(scores) // 2
    if half == 0:
        return PerformanceTrend.STABLE
    change = fmean(scores[-half:]) - fmean(scores[:half])
    if change >= TREND_THRESHOLD_POINTS:
        return PerformanceTrend.IMPROVING
    if change <= -TREND_THRESHOLD_POINTS:
        return PerformanceTrend.DECLINING
    return PerformanceTrend.STABLE


def status_history(created_at: datetime, current_status: str, changes: list[repo.HistoryEntry]) -> list[StatusChange]:
    """The engine's history: the status the enrollment was created in (the first change's ``from``, or
    its status now when it never changed) at its creation, then every change."""
    initial = changes[0].from_status if changes else current_status
    return [StatusChange(created_at, initial), *(StatusChange(c.at, c.to_status) for c in changes)]


def weekly_adherence(slots: list[Slot], as_of: datetime, evidence: EvidenceStates) -> list[WeeklyAdherence]:
    """Per week that has begun by ``as_of``: expected = slots offered (every state but not_yet_available
    and not_applicable), completed = compliant slots, rate = 100 * completed / expected to one decimal
    (100.0 when nothing was offered, the engine's convention), and of the completed slots those whose
    session is verified or contradicted (``evidence``: completion id to evidence state)."""
    by_week: dict[int, list[Slot]] = defaultdict(list)
    for slot in slots:
        by_week[slot.week].append(slot)
    weeks = []
    for week, week_slots in sorted(by_week.items()):
        if min(slot.opens_at for slot in week_slots) > as_of:
            break
        expected = sum(slot.state not in NOT_OFFERED for slot in week_slots)
        completed = sum(slot.state in COMPLIANT for slot in week_slots)
        rate = round(100 * completed / expected, 1) if expected else 100.0
        verified, contradicted = evidence_counts(week_slots, evidence)
        weeks.append(
            WeeklyAdherence(
                week=week + 1,
                expected=expected,
                completed=completed,
                rate=rate,
                verified=verified,
                contradicted=contradicted,
            )
        )
    return weeks


def _engine_completion(id_: int, status: str, started_at: datetime, ended_at: datetime | None) -> Completion:
    return Completion(id=id_, started_at=started_at, status=CompletionStatus(status), ended_at=ended_at)


def _slots(row: repo.EnrollmentRow | repo.ActiveSchedule, sessions: Sequence[Session], as_of: datetime) -> list[Slot]:
    """The engine's slots of the enrollment ``row`` with its ``sessions``, as of ``as_of``."""
    schedule = Schedule(
        start_date=row.start_date,
        duration_weeks=row.duration_weeks,
        frequency_per_week=row.frequency_per_week,
        time_zone=patient_zone(row.time_zone).key,
    )
    history = status_history(row.created_at, row.status, repo.decode_history(row.history_json))
    return compute_slots(schedule, history, sessions, as_of)


def _enrollment_slots(row: repo.EnrollmentRow, completions: list[CompletionRow], as_of: datetime) -> list[Slot]:
    sessions = [_engine_completion(c.id, c.status, c.started_at, c.completed_at or c.skipped_at) for c in completions]
    return _slots(row, sessions, as_of)


def _progress(
    row: repo.EnrollmentRow, completions: list[CompletionRow], video_average: float | None, now: datetime
) -> ProgressReport:
    zone = patient_zone(row.time_zone)
    today = local_date(zone, now)
    completed = [c for c in completions if c.status == CompletionStatus.COMPLETED and c.completed_at is not None]
    durations = [c.duration_seconds for c in completed if c.duration_seconds is not None]
    rates = [100 * c.exercises_completed / c.exercises_total for c in completed if c.exercises_total > 0]
    return ProgressReport(
        patient_treatment_plan_id=row.id,
        sessions_total=row.sessions_total,
        sessions_completed=row.sessions_completed,
        sessions_skipped=row.sessions_skipped,
        sessions_remaining=max(row.sessions_total - row.sessions_completed - row.sessions_skipped, 0),
        completion_percentage=min(round(100 * row.sessions_completed / row.sessions_total, 2), 100.0),
        current_week=current_week(row.start_date, now, zone, row.duration_weeks),
        total_weeks=row.duration_weeks,
        start_date=row.start_date,
        end_date=row.end_date,
        days_remaining=max((row.end_date - today).days, 0),
        streak=streaks({c.completed_at.astimezone(zone).date() for c in completed if c.completed_at}, today),
        pain_trend=[
            PainPoint(session=order, before=c.pain_level_before, after=c.pain_level_after)
            for order, c in enumerate(completed, start=1)
        ],
        average_session_duration_seconds=round(fmean(durations)) if durations else None,
        average_completion_rate=round(fmean(rates), 1) if rates else None,
        average_video_watch_percentage=_round1(video_average),
    )


def _engagement(averages: repo.EngagementRow, completions: list[CompletionRow], evidence: EvidenceStates) -> Engagement:
    states = list(evidence.values())
    return Engagement(
        avg_video_watch_percentage=_round1(averages.avg_video_watch_percentage),
        avg_pose_accuracy=_round1(averages.avg_pose_accuracy),
        avg_measured_watch_percentage=_round1(averages.avg_measured_watch_percentage),
        avg_mean_form_score=_round1(averages.avg_mean_form_score),
        sessions_completed=sum(c.status == CompletionStatus.COMPLETED for c in completions),
        sessions_verified=states.count("verified"),
        sessions_contradicted=states.count("contradicted"),
    )


def _analytics(
    row: repo.EnrollmentRow,
    completions: list[CompletionRow],
    exercises: list[repo.ExerciseRow],
    averages: repo.EngagementRow,
    now: datetime,
) -> AnalyticsReport:
    evidence = repo.decode_evidence_states(averages.evidence_states)
    by_session: dict[int, list[SessionCompletionSummary]] = {number: [] for number in row.session_numbers}
    for c in completions:
        if c.status != CompletionStatus.COMPLETED or c.completed_at is None:
            continue
        by_session.setdefault(c.session_number, []).append(
            SessionCompletionSummary(
                completed_at=c.completed_at,
                duration_seconds=c.duration_seconds or 0,
                exercises_completed=c.exercises_completed,
                exercises_skipped=c.exercises_skipped,
                pain_level_before=c.pain_level_before,
                pain_level_after=c.pain_level_after,
                perceived_difficulty=c.perceived_difficulty,
                evidence_state=evidence.get(c.id),
            )
        )
    slots = _enrollment_slots(row, completions, now)
    overall = percentages([slot.state for slot in slots])
    return AnalyticsReport(
        patient_treatment_plan_id=row.id,
        sessions=[SessionAnalytics(session_number=n, completions=items) for n, items in sorted(by_session.items())],
        exercise_performance=[
            ExercisePerformance(
                exercise_id=e.exercise_id,
                exercise_name=e.exercise_name,
                times_performed=e.times_performed,
                times_skipped=e.times_skipped,
                average_completion_rate=_round1(e.average_completion_rate),
                average_video_watch_percentage=_round1(e.average_video_watch_percentage),
                average_pose_accuracy=_round1(e.average_pose_accuracy),
                trend=performance_trend(e.pose_scores),
                average_measured_watch_percentage=_round1(e.average_measured_watch_percentage),
                average_mean_form_score=_round1(e.average_mean_form_score),
            )
            for e in exercises
        ],
        adherence=PlanAdherence(
            weeks=weekly_adherence(slots, now, evidence),
            adherence_percent=overall.adherence_percent,
            noncompliance_percent=overall.noncompliance_percent,
        ),
        engagement=_engagement(averages, completions, evidence),
    )


def _adherence_rates(schedules: list[repo.ActiveSchedule], as_of: datetime) -> AdherenceRates:
    results = []
    verified = contradicted = 0
    for row in schedules:
        sessions = repo.decode_completions(row.completions_json)
        slots = _slots(row, sessions, as_of)
        results.append(percentages([slot.state for slot in slots]))
        evidence = {c.id: c.evidence_state for c in sessions if c.evidence_state is not None}
        counted = evidence_counts(slots, evidence)
        verified += counted[0]
        contradicted += counted[1]
    offered = sum(r.offered for r in results)
    compliant = sum(r.compliant for r in results)
    return AdherenceRates(
        active_plans=len(results),
        average_adherence_percent=round(fmean(r.adherence_percent for r in results), 1) if results else None,
        sessions_offered=offered,
        sessions_completed=compliant,
        completion_rate=round(100 * compliant / offered, 1) if offered else None,
        sessions_verified=verified,
        sessions_contradicted=contradicted,
    )


def _rounded_usage(usage: ExerciseUsage) -> ExerciseUsage:
    return msgspec.structs.replace(
        usage,
        average_pose_accuracy=_round1(usage.average_pose_accuracy),
        average_video_watch_percentage=_round1(usage.average_video_watch_percentage),
        average_measured_watch_percentage=_round1(usage.average_measured_watch_percentage),
        average_mean_form_score=_round1(usage.average_mean_form_score),
    )


def top_exercises(usage: list[ExerciseUsage]) -> TopExercises:
    """The most prescribed exercises, and the best and worst by mean pose accuracy (exercises with a
    score only); ties by name."""
    rounded = [_rounded_usage(u) for u in usage]
    scored = [u for u in rounded if u.average_pose_accuracy is not None]
    return TopExercises(
        most_prescribed=sorted(rounded, key=lambda u: (-u.times_prescribed, u.exercise_name))[:TOP_EXERCISES],
        best_performance=sorted(scored, key=lambda u: (-(u.average_pose_accuracy or 0), u.exercise_name))[
            :TOP_EXERCISES
        ],
        worst_performance=sorted(scored, key=lambda u: (u.average_pose_accuracy or 0, u.exercise_name))[:TOP_EXERCISES],
    )


class ProgressService(PoolService):
    async def progress(self, actor: Actor, enrollment_id: int) -> ProgressReport:
        async with actor_transaction(self._pool, actor) as conn:
            row, completions = await _read(conn, actor, enrollment_id, "progress.read")
            video_average = await repo.video_watch_average(conn, enrollment_id)
        return _progress(row, completions, video_average, datetime.now(UTC))

    async def analytics(self, actor: Actor, enrollment_id: int) -> AnalyticsReport:
        async with actor_transaction(self._pool, actor) as conn:
            row, completions = await _read(conn, actor, enrollment_id, "analytics.read")
            exercises = await repo.exercise_performance(conn, enrollment_id)
            averages = await repo.engagement(conn, enrollment_id)
        return _analytics(row, completions, exercises, averages, datetime.now(UTC))

    async def organization(self, actor: Actor, from_date: date | None, to_date: date | None) -> OrganizationDashboard:
        if from_date is not None and to_date is not None and from_date > to_date:
            raise UnprocessableError("the period is empty", errors=[FieldError("query:from", "from is after to")])
        async with actor_transaction(self._pool, actor) as conn:
            pain = await repo.pain_reduction(conn, from_date, to_date)
            schedules = await repo.active_schedules(conn, from_date, to_date)
            usage = await repo.exercise_usage(conn, from_date, to_date)
            outcomes = await repo.plan_outcomes(conn, from_date, to_date)
            billing = await repo.service_plan_usage(conn, from_date, to_date)
        finished = outcomes.completed + outcomes.expired + outcomes.cancelled
        return OrganizationDashboard(
            from_date=from_date,
            to_date=to_date,
            pain_reduction=PainReduction(
                plans=pain.plans,
                average_pain_before=_round1(pain.average_pain_before),
                average_pain_after=_round1(pain.average_pain_after),
                average_reduction=_round1(pain.average_reduction),
            ),
            adherence=_adherence_rates(schedules, datetime.now(UTC)),
            top_exercises=top_exercises(usage),
            plan_completion=PlanCompletionRates(
                completed=outcomes.completed,
                expired=outcomes.expired,
                cancelled=outcomes.cancelled,
                completion_rate=round(100 * outcomes.completed / finished, 1) if finished else None,
            ),
            revenue_per_plan=billing,
        )


async def _read(
    conn: AsyncConnection, actor: Actor, enrollment_id: int, action: str
) -> tuple[repo.EnrollmentRow, list[CompletionRow]]:
    """The enrollment and its sessions, with the audit row of the read ``action``; 404 when the caller
    cannot see it."""
    row = or_404(await repo.enrollment(conn, enrollment_id), f"enrollment {enrollment_id} does not exist")
    completions = await repo.completions(conn, enrollment_id)
    await trail.record_read(conn, actor, action, "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id)
    return row, completions
