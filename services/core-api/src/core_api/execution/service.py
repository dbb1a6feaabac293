"""The rules of session execution: today's session, starting, logging exercises, completing, skipping.

Rotation: an enrollment's sessions are offered in the order of its frozen version, cycling: with three
sessions the next one after ``n`` completed sessions is ``n % 3 + 1`` (1, 2, 3, 1, 2, 3, ...). Skipped
sessions do not advance the rotation: the skipped session is offered again.

Weeks: week 1 of an enrollment is its start date and the six days after it, as calendar days in the
patient's IANA time zone; "sessions this week" counts sessions completed in the current week's local
days.

Starting is idempotent: every start, completion and skip of an enrollment first locks the enrollment
row, so two starts run one after the other and the second returns the session the first began. A
partial unique index (one ``in_progress`` completion per enrollment) is the backstop.

Every write records an audit row in its own transaction. See docs/session-execution.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from contracts.enrollments import EnrollmentStatus
from contracts.execution import (
    ExerciseLog,
    ExerciseLogList,
    ExerciseLogUpdate,
    ExercisePrescription,
    NoSessionReason,
    SessionComplete,
    SessionCompletion,
    SessionCompletionStatus,
    SessionSkip,
    SessionStart,
    StartedExercise,
    StartedSession,
    TodayPlan,
    TodayPlanRef,
    TodayProgress,
    TodaySessions,
)
from contracts.plans import PlanSession
from contracts.problems import FieldError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, NotFoundError, UnprocessableError

from core_api.adherence.alerts import check_pain
from core_api.adherence.history import recompute_weekly
from core_api.audit import trail
from core_api.automation import outbox
from core_api.consent import service as consent
from core_api.db.tenancy import actor_transaction
from core_api.enrollments.service import expire_overdue, record_expiry_first
from core_api.execution import repository as repo
from core_api.time_zones import patient_zone

_sessions_decoder = msgspec.json.Decoder(list[PlanSession])

PLAN_COMPLETED_REASON = "every session of the plan is completed"


class PlanWeek(msgspec.Struct, frozen=True):
    """A week of an enrollment: its 1-based number (0 before the start date) and its local-midnight
    bounds, ``starts_at`` inclusive and ``ends_at`` exclusive."""

    number: int
    starts_at: datetime
    ends_at: datetime


def plan_week(start_date: date, now: datetime, zone: ZoneInfo) -> PlanWeek:
    """The enrollment week ``now`` falls in, counted in local calendar days of ``zone``."""
    days = (now.astimezone(zone).date() - start_date).days
    number = days // 7 + 1 if days >= 0 else 0
    first_day = start_date + timedelta(days=7 * max(number - 1, 0))
    starts_at = datetime.combine(first_day, time(), tzinfo=zone)
    ends_at = datetime.combine(first_day + timedelta(days=7), time(), tzinfo=zone)
    if number == 0:
        ends_at = starts_at
    return PlanWeek(number=number, starts_at=starts_at, ends_at=ends_at)


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


def _today_plan(row: repo.TodayEnrollment, now: datetime, zone: ZoneInfo) -> TodayPlan:
    sessions = _sessions_decoder.decode(row.sessions_json)
    week = plan_week(row.start_date, now, zone)
    reason = no_session_reason(
        row.status,
        now.astimezone(zone).date(),
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
            current_week=min(week.number, row.duration_weeks),
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


def started_session(completion: SessionCompletion, sessions: list[PlanSession], pose_allowed: bool) -> StartedSession:
    """The start response: the completion with the spec's names, each exercise's content taken from the
    frozen version's session. The logs were copied from that same snapshot at start, one per exercise with
    its sort order, so every log has its exercise there."""
    [session] = (s for s in sessions if s.session_number == completion.session_number)
    frozen = {exercise.sort_order: exercise.exercise for exercise in session.exercises}
    exercises = [
        StartedExercise(
            exercise_log_id=log.id,
            exercise_id=log.exercise_id,
            sort_order=log.sort_order,
            exercise=frozen[log.sort_order],
            **{name: getattr(log, name) for name in ExercisePrescription.__struct_fields__},
        )
        for log in completion.exercise_logs
    ]
    return StartedSession(
        **msgspec.structs.asdict(completion)
        | {"pose_tracking_allowed": pose_allowed, "session_completion_id": completion.id, "exercises": exercises}
    )


class ExecutionService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection]) -> None:
        self._pool = pool

    # Reads --------------------------------------------------------------------------------------------

    async def today(self, actor: Actor, patient_id: int) -> TodaySessions:
        async with actor_transaction(self._pool, actor) as conn:
            zone_name = await repo.patient_time_zone(conn, patient_id)
            if zone_name is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            rows = await repo.today_enrollments(conn, patient_id)
            await trail.record_read(conn, actor, "today_sessions.read", "patient", patient_id, patient_id=patient_id)
            pose_allowed = await consent.pose_tracking_allowed(conn, patient_id)
        now = datetime.now(UTC)
        zone = patient_zone(zone_name)
        plans = [_today_plan(row, now, zone) for row in rows]
        due = due_next(rows, plans)
        return TodaySessions(
            patient_treatment_plan_id=None if due is None else due.patient_treatment_plan_id,
            treatment_plan=None if due is None else due.treatment_plan,
            next_session=None if due is None else due.next_session,
            progress=None if due is None else due.progress,
            in_progress_session_completion_id=None if due is None else due.in_progress_session_completion_id,
            patient_id=patient_id,
            time_zone=zone.key,
            local_date=now.astimezone(zone).date(),
            pose_tracking_allowed=pose_allowed,
            treatment_plans=plans,
        )

    async def get(self, actor: Actor, completion_id: int) -> SessionCompletion:
        async with actor_transaction(self._pool, actor) as conn:
            completion = await _completion(conn, completion_id)
            await trail.record_read(
                conn,
                actor,
                "patient_session_completion.read",
                "patient_session_completion",
                completion_id,
                patient_id=completion.patient_id,
            )
            return completion

    async def exercise_logs(self, actor: Actor, completion_id: int) -> ExerciseLogList:
        async with actor_transaction(self._pool, actor) as conn:
            enrollment_id = await repo.completion_enrollment_id(conn, completion_id)
            if enrollment_id is None:
                raise NotFoundError(f"session completion {completion_id} does not exist")
            logs = ExerciseLogList(exercise_logs=await repo.exercise_logs(conn, completion_id=completion_id))
            await trail.record_read(
                conn,
                actor,
                "patient_exercise_log.read",
                "patient_session_completion",
                completion_id,
                enrollment_id=enrollment_id,
            )
            return logs

    # Writes -------------------------------------------------------------------------------------------

    async def start(
        self, actor: Actor, enrollment_id: int, session_number: int, data: SessionStart
    ) -> tuple[StartedSession, bool]:
        """The started session and whether it is new; an already started one is returned as it is."""
        await record_expiry_first(self._pool, actor, enrollment_id)
        async with actor_transaction(self._pool, actor) as conn:
            # An overdue enrollment's expiry is recorded before anything depends on its status.
            await expire_overdue(conn, enrollment_id=enrollment_id)
            enrollment = await repo.lock_enrollment(conn, enrollment_id)
            if enrollment is None:
                raise NotFoundError(f"enrollment {enrollment_id} does not exist")
            pose_allowed = await consent.pose_tracking_allowed(conn, enrollment.patient_id)
            sessions = _sessions_decoder.decode(enrollment.sessions_json)
            existing = await repo.in_progress_completion(conn, enrollment_id)
            if existing is not None:
                return started_session(await _completion(conn, existing), sessions, pose_allowed), False
            local_date = datetime.now(UTC).astimezone(patient_zone(enrollment.time_zone)).date()
            reason = no_session_reason(
                enrollment.status,
                local_date,
                enrollment.start_date,
                enrollment.end_date,
                enrollment.sessions_done,
                enrollment.sessions_total,
            )
            if reason is not None:
                raise ConflictError(f"no session can be started: the enrollment is {reason}")
            session = next((s for s in sessions if s.session_number == session_number), None)
            if session is None:
                raise NotFoundError(f"the enrollment's plan version has no session {session_number}")
            completion_id = await repo.insert_completion(
                conn,
                {
                    "organization_id": enrollment.organization_id,
                    "patient_id": enrollment.patient_id,
                    "enrollment_id": enrollment_id,
                    "session_number": session_number,
                    "pain_level_before": data.pain_level_before,
                    "exercises_total": len(session.exercises),
                },
            )
            await repo.insert_exercise_logs(conn, [completion_id])
            await recompute_weekly(conn, enrollment_id)
            started = await _completion(conn, completion_id)
            await trail.record(
                conn,
                actor,
                "patient_session_completion.started",
                "patient_session_completion",
                completion_id,
                after=started,
            )
        return started_session(started, sessions, pose_allowed), True

    async def update_log(self, actor: Actor, log_id: int, data: ExerciseLogUpdate) -> ExerciseLog:
        changes: dict[str, Any] = {
            name: None if value is msgspec.UNSET else value for name, value in msgspec.structs.asdict(data).items()
        }
        async with actor_transaction(self._pool, actor) as conn:
            session = await repo.lock_log_completion(conn, log_id)
            if session is None:
                raise NotFoundError(f"exercise log {log_id} does not exist")
            if session.status != SessionCompletionStatus.IN_PROGRESS:
                raise ConflictError(f"the session is {session.status}; its exercise logs are read-only")
            [before] = await repo.exercise_logs(conn, log_id=log_id)
            _check_log_update(before, changes)
            await repo.update_exercise_log(conn, changes | {"id": log_id})
            [after] = await repo.exercise_logs(conn, log_id=log_id)
            action = (
                "patient_exercise_log.skipped"
                if after.skipped and not before.skipped
                else "patient_exercise_log.updated"
            )
            await trail.record(conn, actor, action, "patient_exercise_log", log_id, before=before, after=after)
        return after

    async def _record_expiry_first(self, actor: Actor, completion_id: int) -> None:
        """The pending expiry of the completion's enrollment, recorded before the write that finishes the
        completion (``enrollments.service.record_expiry_first``): a refused finish leaves it recorded."""
        async with actor_transaction(self._pool, actor) as conn:
            enrollment_id = await repo.completion_enrollment_id(conn, completion_id)
        if enrollment_id is not None:
            await record_expiry_first(self._pool, actor, enrollment_id)

    async def complete(self, actor: Actor, completion_id: int, data: SessionComplete) -> SessionCompletion:
        await self._record_expiry_first(actor, completion_id)
        async with actor_transaction(self._pool, actor) as conn:
            enrollment = await _lock_in_progress(conn, completion_id, "completed")
            await repo.finish_completion(
                conn,
                {
                    "id": completion_id,
                    "pain_level_after": data.pain_level_after,
                    "perceived_difficulty": data.perceived_difficulty,
                    "notes": data.notes,
                },
            )
            status_after = await repo.count_completed_session(conn, enrollment.id)
            plan_completed = enrollment.status != status_after
            if plan_completed:
                await repo.record_status_change(
                    conn,
                    {
                        "id": enrollment.id,
                        "from_status": enrollment.status,
                        "reason": PLAN_COMPLETED_REASON,
                        "user_id": actor.user_id,
                        "role": actor.role,
                    },
                )
            if enrollment.post_session_form_template_id is not None:
                await repo.insert_form_instance(conn, completion_id, enrollment.post_session_form_template_id)
            completed = await _completion(conn, completion_id)
            await recompute_weekly(conn, enrollment.id)
            await check_pain(conn, completion_id)
            await _fire_completion_events(conn, enrollment, completed, plan_completed=plan_completed)
            await trail.record(
                conn,
                actor,
                "patient_session_completion.completed",
                "patient_session_completion",
                completion_id,
                after=completed,
            )
            if plan_completed:
                await trail.record(
                    conn,
                    actor,
                    "patient_treatment_plan.completed",
                    "patient_treatment_plan",
                    enrollment.id,
                    before={"status": enrollment.status},
                    after={"status": status_after, "reason": PLAN_COMPLETED_REASON},
                )
        return completed

    async def skip(self, actor: Actor, completion_id: int, data: SessionSkip) -> SessionCompletion:
        await self._record_expiry_first(actor, completion_id)
        async with actor_transaction(self._pool, actor) as conn:
            enrollment = await _lock_in_progress(conn, completion_id, "skipped")
            await repo.skip_completion(conn, completion_id, data.reason)
            await repo.count_skipped_session(conn, enrollment.id)
            skipped = await _completion(conn, completion_id)
            await recompute_weekly(conn, enrollment.id)
            await trail.record(
                conn,
                actor,
                "patient_session_completion.skipped",
                "patient_session_completion",
                completion_id,
                after=skipped,
            )
        return skipped


async def _completion(conn: AsyncConnection, completion_id: int) -> SessionCompletion:
    found = await repo.completion(conn, completion_id)
    if found is None:
        raise NotFoundError(f"session completion {completion_id} does not exist")
    return found


async def _lock_in_progress(conn: AsyncConnection, completion_id: int, verb: str) -> repo.LockedEnrollment:
    """Lock the enrollment, then the completion (the order starts use too), and check the completion is
    still in progress; the locked enrollment."""
    enrollment_id = await repo.completion_enrollment_id(conn, completion_id)
    if enrollment_id is None:
        raise NotFoundError(f"session completion {completion_id} does not exist")
    # A session finished after the end date counts, but cannot complete an expired plan: the expiry is
    # recorded first, as the nightly job would have.
    await expire_overdue(conn, enrollment_id=enrollment_id)
    enrollment = await repo.lock_enrollment(conn, enrollment_id)
    session = await repo.lock_completion(conn, completion_id)
    if enrollment is None or session is None:
        raise NotFoundError(f"session completion {completion_id} does not exist")
    if session.status != SessionCompletionStatus.IN_PROGRESS:
        raise ConflictError(f"the session is already {session.status}; only a session in progress can be {verb}")
    return enrollment


def _check_log_update(before: ExerciseLog, changes: dict[str, Any]) -> None:
    started = changes["started_at"] or before.started_at
    completed = changes["completed_at"] or before.completed_at
    errors = []
    if started is not None and completed is not None and completed < started:
        errors.append(FieldError("completed_at", "completed_at is before started_at"))
    skipped = before.skipped if changes["skipped"] is None else changes["skipped"]
    if changes["skip_reason"] is not None and not skipped:
        errors.append(FieldError("skip_reason", "a skip reason needs skipped: true"))
    if errors:
        raise UnprocessableError("the exercise log update is inconsistent", errors=errors)


async def _fire_completion_events(
    conn: AsyncConnection, enrollment: repo.LockedEnrollment, completed: SessionCompletion, *, plan_completed: bool
) -> None:
    """Steps 7-8: the automation triggers, written in the completion's transaction (the outbox)."""
    progress = completed.plan_progress
    await outbox.fire(
        conn,
        enrollment.organization_id,
        "treatment_plan.session_completed",
        "patient_session_completion",
        completed.id,
        {
            "patient_treatment_plan_id": enrollment.id,
            "session_completion_id": completed.id,
            "session_number": completed.session_number,
            "sessions_completed": progress.sessions_completed,
            "sessions_total": progress.sessions_total,
            "post_session_form_id": completed.post_session_form_id,
        },
    )
    if plan_completed:
        await outbox.fire(
            conn,
            enrollment.organization_id,
            "treatment_plan.completed",
            "patient_treatment_plan",
            enrollment.id,
            {
                "patient_treatment_plan_id": enrollment.id,
                "sessions_completed": progress.sessions_completed,
                "sessions_total": progress.sessions_total,
            },
        )
