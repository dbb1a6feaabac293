"""Media events (``POST /v1/media/events``): a tagged union on ``event``, the body that carries one or
many, its decoder, and the instant range every telemetry timestamp must fall in.

Unknown fields are ignored rather than rejected, here as in every telemetry body, so an app release that
sends a new optional field keeps working against a service that does not know it yet.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.decoding import BodyDecoder
from contracts.media_event_data import (
    MediaBufferingEndData,
    MediaBufferingStartData,
    MediaErrorData,
    MediaHeartbeatData,
    MediaMilestoneData,
    MediaPlayIntentData,
    MediaQualityChangeData,
    MediaSessionEndData,
    MediaSessionStartData,
)
from contracts.types import (
    HashedId,
    Timestamp,
)

MediaType = Literal["video", "audio"]


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


# Decoders -----------------------------------------------------------------------------------------------
# Built once: a Decoder resolves its type at construction, so reusing one skips that work per request.

media_events_decoder: BodyDecoder[MediaEvent | list[MediaEvent]] = BodyDecoder(MediaEventBatch)


def decode_media_events(body: bytes) -> list[MediaEvent]:
    """Decode a ``POST /v1/media/events`` body, one event or an array, always as a list.

    Raises ``msgspec.DecodeError`` for malformed JSON and ``msgspec.ValidationError`` for a bad event.
    """
    decoded = media_events_decoder.decode(body)
    return decoded if isinstance(decoded, list) else [decoded]
