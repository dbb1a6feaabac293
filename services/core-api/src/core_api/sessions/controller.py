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
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.sessions.service import SessionExerciseService, SessionService

# Far beyond any id the tables will reach, below PostgreSQL's bigint maximum, and (unlike that maximum)
# exact as the float the OpenAPI document renders a bound as.
_MAX_ID = 10**18
SessionId = Annotated[int, PathParameter(ge=1, le=_MAX_ID, description="a session's id")]
SessionExerciseId = Annotated[
    int,
    PathParameter(ge=1, le=_MAX_ID, description="a session exercise's own id (its `id`, not its `exercise_id`)"),
]

STAFF = allow_roles("admin", "specialist")
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


class TreatmentPlanSessionController(Controller):
    path = "/v1/treatment-plans/{plan_id:uuid}/sessions"
    tags = ["treatment plan sessions"]
    security = bearer_security()
    guards = [STAFF]

    @get("/", operation_id="ListTreatmentPlanSessions", responses=READ_ERRORS)
    async def list_sessions(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        plan_id: FromPath[UUID],
    ) -> TreatmentPlanSessionList:
        """The plan's sessions by number, each with its exercise count."""
        return await SessionService(state.pool).list(current_actor(request), plan_id)

    @post(
        "/",
        operation_id="CreateTreatmentPlanSession",
        responses=WRITE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_session(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        plan_id: FromPath[UUID],
        data: JSONBody[SessionCreate],
    ) -> TreatmentPlanSession:
        """Add a session to a draft plan: appended without a number, inserted (shifting the later ones
        up) at a taken one."""
        return await SessionService(state.pool).create(current_actor(request), plan_id, data)

    @put("/reorder", operation_id="ReorderTreatmentPlanSessions", responses=WRITE_ERRORS)
    async def reorder_sessions(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        plan_id: FromPath[UUID],
        data: JSONBody[SessionReorder],
    ) -> TreatmentPlanSessionList:
        """Renumber the sessions 1..n in the order of `session_ids`, which must list each of them once."""
        return await SessionService(state.pool).reorder(current_actor(request), plan_id, data)

    @put("/{session_id:int}", operation_id="UpdateTreatmentPlanSession", responses=WRITE_ERRORS)
    async def update_session(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        plan_id: FromPath[UUID],
        session_id: SessionId,
        data: JSONBody[SessionUpdate],
    ) -> TreatmentPlanSession:
        """Edit a session of a draft plan; a new `session_number` moves it."""
        return await SessionService(state.pool).update(current_actor(request), plan_id, session_id, data)

    @delete(
        "/{session_id:int}",
        operation_id="DeleteTreatmentPlanSession",
        responses=WRITE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_session(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        plan_id: FromPath[UUID],
        session_id: SessionId,
    ) -> None:
        """Delete a session and its exercises; the later sessions are renumbered to close the gap."""
        await SessionService(state.pool).delete(current_actor(request), plan_id, session_id)


class SessionReadController(Controller):
    """A session read by its id alone: where a created session's ``Location`` points."""

    path = "/v1/treatment-plan-sessions"
    tags = ["treatment plan sessions"]
    security = bearer_security()
    guards = [STAFF]

    @get("/{session_id:int}", operation_id="GetTreatmentPlanSession", responses=READ_ERRORS)
    async def get_session(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
    ) -> TreatmentPlanSession:
        """One session of a plan of the organization or of a global plan, with its exercise count."""
        return await SessionService(state.pool).get(current_actor(request), session_id)


class SessionExerciseController(Controller):
    path = "/v1/treatment-plan-sessions/{session_id:int}/exercises"
    tags = ["treatment plan sessions"]
    security = bearer_security()
    guards = [STAFF]

    @get("/", operation_id="ListSessionExercises", responses=READ_ERRORS)
    async def list_exercises(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
    ) -> SessionExerciseList:
        """The exercises the session prescribes, by sort order."""
        return await SessionExerciseService(state.pool).list(current_actor(request), session_id)

    @post(
        "/",
        operation_id="CreateSessionExercise",
        responses=WRITE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
        data: JSONBody[SessionExerciseCreate],
    ) -> SessionExercise:
        """Prescribe a published exercise (a draft one too, for admins) in a draft plan's session."""
        return await SessionExerciseService(state.pool).create(current_actor(request), session_id, data)

    @put("/reorder", operation_id="ReorderSessionExercises", responses=WRITE_ERRORS)
    async def reorder_exercises(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
        data: JSONBody[SessionExerciseReorder],
    ) -> SessionExerciseList:
        """Order the exercises 0..n-1 as `exercise_ids`, which must list each of them once."""
        return await SessionExerciseService(state.pool).reorder(current_actor(request), session_id, data)

    @put("/{session_exercise_id:int}", operation_id="UpdateSessionExercise", responses=WRITE_ERRORS)
    async def update_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
        session_exercise_id: SessionExerciseId,
        data: JSONBody[SessionExerciseUpdate],
    ) -> SessionExercise:
        """Change a prescription, partially; a new `sort_order` moves it."""
        return await SessionExerciseService(state.pool).update(
            current_actor(request), session_id, session_exercise_id, data
        )

    @delete(
        "/{session_exercise_id:int}",
        operation_id="DeleteSessionExercise",
        responses=WRITE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_id: SessionId,
        session_exercise_id: SessionExerciseId,
    ) -> None:
        """Remove a prescription; the later exercises move up to close the gap."""
        await SessionExerciseService(state.pool).delete(current_actor(request), session_id, session_exercise_id)


class SessionExerciseReadController(Controller):
    """A prescription read by its id alone: where a created one's ``Location`` points."""

    path = "/v1/session-exercises"
    tags = ["treatment plan sessions"]
    security = bearer_security()
    guards = [STAFF]

    @get("/{session_exercise_id:int}", operation_id="GetSessionExercise", responses=READ_ERRORS)
    async def get_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        session_exercise_id: SessionExerciseId,
    ) -> SessionExercise:
        """One exercise as a session prescribes it."""
        return await SessionExerciseService(state.pool).get(current_actor(request), session_exercise_id)
