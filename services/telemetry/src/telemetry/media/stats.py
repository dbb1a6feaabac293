"""Per-view QoE, per-media engagement, grouped bandwidth statistics and the media ranking, computed by
ClickHouse (``media/*_queries.py``).

The response Structs are in ``contracts.media_qoe`` and ``contracts.media_stats``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts.media_event_data import MilestonePercent
from contracts.media_qoe import QoESummary, RenditionTime, StartupTimeBucket, ViewQoE
from contracts.media_stats import (
    BandwidthGroup,
    BandwidthStats,
    MediaRanking,
    MediaRankingOrder,
    MediaStats,
    MilestoneReach,
    RankedMedia,
    ResolutionShare,
)
from service_common.errors import NotFoundError

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.media.bandwidth_queries import bandwidth_query
from telemetry.media.engagement_queries import media_quality_query, media_summary_query
from telemetry.media.qoe_queries import STARTUP_TIME_BUCKET_EDGES_MS, media_qoe_query, per_view_query
from telemetry.media.ranking_queries import media_ranking_query
from telemetry.reads import from_row, number, period_hours, select_rows

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
    return from_row(ViewQoE, rows[0], "view_")


def qoe_summary(row: dict[str, Any]) -> QoESummary:
    """The ``qoe_*`` columns of a row of :data:`telemetry.media.qoe_queries.QOE_AGGREGATES`."""
    rendition_seconds = [float(seconds) for seconds in row["qoe_rendition_seconds"]]
    total_seconds = sum(rendition_seconds)
    return from_row(
        QoESummary,
        row,
        "qoe_",
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
    )


async def bandwidth_stats(store: ClickHouseStore, org_hash: str, period: str, group_by: str) -> BandwidthStats:
    """``org_hash``'s views of the last ``period`` grouped by ``group_by``, largest groups first."""
    rows = await select_rows(store, bandwidth_query(org_hash, period_hours(period, MAX_PERIOD_HOURS), group_by))
    return BandwidthStats(
        period=period,
        group_by=group_by,
        groups=[from_row(BandwidthGroup, row, qoe=qoe_summary(row)) for row in rows],
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
    return from_row(
        MediaStats,
        row,
        media_id=media_id,
        period=period,
        views=views,
        average_watch_percent=number(row["average_watch_percent"]) or 0.0,
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
