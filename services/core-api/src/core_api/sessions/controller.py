"""HTTP routes of a draft plan's sessions and of the exercises each session prescribes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

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
from litestar import Controller
from litestar.params import FromPath, JSONBody, PathParameter
from service_common.auth.actor import CurrentActor

from core_api.dependencies import SessionExercises, Sessions
from core_api.routing import STAFF, WRITE_ERRORS, create, read, remove, update

# Far beyond any id the tables will reach, below PostgreSQL's bigint maximum, and (unlike that maximum)
# exact as the float the OpenAPI document renders a bound as.
_MAX_ID = 10**18
SessionId = Annotated[int, PathParameter(ge=1, le=_MAX_ID, description="a session's id")]
SessionExerciseId = Annotated[
    int,
    PathParameter(ge=1, le=_MAX_ID, description="a session exercise's own id (its `id`, not its `exercise_id`)"),
]


class TreatmentPlanSessionController(Controller):
    path = "/v1"
    tags = ["treatment plan sessions"]
    guards = [STAFF]

    @read("/treatment-plans/{plan_id:uuid}/sessions", "ListTreatmentPlanSessions")
    async def list_sessions(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID]
    ) -> TreatmentPlanSessionList:
        """The plan's sessions by number, each with its exercise count."""
        return await sessions.list(actor, plan_id)

    @create("/treatment-plans/{plan_id:uuid}/sessions", "CreateTreatmentPlanSession", errors=WRITE_ERRORS)
    async def create_session(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], data: JSONBody[SessionCreate]
    ) -> TreatmentPlanSession:
        """Add a session to a draft plan: appended without a number, inserted (shifting the later ones
        up) at a taken one."""
        return await sessions.create(actor, plan_id, data)

    @update("/treatment-plans/{plan_id:uuid}/sessions/reorder", "ReorderTreatmentPlanSessions")
    async def reorder_sessions(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], data: JSONBody[SessionReorder]
    ) -> TreatmentPlanSessionList:
        """Renumber the sessions 1..n in the order of `session_ids`, which must list each of them once."""
        return await sessions.reorder(actor, plan_id, data)

    @update("/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}", "UpdateTreatmentPlanSession")
    async def update_session(
        self,
        actor: CurrentActor,
        sessions: Sessions,
        plan_id: FromPath[UUID],
        session_id: SessionId,
        data: JSONBody[SessionUpdate],
    ) -> TreatmentPlanSession:
        """Edit a session of a draft plan; a new `session_number` moves it."""
        return await sessions.update(actor, plan_id, session_id, data)

    @remove("/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}", "DeleteTreatmentPlanSession")
    async def delete_session(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], session_id: SessionId
    ) -> None:
        """Delete a session and its exercises; the later sessions are renumbered to close the gap."""
        await sessions.delete(actor, plan_id, session_id)

    # A session read by its id alone: where a created session's ``Location`` points.
    @read("/treatment-plan-sessions/{session_id:int}", "GetTreatmentPlanSession")
    async def get_session(self, actor: CurrentActor, sessions: Sessions, session_id: SessionId) -> TreatmentPlanSession:
        """One session of a plan of the organization or of a global plan, with its exercise count."""
        return await sessions.get(actor, session_id)

    @read("/treatment-plan-sessions/{session_id:int}/exercises", "ListSessionExercises")
    async def list_exercises(
        self, actor: CurrentActor, session_exercises: SessionExercises, session_id: SessionId
    ) -> SessionExerciseList:
        """The exercises the session prescribes, by sort order."""
        return await session_exercises.list(actor, session_id)

    @create("/treatment-plan-sessions/{session_id:int}/exercises", "CreateSessionExercise", errors=WRITE_ERRORS)
    async def create_exercise(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        data: JSONBody[SessionExerciseCreate],
    ) -> SessionExercise:
        """Prescribe a published exercise (a draft one too, for admins) in a draft plan's session."""
        return await session_exercises.create(actor, session_id, data)

    @update("/treatment-plan-sessions/{session_id:int}/exercises/reorder", "ReorderSessionExercises")
    async def reorder_exercises(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        data: JSONBody[SessionExerciseReorder],
    ) -> SessionExerciseList:
        """Order the exercises 0..n-1 as `exercise_ids`, which must list each of them once."""
        return await session_exercises.reorder(actor, session_id, data)

    @update("/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}", "UpdateSessionExercise")
    async def update_exercise(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        session_exercise_id: SessionExerciseId,
        data: JSONBody[SessionExerciseUpdate],
    ) -> SessionExercise:
        """Change a prescription, partially; a new `sort_order` moves it."""
        return await session_exercises.update(actor, session_id, session_exercise_id, data)

    @remove("/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}", "DeleteSessionExercise")
    async def delete_exercise(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        session_exercise_id: SessionExerciseId,
    ) -> None:
        """Remove a prescription; the later exercises move up to close the gap."""
        await session_exercises.delete(actor, session_id, session_exercise_id)

    # A prescription read by its id alone: where a created one's ``Location`` points.
    @read("/session-exercises/{session_exercise_id:int}", "GetSessionExercise")
    async def get_exercise(
        self, actor: CurrentActor, session_exercises: SessionExercises, session_exercise_id: SessionExerciseId
    ) -> SessionExercise:
        """One exercise as a session prescribes it."""
        return await session_exercises.get(actor, session_exercise_id)
