"""ClickHouse SQL for the media read routes; runs on ClickHouse 18.16 and chdb's 26.x alike.

Only functions 18.16 has: ``anyIf``, ``maxIf``, ``countIf``, ``sumIf``, ``avgIf``, ``argMaxIf``,
``quantileExactIf``, ``quantileExactArray``, ``groupArrayArray``, ``multiIf``, ``arraySort`` with a lambda,
``arrayDistinct``, ``tupleElement``, ``exp``, ``sqrt``, ``pow``, ``isNaN``; not ``sumMap`` over String keys.
Placeholders are filled by the ``*_query`` functions from values that are validated first (an organization
hash matching ``HashedId``, a UUID, an integer, a column from a whitelist); the store has no server-side
parameters.

A view is the events one actor sent under one ``session_id``: any token of the organization may send
events under any ``session_id``, so events another actor sent under the same id form a view of their own
and never change this one's figures. Every query groups or matches views by ``(actor_hash, session_id)``.

Figures of one view (every definition, with its source, is in docs/telemetry.md, "Read routes"):

- ``startup_time_ms``: ``play_intent`` to ``session_start``, else the ``video_load_time_ms`` of ``session_start``.
- ``rebuffer_count`` / ``rebuffer_duration_ms``: stalls after the first frame not caused by a seek, an open
  one up to ``session_end`` included; ``rebuffer_percent`` is stall time over stall plus watched time.
- ``average_bitrate`` and the rendition times: bitrate samples (heartbeats, ``quality_change``) in time
  order, each holding until the next.
- seek latency: the durations of the ``buffering_end`` events with cause ``seek``.
- scores (0-100, after Mux Data): playback success, startup time 8 / (8 + seconds), smoothness from the
  rebuffer count and percentage, viewer experience; NaN where the view has none (read as null).
"""

from __future__ import annotations

import uuid
from typing import get_args

from contracts.telemetry import MediaRankingOrder

from telemetry.clickhouse.server import identifier
from telemetry.reads import hashed_id

# One row per view of the organization that arrived in the period. Aliases never repeat a column's name:
# ClickHouse resolves such an alias inside the aggregate that defines it. Instants are compared as
# toFloat64(event_time), seconds since the epoch: with milliseconds on engines with DateTime64, whole
# seconds on 18.16. A figure that needs the view's first frame inside an aggregate reads arrays of the
# events' times through a lambda, since an aggregate cannot sit inside another.
_PER_VIEW = """
SELECT
    toString(session_id) AS view_id,
    anyIf(media_id, media_id != '') AS view_media_id,
    anyIf(country_code, event IN ('play_intent', 'session_start')) AS view_country_code,
    anyIf(connection_type, event IN ('play_intent', 'session_start')) AS view_connection_type,
    anyIf(platform, event IN ('play_intent', 'session_start') AND platform != '') AS view_platform,
    anyIf(cdn, cdn != '') AS view_cdn,
    argMaxIf(resolution, event_time, event = 'heartbeat') AS view_resolution,
    maxIf(effective_bandwidth_mbps, event IN ('play_intent', 'session_start')) AS view_bandwidth_mbps,
    maxIf(ttfb_ms, event = 'session_start') AS view_ttfb_ms,
    countIf(event = 'play_intent') > 0 AS view_requested,
    countIf(event = 'session_start') > 0 AS view_started,
    minIf(toFloat64(event_time), event = 'play_intent') AS view_intent_at,
    minIf(toFloat64(event_time), event = 'session_start') AS view_first_frame_at,
    if(view_requested AND view_started, toUInt32(round(greatest(view_first_frame_at - view_intent_at, 0) * 1000)),
       maxIf(video_load_time_ms, event = 'session_start')) AS view_startup_time_ms,
    countIf((event = 'error' AND fatal = 1) OR (event = 'session_end' AND reason = 'error')) > 0
        AS view_playback_failed,
    minIf(toFloat64(event_time), (event = 'error' AND fatal = 1) OR (event = 'session_end' AND reason = 'error'))
        AS view_failed_at,
    view_playback_failed AND (NOT view_started OR view_failed_at < view_first_frame_at) AS view_startup_failed,
    view_requested AND NOT view_started AND NOT view_playback_failed AS view_exited_before_start,
    groupArrayIf(toFloat64(event_time), event = 'buffering_end' AND reason != 'seek') AS view_stall_ends,
    groupArrayIf(buffering_duration_ms, event = 'buffering_end' AND reason != 'seek') AS view_stall_durations,
    maxIf(toFloat64(event_time), event = 'buffering_start' AND reason != 'seek') AS view_last_stall_at,
    maxIf(toFloat64(event_time), event = 'buffering_end' AND reason != 'seek') AS view_last_resume_at,
    maxIf(toFloat64(event_time), event = 'session_end') AS view_ended_at,
    if(view_started AND view_last_stall_at > view_last_resume_at AND view_last_stall_at >= view_first_frame_at
           AND view_ended_at > view_last_stall_at,
       toUInt64(round((view_ended_at - view_last_stall_at) * 1000)), 0) AS view_open_stall_ms,
    arrayCount(t -> view_started AND t > view_first_frame_at, view_stall_ends) + if(view_open_stall_ms > 0, 1, 0)
        AS view_rebuffer_count,
    arraySum(arrayMap((t, d) -> if(view_started AND t > view_first_frame_at, d, 0), view_stall_ends,
                      view_stall_durations)) + view_open_stall_ms AS view_rebuffer_duration_ms,
    max(watched_duration_seconds) AS view_watched_seconds,
    view_watched_seconds * 1000 + view_rebuffer_duration_ms AS view_playing_ms,
    if(view_playing_ms > 0, view_rebuffer_duration_ms * 100 / view_playing_ms, 0) AS view_rebuffer_percent,
    if(view_playing_ms > 0, view_rebuffer_count * 60000 / view_playing_ms, 0) AS view_rebuffer_per_minute,
    groupArrayIf(toFloat64(event_time), event IN ('heartbeat', 'quality_change') AND bitrate > 0)
        AS view_rendition_at,
    groupArrayIf(bitrate, event IN ('heartbeat', 'quality_change') AND bitrate > 0) AS view_rendition_bitrates,
    arraySort(view_rendition_at) AS view_rendition_from,
    arraySort((b, t) -> t, view_rendition_bitrates, view_rendition_at) AS view_rendition_bitrate,
    max(toFloat64(event_time)) AS view_last_event_at,
    arrayMap(i -> if(i < length(view_rendition_from), view_rendition_from[i + 1], view_last_event_at)
                  - view_rendition_from[i], arrayEnumerate(view_rendition_from)) AS view_rendition_seconds,
    arraySum(view_rendition_seconds) AS view_bitrate_seconds,
    arraySum(arrayMap((b, d) -> b * d, view_rendition_bitrate, view_rendition_seconds)) AS view_bits,
    multiIf(view_bitrate_seconds > 0, view_bits / view_bitrate_seconds,
            length(view_rendition_bitrate) > 0, arraySum(view_rendition_bitrate) / length(view_rendition_bitrate), 0)
        AS view_average_bitrate,
    maxIf(dropped_frames, event = 'heartbeat') AS view_dropped_frames,
    maxIf(total_frames, event = 'heartbeat') AS view_total_frames,
    if(view_total_frames > 0, view_dropped_frames * 100 / view_total_frames, 0) AS view_dropped_frame_percent,
    arraySort((r, t) -> t, groupArrayIf(resolution, event IN ('heartbeat', 'quality_change') AND bitrate > 0),
              view_rendition_at) AS view_rendition_resolution,
    arrayFilter(p -> tupleElement(p, 1) != '' AND tupleElement(p, 2) > 0,
                arrayMap((r, d) -> (r, d), view_rendition_resolution, view_rendition_seconds)) AS view_rendition_times,
    groupArrayIf(toFloat64(buffering_duration_ms), event = 'buffering_end' AND reason = 'seek') AS view_seek_latencies,
    length(view_seek_latencies) AS view_seek_count,
    quantileExactIf(0.5)(toFloat64(buffering_duration_ms), event = 'buffering_end' AND reason = 'seek')
        AS view_median_seek_latency_ms,
    quantileExactIf(0.95)(toFloat64(buffering_duration_ms), event = 'buffering_end' AND reason = 'seek')
        AS view_p95_seek_latency_ms,
    multiIf(view_playback_failed, 0., view_exited_before_start AND view_last_event_at - view_intent_at < 1, nan,
            view_exited_before_start, 50., view_started, 100., nan) AS view_playback_success_score,
    if(view_started AND view_startup_time_ms > 0, 800000 / (8000 + view_startup_time_ms), nan)
        AS view_startup_time_score,
    if(view_started,
       (100 / sqrt(1 + pow(view_rebuffer_count / 2, 2)) + 100 * exp(-view_rebuffer_percent / 10)) / 2, nan)
        AS view_smoothness_score,
    multiIf(NOT view_started, view_playback_success_score,
            isNaN(view_startup_time_score), view_playback_success_score * view_smoothness_score / 100,
            view_playback_success_score * (view_smoothness_score + view_startup_time_score) / 200)
        AS view_viewer_experience_score
FROM media_events
WHERE org_hash = '{org_hash}' AND received_at >= now() - INTERVAL {hours} HOUR {view_filter}
GROUP BY actor_hash, session_id
"""

PER_VIEW_FIELDS = {
    "session_id": "view_id",
    "media_id": "view_media_id",
    "country_code": "view_country_code",
    "connection_type": "view_connection_type",
    "platform": "view_platform",
    "cdn": "view_cdn",
    "resolution": "view_resolution",
    "bandwidth_mbps": "view_bandwidth_mbps",
    "ttfb_ms": "view_ttfb_ms",
    "started": "view_started",
    "startup_time_ms": "view_startup_time_ms",
    "rebuffer_count": "view_rebuffer_count",
    "rebuffer_duration_ms": "view_rebuffer_duration_ms",
    "watched_seconds": "view_watched_seconds",
    "rebuffer_percent": "view_rebuffer_percent",
    "rebuffer_per_minute": "view_rebuffer_per_minute",
    "average_bitrate": "view_average_bitrate",
    "dropped_frame_percent": "view_dropped_frame_percent",
    "exited_before_start": "view_exited_before_start",
    "playback_failed": "view_playback_failed",
    "startup_failed": "view_startup_failed",
    "seek_count": "view_seek_count",
    "median_seek_latency_ms": "view_median_seek_latency_ms",
    "p95_seek_latency_ms": "view_p95_seek_latency_ms",
    "playback_success_score": "view_playback_success_score",
    "startup_time_score": "view_startup_time_score",
    "smoothness_score": "view_smoothness_score",
    "viewer_experience_score": "view_viewer_experience_score",
}
"""Response field → per-view column."""

STARTUP_TIME_BUCKET_EDGES_MS = (500, 1000, 2000, 4000, 8000)
"""Edges of the startup-time histogram's buckets, in milliseconds: [0, 500), [500, 1000), ..., [8000, ∞)."""


def _startup_time_histogram() -> str:
    """An array of counts, one per bucket, of the views with a measured startup time (0 is "not measured",
    as for the median)."""
    lows, highs = (0, *STARTUP_TIME_BUCKET_EDGES_MS), (*STARTUP_TIME_BUCKET_EDGES_MS, None)
    counts = [
        f"countIf(view_started AND view_startup_time_ms > 0 AND view_startup_time_ms >= {low}"
        + ("" if high is None else f" AND view_startup_time_ms < {high}")
        + ")"
        for low, high in zip(lows, highs, strict=True)
    ]
    return "[" + ", ".join(counts) + "]"


# QoE of a set of views (a group, a media), from their per-view rows: rates over views, startup time over
# the views that started, rebuffering and bitrate over the views' summed times (not a mean of ratios),
# scores as means over the views that have one (NaN, read as null, when none has), seek latency over all
# the views' seeks. Rendition times are the views' (resolution, seconds) pairs summed per resolution, most
# seconds first (ties by name); 18.16's sumMap takes no String keys. Quantiles take Float64, so that no
# rows give NaN (null) rather than 0.
QOE_AGGREGATES = (
    """
        count() AS qoe_views,
        if(qoe_views > 0, countIf(view_playback_failed) * 100 / qoe_views, 0) AS qoe_playback_failure_percent,
        if(qoe_views > 0, countIf(view_startup_failed) * 100 / qoe_views, 0) AS qoe_startup_failure_percent,
        if(qoe_views > 0, countIf(view_exited_before_start) * 100 / qoe_views, 0) AS qoe_exits_before_start_percent,
        quantileExactIf(0.5)(toFloat64(view_startup_time_ms), view_started AND view_startup_time_ms > 0)
            AS qoe_median_startup_time_ms,
        quantileExactIf(0.95)(toFloat64(view_startup_time_ms), view_started AND view_startup_time_ms > 0)
            AS qoe_p95_startup_time_ms,
        if(sum(view_playing_ms) > 0, sum(view_rebuffer_duration_ms) * 100 / sum(view_playing_ms), 0)
            AS qoe_rebuffer_percent,
        if(sum(view_playing_ms) > 0, sum(view_rebuffer_count) * 60000 / sum(view_playing_ms), 0)
            AS qoe_rebuffer_per_minute,
        if(sum(view_bitrate_seconds) > 0, sum(view_bits) / sum(view_bitrate_seconds), 0) AS qoe_average_bitrate,
        if(sum(view_total_frames) > 0, sum(view_dropped_frames) * 100 / sum(view_total_frames), 0)
            AS qoe_dropped_frame_percent,
        avgIf(view_playback_success_score, NOT isNaN(view_playback_success_score)) AS qoe_playback_success_score,
        avgIf(view_startup_time_score, NOT isNaN(view_startup_time_score)) AS qoe_startup_time_score,
        avgIf(view_smoothness_score, NOT isNaN(view_smoothness_score)) AS qoe_smoothness_score,
        avgIf(view_viewer_experience_score, NOT isNaN(view_viewer_experience_score)) AS qoe_viewer_experience_score,
        """
    + _startup_time_histogram()
    + """ AS qoe_startup_time_histogram,
        sum(view_seek_count) AS qoe_seek_count,
        quantileExactArray(0.5)(view_seek_latencies) AS qoe_median_seek_latency_ms,
        quantileExactArray(0.95)(view_seek_latencies) AS qoe_p95_seek_latency_ms,
        groupArrayArray(view_rendition_times) AS qoe_rendition_times,
        arrayDistinct(arrayMap(p -> tupleElement(p, 1), qoe_rendition_times)) AS qoe_renditions,
        arrayMap(r -> arraySum(arrayMap(p -> if(tupleElement(p, 1) = r, tupleElement(p, 2), 0), qoe_rendition_times)),
                 qoe_renditions) AS qoe_rendition_totals,
        arraySort((r, s) -> (-s, r), qoe_renditions, qoe_rendition_totals) AS qoe_rendition_resolutions,
        arraySort((s, r) -> (-s, r), qoe_rendition_totals, qoe_renditions) AS qoe_rendition_seconds
"""
)

QOE_FIELDS = (
    "playback_failure_percent",
    "startup_failure_percent",
    "exits_before_start_percent",
    "median_startup_time_ms",
    "p95_startup_time_ms",
    "rebuffer_percent",
    "rebuffer_per_minute",
    "average_bitrate",
    "dropped_frame_percent",
    "playback_success_score",
    "startup_time_score",
    "smoothness_score",
    "viewer_experience_score",
    "startup_time_histogram",
    "seek_count",
    "median_seek_latency_ms",
    "p95_seek_latency_ms",
    "rendition_resolutions",
    "rendition_seconds",
)
"""The figures :data:`QOE_AGGREGATES` gives, each as ``qoe_<name>``."""
_QOE_COLUMNS = ", ".join(f"qoe_{name}" for name in ("views", *QOE_FIELDS))

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
        {group_column} AS group_key,{qoe}
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
"""The ``group_by`` values the bandwidth statistics accept, each a column of the per-view rows."""


def per_view_query(org_hash: str, hours: int, view: tuple[str, uuid.UUID] | None = None) -> str:
    """Per-view QoE rows of ``org_hash`` received in the last ``hours``, or of one view, given as its
    ``(actor_hash, session_id)``."""
    view_filter = ""
    if view is not None:
        actor_hash, session_id = hashed_id(view[0]), uuid.UUID(str(view[1]))
        view_filter = f"AND actor_hash = '{actor_hash}' AND session_id = toUUID('{session_id}')"
    return _PER_VIEW.format(org_hash=hashed_id(org_hash), hours=int(hours), view_filter=view_filter)


def bandwidth_query(org_hash: str, hours: int, group_by: str) -> str:
    """Bandwidth statistics of ``org_hash``'s views of the last ``hours``, grouped by ``group_by``."""
    if group_by not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {group_by!r}")
    column = identifier(f"view_{group_by}")
    return _BANDWIDTH.format(
        group_column=column,
        per_view=per_view_query(org_hash, hours),
        qoe=QOE_AGGREGATES.rstrip() + ",",
        qoe_columns=_QOE_COLUMNS,
    )


# The views of one media: (actor, session) pairs whose session_start named it. Later events of a view
# usually carry no media_id (the contract makes it optional after session_start), so they are found by
# (actor_hash, session_id). The queries use GLOBAL IN: in cluster mode media_events is a Distributed table
# and a plain IN over it would be a refused double-distributed subquery; on one server GLOBAL IN is the
# same as IN.
_MEDIA_VIEWS = """
SELECT actor_hash, session_id
FROM media_events
WHERE org_hash = '{org_hash}' AND media_id = '{media_id}' AND event = 'session_start'
    AND received_at >= now() - INTERVAL {hours} HOUR
"""

# One row for the media: per-view figures first, then their sums and means. A view "reached" a
# milestone when it sent that milestone or a later one (a lost event does not hide a later one).
_MEDIA_SUMMARY = """
SELECT
    count() AS views,
    avg(view_watch_percent) AS average_watch_percent,
    countIf(view_completed) AS completed_views,
    if(views > 0, completed_views / views, 0) AS completion_rate,
    [countIf(view_milestone >= 25), countIf(view_milestone >= 50), countIf(view_milestone >= 75),
     countIf(view_milestone >= 95)] AS milestone_views,
    sum(view_abr_switches) AS abr_switches,
    sum(view_abr_up) AS abr_up_switches,
    sum(view_abr_down) AS abr_down_switches,
    if(views > 0, abr_switches / views, 0) AS abr_switches_per_view
FROM (
    SELECT
        max(completion_percent) AS view_watch_percent,
        countIf(event = 'session_end' AND completed = 1) > 0 AS view_completed,
        maxIf(milestone_percent, event = 'milestone') AS view_milestone,
        countIf(event = 'quality_change' AND reason = 'abr') AS view_abr_switches,
        countIf(event = 'quality_change' AND reason = 'abr' AND bitrate > previous_bitrate) AS view_abr_up,
        countIf(event = 'quality_change' AND reason = 'abr' AND bitrate < previous_bitrate) AS view_abr_down
    FROM media_events
    WHERE org_hash = '{org_hash}' AND received_at >= now() - INTERVAL {hours} HOUR
        AND (actor_hash, session_id) GLOBAL IN ({views})
    GROUP BY actor_hash, session_id
)
"""

# Playback time per resolution, counted in heartbeats (one per 10 s of playback).
_MEDIA_QUALITY = """
SELECT resolution AS quality_resolution, count() AS heartbeats
FROM media_events
WHERE org_hash = '{org_hash}' AND received_at >= now() - INTERVAL {hours} HOUR
    AND event = 'heartbeat' AND resolution != '' AND (actor_hash, session_id) GLOBAL IN ({views})
GROUP BY resolution
ORDER BY heartbeats DESC, quality_resolution
"""


def _media_filter(org_hash: str, media_id: str, hours: int) -> dict[str, str]:
    org, hours_text = hashed_id(org_hash), str(int(hours))
    views = _MEDIA_VIEWS.format(org_hash=org, media_id=hashed_id(media_id), hours=hours_text)
    return {"org_hash": org, "hours": hours_text, "views": views}


def media_summary_query(org_hash: str, media_id: str, hours: int) -> str:
    """Views, watch %, completion, milestone reach and ABR switches of ``media_id`` in ``org_hash``."""
    return _MEDIA_SUMMARY.format(**_media_filter(org_hash, media_id, hours))


def media_quality_query(org_hash: str, media_id: str, hours: int) -> str:
    """Heartbeats per resolution of ``media_id``'s views in ``org_hash``, most first."""
    return _MEDIA_QUALITY.format(**_media_filter(org_hash, media_id, hours))


# QoE of one media: the views whose play_intent or session_start named it.
_MEDIA_QOE = """
SELECT {qoe}
FROM ({per_view})
WHERE view_media_id = '{media_id}'
"""


def media_qoe_query(org_hash: str, media_id: str, hours: int) -> str:
    """QoE figures (:data:`QOE_FIELDS`) of ``media_id``'s views in ``org_hash`` of the last ``hours``."""
    return _MEDIA_QOE.format(qoe=QOE_AGGREGATES, per_view=per_view_query(org_hash, hours), media_id=hashed_id(media_id))


# The organization's media ranked by one QoE rate, worst first; ties by more views, then by media id, so the
# order is the same on every read. Views without a media id (their play_intent and session_start were lost)
# rank nowhere.
_RANKING = """
SELECT view_media_id AS ranked_media_id, {qoe}
FROM ({per_view})
WHERE view_media_id != ''
GROUP BY view_media_id
HAVING qoe_views >= {min_views}
ORDER BY {order_column} DESC, qoe_views DESC, ranked_media_id
LIMIT {limit}
"""

RANKING_ORDERS: tuple[str, ...] = get_args(MediaRankingOrder)
"""The ``order_by`` values the media ranking accepts, each a figure of :data:`QOE_FIELDS`."""


def media_ranking_query(org_hash: str, hours: int, order_by: str, min_views: int, limit: int) -> str:
    """QoE figures per media of ``org_hash``'s views of the last ``hours``, the ``limit`` media with at least
    ``min_views`` views and the highest ``order_by`` first."""
    if order_by not in RANKING_ORDERS:
        raise ValueError(f"cannot rank by {order_by!r}")
    return _RANKING.format(
        qoe=QOE_AGGREGATES,
        per_view=per_view_query(org_hash, hours),
        min_views=int(min_views),
        order_column=identifier(f"qoe_{order_by}"),
        limit=int(limit),
    )
