"""``GET /v1/pose/sessions/{session_id}/stats`` and ``GET /v1/pose/media/{media_id}/form-issues``: staff only,
scoped to the organization hash of the caller's token; a session's statistics to one actor's frames of it."""

from __future__ import annotations

import uuid
from typing import Annotated

from contracts.pose_stats import ExerciseFormIssues, PoseBucket, PoseSessionStats
from litestar.params import PathParameter, QueryParameter

from telemetry.dependencies import CurrentActor, Store
from telemetry.pose.stats import MAX_EXERCISE_PERIOD_HOURS, exercise_form_issues, pose_session_stats
from telemetry.read_parameters import actor_hash_in_query, hashed_id_in_path, period_in_query
from telemetry.reads import checked_period
from telemetry.staff_reads import staff_read

MAX_FORM_ISSUES = 100


@staff_read("/v1/pose/sessions/{session_id:uuid}/stats", operation_id="GetPoseSessionStats", tag="pose", not_found=True)
async def get_pose_session_stats(
    actor: CurrentActor,
    store: Store,
    session_id: Annotated[uuid.UUID, PathParameter(description="The session_id its frame batches carried.")],
    actor_hash: Annotated[
        str,
        actor_hash_in_query(
            "The patient whose frames are read: their actor hash (the sub of their telemetry token). Frames "
            "other actors sent under the same session_id never count."
        ),
    ],
    bucket: Annotated[
        PoseBucket, QueryParameter(description="Trend buckets: each minute, or each repetition.")
    ] = "minute",
) -> PoseSessionStats:
    """Form score and range-of-motion trend, repetitions and device capability (camera resolution,
    processing time) of one patient's pose-tracking session (staff only); 404 when the organization has
    no frames of that actor under that session id."""
    return await pose_session_stats(store, actor.org_hash, actor_hash, session_id, bucket)


@staff_read("/v1/pose/media/{media_id:str}/form-issues", operation_id="GetExerciseFormIssues", tag="pose")
async def get_exercise_form_issues(
    actor: CurrentActor,
    store: Store,
    media_id: Annotated[str, hashed_id_in_path("The hashed exercise-video id the pose batches named.")],
    period: Annotated[
        str,
        period_in_query(
            MAX_EXERCISE_PERIOD_HOURS, "How far back, over the frames' arrival, e.g. 30d or 24h; at most 730d."
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
    return await exercise_form_issues(store, actor.org_hash, media_id, period, limit)
