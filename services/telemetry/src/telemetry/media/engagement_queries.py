"""ClickHouse SQL for one media's engagement: views, watch %, completion, milestones, ABR switches and
playback time per resolution; runs on ClickHouse 18.16 and chdb's 26.x alike."""

from __future__ import annotations

from telemetry.clickhouse.sql import Sql, Value, render

# The views of one media: (actor, session) pairs whose session_start named it. Later events of a view
# usually carry no media_id (the contract makes it optional after session_start), so they are found by
# (actor_hash, session_id). The queries use GLOBAL IN: in cluster mode media_events is a Distributed table
# and a plain IN over it would be a refused double-distributed subquery; on one server GLOBAL IN is the
# same as IN.
_MEDIA_VIEWS = """
SELECT actor_hash, session_id
FROM media_events
WHERE org_hash = {org_hash} AND media_id = {media_id} AND event = 'session_start'
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
    WHERE org_hash = {org_hash} AND received_at >= now() - INTERVAL {hours} HOUR
        AND (actor_hash, session_id) GLOBAL IN ({views})
    GROUP BY actor_hash, session_id
)
"""

# Playback time per resolution, counted in heartbeats (one per 10 s of playback).
_MEDIA_QUALITY = """
SELECT resolution AS quality_resolution, count() AS heartbeats
FROM media_events
WHERE org_hash = {org_hash} AND received_at >= now() - INTERVAL {hours} HOUR
    AND event = 'heartbeat' AND resolution != '' AND (actor_hash, session_id) GLOBAL IN ({views})
GROUP BY resolution
ORDER BY heartbeats DESC, quality_resolution
"""


def _media_values(org_hash: str, media_id: str, hours: int) -> dict[str, Value]:
    views = render(_MEDIA_VIEWS, org_hash=org_hash, media_id=media_id, hours=hours)
    return {"org_hash": org_hash, "hours": hours, "views": views}


def media_summary_query(org_hash: str, media_id: str, hours: int) -> Sql:
    """Views, watch %, completion, milestone reach and ABR switches of ``media_id`` in ``org_hash``."""
    return render(_MEDIA_SUMMARY, **_media_values(org_hash, media_id, hours))


def media_quality_query(org_hash: str, media_id: str, hours: int) -> Sql:
    """Heartbeats per resolution of ``media_id``'s views in ``org_hash``, most first."""
    return render(_MEDIA_QUALITY, **_media_values(org_hash, media_id, hours))
