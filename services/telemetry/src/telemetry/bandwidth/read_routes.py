"""``GET /v1/media/bandwidth/stats``: staff only, scoped to the organization hash of the caller's token. The
figures come from the views' media events (``media/stats.py: bandwidth_stats``)."""

from __future__ import annotations

from typing import Annotated, Literal

from contracts.media_stats import BandwidthStats
from litestar.params import QueryParameter

from telemetry.dependencies import CurrentActor, Store
from telemetry.media.stats import MAX_PERIOD_HOURS, bandwidth_stats
from telemetry.read_parameters import period_in_query
from telemetry.reads import checked_period
from telemetry.staff_reads import staff_read

GroupBy = Literal["country_code", "connection_type", "cdn", "resolution", "platform"]


@staff_read("/v1/media/bandwidth/stats", operation_id="GetBandwidthStats", tag="media")
async def get_bandwidth_stats(
    actor: CurrentActor,
    store: Store,
    period: Annotated[str, period_in_query(MAX_PERIOD_HOURS, "How far back, e.g. 7d or 24h; at most 90d.")] = "7d",
    group_by: Annotated[GroupBy, QueryParameter(description="The column views are grouped by.")] = "country_code",
) -> BandwidthStats:
    """Sessions, median and p90 bandwidth, TTFB, startup time, rebuffer ratio, average bitrate and a
    recommended maximum rendition per group of the organization's views (staff only)."""
    checked_period(period, MAX_PERIOD_HOURS)
    return await bandwidth_stats(store, actor.org_hash, period, group_by)
