"""``GET /v1/media/{media_id}/stats``, ``GET /v1/media/ranking`` and ``GET /v1/media/sessions/{session_id}/qoe``:
staff only, scoped to the organization hash of the caller's token; a view is one actor's events under one
``session_id``. (``GET /v1/media/bandwidth/stats`` is ``bandwidth/read_routes.py``'s.)"""

from __future__ import annotations

import uuid
from typing import Annotated

from contracts.media_qoe import ViewQoE
from contracts.media_stats import MediaRanking, MediaRankingOrder, MediaStats
from litestar.params import PathParameter, QueryParameter

from telemetry.dependencies import CurrentActor, Store
from telemetry.media.stats import MAX_MEDIA_PERIOD_HOURS, media_ranking, media_stats, view_qoe
from telemetry.read_parameters import actor_hash_in_query, hashed_id_in_path, period_in_query
from telemetry.reads import checked_period
from telemetry.staff_reads import staff_read

MediaPeriod = Annotated[str, period_in_query(MAX_MEDIA_PERIOD_HOURS, "How far back, e.g. 30d or 24h; at most 730d.")]


@staff_read("/v1/media/sessions/{session_id:uuid}/qoe", operation_id="GetViewQoE", tag="media", not_found=True)
async def get_view_qoe(
    actor: CurrentActor,
    store: Store,
    session_id: Annotated[uuid.UUID, PathParameter(description="The session_id the view's events carried.")],
    actor_hash: Annotated[
        str,
        actor_hash_in_query(
            "The patient whose view is read: their actor hash (the sub of their telemetry token). Events other "
            "actors sent under the same session_id never count."
        ),
    ],
) -> ViewQoE:
    """Startup time, rebuffering, exits before start and playback failure of one patient's view (staff
    only); 404 when the organization has no events of that actor under that session id."""
    return await view_qoe(store, actor.org_hash, actor_hash, session_id)


@staff_read("/v1/media/{media_id:str}/stats", operation_id="GetMediaStats", tag="media")
async def get_media_stats(
    actor: CurrentActor,
    store: Store,
    media_id: Annotated[
        str,
        hashed_id_in_path("The hashed exercise-video id its session_start events name.", pattern=r"^[A-Za-z0-9_-]+$"),
    ],
    period: MediaPeriod = "30d",
) -> MediaStats:
    """Views, average watch %, completion, milestone reach, quality distribution and ABR switches of one
    exercise video over the organization's views that started in the period; a media without views
    there has ``views: 0`` (staff only)."""
    checked_period(period, MAX_MEDIA_PERIOD_HOURS)
    return await media_stats(store, actor.org_hash, media_id, period)


@staff_read("/v1/media/ranking", operation_id="GetMediaRanking", tag="media")
async def get_media_ranking(
    actor: CurrentActor,
    store: Store,
    period: MediaPeriod = "30d",
    order_by: Annotated[
        MediaRankingOrder,
        QueryParameter(description="The rate of views ranked by, highest (worst) first."),
    ] = "playback_failure_percent",
    min_views: Annotated[
        int,
        QueryParameter(ge=1, le=1_000_000, description="Leave out media with fewer views in the period."),
    ] = 1,
    limit: Annotated[int, QueryParameter(ge=1, le=100, description="How many media to return, 1-100.")] = 20,
) -> MediaRanking:
    """The organization's exercise videos ranked by playback failure, startup failure or exit-before-start
    rate over their views whose events arrived in the period, each with its views' QoE summary; ties go
    to more views, then by media id (staff only)."""
    checked_period(period, MAX_MEDIA_PERIOD_HOURS)
    return await media_ranking(store, actor.org_hash, period, order_by, min_views, limit)
