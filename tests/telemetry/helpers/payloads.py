"""Valid bodies of the ingest routes, as the spec's samples send them: shared by the ingest, access-control,
hostile-input and beacon tests, by core-api's consent and erasure tests and by the contracts' decoding tests."""

from __future__ import annotations

from typing import Any

from contracts.media_events import MediaEventBatch

from tests.contracts.helpers.examples import example_of

SESSION = "550e8400-e29b-41d4-a716-446655440000"
AT = "2026-02-16T09:03:00Z"


def media_events() -> list[dict[str, Any]]:
    """One event of each of the seven types, as the spec's lifecycle sends them."""
    base = {"session_id": SESSION, "timestamp": AT}
    return [
        {**example_of(MediaEventBatch), **base},  # the spec's session_start sample
        {
            **base,
            "event": "heartbeat",
            "timestamp": "2026-02-16T09:03:30Z",
            "data": {
                "position_seconds": 29.5,
                "watched_duration_seconds": 29.5,
                "completion_percent": 70.25,
                "buffering_count": 0,
                "buffering_duration_ms": 0,
                "current_bitrate": 2500000,
                "current_resolution": "720p",
                "dropped_frames": 2,
                "total_frames": 750,
            },
        },
        {**base, "event": "buffering_start", "data": {"position_seconds": 30.0}},
        {**base, "event": "buffering_end", "data": {"position_seconds": 30.0, "duration_ms": 850}},
        {
            **base,
            "event": "quality_change",
            "data": {
                "from_bitrate": 2500000,
                "to_bitrate": 1200000,
                "reason": "abr",
                "from_resolution": "720p",
                "to_resolution": "480p",
            },
        },
        {**base, "event": "milestone", "data": {"percent": 75, "position_seconds": 31.5}},
        {
            **base,
            "event": "session_end",
            "timestamp": "2026-02-16T09:04:00Z",
            "data": {
                "watched_duration_seconds": 41.0,
                "completion_percent": 97.5,
                "buffering_count": 1,
                "buffering_duration_ms": 850,
                "completed": True,
                "exit_reason": "ended",
            },
        },
    ]


def still_landmarks(count: int = 33) -> dict[str, list[float]]:
    """The screen-space landmark arrays of a body that does not move."""
    return {"landmark_x": [0.5] * count, "landmark_y": [0.25] * count, "landmark_z": [-0.125] * count}


def pose_frame(number: int, *, count: int = 33, form_score: float | None = 0.85) -> dict[str, Any]:
    return {
        "frame_number": number,
        "elapsed_ms": number * 33,
        **still_landmarks(count),
        "landmark_visibility": [0.75] * count,
        "pose_confidence": 0.96,
        "landmarks_detected": count,
        "rep_count": 5,
        "form_score": form_score,
        "rom_degrees": 42.5,
        "active_exercise_phase": "concentric",
        "camera_resolution": "640x480",
        "processing_time_ms": 12,
    }


def pose_batch(*frames: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": SESSION, "media_id": "hashed-exercise-id", "frames": list(frames)}


ANALYTICS_EVENT = {
    "event_name": "treatment_plan.session_completed",
    "event_category": "treatment_plan",
    "timestamp": "2026-02-16T09:30:00Z",
    "resource_type": "patient_session_completion",
    "resource_id": "789",
    "properties": {"session_number": 6, "duration_seconds": 1800.5, "skipped": False, "plan_type": "acl"},
}

ERROR_REPORT = {
    "error_type": "TypeError",
    "message": "Cannot read 'x' of undefined for jane.doe@example.com from 10.1.2.3",
    "timestamp": "2026-02-16T09:31:00Z",
    "app_version": "1.4.2",
    "platform": "web",
    "stack": "at load (https://app.example/plan?patient=123456789&token=abc)",
}
