"""The ``data`` payload of each telemetry media event kind, and the labels and network context they carry.

Labels are ``Literal``s, not enums: the service copies them straight into low-cardinality string
columns and never branches on them.
"""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.types import (
    BitsPerSecond,
    Count,
    MediaSeconds,
    Milliseconds,
    Percentage,
    VideoResolution,
)

ConnectionType = Literal["wifi", "cellular", "ethernet", "other", "unknown"]
QualityChangeReason = Literal["abr", "user", "network"]
MilestonePercent = Literal[25, 50, 75, 95]
ExitReason = Literal["ended", "user_exit", "navigated_away", "app_backgrounded", "error", "timeout"]


Platform = Literal["web", "ios", "android", "desktop", "other"]

# Effective downlink in Mbit/s as the browser's Network Information API estimates it.
_Megabits = Annotated[float, Meta(ge=0, le=100_000)]
# A CDN's short name and a player's error code (`MEDIA_ERR_NETWORK`, `hls:fragLoadError`, `4001`).
CdnName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
MediaErrorCode = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
StallCause = Literal["playback", "seek"]

# Media events -------------------------------------------------------------------------------------------


# The network context of a playback request and of its first frame: described once, used by both.
DeviceConnectionType = Annotated[
    ConnectionType,
    Meta(
        description=(
            "The device's network connection type, as the browser or OS reports it. In a batch, another label "
            "(`bluetooth`, `mixed`, `wimax`) is stored as `other`, and `none` or null as `unknown` (counted in "
            "the answer's `coerced`)."
        )
    ),
]
EffectiveBandwidth = Annotated[
    _Megabits | None,
    Meta(
        description=(
            "Effective downlink estimate (the Network Information API's `downlink`), in Mbit/s (megabits "
            "per second; not bit/s or kbit/s); null when unknown. A number outside 0-100 000, such as a "
            "player's estimate in bit/s, is stored as null and counted in the answer's `dropped`."
        )
    ),
]
RoundTripTime = Annotated[
    Milliseconds | None,
    Meta(description="Round-trip time estimate of the connection, in milliseconds; null when unknown."),
]
DevicePlatform = Annotated[
    Platform | None,
    Meta(
        description=(
            "The app platform playing the media: `web`, `ios`, `android`, `desktop` or `other`; null when "
            "unknown. The media read routes group views by it."
        )
    ),
]


class MediaSessionStartData(msgspec.Struct, frozen=True):
    """`session_start` data: how fast the media started and the network it started on."""

    total_duration_seconds: Annotated[MediaSeconds, Meta(description="Length of the media, in seconds.")]
    cdn_response_time_ms: Annotated[
        Milliseconds,
        Meta(description="The CDN's response time for the media request, in milliseconds."),
    ]
    # Optional since play_intent exists: the server measures startup from play_intent to this event.
    ttfb_ms: Annotated[
        Milliseconds | None,
        Meta(description="Time to first byte of the media request, in milliseconds; null when unknown."),
    ] = None
    video_load_time_ms: Annotated[
        Milliseconds | None,
        Meta(
            description=(
                "Time from the play request to the first frame (startup time) as the player measured it, in "
                "milliseconds; used only for a view without `play_intent`. Null when unknown."
            )
        ),
    ] = None
    cdn: Annotated[
        CdnName | None,
        Meta(description="The CDN that served the media (a short name such as `cloudfront`); null when unknown."),
    ] = None
    connection_type: DeviceConnectionType = "unknown"
    effective_bandwidth: EffectiveBandwidth = None
    rtt_ms: RoundTripTime = None
    platform: DevicePlatform = None


class MediaPlayIntentData(msgspec.Struct, frozen=True):
    """`play_intent` data: the network the playback request was made on (CTA-2066's playback request)."""

    total_duration_seconds: Annotated[
        MediaSeconds | None,
        Meta(description="Length of the media, in seconds; null when not known yet."),
    ] = None
    connection_type: DeviceConnectionType = "unknown"
    effective_bandwidth: EffectiveBandwidth = None
    rtt_ms: RoundTripTime = None
    cdn: Annotated[
        CdnName | None,
        Meta(description="The CDN the media is requested from (a short name such as `cloudfront`); null when unknown."),
    ] = None
    platform: DevicePlatform = None


class MediaErrorData(msgspec.Struct, frozen=True):
    """`error` data: the player reported an error, before or after the first frame."""

    code: Annotated[
        MediaErrorCode,
        Meta(description="The player's error code (`MEDIA_ERR_NETWORK`, `hls:fragLoadError`, `4001`)."),
    ]
    fatal: Annotated[
        bool,
        Meta(description="Whether playback stopped because of it (a playback failure); false for a recovered error."),
    ]
    position_seconds: Annotated[
        MediaSeconds | None,
        Meta(description="Playback position when it happened, in seconds; null before the first frame."),
    ] = None


class MediaHeartbeatData(msgspec.Struct, frozen=True):
    """`heartbeat` data: the playback state, cumulative over the view."""

    position_seconds: Annotated[
        MediaSeconds,
        Meta(description="Playback position, in seconds from the start of the media."),
    ]
    watched_duration_seconds: Annotated[
        MediaSeconds,
        Meta(description="Media time actually played so far in this view, in seconds (seeks not counted)."),
    ]
    completion_percent: Annotated[
        Percentage,
        Meta(description="Share of the media watched so far, in percent (0-100)."),
    ]
    buffering_count: Annotated[Count, Meta(description="Stalls (buffering events) so far in this view.")]
    buffering_duration_ms: Annotated[
        Milliseconds,
        Meta(description="Total stall time so far in this view, in milliseconds."),
    ]
    current_bitrate: Annotated[
        BitsPerSecond, Meta(description="Bitrate of the rendition playing, in bit/s (bits per second, not kbit/s).")
    ]
    # Video-only: an audio session has no rendition or frames.
    current_resolution: Annotated[
        VideoResolution | None,
        Meta(description="Rendition playing, such as `720p`; video only, null for audio."),
    ] = None
    dropped_frames: Annotated[
        Count | None,
        Meta(description="Frames dropped so far in this view; video only, null for audio."),
    ] = None
    total_frames: Annotated[
        Count | None,
        Meta(description="Frames decoded so far in this view; video only, null for audio."),
    ] = None


BufferingCause = Annotated[
    StallCause,
    Meta(description="`seek` when a seek emptied the buffer, else `playback`; seek stalls are not rebuffering."),
]


class MediaBufferingStartData(msgspec.Struct, frozen=True):
    """`buffering_start` data: playback stalled."""

    position_seconds: Annotated[MediaSeconds, Meta(description="Playback position where the stall began, in seconds.")]
    cause: BufferingCause = "playback"


class MediaBufferingEndData(msgspec.Struct, frozen=True):
    """`buffering_end` data: playback resumed after a stall."""

    position_seconds: Annotated[MediaSeconds, Meta(description="Playback position where the stall ended, in seconds.")]
    duration_ms: Annotated[Milliseconds, Meta(description="Length of the stall, in milliseconds.")]
    cause: BufferingCause = "playback"


class MediaQualityChangeData(msgspec.Struct, frozen=True):
    """`quality_change` data: the player switched rendition."""

    from_bitrate: Annotated[
        BitsPerSecond, Meta(description="Bitrate before the switch, in bit/s (bits per second, not kbit/s).")
    ]
    to_bitrate: Annotated[
        BitsPerSecond, Meta(description="Bitrate after the switch, in bit/s (bits per second, not kbit/s).")
    ]
    reason: Annotated[
        QualityChangeReason,
        Meta(
            description=(
                "Why the rendition changed: `abr` (adaptive bitrate logic), `user` (chosen in the"
                " player), `network` (forced by a network change)."
            )
        ),
    ]
    from_resolution: Annotated[
        VideoResolution | None,
        Meta(description="Rendition before the switch, such as `720p`; null when unknown."),
    ] = None
    to_resolution: Annotated[
        VideoResolution | None,
        Meta(description="Rendition after the switch, such as `480p`; null when unknown."),
    ] = None


class MediaMilestoneData(msgspec.Struct, frozen=True):
    """`milestone` data: the view reached 25, 50, 75 or 95 % of the media."""

    percent: Annotated[
        MilestonePercent,
        Meta(description="The milestone reached: 25, 50, 75 or 95 percent of the media watched."),
    ]
    position_seconds: Annotated[
        MediaSeconds,
        Meta(description="Playback position when the milestone was reached, in seconds."),
    ]


class MediaSessionEndData(msgspec.Struct, frozen=True):
    """`session_end` data: the view's final figures and why it ended."""

    watched_duration_seconds: Annotated[
        MediaSeconds,
        Meta(description="Media time actually played in this view, in seconds."),
    ]
    completion_percent: Annotated[
        Percentage,
        Meta(description="Share of the media watched in this view, in percent (0-100)."),
    ]
    buffering_count: Annotated[Count, Meta(description="Stalls in this view.")]
    buffering_duration_ms: Annotated[Milliseconds, Meta(description="Total stall time in this view, in milliseconds.")]
    completed: Annotated[bool, Meta(description="Whether the patient watched the media to its end.")]
    exit_reason: Annotated[
        ExitReason,
        Meta(
            description=(
                "Why the view ended: `ended` (played to the end), `user_exit`, `navigated_away`, "
                "`app_backgrounded`, `error` (playback failed) or `timeout`."
            )
        ),
    ]
