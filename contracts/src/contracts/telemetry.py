"""Telemetry ingest bodies: media events, pose frames, analytics events and error reports.

Labels here are ``Literal``s, not enums: the service copies them straight into low-cardinality string
columns and never branches on them. Unknown fields are ignored rather than rejected so an app release
that sends a new optional field keeps working against a service that does not know it yet.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.decoding import BodyDecoder
from contracts.types import (
    LANDMARK_COUNT,
    BitsPerSecond,
    CameraResolution,
    Count,
    FormIssueCode,
    HashedId,
    LandmarkCoords,
    LandmarkScores,
    MediaSeconds,
    Milliseconds,
    Percentage,
    ResourceId,
    Slug,
    Timestamp,
    UnitFloat,
    VideoResolution,
    WorldCoords,
)

MediaType = Literal["video", "audio"]
ConnectionType = Literal["wifi", "cellular", "ethernet", "other", "unknown"]
QualityChangeReason = Literal["abr", "user", "network"]
MilestonePercent = Literal[25, 50, 75, 95]
ExitReason = Literal["ended", "user_exit", "navigated_away", "app_backgrounded", "error", "timeout"]
VisibilityKind = Literal["probability", "logit"]
ExercisePhase = Literal["concentric", "eccentric", "isometric", "rest", "transition", "unknown"]
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


class MediaBufferingStartData(msgspec.Struct, frozen=True):
    """`buffering_start` data: playback stalled."""

    position_seconds: Annotated[MediaSeconds, Meta(description="Playback position where the stall began, in seconds.")]
    cause: Annotated[
        StallCause,
        Meta(description="`seek` when a seek emptied the buffer, else `playback`; seek stalls are not rebuffering."),
    ] = "playback"


class MediaBufferingEndData(msgspec.Struct, frozen=True):
    """`buffering_end` data: playback resumed after a stall."""

    position_seconds: Annotated[MediaSeconds, Meta(description="Playback position where the stall ended, in seconds.")]
    duration_ms: Annotated[Milliseconds, Meta(description="Length of the stall, in milliseconds.")]
    cause: Annotated[
        StallCause,
        Meta(description="`seek` when a seek emptied the buffer, else `playback`; seek stalls are not rebuffering."),
    ] = "playback"


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


# Client clocks can be anything: a telemetry timestamp must fall in this range, which both ClickHouse
# engines' time columns hold (18.16's DateTime ends in 2106). Checked in __post_init__, since JSON Schema
# and msgspec's Meta bound numbers and strings, not instants.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(2100, 1, 1, tzinfo=UTC)


def check_timestamp(timestamp: datetime) -> None:
    """Raise ValueError (a 422 naming the item's path) for an instant outside the stored range."""
    if not EARLIEST_TIMESTAMP <= timestamp < LATEST_TIMESTAMP:
        raise ValueError("timestamp must be from 2000-01-01 to before 2100-01-01 (UTC)")


class _MediaEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="event"):
    session_id: Annotated[
        UUID,
        Meta(
            description=(
                "The playback session (one view of one media), made by the app at "
                "`session_start`; every event of the view carries it."
            )
        ),
    ]
    # Only ``session_start`` must name the media (the spec's heartbeat omits it): later events belong to
    # a playback session already keyed by ``session_id``.
    media_id: Annotated[
        HashedId | None,
        Meta(
            description=(
                "Hashed id of the media (an exercise video); required on `session_start`, "
                "optional on later events of the view."
            )
        ),
    ] = None
    media_type: Annotated[MediaType, Meta(description="`video` or `audio`.")] = "video"
    timestamp: Annotated[
        Timestamp,
        Meta(
            description=(
                "When the event happened on the device, with a UTC offset; from 2000-01-01 to before 2100-01-01."
            )
        ),
    ]

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# frozen and kw_only are repeated on every variant: mypy does not inherit frozen, and msgspec applies
# kw_only per class, so without it a variant's own fields would be ordered before the shared ones.


class MediaPlayIntent(_MediaEventBase, frozen=True, kw_only=True, tag="play_intent"):
    """The patient asked to play a media (`event: play_intent`, CTA-2066's playback request), before its
    first frame; it names the media, so a view that never starts still counts."""

    media_id: Annotated[HashedId, Meta(description="Hashed id of the media (an exercise video) asked for.")]
    data: Annotated[
        MediaPlayIntentData,
        Meta(description="The network of the request."),
    ] = msgspec.field(default_factory=MediaPlayIntentData)


class MediaSessionStart(_MediaEventBase, frozen=True, kw_only=True, tag="session_start"):
    """The view's first frame was shown (`event: session_start`, CTA-2066's playback start); it names the
    media."""

    media_id: Annotated[HashedId, Meta(description="Hashed id of the media (an exercise video) this view plays.")]
    data: Annotated[MediaSessionStartData, Meta(description="Start-up and network measurements of the view.")]


class MediaHeartbeat(_MediaEventBase, frozen=True, kw_only=True, tag="heartbeat"):
    """Playback state every 10 seconds of playback (`event: heartbeat`)."""

    data: Annotated[MediaHeartbeatData, Meta(description="Playback state, sent every 10 seconds of playback.")]


class MediaBufferingStart(_MediaEventBase, frozen=True, kw_only=True, tag="buffering_start"):
    """Playback stalled (`event: buffering_start`)."""

    data: Annotated[MediaBufferingStartData, Meta(description="Where the stall began.")]


class MediaBufferingEnd(_MediaEventBase, frozen=True, kw_only=True, tag="buffering_end"):
    """A stall ended (`event: buffering_end`)."""

    data: Annotated[MediaBufferingEndData, Meta(description="Where the stall ended and how long it lasted.")]


class MediaQualityChange(_MediaEventBase, frozen=True, kw_only=True, tag="quality_change"):
    """The player switched rendition (`event: quality_change`)."""

    data: Annotated[MediaQualityChangeData, Meta(description="The rendition switch.")]


class MediaMilestone(_MediaEventBase, frozen=True, kw_only=True, tag="milestone"):
    """The view reached a watch milestone (`event: milestone`)."""

    data: Annotated[MediaMilestoneData, Meta(description="The milestone reached.")]


class MediaSessionEnd(_MediaEventBase, frozen=True, kw_only=True, tag="session_end"):
    """The view ended (`event: session_end`)."""

    data: Annotated[MediaSessionEndData, Meta(description="Final figures of the view.")]


class MediaError(_MediaEventBase, frozen=True, kw_only=True, tag="error"):
    """The player reported an error (`event: error`); a fatal one before `session_start` is a startup failure."""

    data: Annotated[MediaErrorData, Meta(description="The error.")]


MediaEvent = (
    MediaPlayIntent
    | MediaSessionStart
    | MediaHeartbeat
    | MediaBufferingStart
    | MediaBufferingEnd
    | MediaQualityChange
    | MediaMilestone
    | MediaSessionEnd
    | MediaError
)

# A client flushing its queue sends an array; one that reports as it goes sends a single object.
MEDIA_EVENT_BATCH_MAX = 500
MediaEventBatch = Annotated[
    MediaEvent | Annotated[list[MediaEvent], Meta(min_length=1, max_length=MEDIA_EVENT_BATCH_MAX)],
    Meta(
        description="One media event, or an array of 1-500 in the order they happened.",
        # The spec's session_start sample (tracking-and-analytics.md).
        examples=[
            {
                "event": "session_start",
                "session_id": "550e8400-e29b-41d4-a716-446655440000",
                "media_id": "hashed-exercise-id",
                "media_type": "video",
                "timestamp": "2026-02-16T09:03:00Z",
                "data": {
                    "total_duration_seconds": 42.0,
                    "ttfb_ms": 340,
                    "video_load_time_ms": 1200,
                    "cdn_response_time_ms": 280,
                    "connection_type": "wifi",
                    "effective_bandwidth": 12.5,
                    "rtt_ms": 45,
                },
            }
        ],
    ),
]

# Pose frames --------------------------------------------------------------------------------------------

# 300 frames is 10 s at 30 fps: five times the 1-2 s the client buffers, so a late flush still fits.
POSE_BATCH_MAX_FRAMES = 300


class PoseFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One MediaPipe frame: landmark coordinates as parallel arrays plus the on-device scoring."""

    frame_number: Annotated[
        Count,
        Meta(description="Frame index within the pose session, counted by the device from 0."),
    ]
    elapsed_ms: Annotated[Milliseconds, Meta(description="Time since the pose session started, in milliseconds.")]
    landmark_x: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Horizontal landmark coordinates, normalized to the image width (0-1; slightly "
                "outside when a joint leaves the frame), one per BlazePose landmark in model "
                "order; same length as the other landmark arrays, 0-33."
            )
        ),
    ]
    landmark_y: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Vertical landmark coordinates, normalized to the image height (0-1; slightly "
                "outside when a joint leaves the frame), one per landmark; same length as "
                "`landmark_x`."
            )
        ),
    ]
    landmark_z: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Landmark depth relative to the hips, in roughly the scale of `landmark_x` "
                "(smaller is nearer the camera), one per landmark; same length as `landmark_x`."
            )
        ),
    ]
    landmark_visibility: Annotated[
        LandmarkScores,
        Meta(
            description=(
                "Likelihood that each landmark is visible in the image, one per landmark: probabilities "
                "(0-1; values outside are clamped) or raw logits, as the batch's `visibility_kind` says; "
                "same length as `landmark_x`, or empty when the model gives none."
            )
        ),
    ] = []
    landmark_presence: Annotated[
        LandmarkScores,
        Meta(
            description=(
                "Likelihood that each landmark is present in the frame (MediaPipe's `presence`), read like "
                "`landmark_visibility`; same length as `landmark_x`, or empty when not sent."
            )
        ),
    ] = []
    world_landmark_x: Annotated[
        WorldCoords,
        Meta(
            description=(
                "MediaPipe's world landmarks: x in metres from the centre of the hips, one per BlazePose "
                "landmark in model order from landmark 0; same length as `world_landmark_y` and "
                "`world_landmark_z`, or empty when not sent. The server computes joint angles from them."
            )
        ),
    ] = []
    world_landmark_y: Annotated[
        WorldCoords,
        Meta(description="World landmark y in metres (down is positive); same length as `world_landmark_x`."),
    ] = []
    world_landmark_z: Annotated[
        WorldCoords,
        Meta(description="World landmark z in metres (depth); same length as `world_landmark_x`."),
    ] = []
    pose_confidence: Annotated[
        UnitFloat | None,
        Meta(
            description=(
                "Confidence that a body was detected in the frame, 0-1; null or absent when the model "
                "gives none (MediaPipe Pose does not)."
            )
        ),
    ] = None
    form_issues: Annotated[
        Annotated[list[FormIssueCode], Meta(max_length=16)],
        Meta(
            description=(
                "Form issues the device detected in the frame, up to 16 snake_case codes such as "
                "`knee_valgus`, `trunk_lean`, `hip_hike`, `shoulder_shrug` (docs/telemetry.md lists the "
                "suggested codes; other codes of the same pattern are stored as sent)."
            )
        ),
    ] = []
    landmarks_detected: Annotated[
        Annotated[int, Meta(ge=0, le=LANDMARK_COUNT)],
        Meta(
            description=(
                "MediaPipe's count of the landmarks it found in the frame, 0-33 (see "
                "docs/telemetry.md for how it relates to the arrays' length)."
            )
        ),
    ]
    rep_count: Annotated[
        Annotated[int, Meta(ge=0, le=10_000)],
        Meta(description="Repetitions the device has counted so far in the pose session."),
    ]
    # Null when no body is in view: a score of 0 would read as terrible form rather than no data.
    form_score: Annotated[
        UnitFloat | None,
        Meta(
            description="The device's form score for the frame, 0-1 (1 = perfect form); null when no body is in view."
        ),
    ] = None
    rom_degrees: Annotated[
        Annotated[float, Meta(ge=0, le=360)] | None,
        Meta(description="Range of motion of the tracked joint, in degrees (0-360); null when not measured."),
    ] = None
    active_exercise_phase: Annotated[
        ExercisePhase,
        Meta(
            description=(
                "Movement phase the device detects: `concentric`, `eccentric`, `isometric`, "
                "`rest`, `transition` or `unknown`."
            )
        ),
    ] = "unknown"
    camera_resolution: Annotated[
        CameraResolution,
        Meta(description="Camera frame size in pixels, width x height, such as `640x480`."),
    ]
    processing_time_ms: Annotated[
        Annotated[float, Meta(ge=0, le=60_000)],
        Meta(description="Time the device took to process the frame, in milliseconds."),
    ]

    def __post_init__(self) -> None:
        # Meta bounds each array alone; the arrays are columns of one landmark table, so they must agree.
        # A ValueError here reaches the caller as a msgspec.ValidationError naming the frame's path.
        # landmarks_detected is MediaPipe's own count of the model's 33 it found, not the arrays' length: a
        # client may send fewer landmarks than it detected (the spec's sample sends 3 of 33 detected).
        count = len(self.landmark_x)
        if not (count == len(self.landmark_y) == len(self.landmark_z)):
            raise ValueError("landmark arrays must have equal lengths")
        if len(self.landmark_visibility) not in (0, count) or len(self.landmark_presence) not in (0, count):
            raise ValueError("landmark_visibility and landmark_presence must be empty or as long as landmark_x")
        if not (len(self.world_landmark_x) == len(self.world_landmark_y) == len(self.world_landmark_z)):
            raise ValueError("world landmark arrays must have equal lengths")


class PoseFrameBatch(msgspec.Struct, frozen=True):
    """`POST /v1/pose/frames`: MediaPipe frames of one pose-tracking session, buffered by the app for 1-2 seconds."""

    session_id: Annotated[
        UUID,
        Meta(description="The pose-tracking session, made by the app; every batch of the session carries it."),
    ]
    media_id: Annotated[HashedId, Meta(description="Hashed id of the exercise video the patient is following.")]
    frames: Annotated[
        Annotated[list[PoseFrame], Meta(min_length=1, max_length=POSE_BATCH_MAX_FRAMES)],
        Meta(description="1-300 frames, in capture order (the app flushes every 1-2 seconds)."),
    ]
    visibility_kind: Annotated[
        VisibilityKind,
        Meta(
            description=(
                "How the frames' `landmark_visibility` and `landmark_presence` are given: `probability` "
                "(0-1, what MediaPipe's Tasks API returns; values outside are clamped to 0-1) or `logit` "
                "(raw model outputs, as some MediaPipe releases give them; stored as sigmoid(value))."
            )
        ),
    ] = "probability"


# The request body as documented, with the spec's sample (service_common.openapi puts it on the schema).
PoseFrameBatchBody = Annotated[
    PoseFrameBatch,
    Meta(
        examples=[
            {
                "session_id": "550e8400-e29b-41d4-a716-446655440000",
                "media_id": "hashed-exercise-id",
                "frames": [
                    {
                        "frame_number": 450,
                        "elapsed_ms": 15000,
                        "landmark_x": [0.52, 0.51, 0.50],
                        "landmark_y": [0.32, 0.35, 0.38],
                        "landmark_z": [-0.1, -0.09, -0.08],
                        "landmark_visibility": [0.99, 0.98, 0.95],
                        "pose_confidence": 0.96,
                        "landmarks_detected": 33,
                        "rep_count": 5,
                        "form_score": 0.85,
                        "rom_degrees": 42.5,
                        "active_exercise_phase": "concentric",
                        "camera_resolution": "640x480",
                        "processing_time_ms": 12,
                    }
                ],
            }
        ]
    ),
]


# Analytics events ---------------------------------------------------------------------------------------

# ``area.action`` names such as ``treatment_plan.session_started``.
EventName = Annotated[str, Meta(max_length=128, pattern=r"^[a-z_]+(\.[a-z_]+)+$")]
PropertyValue = Annotated[str, Meta(max_length=1000)] | int | float | bool | None
# Properties are flat scalars, so each maps to one typed column or map entry without nested parsing.
Properties = Annotated[dict[Slug, PropertyValue], Meta(max_length=50)]


class AnalyticsEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A product analytics event. Properties must not carry names, emails or free-text notes."""

    event_name: Annotated[
        EventName,
        Meta(description="What happened, as `area.action` in lowercase (`treatment_plan.session_started`)."),
    ]
    event_category: Annotated[Slug, Meta(description="The product area, a lowercase slug (`treatment_plan`).")]
    timestamp: Annotated[
        Timestamp,
        Meta(description="When it happened on the device, with a UTC offset; from 2000-01-01 to before 2100-01-01."),
    ]
    resource_type: Annotated[
        Slug,
        Meta(description="The kind of object it is about, a lowercase slug (`patient_session_completion`)."),
    ]
    resource_id: Annotated[
        ResourceId,
        Meta(description="The id of that object as text (`789`); letters, digits, `_` and `-`."),
    ]
    properties: Annotated[
        Properties,
        Meta(
            description=(
                "Up to 50 flat scalar properties keyed by lowercase slugs (no nesting); never "
                "names, e-mails or free-text notes."
            )
        ),
    ] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# The request body as documented, with the spec's "session started" sample.
AnalyticsEventBody = Annotated[
    AnalyticsEvent,
    Meta(
        examples=[
            {
                "event_name": "treatment_plan.session_started",
                "event_category": "treatment_plan",
                "timestamp": "2026-02-16T09:00:00Z",
                "resource_type": "patient_session_completion",
                "resource_id": "789",
                "properties": {"patient_treatment_plan_id": 42, "session_number": 6, "exercises_total": 4},
            }
        ]
    ),
]


# Error reports ------------------------------------------------------------------------------------------


class ErrorReport(msgspec.Struct, frozen=True, kw_only=True):
    """A client-side error, the only telemetry allowed at consent level 1.

    ``message`` and ``stack`` are free text from the client; the service scrubs them before storing.
    """

    error_type: Annotated[
        Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:$-]+$")],
        Meta(description="The error's class or code (`TypeError`, `MediaError:3`)."),
    ]
    message: Annotated[
        Annotated[str, Meta(min_length=1, max_length=2000)],
        Meta(
            description=(
                "The error message; scrubbed of e-mails, tokens, IP addresses, query strings and "
                "long digit runs before storing."
            )
        ),
    ]
    timestamp: Annotated[
        Timestamp,
        Meta(
            description=(
                "When the error happened on the device, with a UTC offset; from 2000-01-01 to before 2100-01-01."
            )
        ),
    ]
    app_version: Annotated[
        Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+_-]+$")],
        Meta(description="Version of the app that failed (`2.4.1`)."),
    ]
    platform: Annotated[
        Platform,
        Meta(description="Where the app runs: `web`, `ios`, `android`, `desktop` or `other`."),
    ]
    stack: Annotated[
        Annotated[str, Meta(max_length=20_000)] | None,
        Meta(description="The stack trace, scrubbed like `message`; null when there is none."),
    ] = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# The request body as documented (the spec has no sample of an error report).
ErrorReportBody = Annotated[
    ErrorReport,
    Meta(
        examples=[
            {
                "error_type": "MediaError:3",
                "message": "The video could not be decoded.",
                "timestamp": "2026-02-16T09:05:12Z",
                "app_version": "2.4.1",
                "platform": "web",
                "stack": "at VideoPlayer.onError (player.js:120:15)",
            }
        ]
    ),
]


# Acknowledgement --------------------------------------------------------------------------------------


class RejectedItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item of a batch that was not stored, and why (docs/telemetry.md, "Partial batches")."""

    index: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Position of the item in the array sent, counted from 0."),
    ]
    field: Annotated[
        str,
        Meta(
            description=(
                "The value at fault as a path from the body's root, as the validator names it: "
                "`[3].data.completion_percent`, `frames[7].landmark_x`, `media_events[1].event`; the item "
                "itself (`frames[7]`) when the fault is between its fields (landmark arrays of unequal lengths)."
            )
        ),
    ]
    reason: Annotated[str, Meta(description="What is wrong with the value (`Expected `float` <= 100.0`).")]


class IngestAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted ingest request (202): what was stored under which batch, and which items of
    the batch were not."""

    accepted: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Rows stored by this request; 0 when ``duplicate``."),
    ]
    batch_id: Annotated[
        UUID,
        Meta(description="The batch the rows carry; derived from the ``Idempotency-Key`` header when one was sent."),
    ]
    duplicate: Annotated[
        bool,
        Meta(
            description=(
                "True when a batch with the same ``Idempotency-Key`` was already stored, so nothing was stored again."
            )
        ),
    ] = False
    rejected: Annotated[
        list[RejectedItem],
        Meta(
            description=(
                "Items of the batch not stored because a value broke the contract, in order; empty when every "
                "item was stored. Send them again corrected under a new ``Idempotency-Key``: a retry with the "
                "same key stores nothing."
            )
        ),
    ] = msgspec.field(default_factory=list)
    coerced: Annotated[
        dict[str, int],
        Meta(
            description=(
                "Values stored as a documented substitute, counted per field path within an item "
                "(`data.connection_type`: an unknown connection type stored as `other`); docs/telemetry.md "
                "lists the rules."
            )
        ),
    ] = msgspec.field(default_factory=dict)
    dropped: Annotated[
        dict[str, int],
        Meta(
            description=(
                "Optional values out of their bounds stored as null, counted per field path within an item "
                "(`data.effective_bandwidth`: an estimate above 100 000 Mbit/s, most likely sent in bit/s)."
            )
        ),
    ] = msgspec.field(default_factory=dict)


# Beacons ------------------------------------------------------------------------------------------------

BEACON_ANALYTICS_MAX = 100
IdempotencyKeyText = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
# A telemetry token is a few hundred bytes; the bound keeps a body from passing kilobytes off as one.
TelemetryTokenText = Annotated[str, Meta(min_length=1, max_length=4096)]


class Beacon(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/beacon``: the last media and analytics events of a closing page, sent with
    ``navigator.sendBeacon``. A beacon cannot set headers, so the telemetry token travels in this JSON
    document, which the browser sends as ``text/plain`` (never in the URL, where proxies log it).
    At least one event."""

    token: Annotated[
        TelemetryTokenText,
        Meta(
            description=(
                "The telemetry token from core-api's ``POST /v1/telemetry/token``: what the other"
                " routes take as ``Authorization: Bearer``."
            )
        ),
    ]
    media_events: Annotated[
        Annotated[list[MediaEvent], Meta(max_length=MEDIA_EVENT_BATCH_MAX)],
        Meta(description="Media events, as ``POST /v1/media/events`` takes them (consent level 2+)."),
    ] = msgspec.field(default_factory=list)
    analytics_events: Annotated[
        Annotated[list[AnalyticsEvent], Meta(max_length=BEACON_ANALYTICS_MAX)],
        Meta(
            description=(
                "Analytics events, as ``POST /v1/analytics/track`` takes them one at a time (consent level 2+)."
            )
        ),
    ] = msgspec.field(default_factory=list)
    idempotency_key: Annotated[
        IdempotencyKeyText | None,
        Meta(
            description=(
                "What the other routes take as the ``Idempotency-Key`` header: a resent beacon "
                "with the same key is stored once."
            )
        ),
    ] = None

    def __post_init__(self) -> None:
        if not self.media_events and not self.analytics_events:
            raise ValueError("a beacon carries at least one media or analytics event")


# The request body as documented: a page closing mid-video (the token shortened).
BeaconBody = Annotated[
    Beacon,
    Meta(
        examples=[
            {
                "token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl",
                "media_events": [
                    {
                        "event": "session_end",
                        "session_id": "550e8400-e29b-41d4-a716-446655440000",
                        "timestamp": "2026-02-16T09:04:10Z",
                        "data": {
                            "watched_duration_seconds": 29.5,
                            "completion_percent": 70.2,
                            "buffering_count": 0,
                            "buffering_duration_ms": 0,
                            "completed": False,
                            "exit_reason": "navigated_away",
                        },
                    }
                ],
                "idempotency_key": "beacon-550e8400-1",
            }
        ]
    ),
]


class BeaconAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted beacon (202; browsers ignore it): one acknowledgement per kind of event."""

    media_events: Annotated[
        IngestAck | None,
        Meta(description="The beacon's media events, stored as one batch; null when it carried none."),
    ]
    analytics_events: Annotated[
        IngestAck | None,
        Meta(description="The beacon's analytics events, stored as one batch; null when it carried none."),
    ]


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
    seek_count: Annotated[int, Meta(description="Seeks that stalled playback (`buffering_end` with cause `seek`).")] = 0
    median_seek_latency_ms: Annotated[
        float | None,
        Meta(description="Median duration of those seek stalls (Mux seek latency), in milliseconds; null if none."),
    ] = None
    p95_seek_latency_ms: Annotated[
        float | None,
        Meta(description="95th percentile duration of those seek stalls, in milliseconds; null if none."),
    ] = None


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
    seek_count: Annotated[int, Meta(description="Seeks that stalled playback (`buffering_end` with cause `seek`).")] = 0
    median_seek_latency_ms: Annotated[
        float | None,
        Meta(description="Median duration of those seek stalls (Mux seek latency), in milliseconds; null if none."),
    ] = None
    p95_seek_latency_ms: Annotated[
        float | None,
        Meta(description="95th percentile duration of those seek stalls, in milliseconds; null if none."),
    ] = None
    playback_success_score: PlaybackSuccessScore = None
    startup_time_score: StartupTimeScore = None
    smoothness_score: SmoothnessScore = None
    viewer_experience_score: ViewerExperienceScore = None


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


class PoseTrendBucket(msgspec.Struct, frozen=True, kw_only=True):
    """The frames of one minute of a pose session, or of one repetition."""

    bucket: Annotated[
        int,
        Meta(
            description=(
                "Minute since the session started (``elapsed_ms`` // 60 000), or the repetition: "
                "frames taken while the device had counted ``bucket`` completed reps (bucket 0 is"
                " the first repetition's movement)."
            )
        ),
    ]
    start_ms: Annotated[
        int,
        Meta(description="``elapsed_ms`` of the bucket's first frame. In milliseconds since the session started."),
    ]
    frames: Annotated[int, Meta(description="Frames in the bucket.")]
    reps: Annotated[int, Meta(description="Completed repetitions at the bucket's last frame.")]
    average_form_score: Annotated[
        float | None,
        Meta(description="Mean form score (0-1) of the frames with a body in view; null when none had."),
    ]
    average_rom_degrees: Annotated[
        float | None,
        Meta(description="Mean range of motion of the frames that reported one, in degrees; null when none did."),
    ]
    max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest range of motion reported in the bucket, in degrees; null when none was."),
    ]


class CameraCapability(msgspec.Struct, frozen=True, kw_only=True):
    """Frames captured at one camera resolution and how long the device took to process them."""

    camera_resolution: Annotated[str, Meta(description="Camera frame size, width x height in pixels (`640x480`).")]
    frames: Annotated[int, Meta(description="Frames captured at this resolution.")]
    share: Annotated[float, Meta(description="``frames`` over the session's frames, 0-1.")]
    average_processing_time_ms: Annotated[
        float,
        Meta(description="Mean per-frame processing time on the device, in milliseconds."),
    ]
    median_processing_time_ms: Annotated[float, Meta(description="Median per-frame processing time, in milliseconds.")]
    p95_processing_time_ms: Annotated[
        float,
        Meta(description="95th percentile of per-frame processing time, in milliseconds."),
    ]


PoseBucket = Literal["minute", "rep"]

Joint = Literal[
    "left_knee", "right_knee", "left_hip", "right_hip", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow"
]


class JointRange(msgspec.Struct, frozen=True, kw_only=True):
    """One joint's angle over the frames of a repetition, from the world landmarks (docs/telemetry.md)."""

    joint: Annotated[
        Joint,
        Meta(
            description=(
                "The joint: knee (hip-knee-ankle), hip (shoulder-hip-knee), shoulder (elbow-shoulder-hip) "
                "or elbow (shoulder-elbow-wrist), left or right."
            )
        ),
    ]
    frames: Annotated[int, Meta(description="Frames of the repetition whose world landmarks gave this angle.")]
    min_angle_degrees: Annotated[
        float | None, Meta(description="Smallest angle, in degrees (0-180); null without such frames.")
    ]
    max_angle_degrees: Annotated[
        float | None, Meta(description="Largest angle, in degrees (0-180); null without such frames.")
    ]
    rom_degrees: Annotated[
        float | None,
        Meta(description="Range of motion: largest minus smallest angle, in degrees; null without such frames."),
    ]


class PhaseDuration(msgspec.Struct, frozen=True, kw_only=True):
    """Time a repetition spent in one movement phase."""

    phase: Annotated[ExercisePhase, Meta(description="The `active_exercise_phase` the device reported.")]
    duration_ms: Annotated[
        int,
        Meta(
            description=(
                "Sum, over consecutive frames of the repetition, of the time from a frame in this phase to the "
                "next frame, in milliseconds."
            )
        ),
    ]


class PoseRepetition(msgspec.Struct, frozen=True, kw_only=True):
    """One repetition: the frames taken while the device had counted `rep` completed reps."""

    rep: Annotated[int, Meta(description="The `rep_count` of the repetition's frames (0 is the first movement).")]
    start_ms: Annotated[int, Meta(description="`elapsed_ms` of its first frame, in milliseconds.")]
    duration_ms: Annotated[int, Meta(description="Last frame's `elapsed_ms` minus the first's, in milliseconds.")]
    frames: Annotated[int, Meta(description="Frames of the repetition.")]
    client_max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest `rom_degrees` the device reported in the repetition; null when none did."),
    ]
    joints: Annotated[list[JointRange], Meta(description="Per-joint angle range, computed by the server.")]
    tempo: Annotated[list[PhaseDuration], Meta(description="Time per movement phase, longest first.")]


class FormIssueCount(msgspec.Struct, frozen=True, kw_only=True):
    """How often the device reported one form issue."""

    issue: Annotated[str, Meta(description="The form issue code, such as `knee_valgus`.")]
    frames: Annotated[int, Meta(description="Frames that reported it.")]
    reps: Annotated[int, Meta(description="Repetitions with at least one frame that reported it.")]


class PoseSessionStats(msgspec.Struct, frozen=True, kw_only=True):
    """Form, range of motion, repetitions and device capability of one pose-tracking session."""

    session_id: Annotated[str, Meta(description="The pose-tracking session id.")]
    media_id: Annotated[str, Meta(description="Hashed id of the exercise video the frames were taken with.")]
    frames: Annotated[int, Meta(description="Frames the patient sent under the session.")]
    duration_ms: Annotated[int, Meta(description="Last frame's ``elapsed_ms`` minus the first's. In milliseconds.")]
    reps: Annotated[int, Meta(description="The largest ``rep_count`` the device reported.")]
    average_form_score: Annotated[
        float | None,
        Meta(description="Mean form score (0-1) of the frames with a body in view; null when none had."),
    ]
    frames_without_body: Annotated[int, Meta(description="Frames without a form score (no body in view).")]
    average_rom_degrees: Annotated[
        float | None,
        Meta(description="Mean range of motion over the frames that reported one, in degrees; null when none did."),
    ]
    max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest range of motion reported, in degrees; null when none was."),
    ]
    average_pose_confidence: Annotated[
        float | None,
        Meta(description="Mean pose confidence of the frames that reported one, 0-1; null when none did."),
    ]
    bucket: Annotated[
        PoseBucket,
        Meta(description="How `trend` is bucketed: `minute` (per minute of the session) or `rep` (per repetition)."),
    ]
    trend: Annotated[list[PoseTrendBucket], Meta(description="Buckets in order.")]
    devices: Annotated[list[CameraCapability], Meta(description="Camera resolutions, most frames first.")]
    repetitions: Annotated[
        list[PoseRepetition],
        Meta(description="Per repetition, in order: joint ranges of motion from the world landmarks, and tempo."),
    ]
    form_issues: Annotated[
        list[FormIssueCount],
        Meta(description="The session's most common form issues, up to 10, most frames first."),
    ]


class ExerciseFormIssue(msgspec.Struct, frozen=True, kw_only=True):
    """How often one form issue was reported while patients followed one exercise video."""

    issue: Annotated[str, Meta(description="The form issue code, such as `knee_valgus`.")]
    sessions: Annotated[
        int,
        Meta(description="Pose sessions (one patient's frames under one session id) with a frame that reported it."),
    ]
    session_share: Annotated[
        float,
        Meta(description="`sessions` over the exercise's pose sessions in the period, 0-1."),
    ]
    reps: Annotated[
        int,
        Meta(description="Repetitions (one `rep_count` of one session) with a frame that reported it."),
    ]
    frames: Annotated[int, Meta(description="Frames that reported it (a code listed twice in a frame counts once).")]


class ExerciseFormIssues(msgspec.Struct, frozen=True, kw_only=True):
    """The most common form issues of one exercise video over an organization's pose sessions."""

    media_id: Annotated[str, Meta(description="Hashed id of the exercise video the pose batches named.")]
    period: Annotated[str, Meta(description="The period covered, as asked (`30d`, `12h`), over arrival time.")]
    sessions: Annotated[
        int,
        Meta(description="Pose sessions with frames of the exercise that arrived in the period."),
    ]
    frames: Annotated[int, Meta(description="Frames of the exercise that arrived in the period.")]
    issues: Annotated[
        list[ExerciseFormIssue],
        Meta(
            description=(
                "Up to `limit` issue codes, in most sessions first, then most frames, then by code; "
                "empty when no frame reported one."
            )
        ),
    ]


# Decoders -----------------------------------------------------------------------------------------------
# Built once: a Decoder resolves its type at construction, so reusing one skips that work per request.

media_events_decoder: BodyDecoder[MediaEvent | list[MediaEvent]] = BodyDecoder(MediaEventBatch)
pose_batch_decoder: BodyDecoder[PoseFrameBatch] = BodyDecoder(PoseFrameBatch)
analytics_event_decoder: BodyDecoder[AnalyticsEvent] = BodyDecoder(AnalyticsEvent)
error_report_decoder: BodyDecoder[ErrorReport] = BodyDecoder(ErrorReport)
beacon_decoder: BodyDecoder[Beacon] = BodyDecoder(Beacon)


def decode_media_events(body: bytes) -> list[MediaEvent]:
    """Decode a ``POST /v1/media/events`` body, one event or an array, always as a list.

    Raises ``msgspec.DecodeError`` for malformed JSON and ``msgspec.ValidationError`` for a bad event.
    """
    decoded = media_events_decoder.decode(body)
    return decoded if isinstance(decoded, list) else [decoded]


class ActorErasure(msgspec.Struct, frozen=True, kw_only=True):
    """``DELETE /v1/actors/{actor_hash}``: the tables whose rows of the hash are being deleted (ClickHouse
    mutations, completed in the background)."""

    actor_hash: Annotated[
        HashedId,
        Meta(description="The erased actor's keyed hash (the `sub` of their telemetry tokens)."),
    ]
    tables: Annotated[list[str], Meta(description="The ClickHouse tables whose rows of the actor are being deleted.")]
