"""The events the ClickHouse half posts to a single server and to the cluster alike, and the staff read
routes whose answers it compares.

Six patients (actor hashes that fall on both shards), each with one video view of one of three exercise
videos and one pose session, with figures that differ per patient so that a row counted twice, missing, or
summed over the wrong shard changes an answer. Event times are minutes before now, so every period
(``30d``, ``7d``) holds them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ORG_HASH = "org_cluster_check"
MEDIA_IDS = ("exercise-knee-1", "exercise-knee-2", "exercise-hip-1")
COUNTRIES = ("DE", "FR", "NL")
CONNECTIONS = ("wifi", "cellular", "ethernet")


@dataclass(frozen=True)
class Patient:
    number: int
    actor_hash: str
    view_id: uuid.UUID
    pose_session_id: uuid.UUID

    @property
    def media_id(self) -> str:
        return MEDIA_IDS[self.number % len(MEDIA_IDS)]

    @property
    def country(self) -> str:
        return COUNTRIES[self.number % len(COUNTRIES)]


def patients(count: int = 6) -> list[Patient]:
    return [
        Patient(number, f"patient_{number}_{uuid.uuid4().hex[:8]}", uuid.uuid4(), uuid.uuid4())
        for number in range(count)
    ]


def _at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def media_events(patient: Patient, start: datetime) -> list[dict[str, Any]]:
    """One view's lifecycle: intent, start, heartbeats, a stall, a quality change, a milestone, the end."""
    n = patient.number
    base = {"session_id": str(patient.view_id)}
    watched = 20.0 + 7 * n
    return [
        {**base, "timestamp": _at(start, 0), "event": "play_intent", "media_id": patient.media_id,
         "media_type": "video", "data": {"platform": "web" if n % 2 else "ios"}},
        {**base, "timestamp": _at(start, 0.4 + 0.1 * n), "event": "session_start", "media_id": patient.media_id,
         "media_type": "video",
         "data": {"total_duration_seconds": 60.0, "ttfb_ms": 200 + 40 * n, "video_load_time_ms": 900 + 100 * n,
                  "cdn_response_time_ms": 150 + 10 * n, "connection_type": CONNECTIONS[n % len(CONNECTIONS)],
                  "effective_bandwidth": 5.0 + 2.5 * n, "rtt_ms": 30 + 5 * n,
                  "platform": "web" if n % 2 else "ios"}},
        {**base, "timestamp": _at(start, 10), "event": "heartbeat",
         "data": {"position_seconds": 9.5, "watched_duration_seconds": 9.5, "completion_percent": 15.8,
                  "buffering_count": 0, "buffering_duration_ms": 0, "current_bitrate": 2_500_000,
                  "current_resolution": "720p", "dropped_frames": n, "total_frames": 250}},
        {**base, "timestamp": _at(start, 12), "event": "buffering_start", "data": {"position_seconds": 11.0}},
        {**base, "timestamp": _at(start, 13), "event": "buffering_end",
         "data": {"position_seconds": 11.0, "duration_ms": 300 + 100 * n}},
        {**base, "timestamp": _at(start, 15), "event": "quality_change",
         "data": {"from_bitrate": 2_500_000, "to_bitrate": 1_200_000, "reason": "abr", "from_resolution": "720p",
                  "to_resolution": "480p"}},
        {**base, "timestamp": _at(start, 16), "event": "milestone", "data": {"percent": 25, "position_seconds": 15.0}},
        {**base, "timestamp": _at(start, watched + 2), "event": "session_end",
         "data": {"watched_duration_seconds": watched, "completion_percent": min(100.0, watched / 60 * 100),
                  "buffering_count": 1, "buffering_duration_ms": 300 + 100 * n, "completed": watched >= 57,
                  "exit_reason": "ended" if watched >= 57 else "user_exit"}},
    ]  # fmt: skip


def pose_batch(patient: Patient, frames: int = 40) -> dict[str, Any]:
    """One pose session's frames: a knee that bends and straightens, form scores and issues per patient."""
    n = patient.number
    rows = []
    for number in range(frames):
        bend = (number % 10) / 10
        rows.append(
            {
                "frame_number": number,
                "elapsed_ms": number * 100,
                "landmark_x": [0.5 + 0.01 * bend] * 33,
                "landmark_y": [0.25 + 0.02 * bend] * 33,
                "landmark_z": [-0.125] * 33,
                "landmark_visibility": [0.9] * 33,
                "world_landmark_x": [0.1 * bend * (i % 3) for i in range(33)],
                "world_landmark_y": [0.2 * (i % 5) for i in range(33)],
                "world_landmark_z": [0.05 * bend for _ in range(33)],
                "landmarks_detected": 33,
                "rep_count": number // 10,
                "form_score": round(0.6 + 0.05 * n + 0.01 * (number % 7), 3),
                "rom_degrees": 30.0 + 10 * bend + n,
                "form_issues": ["knee_valgus"] if (number + n) % 4 == 0 else [],
                "active_exercise_phase": "concentric" if number % 10 < 5 else "eccentric",
                "camera_resolution": "640x480",
                "processing_time_ms": 10 + n,
            }
        )
    return {"session_id": str(patient.pose_session_id), "media_id": patient.media_id, "frames": rows}


def view_start(patient: Patient, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(minutes=30 - 3 * patient.number)


def staff_reads(cohort: list[Patient]) -> list[tuple[str, dict[str, str]]]:
    """Every staff read route with the parameters that cover the dataset: (path, query)."""
    reads: list[tuple[str, dict[str, str]]] = []
    for patient in cohort:
        reads.append((f"/v1/media/sessions/{patient.view_id}/qoe", {"actor_hash": patient.actor_hash}))
        for bucket in ("minute", "rep"):
            reads.append(
                (
                    f"/v1/pose/sessions/{patient.pose_session_id}/stats",
                    {"actor_hash": patient.actor_hash, "bucket": bucket},
                )
            )
    for media_id in MEDIA_IDS:
        reads.append((f"/v1/media/{media_id}/stats", {"period": "30d"}))
        reads.append((f"/v1/pose/media/{media_id}/form-issues", {"period": "30d"}))
    for order_by in ("playback_failure_percent", "startup_failure_percent", "exits_before_start_percent"):
        reads.append(("/v1/media/ranking", {"period": "30d", "order_by": order_by}))
    for group_by in ("country_code", "connection_type", "cdn", "resolution", "platform"):
        reads.append(("/v1/media/bandwidth/stats", {"period": "7d", "group_by": group_by}))
    return reads
