"""The rules of session execution: today's session (arranged by ``today``), starting, logging exercises,
completing, skipping.

Starting is idempotent: every start, completion and skip of an enrollment first locks the enrollment
row, so two starts run one after the other and the second returns the session the first began. A
partial unique index (one ``in_progress`` completion per enrollment) is the backstop.

Every write records an audit row in its own transaction. See docs/session-execution.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from contracts.execution import ExerciseLogUpdate, SessionComplete, SessionCompletionStatus, SessionSkip, SessionStart
from contracts.exercise_logs import ExerciseLog, ExerciseLogList, ExercisePrescription
from contracts.plan_details import PlanSession
from contracts.problems import FieldError
from contracts.session_completions import SessionCompletion, StartedExercise, StartedSession
from contracts.today import TodaySessions
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, NotFoundError, UnprocessableError

from core_api.adherence.alerts import check_pain
from core_api.adherence.history import recompute_weekly
from core_api.audit import trail
from core_api.automation import outbox
from core_api.consent import rules as consent
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments import weeks
from core_api.enrollments.expiry import expire_overdue, record_expiry_first, status_write
from core_api.evidence.queue import queue_evidence
from core_api.execution import repository as repo
from core_api.execution.today import no_session_reason, plan_sessions, today_sessions
from core_api.not_found import or_404
from core_api.settings import EvidenceSettings
from core_api.time_zones import patient_zone

PLAN_COMPLETED_REASON = "every session of the plan is completed"


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


class ExecutionService(PoolService):
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], evidence: EvidenceSettings | None = None) -> None:
        super().__init__(pool)
        self._evidence = evidence or EvidenceSettings()

    # Reads --------------------------------------------------------------------------------------------

    async def today(self, actor: Actor, patient_id: int) -> TodaySessions:
        async with actor_transaction(self._pool, actor) as conn:
            read = or_404(await repo.today(conn, patient_id), f"patient {patient_id} does not exist")
            await trail.record_read(conn, actor, "today_sessions.read", "patient", patient_id, patient_id=patient_id)
        return today_sessions(
            patient_id,
            read.enrollments,
            datetime.now(UTC),
            patient_zone(read.time_zone),
            pose_allowed=read.consent.pose_tracking_allowed,
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
            enrollment_id = or_404(
                await repo.completion_enrollment_id(conn, completion_id),
                f"session completion {completion_id} does not exist",
            )
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
        # An overdue enrollment's expiry is recorded before anything depends on its status.
        async with status_write(self._pool, actor, enrollment_id) as conn:
            enrollment = or_404(
                await repo.lock_enrollment(conn, enrollment_id), f"enrollment {enrollment_id} does not exist"
            )
            pose_allowed = await consent.pose_tracking_allowed(conn, enrollment.patient_id)
            sessions = plan_sessions(enrollment.sessions_json)
            existing = await repo.in_progress_completion(conn, enrollment_id)
            if existing is not None:
                return started_session(await _completion(conn, existing), sessions, pose_allowed), False
            local_date = weeks.local_date(patient_zone(enrollment.time_zone), datetime.now(UTC))
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
            session = or_404(
                next((s for s in sessions if s.session_number == session_number), None),
                f"the enrollment's plan version has no session {session_number}",
            )
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
            session = or_404(await repo.lock_log_completion(conn, log_id), f"exercise log {log_id} does not exist")
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
        completion (``enrollments.expiry.record_expiry_first``): a refused finish leaves it recorded."""
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
            await queue_evidence(conn, completion_id, enrollment.patient_id, self._evidence.settle_seconds)
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
    return or_404(await repo.completion(conn, completion_id), f"session completion {completion_id} does not exist")


async def _lock_in_progress(conn: AsyncConnection, completion_id: int, verb: str) -> repo.LockedEnrollment:
    """Lock the enrollment, then the completion (the order starts use too), and check the completion is
    still in progress; the locked enrollment."""
    enrollment_id = or_404(
        await repo.completion_enrollment_id(conn, completion_id), f"session completion {completion_id} does not exist"
    )
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
