"""``GET /v1/pose/sessions/{session_id}/stats`` and ``GET /v1/pose/media/{media_id}/form-issues``: staff only,
scoped to the organization hash of the caller's token; a session's statistics to one actor's frames of it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from contracts.telemetry import ExerciseFormIssues, PoseBucket, PoseSessionStats
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from telemetry.identity import require_staff, telemetry_actor
from telemetry.pose.stats import MAX_EXERCISE_PERIOD_HOURS, exercise_form_issues, pose_session_stats
from telemetry.reads import HASHED_ID_PATTERN, checked_period, period_pattern

MAX_FORM_ISSUES = 100


class PoseStatsController(Controller):
    """Exercise performance from pose tracking for specialists and admins of an organization."""

    path = "/v1/pose"
    tags = ["pose"]
    security = bearer_security()
    guards = [require_staff]

    @get(
        "/sessions/{session_id:uuid}/stats",
        operation_id="GetPoseSessionStats",
        responses=problem_responses(401, 403, 404, 422, 503),
    )
    async def get_pose_session_stats(
        self,
        request: Request[Any, Any, Any],
        state: State,
        session_id: Annotated[uuid.UUID, PathParameter(description="The session_id its frame batches carried.")],
        actor_hash: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=128,
                pattern=HASHED_ID_PATTERN,
                description="The patient whose frames are read: their actor hash (the sub of their telemetry "
                "token). Frames other actors sent under the same session_id never count.",
            ),
        ],
        bucket: Annotated[
            PoseBucket, QueryParameter(description="Trend buckets: each minute, or each repetition.")
        ] = "minute",
    ) -> PoseSessionStats:
        """Form score and range-of-motion trend, repetitions and device capability (camera resolution,
        processing time) of one patient's pose-tracking session (staff only); 404 when the organization has
        no frames of that actor under that session id."""
        return await pose_session_stats(state.store, telemetry_actor(request).org_hash, actor_hash, session_id, bucket)

    @get(
        "/media/{media_id:str}/form-issues",
        operation_id="GetExerciseFormIssues",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def get_exercise_form_issues(
        self,
        request: Request[Any, Any, Any],
        state: State,
        media_id: Annotated[
            str,
            PathParameter(
                min_length=1,
                max_length=128,
                pattern=HASHED_ID_PATTERN,
                description="The hashed exercise-video id the pose batches named.",
            ),
        ],
        period: Annotated[
            str,
            QueryParameter(
                pattern=period_pattern(MAX_EXERCISE_PERIOD_HOURS),
                description="How far back, over the frames' arrival, e.g. 30d or 24h; at most 730d.",
            ),
        ] = "30d",
        limit: Annotated[
            int,
            QueryParameter(ge=1, le=MAX_FORM_ISSUES, description="At most this many issue codes, 1-100."),
        ] = 10,
    ) -> ExerciseFormIssues:
        """The form issues reported most often while the organization's patients followed one exercise video:
        per code the sessions (and their share), repetitions and frames that reported it, over the pose
        sessions whose frames arrived in the period; no issues when there are none (staff only)."""
        checked_period(period, MAX_EXERCISE_PERIOD_HOURS)
        return await exercise_form_issues(state.store, telemetry_actor(request).org_hash, media_id, period, limit)
