"""``GET /v1/media/bandwidth/stats``, ``GET /v1/media/{media_id}/stats``, ``GET /v1/media/ranking`` and
``GET /v1/media/sessions/{session_id}/qoe``: staff only, scoped to the organization hash of the caller's
token; a view is one actor's events under one ``session_id``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from contracts.telemetry import BandwidthStats, MediaRanking, MediaRankingOrder, MediaStats, ViewQoE
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from telemetry.identity import require_staff, telemetry_actor
from telemetry.media.stats import (
    MAX_MEDIA_PERIOD_HOURS,
    MAX_PERIOD_HOURS,
    bandwidth_stats,
    media_ranking,
    media_stats,
    view_qoe,
)
from telemetry.reads import HASHED_ID_PATTERN, checked_period, period_pattern

GroupBy = Literal["country_code", "connection_type", "cdn", "resolution", "platform"]


class MediaStatsController(Controller):
    """Video delivery quality for specialists and admins of an organization."""

    path = "/v1/media"
    tags = ["media"]
    security = bearer_security()
    guards = [require_staff]

    @get(
        "/bandwidth/stats",
        operation_id="GetBandwidthStats",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def get_bandwidth_stats(
        self,
        request: Request[Any, Any, Any],
        state: State,
        period: Annotated[
            str,
            QueryParameter(
                pattern=period_pattern(MAX_PERIOD_HOURS), description="How far back, e.g. 7d or 24h; at most 90d."
            ),
        ] = "7d",
        group_by: Annotated[GroupBy, QueryParameter(description="The column views are grouped by.")] = "country_code",
    ) -> BandwidthStats:
        """Sessions, median and p90 bandwidth, TTFB, startup time, rebuffer ratio, average bitrate and a
        recommended maximum rendition per group of the organization's views (staff only)."""
        checked_period(period, MAX_PERIOD_HOURS)
        return await bandwidth_stats(state.store, telemetry_actor(request).org_hash, period, group_by)

    @get(
        "/sessions/{session_id:uuid}/qoe",
        operation_id="GetViewQoE",
        responses=problem_responses(401, 403, 404, 422, 503),
    )
    async def get_view_qoe(
        self,
        request: Request[Any, Any, Any],
        state: State,
        session_id: Annotated[uuid.UUID, PathParameter(description="The session_id the view's events carried.")],
        actor_hash: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=128,
                pattern=HASHED_ID_PATTERN,
                description="The patient whose view is read: their actor hash (the sub of their telemetry "
                "token). Events other actors sent under the same session_id never count.",
            ),
        ],
    ) -> ViewQoE:
        """Startup time, rebuffering, exits before start and playback failure of one patient's view (staff
        only); 404 when the organization has no events of that actor under that session id."""
        return await view_qoe(state.store, telemetry_actor(request).org_hash, actor_hash, session_id)

    @get(
        "/{media_id:str}/stats",
        operation_id="GetMediaStats",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def get_media_stats(
        self,
        request: Request[Any, Any, Any],
        state: State,
        media_id: Annotated[
            str,
            PathParameter(
                min_length=1,
                max_length=128,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="The hashed exercise-video id its session_start events name.",
            ),
        ],
        period: Annotated[
            str,
            QueryParameter(
                pattern=period_pattern(MAX_MEDIA_PERIOD_HOURS),
                description="How far back, e.g. 30d or 24h; at most 730d.",
            ),
        ] = "30d",
    ) -> MediaStats:
        """Views, average watch %, completion, milestone reach, quality distribution and ABR switches of one
        exercise video over the organization's views that started in the period; a media without views
        there has ``views: 0`` (staff only)."""
        checked_period(period, MAX_MEDIA_PERIOD_HOURS)
        return await media_stats(state.store, telemetry_actor(request).org_hash, media_id, period)

    @get(
        "/ranking",
        operation_id="GetMediaRanking",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def get_media_ranking(
        self,
        request: Request[Any, Any, Any],
        state: State,
        period: Annotated[
            str,
            QueryParameter(
                pattern=period_pattern(MAX_MEDIA_PERIOD_HOURS),
                description="How far back, e.g. 30d or 24h; at most 730d.",
            ),
        ] = "30d",
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
        return await media_ranking(state.store, telemetry_actor(request).org_hash, period, order_by, min_views, limit)
