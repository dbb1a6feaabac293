"""ClickHouse SQL for media QoE: one row per view, and the QoE figures of a set of views; runs on ClickHouse
18.16 and chdb's 26.x alike. The bandwidth statistics, the per-media engagement and the media ranking are
read over these per-view rows (``bandwidth_queries.py``, ``engagement_queries.py``, ``ranking_queries.py``).

Only functions 18.16 has: ``anyIf``, ``maxIf``, ``countIf``, ``sumIf``, ``avgIf``, ``argMaxIf``,
``quantileExactIf``, ``quantileExactArray``, ``groupArrayArray``, ``multiIf``, ``arraySort`` with a lambda,
``arrayDistinct``, ``tupleElement``, ``exp``, ``sqrt``, ``pow``, ``isNaN``; not ``sumMap`` over String keys.
The ``*_query`` functions fill the templates' placeholders with :func:`telemetry.clickhouse.sql.render`.

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

from telemetry.clickhouse.sql import Sql, render

# One row per view of the organization that arrived in the period; the column view_<name> is the field <name>
# of a ViewQoE. Aliases never repeat a column's name: ClickHouse resolves such an alias inside the aggregate
# that defines it. Instants are compared as
# toFloat64(event_time), seconds since the epoch: with milliseconds on engines with DateTime64, whole
# seconds on 18.16. A figure that needs the view's first frame inside an aggregate reads arrays of the
# events' times through a lambda, since an aggregate cannot sit inside another.
_PER_VIEW = """
SELECT
    toString(session_id) AS view_session_id,
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
WHERE org_hash = {org_hash} AND received_at >= now() - INTERVAL {hours} HOUR {view_filter}
GROUP BY actor_hash, session_id
"""
_ONE_VIEW = "AND actor_hash = {actor_hash} AND session_id = {session_id}"

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
QOE_AGGREGATES = Sql(
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
        arraySort((s, r) -> (-s, r), qoe_rendition_totals, qoe_renditions) AS qoe_rendition_seconds"""
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
QOE_COLUMNS = Sql(", ".join(f"qoe_{name}" for name in ("views", *QOE_FIELDS)))
"""The columns :data:`QOE_AGGREGATES` gives, for a query over them to pass on."""


def per_view_query(org_hash: str, hours: int, view: tuple[str, uuid.UUID] | None = None) -> Sql:
    """Per-view QoE rows of ``org_hash`` received in the last ``hours``, or of one view, given as its
    ``(actor_hash, session_id)``."""
    view_filter = Sql("") if view is None else render(_ONE_VIEW, actor_hash=view[0], session_id=view[1])
    return render(_PER_VIEW, org_hash=org_hash, hours=hours, view_filter=view_filter)


# QoE of one media: the views whose play_intent or session_start named it.
_MEDIA_QOE = """
SELECT {qoe}
FROM ({per_view})
WHERE view_media_id = {media_id}
"""


def media_qoe_query(org_hash: str, media_id: str, hours: int) -> Sql:
    """QoE figures (:data:`QOE_FIELDS`) of ``media_id``'s views in ``org_hash`` of the last ``hours``."""
    return render(_MEDIA_QOE, qoe=QOE_AGGREGATES, per_view=per_view_query(org_hash, hours), media_id=media_id)
