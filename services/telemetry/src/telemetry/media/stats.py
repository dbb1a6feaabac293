"""Per-view QoE, per-media engagement, grouped bandwidth statistics and the media ranking, computed by
ClickHouse (``media/queries.py``).

The response Structs are in ``contracts.telemetry``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts.telemetry import (
    BandwidthGroup,
    BandwidthStats,
    MediaRanking,
    MediaRankingOrder,
    MediaStats,
    MilestonePercent,
    MilestoneReach,
    QoESummary,
    RankedMedia,
    RenditionTime,
    ResolutionShare,
    StartupTimeBucket,
    ViewQoE,
)
from service_common.errors import NotFoundError

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.media.queries import (
    PER_VIEW_FIELDS,
    STARTUP_TIME_BUCKET_EDGES_MS,
    bandwidth_query,
    media_qoe_query,
    media_quality_query,
    media_ranking_query,
    media_summary_query,
    per_view_query,
)
from telemetry.reads import number, period_hours, select_rows

MAX_PERIOD_HOURS = 90 * 24
"""Longest period the bandwidth statistics may cover: bandwidth samples are kept 90 days."""
MAX_MEDIA_PERIOD_HOURS = 730 * 24
"""Longest period the per-media statistics may cover: media events are kept two years."""
_ONE_VIEW_HOURS = 2 * 366 * 24  # media events are kept two years


async def view_qoe(store: ClickHouseStore, org_hash: str, actor_hash: str, session_id: uuid.UUID) -> ViewQoE:
    """QoE of the view ``actor_hash`` sent under ``session_id`` within ``org_hash``; events other actors
    sent under the same ``session_id`` never count. :class:`NotFoundError` when there are no such events."""
    rows = await select_rows(store, per_view_query(org_hash, _ONE_VIEW_HOURS, (actor_hash, session_id)))
    if not rows:
        raise NotFoundError("No media events of this actor's view in your organization.")
    row = {field: rows[0][column] for field, column in PER_VIEW_FIELDS.items()}
    return ViewQoE(
        session_id=str(row["session_id"]),
        media_id=str(row["media_id"]),
        country_code=str(row["country_code"]),
        connection_type=str(row["connection_type"]),
        platform=str(row["platform"]),
        cdn=str(row["cdn"]),
        resolution=str(row["resolution"]),
        bandwidth_mbps=float(row["bandwidth_mbps"]),
        ttfb_ms=int(row["ttfb_ms"]),
        started=bool(row["started"]),
        startup_time_ms=int(row["startup_time_ms"]),
        rebuffer_count=int(row["rebuffer_count"]),
        rebuffer_duration_ms=int(row["rebuffer_duration_ms"]),
        watched_seconds=float(row["watched_seconds"]),
        rebuffer_percent=float(row["rebuffer_percent"]),
        rebuffer_per_minute=float(row["rebuffer_per_minute"]),
        average_bitrate=float(row["average_bitrate"]),
        dropped_frame_percent=float(row["dropped_frame_percent"]),
        exited_before_start=bool(row["exited_before_start"]),
        playback_failed=bool(row["playback_failed"]),
        startup_failed=bool(row["startup_failed"]),
        seek_count=int(row["seek_count"]),
        median_seek_latency_ms=number(row["median_seek_latency_ms"]),
        p95_seek_latency_ms=number(row["p95_seek_latency_ms"]),
        playback_success_score=number(row["playback_success_score"]),
        startup_time_score=number(row["startup_time_score"]),
        smoothness_score=number(row["smoothness_score"]),
        viewer_experience_score=number(row["viewer_experience_score"]),
    )


def qoe_summary(row: dict[str, Any]) -> QoESummary:
    """The ``qoe_*`` columns of a row of :data:`telemetry.media.queries.QOE_AGGREGATES`."""
    rendition_seconds = [float(seconds) for seconds in row["qoe_rendition_seconds"]]
    total_seconds = sum(rendition_seconds)
    return QoESummary(
        views=int(row["qoe_views"]),
        playback_failure_percent=float(row["qoe_playback_failure_percent"]),
        startup_failure_percent=float(row["qoe_startup_failure_percent"]),
        exits_before_start_percent=float(row["qoe_exits_before_start_percent"]),
        median_startup_time_ms=number(row["qoe_median_startup_time_ms"]),
        p95_startup_time_ms=number(row["qoe_p95_startup_time_ms"]),
        rebuffer_percent=float(row["qoe_rebuffer_percent"]),
        rebuffer_per_minute=float(row["qoe_rebuffer_per_minute"]),
        average_bitrate=float(row["qoe_average_bitrate"]),
        dropped_frame_percent=float(row["qoe_dropped_frame_percent"]),
        playback_success_score=number(row["qoe_playback_success_score"]),
        startup_time_score=number(row["qoe_startup_time_score"]),
        smoothness_score=number(row["qoe_smoothness_score"]),
        viewer_experience_score=number(row["qoe_viewer_experience_score"]),
        startup_time_histogram=[
            StartupTimeBucket(from_ms=low, to_ms=high, views=int(views))
            for low, high, views in zip(
                (0, *STARTUP_TIME_BUCKET_EDGES_MS),
                (*STARTUP_TIME_BUCKET_EDGES_MS, None),
                row["qoe_startup_time_histogram"],
                strict=True,
            )
        ],
        rendition_times=[
            RenditionTime(resolution=str(resolution), seconds=float(seconds), share=float(seconds) / total_seconds)
            for resolution, seconds in zip(row["qoe_rendition_resolutions"], rendition_seconds, strict=True)
        ],
        seek_count=int(row["qoe_seek_count"]),
        median_seek_latency_ms=number(row["qoe_median_seek_latency_ms"]),
        p95_seek_latency_ms=number(row["qoe_p95_seek_latency_ms"]),
    )


async def bandwidth_stats(store: ClickHouseStore, org_hash: str, period: str, group_by: str) -> BandwidthStats:
    """``org_hash``'s views of the last ``period`` grouped by ``group_by``, largest groups first."""
    rows = await select_rows(store, bandwidth_query(org_hash, period_hours(period, MAX_PERIOD_HOURS), group_by))
    return BandwidthStats(
        period=period,
        group_by=group_by,
        groups=[
            BandwidthGroup(
                group_value=str(row["group_value"]),
                sessions=int(row["sessions"]),
                median_bandwidth_mbps=number(row["median_bandwidth_mbps"]),
                p90_bandwidth_mbps=number(row["p90_bandwidth_mbps"]),
                median_ttfb_ms=number(row["median_ttfb_ms"]),
                median_startup_time_ms=number(row["median_startup_time_ms"]),
                rebuffer_ratio=float(row["rebuffer_ratio"]),
                average_bitrate=float(row["average_bitrate"]),
                qoe=qoe_summary(row),
                recommended_max_rendition=str(row["recommended_max_rendition"]),
            )
            for row in rows
        ],
    )


MILESTONES: tuple[MilestonePercent, ...] = (25, 50, 75, 95)


async def media_stats(store: ClickHouseStore, org_hash: str, media_id: str, period: str) -> MediaStats:
    """Engagement, milestones, quality and ABR switches of ``media_id``'s views in ``org_hash`` whose
    ``session_start`` arrived in the last ``period``; zero views when it has none there."""
    hours = period_hours(period, MAX_MEDIA_PERIOD_HOURS)
    summary_rows, quality_rows, qoe_rows = await asyncio.gather(
        select_rows(store, media_summary_query(org_hash, media_id, hours)),
        select_rows(store, media_quality_query(org_hash, media_id, hours)),
        select_rows(store, media_qoe_query(org_hash, media_id, hours)),
    )
    row = summary_rows[0]
    views = int(row["views"])
    total_heartbeats = sum(int(quality["heartbeats"]) for quality in quality_rows)
    return MediaStats(
        media_id=media_id,
        period=period,
        views=views,
        average_watch_percent=number(row["average_watch_percent"]) or 0.0,
        completed_views=int(row["completed_views"]),
        completion_rate=float(row["completion_rate"]),
        milestones=[
            MilestoneReach(percent=percent, views=int(reached), rate=int(reached) / views if views else 0.0)
            for percent, reached in zip(MILESTONES, row["milestone_views"], strict=True)
        ],
        quality=[
            ResolutionShare(
                resolution=str(quality["quality_resolution"]),
                heartbeats=int(quality["heartbeats"]),
                share=int(quality["heartbeats"]) / total_heartbeats,
            )
            for quality in quality_rows
        ],
        abr_switches=int(row["abr_switches"]),
        abr_up_switches=int(row["abr_up_switches"]),
        abr_down_switches=int(row["abr_down_switches"]),
        abr_switches_per_view=float(row["abr_switches_per_view"]),
        qoe=qoe_summary(qoe_rows[0]),
    )


async def media_ranking(
    store: ClickHouseStore, org_hash: str, period: str, order_by: MediaRankingOrder, min_views: int, limit: int
) -> MediaRanking:
    """``org_hash``'s media with at least ``min_views`` views in the last ``period``, the ``limit`` with the
    highest ``order_by`` rate first (ties: more views first, then by media id)."""
    hours = period_hours(period, MAX_MEDIA_PERIOD_HOURS)
    rows = await select_rows(store, media_ranking_query(org_hash, hours, order_by, min_views, limit))
    return MediaRanking(
        period=period,
        order_by=order_by,
        min_views=min_views,
        media=[
            RankedMedia(
                rank=rank, media_id=str(row["ranked_media_id"]), views=int(row["qoe_views"]), qoe=qoe_summary(row)
            )
            for rank, row in enumerate(rows, start=1)
        ],
    )
