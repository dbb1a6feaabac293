"""The columns of each ingest table, built from a request's decoded body.

A :class:`Batch` is what every row of one request shares: its batch id (derived from the caller and the
``Idempotency-Key`` when one was sent, so a retry gets the same id), the caller, the edge's country and the
arrival time. ``media_event_columns``, ``pose_frame_columns``, ``analytics_event_columns`` and
``error_report_columns`` turn a decoded body and its batch into the columns of ``media_events``,
``pose_tracking_frames``, ``analytics_events`` and ``error_reports``, one list per column; the routes hand
them to the spool appender (``ingest/appender.py``).
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from contracts.telemetry import (
    AnalyticsEvent,
    ErrorReport,
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
    PoseFrameBatch,
)

from telemetry.identity import TelemetryActor
from telemetry.ingest.scrub import scrub

Columns = dict[str, list[Any]]

# Batch ids of idempotent requests are UUIDv5 names in this namespace (a random constant of this service).
_BATCH_NAMESPACE = uuid.UUID("6f1c3c2e-8d3b-4d8e-9a57-2f0b9c1d7e41")
_json = msgspec.json.Encoder()
# Other batch ids: a random prefix drawn once per process and a counter (UUIDv4 layout), without a
# getrandom() call per request as uuid4() makes (a system call that gives up the GIL, and under load waits
# up to a millisecond to get it back from the flusher's threads, docs/performance.md). Two processes
# share a prefix with odds of about n² / 2**61 for n process starts ever.
_BATCH_PREFIX = int.from_bytes(os.urandom(8)) << 64
_batch_counter = itertools.count()


def new_batch_id() -> uuid.UUID:
    """A new batch id: this process's 60 random bits, then a counter."""
    return uuid.UUID(int=_BATCH_PREFIX | next(_batch_counter), version=4)


@dataclass(frozen=True)
class Batch:
    """What every row of one request shares."""

    batch_id: uuid.UUID
    idempotent: bool
    actor: TelemetryActor
    country_code: str
    received_at: datetime

    @classmethod
    def start(cls, actor: TelemetryActor, endpoint: str, idempotency_key: str | None, country_code: str) -> Batch:
        """A batch for a request to ``endpoint``; its id is derived from the key when one was sent, so a
        retry of the same request by the same caller gets the same id."""
        if idempotency_key is None:
            batch_id, idempotent = new_batch_id(), False
        else:
            name = f"{actor.org_hash}\n{actor.actor_hash}\n{endpoint}\n{idempotency_key}"
            batch_id, idempotent = uuid.uuid5(_BATCH_NAMESPACE, name), True
        return cls(batch_id, idempotent, actor, country_code, datetime.now(UTC).replace(microsecond=0))

    def common(self, rows: int) -> Columns:
        """The batch, actor and arrival columns for ``rows`` rows."""
        return {
            "batch_id": [self.batch_id] * rows,
            "org_hash": [self.actor.org_hash] * rows,
            "actor_hash": [self.actor.actor_hash] * rows,
            "received_at": [self.received_at] * rows,
        }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# Media events -------------------------------------------------------------------------------------------

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


def _media_values(event: MediaEvent) -> dict[str, Any]:
    """The event-specific columns of one media event."""
    values: dict[str, Any]
    match event:
        case MediaPlayIntent(data=data):
            values = {
                "total_duration_seconds": data.total_duration_seconds or 0.0,
                "connection_type": data.connection_type,
                "cdn": data.cdn or "",
                "platform": data.platform or "",
                "effective_bandwidth_mbps": data.effective_bandwidth or 0.0,
                "rtt_ms": data.rtt_ms or 0,
            }
        case MediaSessionStart(data=data):
            values = {
                "total_duration_seconds": data.total_duration_seconds,
                "ttfb_ms": data.ttfb_ms or 0,
                "video_load_time_ms": data.video_load_time_ms or 0,
                "cdn_response_time_ms": data.cdn_response_time_ms,
                "connection_type": data.connection_type,
                "cdn": data.cdn or "",
                "platform": data.platform or "",
                "effective_bandwidth_mbps": data.effective_bandwidth or 0.0,
                "rtt_ms": data.rtt_ms or 0,
            }
        case MediaHeartbeat(data=data):
            values = {
                "position_seconds": data.position_seconds,
                "watched_duration_seconds": data.watched_duration_seconds,
                "completion_percent": data.completion_percent,
                "buffering_count": data.buffering_count,
                "buffering_duration_ms": data.buffering_duration_ms,
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
            values = {
                "watched_duration_seconds": data.watched_duration_seconds,
                "completion_percent": data.completion_percent,
                "buffering_count": data.buffering_count,
                "buffering_duration_ms": data.buffering_duration_ms,
                "completed": int(data.completed),
                "reason": data.exit_reason,
            }
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
    columns = batch.common(len(events))
    columns["country_code"] = [batch.country_code] * len(events)
    shared: Columns = {name: [] for name in ("session_id", "media_id", "media_type", "event", "event_time")}
    specific: Columns = {name: [] for name in _MEDIA_DEFAULTS}
    for event in events:
        shared["session_id"].append(event.session_id)
        shared["media_id"].append(event.media_id or "")
        shared["media_type"].append(event.media_type)
        shared["event"].append(type(event).__struct_config__.tag)
        shared["event_time"].append(_utc(event.timestamp))
        values = _media_values(event)
        for name, default in _MEDIA_DEFAULTS.items():
            specific[name].append(values.get(name, default))
    return {**columns, **shared, **specific}


# Pose frames --------------------------------------------------------------------------------------------

_POSE_FIELDS = (
    "frame_number",
    "elapsed_ms",
    "landmark_x",
    "landmark_y",
    "landmark_z",
    "landmarks_detected",
    "rep_count",
    "form_score",
    "rom_degrees",
    "active_exercise_phase",
    "camera_resolution",
    "processing_time_ms",
)


# What MediaPipe clients may leave out of every frame. A batch in which no frame has one leaves its column
# out of the record: ClickHouse stores the column's default (an empty array; NULL for pose_confidence), the
# value an absent field means, without the spool and the insert carrying it frame by frame (a batch without
# them costs what it cost before these columns existed; the flusher's merge_blocks inserts records of different
# column sets as separate blocks).
_OPTIONAL_POSE_ARRAYS = ("landmark_presence", "world_landmark_x", "world_landmark_y", "world_landmark_z", "form_issues")


def pose_frame_columns(payload: PoseFrameBatch, batch: Batch) -> Columns:
    """``pose_tracking_frames`` columns, one row per frame; optional data no frame carries is left out."""
    frames = payload.frames
    columns = batch.common(len(frames))
    columns["session_id"] = [payload.session_id] * len(frames)
    columns["media_id"] = [payload.media_id] * len(frames)
    for name in _POSE_FIELDS:
        columns[name] = [getattr(frame, name) for frame in frames]
    columns["landmark_visibility"] = _probabilities(
        [frame.landmark_visibility for frame in frames], payload.visibility_kind
    )
    for name in _OPTIONAL_POSE_ARRAYS:
        values = [getattr(frame, name) for frame in frames]
        if any(values):
            columns[name] = _probabilities(values, payload.visibility_kind) if name == "landmark_presence" else values
    confidences = [frame.pose_confidence for frame in frames]
    if confidences.count(None) < len(confidences):
        columns["pose_confidence"] = confidences
    return columns


def _probabilities(rows: list[list[float]], kind: str) -> list[list[float]]:
    """Per-landmark scores as probabilities (docs/telemetry.md): logits through the sigmoid, probabilities
    clamped to [0, 1]. A batch of valid probabilities is returned as sent after one min and one max over all
    its values (C loops); only an odd batch costs a Python loop per value."""
    if kind == "logit":
        return [[_sigmoid(score) for score in row] for row in rows]
    if (
        min(itertools.chain.from_iterable(rows), default=0.0) >= 0.0
        and max(itertools.chain.from_iterable(rows), default=0.0) <= 1.0
    ):
        return rows
    return [[min(max(score, 0.0), 1.0) for score in row] for row in rows]


def _sigmoid(logit: float) -> float:
    # Written both ways so exp() never overflows for a large logit of either sign.
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1.0 + odds)


# Analytics events and error reports ---------------------------------------------------------------------


def analytics_event_columns(events: Sequence[AnalyticsEvent], batch: Batch) -> Columns:
    """``analytics_events`` columns, one row per event; property values become JSON text."""
    return {
        **batch.common(len(events)),
        "country_code": [batch.country_code] * len(events),
        "event_name": [event.event_name for event in events],
        "event_category": [event.event_category for event in events],
        "event_time": [_utc(event.timestamp) for event in events],
        "resource_type": [event.resource_type for event in events],
        "resource_id": [event.resource_id for event in events],
        "property_keys": [list(event.properties) for event in events],
        "property_values": [[_json.encode(value).decode() for value in event.properties.values()] for event in events],
    }


def error_report_columns(report: ErrorReport, batch: Batch) -> Columns:
    """``error_reports`` columns for one report, its free text scrubbed of personal data."""
    return {
        **batch.common(1),
        "country_code": [batch.country_code],
        "error_type": [report.error_type],
        "message": [scrub(report.message)],
        "stack": [scrub(report.stack or "")],
        "app_version": [report.app_version],
        "platform": [report.platform],
        "event_time": [_utc(report.timestamp)],
    }
