"""ClickHouse SQL for the bandwidth statistics: the organization's views grouped by a network or device
column, over the per-view rows of ``qoe_queries.py``; runs on ClickHouse 18.16 and chdb's 26.x alike."""

from __future__ import annotations

from telemetry.clickhouse.sql import Sql, identifier, render
from telemetry.media.qoe_queries import QOE_AGGREGATES, QOE_COLUMNS, per_view_query

# Groups of views; the recommended maximum rendition is the highest rung of the ladder whose bitrate fits
# in 80 % of the group's median bandwidth (headroom for variation), one rung lower when the group
# rebuffers more than 2 % of the time.
_BANDWIDTH = """
SELECT
    toString(group_key) AS group_value,
    group_sessions AS sessions,
    group_median_bandwidth AS median_bandwidth_mbps,
    group_p90_bandwidth AS p90_bandwidth_mbps,
    group_median_ttfb AS median_ttfb_ms,
    group_median_startup AS median_startup_time_ms,
    group_rebuffer_ratio AS rebuffer_ratio,
    group_average_bitrate AS average_bitrate,
    multiIf(rung >= 4, '1080p', rung = 3, '720p', rung = 2, '480p', rung = 1, '360p', '240p')
        AS recommended_max_rendition,
    {qoe_columns}
FROM (
    SELECT
        {group_column} AS group_key,
        {qoe},
        count() AS group_sessions,
        quantileExactIf(0.5)(view_bandwidth_mbps, view_bandwidth_mbps > 0) AS group_median_bandwidth,
        quantileExactIf(0.9)(view_bandwidth_mbps, view_bandwidth_mbps > 0) AS group_p90_bandwidth,
        quantileExactIf(0.5)(view_ttfb_ms, view_ttfb_ms > 0) AS group_median_ttfb,
        quantileExactIf(0.5)(view_startup_time_ms, view_startup_time_ms > 0) AS group_median_startup,
        if(sum(view_watched_seconds) * 1000 + sum(view_rebuffer_duration_ms) > 0,
           sum(view_rebuffer_duration_ms) / (sum(view_watched_seconds) * 1000 + sum(view_rebuffer_duration_ms)), 0)
            AS group_rebuffer_ratio,
        if(countIf(view_average_bitrate > 0) > 0, avgIf(view_average_bitrate, view_average_bitrate > 0), 0)
            AS group_average_bitrate,
        multiIf(group_median_bandwidth * 0.8 >= 5.0, 4, group_median_bandwidth * 0.8 >= 2.5, 3,
                group_median_bandwidth * 0.8 >= 1.2, 2, group_median_bandwidth * 0.8 >= 0.7, 1, 0)
            - if(group_rebuffer_ratio > 0.02, 1, 0) AS rung
    FROM ({per_view})
    GROUP BY group_key
)
ORDER BY sessions DESC, group_value
"""

GROUP_COLUMNS = ("country_code", "connection_type", "cdn", "resolution", "platform")


def bandwidth_query(org_hash: str, hours: int, group_by: str) -> Sql:
    """Bandwidth statistics of ``org_hash``'s views of the last ``hours``, grouped by ``group_by``."""
    if group_by not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {group_by!r}")
    return render(
        _BANDWIDTH,
        group_column=identifier(f"view_{group_by}"),
        per_view=per_view_query(org_hash, hours),
        qoe=QOE_AGGREGATES,
        qoe_columns=QOE_COLUMNS,
    )
