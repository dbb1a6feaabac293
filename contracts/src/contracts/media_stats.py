"""Media read routes (staff): views grouped by bandwidth, one media's statistics and the media ranking.

Figures computed by ClickHouse over an organization's rows; docs/telemetry.md defines each.
"""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.media_event_data import MilestonePercent
from contracts.media_qoe import QoESummary


class BandwidthGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Bandwidth and QoE of the views sharing one value of the grouping column."""

    group_value: Annotated[
        str,
        Meta(
            description=(
                "The value of the grouping column these views share (a country code, connection "
                "type, CDN, resolution or platform); empty for unknown."
            )
        ),
    ]
    sessions: Annotated[int, Meta(description="Views in the group.")]
    median_bandwidth_mbps: Annotated[
        float | None,
        Meta(
            description="Median effective bandwidth of the views, in megabits per second; null when none reported it."
        ),
    ]
    p90_bandwidth_mbps: Annotated[
        float | None,
        Meta(
            description=(
                "90th percentile of the views' effective bandwidth, in megabits per second; null when none reported it."
            )
        ),
    ]
    median_ttfb_ms: Annotated[
        float | None,
        Meta(description="Median time to first byte, in milliseconds; null when none reported it."),
    ]
    median_startup_time_ms: Annotated[
        float | None,
        Meta(description="Median request-to-first-frame time, in milliseconds; null when none reported it."),
    ]
    rebuffer_ratio: Annotated[
        float,
        Meta(description="Stall time over stall plus watched time of all the group's views, a ratio 0-1."),
    ]
    average_bitrate: Annotated[float, Meta(description="Mean of the views' average bitrates, in bits per second.")]
    qoe: Annotated[QoESummary, Meta(description="Failure, startup, rebuffering and bitrate of the group's views.")]
    recommended_max_rendition: Annotated[
        str,
        Meta(
            description=(
                "Highest rendition whose bitrate fits 80 % of the median bandwidth, one lower "
                "above 2 % rebuffering. Ladder: 1080p 5 Mbps, 720p 2.5, 480p 1.2, 360p 0.7, else "
                "240p."
            )
        ),
    ]


class BandwidthStats(msgspec.Struct, frozen=True, kw_only=True):
    """Bandwidth and QoE of the organization's views in `period`, grouped by `group_by`."""

    period: Annotated[
        str,
        Meta(
            description=(
                "The period covered, as asked (`7d`, `12h`), counted back from now over the time events were received."
            )
        ),
    ]
    group_by: Annotated[
        str,
        Meta(description="The grouping column: `country_code`, `connection_type`, `cdn`, `resolution` or `platform`."),
    ]
    groups: Annotated[list[BandwidthGroup], Meta(description="One entry per value of the grouping column.")]


class MilestoneReach(msgspec.Struct, frozen=True, kw_only=True):
    """How many views of a media reached a milestone (sent it or a later one)."""

    percent: Annotated[MilestonePercent, Meta(description="The milestone: 25, 50, 75 or 95 percent watched.")]
    views: Annotated[int, Meta(description="Views that sent this milestone or a later one.")]
    rate: Annotated[float, Meta(description="``views`` over all views of the media, 0-1.")]


class ResolutionShare(msgspec.Struct, frozen=True, kw_only=True):
    """Playback time at one resolution, measured in heartbeats (one every 10 s of playback)."""

    resolution: Annotated[str, Meta(description="The rendition (`720p`).")]
    heartbeats: Annotated[int, Meta(description="Heartbeats that reported it (one per 10 seconds of playback).")]
    share: Annotated[float, Meta(description="``heartbeats`` over all heartbeats that reported a resolution, 0-1.")]


class MediaStats(msgspec.Struct, frozen=True, kw_only=True):
    """Engagement and delivery of one exercise video (a ``media_id``) over the organization's views whose
    ``session_start`` arrived in ``period``. A media without views there has ``views: 0``."""

    media_id: Annotated[str, Meta(description="Hashed id of the media.")]
    period: Annotated[str, Meta(description="The period covered, as asked (`30d`, `12h`).")]
    views: Annotated[int, Meta(description="Views whose `session_start` named the media and arrived in the period.")]
    average_watch_percent: Annotated[
        float,
        Meta(
            description=(
                "Mean over views of the largest ``completion_percent`` each reported (0 for a "
                "view that reported none). In percent (0-100)."
            )
        ),
    ]
    completed_views: Annotated[int, Meta(description="Views whose ``session_end`` said ``completed``.")]
    completion_rate: Annotated[float, Meta(description="``completed_views`` over ``views``, 0-1 (0 without views).")]
    milestones: Annotated[list[MilestoneReach], Meta(description="25, 50, 75 and 95 %, in that order.")]
    quality: Annotated[
        list[ResolutionShare],
        Meta(
            description=(
                "Resolutions by heartbeats reporting them (one per 10 s of playback), most first; "
                "`qoe.rendition_times` measures the same by time."
            )
        ),
    ]
    abr_switches: Annotated[int, Meta(description="``quality_change`` events with reason ``abr``.")]
    abr_up_switches: Annotated[int, Meta(description="Of `abr_switches`, those to a higher bitrate.")]
    abr_down_switches: Annotated[int, Meta(description="Of `abr_switches`, those to a lower bitrate.")]
    abr_switches_per_view: Annotated[float, Meta(description="`abr_switches` over `views` (0 without views).")]
    qoe: Annotated[
        QoESummary,
        Meta(
            description="Failure, startup, rebuffering and bitrate of the views whose `play_intent` or start named it."
        ),
    ]


MediaRankingOrder = Literal["playback_failure_percent", "startup_failure_percent", "exits_before_start_percent"]


class RankedMedia(msgspec.Struct, frozen=True, kw_only=True):
    """One exercise video of the organization in the ranking, with the QoE of its views."""

    rank: Annotated[int, Meta(description="Position in the ranking, from 1 (the worst by `order_by`).")]
    media_id: Annotated[str, Meta(description="Hashed id of the media the views' `play_intent` or first frame named.")]
    views: Annotated[int, Meta(description="Views of the media whose events arrived in the period.")]
    qoe: Annotated[QoESummary, Meta(description="Failure, exit, startup, rebuffering and scores of those views.")]


class MediaRanking(msgspec.Struct, frozen=True, kw_only=True):
    """The organization's exercise videos ranked by a failure or exit rate of their views, worst first."""

    period: Annotated[
        str,
        Meta(description="The period covered, as asked (`30d`, `12h`), counted back from now over events' arrival."),
    ]
    order_by: Annotated[
        MediaRankingOrder,
        Meta(
            description=(
                "The rate ranked by, in percent of views: `playback_failure_percent`, `startup_failure_percent` or "
                "`exits_before_start_percent`. Ties go to the media with more views, then by `media_id`."
            )
        ),
    ]
    min_views: Annotated[int, Meta(description="Media with fewer views in the period are left out.")]
    media: Annotated[
        list[RankedMedia],
        Meta(description="At most `limit` media, the highest rate first; empty when none has `min_views` views."),
    ]
