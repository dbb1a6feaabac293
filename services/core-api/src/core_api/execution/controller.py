"""HTTP routes of session execution: today's session, start, exercise logs, complete and skip.

A patient acts on their own sessions; staff (admins and specialists) of the organization may read and
write on a patient's behalf. Another patient's or organization's session is a 404: row-level security
does not show it.
"""

from __future__ import annotations

from typing import Annotated

from contracts.execution import (
    ExerciseLog,
    ExerciseLogList,
    ExerciseLogUpdate,
    SessionComplete,
    SessionCompletion,
    SessionSkip,
    SessionStart,
    StartedSession,
    TodaySessions,
)
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.execution.service import ExecutionService
from core_api.paging import IdPath

SessionNumberPath = Annotated[int, PathParameter(ge=1, le=10_000)]

# Every role takes part: patients on their own rows, staff on their organization's.
PARTICIPANTS = allow_roles("admin", "specialist", "patient")
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


def _service(state: State) -> ExecutionService:
    return ExecutionService(state.pool)


class TodaySessionController(Controller):
    path = "/v1/patients/{patient_id:int}/treatment-plans/today"
    tags = ["session execution"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @get("/", operation_id="GetTodaysSession", responses=READ_ERRORS)
    async def today(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
    ) -> TodaySessions:
        """The enrollment due next at the top level (the spec's shape: its next session by rotation with
        each exercise's video and instructions from the frozen plan version, and its progress in the
        patient's time zone; ``null`` when nothing is due), and every enrollment of the patient in
        ``treatment_plans``, with the session to do next or why there is none."""
        return await _service(state).today(current_actor(request), patient_id)


class SessionStartController(Controller):
    path = "/v1/patient-treatment-plans/{enrollment_id:int}/sessions/{session_number:int}/start"
    tags = ["session execution"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @post(
        "/",
        operation_id="StartSession",
        status_code=HTTP_201_CREATED,
        responses={
            **WRITE_ERRORS,
            HTTP_200_OK: ResponseSpec(
                data_container=StartedSession,
                description="A session of the enrollment is already in progress; it is returned unchanged.",
            ),
        },
    )
    async def start(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        enrollment_id: IdPath,
        session_number: SessionNumberPath,
        data: JSONBody[SessionStart],
    ) -> Response[StartedSession]:
        """Start the session: an in-progress completion with one exercise log per prescribed exercise, and
        the spec's ``exercises`` with each exercise's video and instructions from the frozen plan version.
        Idempotent: while a session of the enrollment is in progress, that one is returned (200)."""
        completion, created = await _service(state).start(current_actor(request), enrollment_id, session_number, data)
        return Response(completion, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


class ExerciseLogController(Controller):
    path = "/v1/patient-exercise-logs"
    tags = ["session execution"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @put("/{log_id:int}", operation_id="UpdateExerciseLog", responses=WRITE_ERRORS)
    async def update_log(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        log_id: IdPath,
        data: JSONBody[ExerciseLogUpdate],
    ) -> ExerciseLog:
        """Record what was done (actuals, video, pose, times) or skip the exercise with a reason. The logs
        of a session that is no longer in progress are read-only (409)."""
        return await _service(state).update_log(current_actor(request), log_id, data)


class SessionCompletionController(Controller):
    path = "/v1/patient-session-completions"
    tags = ["session execution"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @get("/{completion_id:int}", operation_id="GetSessionCompletion", responses=READ_ERRORS)
    async def get_completion(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        completion_id: IdPath,
    ) -> SessionCompletion:
        """The session with its exercise logs and the enrollment's progress."""
        return await _service(state).get(current_actor(request), completion_id)

    @get("/{completion_id:int}/exercise-logs", operation_id="ListExerciseLogs", responses=READ_ERRORS)
    async def list_logs(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        completion_id: IdPath,
    ) -> ExerciseLogList:
        """The session's exercise logs in the session's order."""
        return await _service(state).exercise_logs(current_actor(request), completion_id)

    @post(
        "/{completion_id:int}/complete",
        operation_id="CompleteSession",
        status_code=HTTP_200_OK,
        responses=WRITE_ERRORS,
    )
    async def complete(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        completion_id: IdPath,
        data: JSONBody[SessionComplete],
    ) -> SessionCompletion:
        """Complete the session in one transaction: counts from the logs, duration, the enrollment's
        progress (and its completion after the last session), the post-session form, automation events.
        A session no longer in progress is a 409."""
        return await _service(state).complete(current_actor(request), completion_id, data)

    @post(
        "/{completion_id:int}/skip",
        operation_id="SkipSession",
        status_code=HTTP_200_OK,
        responses=WRITE_ERRORS,
    )
    async def skip(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        completion_id: IdPath,
        data: JSONBody[SessionSkip],
    ) -> SessionCompletion:
        """Skip the session in progress with a reason; counts as a skipped session of the enrollment."""
        return await _service(state).skip(current_actor(request), completion_id, data)


EXECUTION_CONTROLLERS = [
    TodaySessionController,
    SessionStartController,
    ExerciseLogController,
    SessionCompletionController,
]
