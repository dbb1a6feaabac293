"""The columns of ``media_events`` built from decoded media events: one row per event, the columns an event
type does not set at their "not reported" default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.media_event_data import (
    MediaHeartbeatData,
    MediaPlayIntentData,
    MediaSessionEndData,
    MediaSessionStartData,
)
from contracts.media_events import (
    MediaBufferingEnd,
    MediaBufferingStart,
    MediaError,
    MediaEvent,
    MediaHeartbeat,
    MediaMilestone,
    MediaPlayIntent,
    MediaQualityChange,
    MediaSessionEnd,
    MediaSessionStart,
)

from telemetry.ingest.batch import Batch, Columns, IngestTable, utc

# Every media_events column an event type does not set; 0 and '' mean "not reported by this event".
_MEDIA_DEFAULTS: dict[str, Any] = {
    "connection_type": "",
    "cdn": "",
    "platform": "",
    "position_seconds": 0.0,
    "watched_duration_seconds": 0.0,
    "completion_percent": 0.0,
    "total_duration_seconds": 0.0,
    "ttfb_ms": 0,
    "video_load_time_ms": 0,
    "cdn_response_time_ms": 0,
    "effective_bandwidth_mbps": 0.0,
    "rtt_ms": 0,
    "buffering_count": 0,
    "buffering_duration_ms": 0,
    "bitrate": 0,
    "resolution": "",
    "previous_bitrate": 0,
    "previous_resolution": "",
    "dropped_frames": 0,
    "total_frames": 0,
    "milestone_percent": 0,
    "completed": 0,
    "reason": "",
    "error_code": "",
    "fatal": 0,
}


def _network(data: MediaPlayIntentData | MediaSessionStartData) -> dict[str, Any]:
    """The network and platform columns of the two events that describe the view's start."""
    return {
        "connection_type": data.connection_type,
        "cdn": data.cdn or "",
        "platform": data.platform or "",
        "effective_bandwidth_mbps": data.effective_bandwidth or 0.0,
        "rtt_ms": data.rtt_ms or 0,
    }


def _progress(data: MediaHeartbeatData | MediaSessionEndData) -> dict[str, Any]:
    """The progress columns of the two events that report how far the view got."""
    return {
        "watched_duration_seconds": data.watched_duration_seconds,
        "completion_percent": data.completion_percent,
        "buffering_count": data.buffering_count,
        "buffering_duration_ms": data.buffering_duration_ms,
    }


def _media_values(event: MediaEvent) -> dict[str, Any]:
    """The event-specific columns of one media event."""
    values: dict[str, Any]
    match event:
        case MediaPlayIntent(data=data):
            values = {"total_duration_seconds": data.total_duration_seconds or 0.0, **_network(data)}
        case MediaSessionStart(data=data):
            values = {
                "total_duration_seconds": data.total_duration_seconds,
                "ttfb_ms": data.ttfb_ms or 0,
                "video_load_time_ms": data.video_load_time_ms or 0,
                "cdn_response_time_ms": data.cdn_response_time_ms,
                **_network(data),
            }
        case MediaHeartbeat(data=data):
            values = {
                "position_seconds": data.position_seconds,
                **_progress(data),
                "bitrate": data.current_bitrate,
                "resolution": data.current_resolution or "",
                "dropped_frames": data.dropped_frames or 0,
                "total_frames": data.total_frames or 0,
            }
        case MediaBufferingStart(data=data):
            values = {"position_seconds": data.position_seconds, "reason": data.cause}
        case MediaBufferingEnd(data=data):
            values = {
                "position_seconds": data.position_seconds,
                "buffering_duration_ms": data.duration_ms,
                "reason": data.cause,
            }
        case MediaQualityChange(data=data):
            values = {
                "bitrate": data.to_bitrate,
                "resolution": data.to_resolution or "",
                "previous_bitrate": data.from_bitrate,
                "previous_resolution": data.from_resolution or "",
                "reason": data.reason,
            }
        case MediaMilestone(data=data):
            values = {"milestone_percent": data.percent, "position_seconds": data.position_seconds}
        case MediaSessionEnd(data=data):
            values = {**_progress(data), "completed": int(data.completed), "reason": data.exit_reason}
        case MediaError(data=data):
            values = {
                "error_code": data.code,
                "fatal": int(data.fatal),
                "position_seconds": data.position_seconds or 0.0,
            }
        case _:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown media event {type(event).__name__}")
    return values


def media_event_columns(events: Sequence[MediaEvent], batch: Batch) -> Columns:
    """``media_events`` columns for ``events``, one row each."""
    columns = batch.common_with_country(len(events))
    shared: Columns = {name: [] for name in ("session_id", "media_id", "media_type", "event", "event_time")}
    specific: Columns = {name: [] for name in _MEDIA_DEFAULTS}
    for event in events:
        shared["session_id"].append(event.session_id)
        shared["media_id"].append(event.media_id or "")
        shared["media_type"].append(event.media_type)
        shared["event"].append(type(event).__struct_config__.tag)
        shared["event_time"].append(utc(event.timestamp))
        values = _media_values(event)
        for name, default in _MEDIA_DEFAULTS.items():
            specific[name].append(values.get(name, default))
    return {**columns, **shared, **specific}


MEDIA_EVENTS = IngestTable("media_events", media_event_columns)
"""The table of media events: the media events, CMCD and beacon routes write it."""
