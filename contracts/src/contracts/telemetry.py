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
    HashedId,
    LandmarkCoords,
    LandmarkVisibility,
    MediaSeconds,
    Milliseconds,
    Percentage,
    ResourceId,
    Slug,
    Timestamp,
    UnitFloat,
    VideoResolution,
)

MediaType = Literal["video", "audio"]
ConnectionType = Literal["wifi", "cellular", "ethernet", "other", "unknown"]
QualityChangeReason = Literal["abr", "user", "network"]
MilestonePercent = Literal[25, 50, 75, 95]
ExitReason = Literal["ended", "user_exit", "navigated_away", "app_backgrounded", "error", "timeout"]
ExercisePhase = Literal["concentric", "eccentric", "isometric", "rest", "transition", "unknown"]
Platform = Literal["web", "ios", "android", "desktop", "other"]

# Effective downlink in Mbit/s as the browser's Network Information API estimates it.
_Megabits = Annotated[float, Meta(ge=0, le=100_000)]

# Media events -------------------------------------------------------------------------------------------


class MediaSessionStartData(msgspec.Struct, frozen=True):
    total_duration_seconds: MediaSeconds
    ttfb_ms: Milliseconds
    video_load_time_ms: Milliseconds
    cdn_response_time_ms: Milliseconds
    connection_type: ConnectionType = "unknown"
    effective_bandwidth: _Megabits | None = None
    rtt_ms: Milliseconds | None = None


class MediaHeartbeatData(msgspec.Struct, frozen=True):
    position_seconds: MediaSeconds
    watched_duration_seconds: MediaSeconds
    completion_percent: Percentage
    buffering_count: Count
    buffering_duration_ms: Milliseconds
    current_bitrate: BitsPerSecond
    # Video-only: an audio session has no rendition or frames.
    current_resolution: VideoResolution | None = None
    dropped_frames: Count | None = None
    total_frames: Count | None = None


class MediaBufferingStartData(msgspec.Struct, frozen=True):
    position_seconds: MediaSeconds


class MediaBufferingEndData(msgspec.Struct, frozen=True):
    position_seconds: MediaSeconds
    duration_ms: Milliseconds


class MediaQualityChangeData(msgspec.Struct, frozen=True):
    from_bitrate: BitsPerSecond
    to_bitrate: BitsPerSecond
    reason: QualityChangeReason
    from_resolution: VideoResolution | None = None
    to_resolution: VideoResolution | None = None


class MediaMilestoneData(msgspec.Struct, frozen=True):
    percent: MilestonePercent
    position_seconds: MediaSeconds


class MediaSessionEndData(msgspec.Struct, frozen=True):
    watched_duration_seconds: MediaSeconds
    completion_percent: Percentage
    buffering_count: Count
    buffering_duration_ms: Milliseconds
    completed: bool
    exit_reason: ExitReason


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
    session_id: UUID
    # Only ``session_start`` must name the media (the spec's heartbeat omits it): later events belong to
    # a playback session already keyed by ``session_id``.
    media_id: HashedId | None = None
    media_type: MediaType = "video"
    timestamp: Timestamp

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# frozen and kw_only are repeated on every variant: mypy does not inherit frozen, and msgspec applies
# kw_only per class, so without it a variant's own fields would be ordered before the shared ones.


class MediaSessionStart(_MediaEventBase, frozen=True, kw_only=True, tag="session_start"):
    media_id: HashedId
    data: MediaSessionStartData


class MediaHeartbeat(_MediaEventBase, frozen=True, kw_only=True, tag="heartbeat"):
    data: MediaHeartbeatData


class MediaBufferingStart(_MediaEventBase, frozen=True, kw_only=True, tag="buffering_start"):
    data: MediaBufferingStartData


class MediaBufferingEnd(_MediaEventBase, frozen=True, kw_only=True, tag="buffering_end"):
    data: MediaBufferingEndData


class MediaQualityChange(_MediaEventBase, frozen=True, kw_only=True, tag="quality_change"):
    data: MediaQualityChangeData


class MediaMilestone(_MediaEventBase, frozen=True, kw_only=True, tag="milestone"):
    data: MediaMilestoneData


class MediaSessionEnd(_MediaEventBase, frozen=True, kw_only=True, tag="session_end"):
    data: MediaSessionEndData


MediaEvent = (
    MediaSessionStart
    | MediaHeartbeat
    | MediaBufferingStart
    | MediaBufferingEnd
    | MediaQualityChange
    | MediaMilestone
    | MediaSessionEnd
)

# A client flushing its queue sends an array; one that reports as it goes sends a single object.
MEDIA_EVENT_BATCH_MAX = 500
MediaEventBatch = MediaEvent | Annotated[list[MediaEvent], Meta(min_length=1, max_length=MEDIA_EVENT_BATCH_MAX)]

# Pose frames --------------------------------------------------------------------------------------------

# 300 frames is 10 s at 30 fps: five times the 1-2 s the client buffers, so a late flush still fits.
POSE_BATCH_MAX_FRAMES = 300


class PoseFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One MediaPipe frame: landmark coordinates as parallel arrays plus the on-device scoring."""

    frame_number: Count
    elapsed_ms: Milliseconds
    landmark_x: LandmarkCoords
    landmark_y: LandmarkCoords
    landmark_z: LandmarkCoords
    landmark_visibility: LandmarkVisibility
    pose_confidence: UnitFloat
    landmarks_detected: Annotated[int, Meta(ge=0, le=LANDMARK_COUNT)]
    rep_count: Annotated[int, Meta(ge=0, le=10_000)]
    # Null when no body is in view: a score of 0 would read as terrible form rather than no data.
    form_score: UnitFloat | None = None
    rom_degrees: Annotated[float, Meta(ge=0, le=360)] | None = None
    active_exercise_phase: ExercisePhase = "unknown"
    camera_resolution: CameraResolution
    processing_time_ms: Annotated[float, Meta(ge=0, le=60_000)]

    def __post_init__(self) -> None:
        # Meta bounds each array alone; the arrays are columns of one landmark table, so they must agree.
        # A ValueError here reaches the caller as a msgspec.ValidationError naming the frame's path.
        count = len(self.landmark_x)
        if not (count == len(self.landmark_y) == len(self.landmark_z) == len(self.landmark_visibility)):
            raise ValueError("landmark arrays must have equal lengths")
        if self.landmarks_detected != count:
            raise ValueError("landmarks_detected must equal the landmark array length")


class PoseFrameBatch(msgspec.Struct, frozen=True):
    session_id: UUID
    media_id: HashedId
    frames: Annotated[list[PoseFrame], Meta(min_length=1, max_length=POSE_BATCH_MAX_FRAMES)]


# Analytics events ---------------------------------------------------------------------------------------

# ``area.action`` names such as ``treatment_plan.session_started``.
EventName = Annotated[str, Meta(max_length=128, pattern=r"^[a-z_]+(\.[a-z_]+)+$")]
PropertyValue = Annotated[str, Meta(max_length=1000)] | int | float | bool | None
# Properties are flat scalars, so each maps to one typed column or map entry without nested parsing.
Properties = Annotated[dict[Slug, PropertyValue], Meta(max_length=50)]


class AnalyticsEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A product analytics event. Properties must not carry names, emails or free-text notes."""

    event_name: EventName
    event_category: Slug
    timestamp: Timestamp
    resource_type: Slug
    resource_id: ResourceId
    properties: Properties = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# Error reports ------------------------------------------------------------------------------------------


class ErrorReport(msgspec.Struct, frozen=True, kw_only=True):
    """A client-side error, the only telemetry allowed at consent level 1.

    ``message`` and ``stack`` are free text from the client; the service scrubs them before storing.
    """

    error_type: Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:$-]+$")]
    message: Annotated[str, Meta(min_length=1, max_length=2000)]
    timestamp: Timestamp
    app_version: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+_-]+$")]
    platform: Platform
    stack: Annotated[str, Meta(max_length=20_000)] | None = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# Acknowledgement --------------------------------------------------------------------------------------


class IngestAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted ingest request (202): what was stored under which batch."""

    accepted: Annotated[int, Meta(ge=0)]
    """Rows stored by this request; 0 when ``duplicate``."""
    batch_id: UUID
    """The batch the rows carry; derived from the ``Idempotency-Key`` header when one was sent."""
    duplicate: bool = False
    """True when a batch with the same ``Idempotency-Key`` was already stored, so nothing was stored again."""


# Read routes (staff) ------------------------------------------------------------------------------------
# Figures computed by ClickHouse over an organization's rows; see docs/telemetry.md for every definition.


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


class MilestoneReach(msgspec.Struct, frozen=True, kw_only=True):
    """How many views of a media reached a milestone (sent it or a later one)."""

    percent: MilestonePercent
    views: int
    rate: float
    """``views`` over all views of the media, 0-1."""


class ResolutionShare(msgspec.Struct, frozen=True, kw_only=True):
    """Playback time at one resolution, measured in heartbeats (one every 10 s of playback)."""

    resolution: str
    heartbeats: int
    share: float
    """``heartbeats`` over all heartbeats that reported a resolution, 0-1."""


class MediaStats(msgspec.Struct, frozen=True, kw_only=True):
    """Engagement and delivery of one exercise video (a ``media_id``) over the organization's views whose
    ``session_start`` arrived in ``period``. A media without views there has ``views: 0``."""

    media_id: str
    period: str
    views: int
    average_watch_percent: float
    """Mean over views of the largest ``completion_percent`` each reported (0 for a view that reported none)."""
    completed_views: int
    """Views whose ``session_end`` said ``completed``."""
    completion_rate: float
    """``completed_views`` over ``views``, 0-1 (0 without views)."""
    milestones: list[MilestoneReach]
    """25, 50, 75 and 95 %, in that order."""
    quality: list[ResolutionShare]
    """Resolutions by playback time, most watched first."""
    abr_switches: int
    """``quality_change`` events with reason ``abr``."""
    abr_up_switches: int
    abr_down_switches: int
    abr_switches_per_view: float


class PoseTrendBucket(msgspec.Struct, frozen=True, kw_only=True):
    """The frames of one minute of a pose session, or of one repetition."""

    bucket: int
    """Minute since the session started (``elapsed_ms`` // 60 000), or the repetition: frames taken while
    the device had counted ``bucket`` completed reps (bucket 0 is the first repetition's movement)."""
    start_ms: int
    """``elapsed_ms`` of the bucket's first frame."""
    frames: int
    reps: int
    """Completed repetitions at the bucket's last frame."""
    average_form_score: float | None
    """Mean form score (0-1) of the frames with a body in view; null when none had."""
    average_rom_degrees: float | None
    max_rom_degrees: float | None


class CameraCapability(msgspec.Struct, frozen=True, kw_only=True):
    """Frames captured at one camera resolution and how long the device took to process them."""

    camera_resolution: str
    frames: int
    share: float
    """``frames`` over the session's frames, 0-1."""
    average_processing_time_ms: float
    median_processing_time_ms: float
    p95_processing_time_ms: float


PoseBucket = Literal["minute", "rep"]


class PoseSessionStats(msgspec.Struct, frozen=True, kw_only=True):
    """Form, range of motion, repetitions and device capability of one pose-tracking session."""

    session_id: str
    media_id: str
    frames: int
    duration_ms: int
    """Last frame's ``elapsed_ms`` minus the first's."""
    reps: int
    """The largest ``rep_count`` the device reported."""
    average_form_score: float | None
    frames_without_body: int
    """Frames without a form score (no body in view)."""
    average_rom_degrees: float | None
    max_rom_degrees: float | None
    average_pose_confidence: float
    bucket: PoseBucket
    trend: list[PoseTrendBucket]
    """Buckets in order."""
    devices: list[CameraCapability]
    """Camera resolutions, most frames first."""


# Decoders -----------------------------------------------------------------------------------------------
# Built once: a Decoder resolves its type at construction, so reusing one skips that work per request.

media_events_decoder: BodyDecoder[MediaEvent | list[MediaEvent]] = BodyDecoder(MediaEventBatch)
pose_batch_decoder: BodyDecoder[PoseFrameBatch] = BodyDecoder(PoseFrameBatch)
analytics_event_decoder: BodyDecoder[AnalyticsEvent] = BodyDecoder(AnalyticsEvent)
error_report_decoder: BodyDecoder[ErrorReport] = BodyDecoder(ErrorReport)


def decode_media_events(body: bytes) -> list[MediaEvent]:
    """Decode a ``POST /v1/media/events`` body, one event or an array, always as a list.

    Raises ``msgspec.DecodeError`` for malformed JSON and ``msgspec.ValidationError`` for a bad event.
    """
    decoded = media_events_decoder.decode(body)
    return decoded if isinstance(decoded, list) else [decoded]


class ActorErasure(msgspec.Struct, frozen=True, kw_only=True):
    """``DELETE /v1/actors/{actor_hash}``: the tables whose rows of the hash are being deleted (ClickHouse
    mutations, completed in the background)."""

    actor_hash: HashedId
    tables: list[str]
