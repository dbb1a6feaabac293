"""The rules of editing a draft plan's sessions and the exercises each session prescribes.

Numbering: a plan's sessions are numbered 1..n and a session's exercises ordered 0..n-1, with no gaps and
no duplicates, after every change. Inserting at a taken position shifts the later ones on (a POST is an
insert, never a 409); deleting closes the gap; a move or a reorder renumbers in one statement.

Every change locks the plan row first (see :mod:`core_api.plans.locking`), so two changes of one
plan, or a change racing a publish, run one after the other; it needs the plan to be a ``draft`` (a
published plan is edited by opening its next version with ``PUT /v1/treatment-plans/{id}``), and it
writes its audit row in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import msgspec
from contracts.plans import ExerciseMode, PlanStatus
from contracts.problems import FieldError
from contracts.sessions import (
    SessionCreate,
    SessionExercise,
    SessionExerciseCreate,
    SessionExerciseList,
    SessionExerciseReorder,
    SessionExerciseUpdate,
    SessionReorder,
    SessionUpdate,
    TreatmentPlanSession,
    TreatmentPlanSessionList,
)
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, NotFoundError, UnprocessableError

from core_api.audit import trail
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.not_found import or_404
from core_api.plans.locking import lock_for_change
from core_api.plans.repository import LockedPlan
from core_api.sessions import repository as repo
from core_api.sessions.ordering import SESSION_EXERCISES, SESSIONS

# The prescription columns a session exercise update may change, besides sort_order.
PRESCRIPTION_FIELDS = (
    "exercise_id",
    "mode",
    "sets",
    "reps",
    "hold_seconds",
    "duration_seconds",
    "rest_between_sets_seconds",
    "rest_after_exercise_seconds",
    "notes",
)


class SessionService(PoolService):
    """The sessions of one plan: list, add, edit, delete, reorder."""

    async def list(self, actor: Actor, plan_id: UUID) -> TreatmentPlanSessionList:
        async with actor_transaction(self._pool, actor) as conn:
            if not await repo.plan_exists(conn, plan_id):
                raise NotFoundError(f"treatment plan {plan_id} does not exist")
            return TreatmentPlanSessionList(sessions=await repo.list_sessions(conn, plan_id))

    async def get(self, actor: Actor, session_id: int) -> TreatmentPlanSession:
        async with actor_transaction(self._pool, actor) as conn:
            session = await repo.read_session(conn, session_id)
        if session is None:
            raise _no_session(session_id)
        return session

    async def create(self, actor: Actor, plan_id: UUID, data: SessionCreate) -> TreatmentPlanSession:
        """Add a session. Without a ``session_number`` it is appended as n+1. A taken number is not a
        conflict: the new session is inserted there and that session and the later ones move up by one
        (clients insert between sessions this way). A number beyond n+1 would leave a gap and is a 422."""
        async with actor_transaction(self._pool, actor) as conn:
            plan = await _lock_draft(conn, plan_id)
            count = await repo.session_count(conn, plan_id)
            number = count + 1 if data.session_number is None else data.session_number
            if number > count + 1:
                raise _out_of_range("session_number", number, 1, count + 1)
            if number <= count:
                await SESSIONS.open(conn, plan_id, number)
            session_id = await repo.insert_session(
                conn,
                {
                    "organization_id": plan.organization_id,
                    "plan_id": plan_id,
                    "session_number": number,
                    "name": data.name,
                    "description": data.description or "",
                    "estimated_duration_minutes": data.estimated_duration_minutes,
                },
            )
            session = await _session(conn, plan_id, session_id)
            await trail.record(
                conn, actor, "treatment_plan_session.created", "treatment_plan_session", session_id, after=session
            )
        return session

    async def update(self, actor: Actor, plan_id: UUID, session_id: int, data: SessionUpdate) -> TreatmentPlanSession:
        """Edit a session; a new ``session_number`` (1..n) moves it there, shifting those in between."""
        changes = _set_fields(data)
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_draft(conn, plan_id)
            before = await _session(conn, plan_id, session_id)
            target = changes.pop("session_number", before.session_number)
            if target != before.session_number:
                count = await repo.session_count(conn, plan_id)
                if target > count:
                    raise _out_of_range("session_number", target, 1, count)
                await SESSIONS.move(conn, plan_id, before.session_number, target)
            values = msgspec.structs.asdict(before) | changes
            values["description"] = values["description"] or ""
            await repo.update_session(conn, values)
            session = await _session(conn, plan_id, session_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan_session.updated",
                "treatment_plan_session",
                session_id,
                before=before,
                after=session,
            )
        return session

    async def delete(self, actor: Actor, plan_id: UUID, session_id: int) -> None:
        """Delete a session with its exercises; the later sessions move down so numbers stay 1..n."""
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_draft(conn, plan_id)
            before = await _session(conn, plan_id, session_id)
            await repo.delete_session(conn, session_id)
            await SESSIONS.close(conn, plan_id, before.session_number)
            await trail.record(
                conn, actor, "treatment_plan_session.deleted", "treatment_plan_session", session_id, before=before
            )

    async def reorder(self, actor: Actor, plan_id: UUID, data: SessionReorder) -> TreatmentPlanSessionList:
        """Number the sessions 1..n in the order given; the list must hold every session id once."""
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_draft(conn, plan_id)
            before = TreatmentPlanSessionList(sessions=await repo.list_sessions(conn, plan_id))
            _check_permutation("session_ids", data.session_ids, [s.id for s in before.sessions], "session")
            await SESSIONS.reorder(conn, plan_id, data.session_ids)
            after = TreatmentPlanSessionList(sessions=await repo.list_sessions(conn, plan_id))
            await trail.record(
                conn,
                actor,
                "treatment_plan_sessions.reordered",
                "treatment_plan",
                plan_id,
                before=before,
                after=after,
            )
        return after


class SessionExerciseService(PoolService):
    """The exercises one session prescribes: list, add, edit, remove, reorder."""

    async def list(self, actor: Actor, session_id: int) -> SessionExerciseList:
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.session_plan_id(conn, session_id) is None:
                raise _no_session(session_id)
            return SessionExerciseList(exercises=await repo.list_session_exercises(conn, session_id))

    async def get(self, actor: Actor, session_exercise_id: int) -> SessionExercise:
        async with actor_transaction(self._pool, actor) as conn:
            found = await repo.read_session_exercise(conn, session_exercise_id)
        return or_404(found, f"session exercise {session_exercise_id} does not exist")

    async def create(self, actor: Actor, session_id: int, data: SessionExerciseCreate) -> SessionExercise:
        """Prescribe an exercise. Without a ``sort_order`` it goes last; at a taken position it is inserted
        and the later exercises move down by one. A position beyond the end is a 422."""
        values = msgspec.structs.asdict(data)
        async with actor_transaction(self._pool, actor) as conn:
            plan = await _lock_session(conn, session_id)
            await _check_exercise(conn, actor, data.exercise_id)
            _check_mode(values)
            count = await repo.session_exercise_count(conn, session_id)
            position = count if data.sort_order is None else data.sort_order
            if position > count:
                raise _out_of_range("sort_order", position, 0, count)
            if position < count:
                await SESSION_EXERCISES.open(conn, session_id, position)
            values |= {"organization_id": plan.organization_id, "session_id": session_id, "sort_order": position}
            new_id = await repo.insert_session_exercise(conn, values)
            created = await _session_exercise(conn, session_id, new_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan_session_exercise.created",
                "treatment_plan_session_exercise",
                new_id,
                after=created,
            )
        return created

    async def update(
        self, actor: Actor, session_id: int, session_exercise_id: int, data: SessionExerciseUpdate
    ) -> SessionExercise:
        """Edit a prescription; the mode rules apply to the result. A new ``sort_order`` (0..n-1) moves it
        there, shifting those in between."""
        changes = _set_fields(data)
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_session(conn, session_id)
            before = await _session_exercise(conn, session_id, session_exercise_id)
            if changes.get("exercise_id", before.exercise_id) != before.exercise_id:
                await _check_exercise(conn, actor, changes["exercise_id"])
            values = {name: getattr(before, name) for name in PRESCRIPTION_FIELDS}
            values |= {name: value for name, value in changes.items() if name in PRESCRIPTION_FIELDS}
            _check_mode(values)
            target = changes.get("sort_order", before.sort_order)
            if target != before.sort_order:
                count = await repo.session_exercise_count(conn, session_id)
                if target >= count:
                    raise _out_of_range("sort_order", target, 0, count - 1)
                await SESSION_EXERCISES.move(conn, session_id, before.sort_order, target)
            await repo.update_session_exercise(conn, values | {"id": session_exercise_id})
            updated = await _session_exercise(conn, session_id, session_exercise_id)
            await trail.record(
                conn,
                actor,
                "treatment_plan_session_exercise.updated",
                "treatment_plan_session_exercise",
                session_exercise_id,
                before=before,
                after=updated,
            )
        return updated

    async def delete(self, actor: Actor, session_id: int, session_exercise_id: int) -> None:
        """Remove a prescription; the later exercises move up so the order stays 0..n-1."""
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_session(conn, session_id)
            before = await _session_exercise(conn, session_id, session_exercise_id)
            await repo.delete_session_exercise(conn, session_exercise_id)
            await SESSION_EXERCISES.close(conn, session_id, before.sort_order)
            await trail.record(
                conn,
                actor,
                "treatment_plan_session_exercise.deleted",
                "treatment_plan_session_exercise",
                session_exercise_id,
                before=before,
            )

    async def reorder(self, actor: Actor, session_id: int, data: SessionExerciseReorder) -> SessionExerciseList:
        """Order the exercises 0..n-1 as given; the list must hold every prescription id once."""
        async with actor_transaction(self._pool, actor) as conn:
            await _lock_session(conn, session_id)
            before = SessionExerciseList(exercises=await repo.list_session_exercises(conn, session_id))
            _check_permutation("exercise_ids", data.exercise_ids, [e.id for e in before.exercises], "session exercise")
            await SESSION_EXERCISES.reorder(conn, session_id, data.exercise_ids)
            after = SessionExerciseList(exercises=await repo.list_session_exercises(conn, session_id))
            await trail.record(
                conn,
                actor,
                "treatment_plan_session_exercises.reordered",
                "treatment_plan_session",
                session_id,
                before=before,
                after=after,
            )
        return after


def _set_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial update sets (an explicit ``null`` included)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


async def _lock_draft(conn: AsyncConnection, plan_id: UUID) -> LockedPlan:
    """Lock the plan (404 unseen, 403 global) and require it to be a draft (409 otherwise)."""
    plan = await lock_for_change(conn, plan_id)
    if plan.status != PlanStatus.DRAFT:
        raise ConflictError(
            f"the treatment plan is {plan.status}: sessions change only while it is a draft "
            "(editing the plan opens its next version as a draft)"
        )
    return plan


async def _lock_session(conn: AsyncConnection, session_id: int) -> LockedPlan:
    """Lock the plan of a session as :func:`_lock_draft` does; 404 when the session is not visible."""
    plan_id = await repo.session_plan_id(conn, session_id)
    if plan_id is None:
        raise _no_session(session_id)
    plan = await _lock_draft(conn, plan_id)
    # The session may have been deleted while this transaction waited for the plan's lock.
    if await repo.session_plan_id(conn, session_id) != plan_id:
        raise _no_session(session_id)
    return plan


async def _session(conn: AsyncConnection, plan_id: UUID, session_id: int) -> TreatmentPlanSession:
    return or_404(
        await repo.get_session(conn, plan_id, session_id), f"treatment plan {plan_id} has no session {session_id}"
    )


async def _session_exercise(conn: AsyncConnection, session_id: int, session_exercise_id: int) -> SessionExercise:
    return or_404(
        await repo.get_session_exercise(conn, session_id, session_exercise_id),
        f"treatment plan session {session_id} has no exercise {session_exercise_id}",
    )


def _no_session(session_id: int) -> NotFoundError:
    return NotFoundError(f"treatment plan session {session_id} does not exist")


async def _check_exercise(conn: AsyncConnection, actor: Actor, exercise_id: UUID) -> None:
    """The exercise must be the organization's or global, and published unless an admin prescribes it."""
    published = await repo.exercise_published(conn, exercise_id)
    if published is None:
        raise UnprocessableError("the exercise does not exist", errors=[FieldError("exercise_id", "no such exercise")])
    if not published and actor.role != "admin":
        raise UnprocessableError(
            "the exercise is not published",
            errors=[FieldError("exercise_id", "a draft exercise can only be prescribed by an admin")],
        )


def _check_mode(values: dict[str, Any]) -> None:
    """``reps`` mode needs ``reps``; ``duration`` mode needs ``hold_seconds`` or ``duration_seconds``.
    (The table's checks say the same; checking here gives the client the field at fault.)"""
    errors: list[FieldError] = []
    if values["mode"] == ExerciseMode.REPS and values["reps"] is None:
        errors.append(FieldError("reps", "mode 'reps' needs reps"))
    if (
        values["mode"] == ExerciseMode.DURATION
        and values["hold_seconds"] is None
        and values["duration_seconds"] is None
    ):
        message = "mode 'duration' needs hold_seconds or duration_seconds"
        errors += [FieldError("hold_seconds", message), FieldError("duration_seconds", message)]
    if errors:
        raise UnprocessableError(f"the prescription is incomplete for mode '{values['mode']}'", errors=errors)


def _out_of_range(field: str, value: int, low: int, high: int) -> UnprocessableError:
    return UnprocessableError(
        f"{field} {value} is out of range: the numbering has no gaps",
        errors=[FieldError(field, f"must be between {low} and {high}")],
    )


def _check_permutation(field: str, given: list[int], current: list[int], noun: str) -> None:
    """``given`` must hold every id of ``current`` exactly once, and nothing else."""
    twice = sorted(item for item, seen in Counter(given).items() if seen > 1)
    unknown = sorted(set(given) - set(current))
    missing = sorted(set(current) - set(given))
    messages = [
        f"{what}: {', '.join(map(str, ids[:10]))}{', ...' if len(ids) > 10 else ''}"
        for what, ids in (
            ("listed more than once", twice),
            (f"not a {noun} of this {'plan' if noun == 'session' else 'session'}", unknown),
            ("missing", missing),
        )
        if ids
    ]
    if messages:
        raise UnprocessableError(
            f"{field} must list every {noun} id exactly once",
            errors=[FieldError(field, message) for message in messages],
        )
