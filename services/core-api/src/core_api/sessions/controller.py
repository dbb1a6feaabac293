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
from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from service_common.auth.actor import CurrentActor

from core_api.dependencies import SessionExercises, Sessions
from core_api.routing import READ_ERRORS, STAFF, WRITE_ERRORS

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

    @get("/treatment-plans/{plan_id:uuid}/sessions", operation_id="ListTreatmentPlanSessions", responses=READ_ERRORS)
    async def list_sessions(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID]
    ) -> TreatmentPlanSessionList:
        """The plan's sessions by number, each with its exercise count."""
        return await sessions.list(actor, plan_id)

    @post(
        "/treatment-plans/{plan_id:uuid}/sessions",
        operation_id="CreateTreatmentPlanSession",
        responses=WRITE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_session(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], data: JSONBody[SessionCreate]
    ) -> TreatmentPlanSession:
        """Add a session to a draft plan: appended without a number, inserted (shifting the later ones
        up) at a taken one."""
        return await sessions.create(actor, plan_id, data)

    @put(
        "/treatment-plans/{plan_id:uuid}/sessions/reorder",
        operation_id="ReorderTreatmentPlanSessions",
        responses=WRITE_ERRORS,
    )
    async def reorder_sessions(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], data: JSONBody[SessionReorder]
    ) -> TreatmentPlanSessionList:
        """Renumber the sessions 1..n in the order of `session_ids`, which must list each of them once."""
        return await sessions.reorder(actor, plan_id, data)

    @put(
        "/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}",
        operation_id="UpdateTreatmentPlanSession",
        responses=WRITE_ERRORS,
    )
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

    @delete(
        "/treatment-plans/{plan_id:uuid}/sessions/{session_id:int}",
        operation_id="DeleteTreatmentPlanSession",
        responses=WRITE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_session(
        self, actor: CurrentActor, sessions: Sessions, plan_id: FromPath[UUID], session_id: SessionId
    ) -> None:
        """Delete a session and its exercises; the later sessions are renumbered to close the gap."""
        await sessions.delete(actor, plan_id, session_id)

    # A session read by its id alone: where a created session's ``Location`` points.
    @get("/treatment-plan-sessions/{session_id:int}", operation_id="GetTreatmentPlanSession", responses=READ_ERRORS)
    async def get_session(self, actor: CurrentActor, sessions: Sessions, session_id: SessionId) -> TreatmentPlanSession:
        """One session of a plan of the organization or of a global plan, with its exercise count."""
        return await sessions.get(actor, session_id)

    @get(
        "/treatment-plan-sessions/{session_id:int}/exercises",
        operation_id="ListSessionExercises",
        responses=READ_ERRORS,
    )
    async def list_exercises(
        self, actor: CurrentActor, session_exercises: SessionExercises, session_id: SessionId
    ) -> SessionExerciseList:
        """The exercises the session prescribes, by sort order."""
        return await session_exercises.list(actor, session_id)

    @post(
        "/treatment-plan-sessions/{session_id:int}/exercises",
        operation_id="CreateSessionExercise",
        responses=WRITE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_exercise(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        data: JSONBody[SessionExerciseCreate],
    ) -> SessionExercise:
        """Prescribe a published exercise (a draft one too, for admins) in a draft plan's session."""
        return await session_exercises.create(actor, session_id, data)

    @put(
        "/treatment-plan-sessions/{session_id:int}/exercises/reorder",
        operation_id="ReorderSessionExercises",
        responses=WRITE_ERRORS,
    )
    async def reorder_exercises(
        self,
        actor: CurrentActor,
        session_exercises: SessionExercises,
        session_id: SessionId,
        data: JSONBody[SessionExerciseReorder],
    ) -> SessionExerciseList:
        """Order the exercises 0..n-1 as `exercise_ids`, which must list each of them once."""
        return await session_exercises.reorder(actor, session_id, data)

    @put(
        "/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}",
        operation_id="UpdateSessionExercise",
        responses=WRITE_ERRORS,
    )
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

    @delete(
        "/treatment-plan-sessions/{session_id:int}/exercises/{session_exercise_id:int}",
        operation_id="DeleteSessionExercise",
        responses=WRITE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
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
    @get("/session-exercises/{session_exercise_id:int}", operation_id="GetSessionExercise", responses=READ_ERRORS)
    async def get_exercise(
        self, actor: CurrentActor, session_exercises: SessionExercises, session_exercise_id: SessionExerciseId
    ) -> SessionExercise:
        """One exercise as a session prescribes it."""
        return await session_exercises.get(actor, session_exercise_id)
