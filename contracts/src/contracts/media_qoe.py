"""Quality of experience of media views (staff read routes): the startup-time histogram, time per
rendition, the viewer experience scores, the figures over many views and those of one view.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

# Read routes (staff) ------------------------------------------------------------------------------------
# Figures computed by ClickHouse over an organization's rows; see docs/telemetry.md for every definition.


class StartupTimeBucket(msgspec.Struct, frozen=True, kw_only=True):
    """Views whose startup time fell in one bucket of the fixed startup-time histogram."""

    from_ms: Annotated[int, Meta(description="Lower bound of the bucket, in milliseconds, inclusive.")]
    to_ms: Annotated[
        int | None,
        Meta(description="Upper bound of the bucket, in milliseconds, exclusive; null for the last, open bucket."),
    ]
    views: Annotated[int, Meta(description="Views that started with a startup time in the bucket.")]


class RenditionTime(msgspec.Struct, frozen=True, kw_only=True):
    """Playback time at one rendition, from the time-weighted bitrate samples."""

    resolution: Annotated[str, Meta(description="The rendition (`720p`).")]
    seconds: Annotated[
        float,
        Meta(description="Time the views' bitrate samples held this rendition, summed over the views, in seconds."),
    ]
    share: Annotated[
        float,
        Meta(description="`seconds` over the time at every known rendition, a ratio 0-1."),
    ]


# Scores after Mux Data's viewer experience scores; docs/telemetry.md says where they differ.
PlaybackSuccessScore = Annotated[
    float | None,
    Meta(
        description=(
            "Playback success score, 0-100: 0 for a playback failure, 50 for an exit before start (none when "
            "it came within 1 second of the request), 100 for a view that started without failing."
        )
    ),
]
StartupTimeScore = Annotated[
    float | None,
    Meta(description="Startup time score, 0-100: 8 / (8 + startup time in seconds) x 100; views that started only."),
]
SmoothnessScore = Annotated[
    float | None,
    Meta(
        description=(
            "Smoothness score, 0-100: the mean of 100 / sqrt(1 + (rebuffer count / 2)^2) and "
            "100 x e^(-10 x rebuffer ratio); views that started only."
        )
    ),
]
ViewerExperienceScore = Annotated[
    float | None,
    Meta(
        description=(
            "Overall viewer experience score, 0-100: playback success score / 100 x the mean of the smoothness "
            "and startup time scores (the playback success score alone for a view that never started)."
        )
    ),
]

SeekCount = Annotated[int, Meta(description="Seeks that stalled playback (`buffering_end` with cause `seek`).")]

MedianSeekLatency = Annotated[
    float | None,
    Meta(description="Median duration of those seek stalls (Mux seek latency), in milliseconds; null if none."),
]

P95SeekLatency = Annotated[
    float | None,
    Meta(description="95th percentile duration of those seek stalls, in milliseconds; null if none."),
]


class QoESummary(msgspec.Struct, frozen=True, kw_only=True):
    """Video QoE of a set of views (a media's, a group's), after Mux Data and CTA-2066; every formula and
    where it differs from them is in docs/telemetry.md, "Read routes"."""

    views: Annotated[int, Meta(description="Views: (actor, session_id) pairs with any media event.")]
    playback_failure_percent: Annotated[
        float,
        Meta(description="Views with a fatal `error` (or exit reason `error`) over views, in percent (0-100)."),
    ]
    startup_failure_percent: Annotated[
        float,
        Meta(description="Views whose fatal error came before the first frame over views, in percent (0-100)."),
    ]
    exits_before_start_percent: Annotated[
        float,
        Meta(
            description=(
                "Views with `play_intent` but neither a first frame nor a fatal error over views, in percent (0-100)."
            )
        ),
    ]
    median_startup_time_ms: Annotated[
        float | None,
        Meta(description="Median startup time of the views that started, in milliseconds; null when none did."),
    ]
    p95_startup_time_ms: Annotated[
        float | None,
        Meta(description="95th percentile startup time of the views that started, in milliseconds; null when none."),
    ]
    rebuffer_percent: Annotated[
        float,
        Meta(description="Stall time over watched plus stall time, summed over the views, in percent (0-100)."),
    ]
    rebuffer_per_minute: Annotated[
        float,
        Meta(description="Stalls per minute of watched plus stall time, summed over the views."),
    ]
    average_bitrate: Annotated[
        float,
        Meta(description="Time-weighted bitrate over the views' time at each rendition, in bits per second."),
    ]
    dropped_frame_percent: Annotated[
        float,
        Meta(description="Dropped frames over decoded frames, summed over the views, in percent (0-100)."),
    ]
    playback_success_score: Annotated[
        float | None,
        Meta(
            description=(
                "Mean of the views' playback success scores (0-100; 0 failed, 50 exited before start, 100 "
                "started), over the views that have one; null when none has."
            )
        ),
    ] = None
    startup_time_score: Annotated[
        float | None,
        Meta(
            description=(
                "Mean of the views' startup time scores (0-100; 8 / (8 + startup seconds) x 100), over the views "
                "that have one; null when none has."
            )
        ),
    ] = None
    smoothness_score: Annotated[
        float | None,
        Meta(
            description=(
                "Mean of the views' smoothness scores (0-100, from rebuffer count and ratio), over the views that "
                "have one; null when none has."
            )
        ),
    ] = None
    viewer_experience_score: Annotated[
        float | None,
        Meta(
            description=(
                "Mean of the views' overall viewer experience scores (0-100), over the views that have one; null "
                "when none has."
            )
        ),
    ] = None
    startup_time_histogram: Annotated[
        list[StartupTimeBucket],
        Meta(
            description=(
                "Views that started with a measured startup time, per bucket: 0-500, 500-1000, 1000-2000, "
                "2000-4000, 4000-8000 and 8000 ms or more, in that order."
            )
        ),
    ] = msgspec.field(default_factory=list)
    rendition_times: Annotated[
        list[RenditionTime],
        Meta(description="Playback time per rendition, by time (not by sample count), most seconds first."),
    ] = msgspec.field(default_factory=list)
    seek_count: SeekCount = 0
    median_seek_latency_ms: MedianSeekLatency = None
    p95_seek_latency_ms: P95SeekLatency = None


class ViewQoE(msgspec.Struct, frozen=True, kw_only=True):
    """Video quality of experience of one view (one ``session_id``)."""

    session_id: Annotated[str, Meta(description="The view's playback session id.")]
    media_id: Annotated[str, Meta(description="Hashed id of the media the view played.")]
    country_code: Annotated[
        str,
        Meta(description="ISO 3166-1 alpha-2 country from the edge at `session_start`; empty when unknown."),
    ]
    connection_type: Annotated[str, Meta(description="Connection type reported at `session_start`.")]
    resolution: Annotated[str, Meta(description="Rendition of the last heartbeat (`720p`); empty without heartbeats.")]
    bandwidth_mbps: Annotated[
        float,
        Meta(
            description=(
                "Effective bandwidth reported at `session_start`, in megabits per second; 0 when not reported."
            )
        ),
    ]
    ttfb_ms: Annotated[int, Meta(description="Time to first byte reported at `session_start`, in milliseconds.")]
    cdn: Annotated[str, Meta(description="CDN named by `play_intent` or `session_start`; empty when unknown.")]
    started: Annotated[bool, Meta(description="The view showed its first frame (sent `session_start`).")]
    startup_time_ms: Annotated[
        int,
        Meta(
            description=(
                "`play_intent` to `session_start` (server-measured), else the `video_load_time_ms` of "
                "`session_start`, in milliseconds; 0 when the view never started."
            )
        ),
    ]
    rebuffer_count: Annotated[
        int,
        Meta(description="Stalls after the first frame not caused by a seek, a stall still open at the end included."),
    ]
    rebuffer_duration_ms: Annotated[
        int,
        Meta(
            description=(
                "Their total time (`buffering_end` durations, plus an open stall up to `session_end`), in milliseconds."
            )
        ),
    ]
    watched_seconds: Annotated[
        float,
        Meta(description="The largest `watched_duration_seconds` the view reported, in seconds."),
    ]
    rebuffer_percent: Annotated[
        float,
        Meta(description="Stall time over stall plus watched time (CTA-2066), in percent (0-100)."),
    ]
    rebuffer_per_minute: Annotated[float, Meta(description="Stalls per minute of watched plus stall time.")]
    average_bitrate: Annotated[
        float,
        Meta(
            description=(
                "Time-weighted bitrate: each heartbeat's or switch's bitrate times the time until the next, over "
                "that time, in bits per second; 0 without bitrate samples."
            )
        ),
    ]
    dropped_frame_percent: Annotated[
        float,
        Meta(description="Dropped over decoded frames of the last heartbeat counts, in percent (0-100)."),
    ]
    exited_before_start: Annotated[
        bool,
        Meta(description="The view sent `play_intent` but neither `session_start` nor a fatal error."),
    ]
    playback_failed: Annotated[
        bool,
        Meta(description="The view had a fatal `error` event or its `session_end` exit reason is `error`."),
    ]
    startup_failed: Annotated[bool, Meta(description="The view's first fatal error came before its first frame.")]
    platform: Annotated[
        str,
        Meta(description="App platform named by `play_intent` or `session_start` (`web`, `ios`); empty when unknown."),
    ] = ""
    seek_count: SeekCount = 0
    median_seek_latency_ms: MedianSeekLatency = None
    p95_seek_latency_ms: P95SeekLatency = None
    playback_success_score: PlaybackSuccessScore = None
    startup_time_score: StartupTimeScore = None
    smoothness_score: SmoothnessScore = None
    viewer_experience_score: ViewerExperienceScore = None
