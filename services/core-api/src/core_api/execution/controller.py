"""HTTP routes of session execution: today's session, start, exercise logs, complete and skip.

A patient acts on their own sessions; staff (admins and specialists) of the organization may read and
write on a patient's behalf. Another patient's or organization's session is a 404: row-level security
does not show it.
"""

from __future__ import annotations

from typing import Annotated

from contracts.execution import ExerciseLogUpdate, SessionComplete, SessionSkip, SessionStart
from contracts.exercise_logs import ExerciseLog, ExerciseLogList
from contracts.session_completions import SessionCompletion, StartedSession
from contracts.today import TodaySessions
from litestar import Controller, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from service_common.auth.actor import CurrentActor

from core_api.dependencies import Execution
from core_api.paging import IdPath
from core_api.routing import PARTICIPANTS, WRITE_ERRORS, act, read, update

SessionNumberPath = Annotated[int, PathParameter(ge=1, le=10_000)]


class SessionExecutionController(Controller):
    path = "/v1"
    tags = ["session execution"]
    guards = [PARTICIPANTS]

    @read("/patients/{patient_id:int}/treatment-plans/today", "GetTodaysSession")
    async def today(self, actor: CurrentActor, execution: Execution, patient_id: IdPath) -> TodaySessions:
        """The enrollment due next at the top level (the spec's shape: its next session by rotation with
        each exercise's video and instructions from the frozen plan version, and its progress in the
        patient's time zone; ``null`` when nothing is due), and every enrollment of the patient in
        ``treatment_plans``, with the session to do next or why there is none."""
        return await execution.today(actor, patient_id)

    @post(
        "/patient-treatment-plans/{enrollment_id:int}/sessions/{session_number:int}/start",
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
        actor: CurrentActor,
        execution: Execution,
        enrollment_id: IdPath,
        session_number: SessionNumberPath,
        data: JSONBody[SessionStart],
    ) -> Response[StartedSession]:
        """Start the session: an in-progress completion with one exercise log per prescribed exercise, and
        the spec's ``exercises`` with each exercise's video and instructions from the frozen plan version.
        Idempotent: while a session of the enrollment is in progress, that one is returned (200)."""
        completion, created = await execution.start(actor, enrollment_id, session_number, data)
        return Response(completion, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @update("/patient-exercise-logs/{log_id:int}", "UpdateExerciseLog")
    async def update_log(
        self, actor: CurrentActor, execution: Execution, log_id: IdPath, data: JSONBody[ExerciseLogUpdate]
    ) -> ExerciseLog:
        """Record what was done (actuals, video, pose, times) or skip the exercise with a reason. The logs
        of a session that is no longer in progress are read-only (409)."""
        return await execution.update_log(actor, log_id, data)

    @read("/patient-session-completions/{completion_id:int}", "GetSessionCompletion")
    async def get_completion(
        self, actor: CurrentActor, execution: Execution, completion_id: IdPath
    ) -> SessionCompletion:
        """The session with its exercise logs and the enrollment's progress."""
        return await execution.get(actor, completion_id)

    @read("/patient-session-completions/{completion_id:int}/exercise-logs", "ListExerciseLogs")
    async def list_logs(self, actor: CurrentActor, execution: Execution, completion_id: IdPath) -> ExerciseLogList:
        """The session's exercise logs in the session's order."""
        return await execution.exercise_logs(actor, completion_id)

    @act("/patient-session-completions/{completion_id:int}/complete", "CompleteSession")
    async def complete(
        self, actor: CurrentActor, execution: Execution, completion_id: IdPath, data: JSONBody[SessionComplete]
    ) -> SessionCompletion:
        """Complete the session in one transaction: counts from the logs, duration, the enrollment's
        progress (and its completion after the last session), the post-session form, automation events.
        A session no longer in progress is a 409."""
        return await execution.complete(actor, completion_id, data)

    @act("/patient-session-completions/{completion_id:int}/skip", "SkipSession")
    async def skip(
        self, actor: CurrentActor, execution: Execution, completion_id: IdPath, data: JSONBody[SessionSkip]
    ) -> SessionCompletion:
        """Skip the session in progress with a reason; counts as a skipped session of the enrollment."""
        return await execution.skip(actor, completion_id, data)
