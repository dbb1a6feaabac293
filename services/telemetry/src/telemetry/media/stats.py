"""Per-view QoE and grouped bandwidth statistics, computed by ClickHouse (``media/queries.py``).

The response Structs live here rather than in ``contracts`` until a client needs them.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import msgspec
from service_common.errors import NotFoundError, ServiceUnavailableError

from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore
from telemetry.media.queries import PER_VIEW_FIELDS, bandwidth_query, per_view_query

_PERIOD = re.compile(r"^([1-9][0-9]{0,3})([hd])$")
MAX_PERIOD_HOURS = 90 * 24
"""Longest period a statistic may cover: bandwidth samples are kept 90 days."""
_ONE_VIEW_HOURS = 2 * 366 * 24  # media events are kept two years


class ViewQoE(msgspec.Struct, frozen=True, kw_only=True):
    """Video quality of experience of one view (one ``session_id``)."""

    session_id: str
    media_id: str
    country_code: str
    connection_type: str
    resolution: str
    """Resolution of the last heartbeat."""
    bandwidth_mbps: float
    ttfb_ms: int
    startup_time_ms: int
    """Request to first frame (``video_load_time_ms`` of ``session_start``)."""
    rebuffer_count: int
    rebuffer_duration_ms: int
    watched_seconds: float
    rebuffer_percent: float
    """Stall time over stall plus watched time, in percent."""
    average_bitrate: float
    """Mean bitrate over the heartbeats, bits per second."""
    exited_before_start: bool
    playback_failed: bool


class BandwidthGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Bandwidth and QoE of the views sharing one value of the grouping column."""

    group_value: str
    sessions: int
    median_bandwidth_mbps: float | None
    p90_bandwidth_mbps: float | None
    median_ttfb_ms: float | None
    median_startup_time_ms: float | None
    rebuffer_ratio: float
    """Stall time over stall plus watched time of all the group's views, 0-1."""
    average_bitrate: float
    recommended_max_rendition: str
    """Highest rendition whose bitrate fits 80 % of the median bandwidth, one lower above 2 % rebuffering."""


class BandwidthStats(msgspec.Struct, frozen=True, kw_only=True):
    period: str
    group_by: str
    groups: list[BandwidthGroup]


def period_hours(period: str) -> int:
    """Hours in a period such as ``7d`` or ``24h``; raises ValueError beyond :data:`MAX_PERIOD_HOURS`."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError("period must look like 7d or 24h")
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
    if hours > MAX_PERIOD_HOURS:
        raise ValueError(f"period may cover at most {MAX_PERIOD_HOURS // 24} days")
    return hours


def _number(value: Any) -> float | None:
    """A ClickHouse number as float; None for the NaN an aggregate over no rows gives."""
    number = float(value)
    return None if math.isnan(number) else number


async def _select(store: ClickHouseStore, query: str) -> list[dict[str, Any]]:
    try:
        return await store.select(query)
    except ClickHouseError as exc:
        raise ServiceUnavailableError("The telemetry store is unavailable; retry later.") from exc


async def view_qoe(store: ClickHouseStore, org_hash: str, session_id: uuid.UUID) -> ViewQoE:
    """QoE of ``session_id`` within ``org_hash``; :class:`NotFoundError` when it has no events there."""
    rows = await _select(store, per_view_query(org_hash, _ONE_VIEW_HOURS, session_id))
    if not rows:
        raise NotFoundError("No media events of this view in your organization.")
    row = {field: rows[0][column] for field, column in PER_VIEW_FIELDS.items()}
    return ViewQoE(
        session_id=str(row["session_id"]),
        media_id=str(row["media_id"]),
        country_code=str(row["country_code"]),
        connection_type=str(row["connection_type"]),
        resolution=str(row["resolution"]),
        bandwidth_mbps=float(row["bandwidth_mbps"]),
        ttfb_ms=int(row["ttfb_ms"]),
        startup_time_ms=int(row["startup_time_ms"]),
        rebuffer_count=int(row["rebuffer_count"]),
        rebuffer_duration_ms=int(row["rebuffer_duration_ms"]),
        watched_seconds=float(row["watched_seconds"]),
        rebuffer_percent=float(row["rebuffer_percent"]),
        average_bitrate=float(row["average_bitrate"]),
        exited_before_start=bool(row["exited_before_start"]),
        playback_failed=bool(row["playback_failed"]),
    )


async def bandwidth_stats(store: ClickHouseStore, org_hash: str, period: str, group_by: str) -> BandwidthStats:
    """``org_hash``'s views of the last ``period`` grouped by ``group_by``, largest groups first."""
    rows = await _select(store, bandwidth_query(org_hash, period_hours(period), group_by))
    return BandwidthStats(
        period=period,
        group_by=group_by,
        groups=[
            BandwidthGroup(
                group_value=str(row["group_value"]),
                sessions=int(row["sessions"]),
                median_bandwidth_mbps=_number(row["median_bandwidth_mbps"]),
                p90_bandwidth_mbps=_number(row["p90_bandwidth_mbps"]),
                median_ttfb_ms=_number(row["median_ttfb_ms"]),
                median_startup_time_ms=_number(row["median_startup_time_ms"]),
                rebuffer_ratio=float(row["rebuffer_ratio"]),
                average_bitrate=float(row["average_bitrate"]),
                recommended_max_rendition=str(row["recommended_max_rendition"]),
            )
            for row in rows
        ],
    )
