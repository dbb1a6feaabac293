"""ClickHouse SQL for the pose read route; runs on ClickHouse 18.16 and chdb's 26.x alike.

Every query reads one actor's frames of one session of one organization: the range
``(org_hash, session_id)`` of the sort key ``(org_hash, session_id, frame_number)``, filtered on
``actor_hash``. Any token of the organization can send frames under any ``session_id``, so frames another
actor sent under the same id must never count. ``form_score`` and ``rom_degrees`` are Nullable (no body
in view): ``avg`` and ``max`` skip NULLs and give NULL when every frame is NULL. Placeholders are filled
from validated values only (hashed ids, a UUID, a bucket expression from a whitelist).
"""

from __future__ import annotations

import uuid

from telemetry.reads import hashed_id

_SESSION = "org_hash = '{org_hash}' AND actor_hash = '{actor_hash}' AND session_id = toUUID('{session_id}')"

# Aggregates without GROUP BY: one row even for a session without frames (then frames = 0).
_SUMMARY = """
SELECT
    count() AS session_frames,
    any(media_id) AS session_media_id,
    if(session_frames > 0, max(elapsed_ms) - min(elapsed_ms), 0) AS session_duration_ms,
    max(rep_count) AS session_reps,
    avg(form_score) AS session_form_score,
    countIf(isNull(form_score)) AS session_frames_without_body,
    avg(rom_degrees) AS session_rom_degrees,
    max(rom_degrees) AS session_max_rom_degrees,
    avg(pose_confidence) AS session_pose_confidence
FROM pose_tracking_frames
WHERE {session}
"""

# One row per minute or per repetition, in order.
_TREND = """
SELECT
    {bucket} AS trend_bucket,
    min(elapsed_ms) AS start_ms,
    count() AS frames,
    max(rep_count) AS reps,
    avg(form_score) AS average_form_score,
    avg(rom_degrees) AS average_rom_degrees,
    max(rom_degrees) AS max_rom_degrees
FROM pose_tracking_frames
WHERE {session}
GROUP BY trend_bucket
ORDER BY trend_bucket
"""

BUCKETS = {"minute": "intDiv(elapsed_ms, 60000)", "rep": "rep_count"}
"""Trend bucket → the expression grouping frames into it."""

# Device capability: frames and processing time per camera resolution.
_DEVICES = """
SELECT
    camera_resolution AS device_camera_resolution,
    count() AS frames,
    avg(processing_time_ms) AS average_processing_time_ms,
    quantileExact(0.5)(processing_time_ms) AS median_processing_time_ms,
    quantileExact(0.95)(processing_time_ms) AS p95_processing_time_ms
FROM pose_tracking_frames
WHERE {session}
GROUP BY camera_resolution
ORDER BY frames DESC, device_camera_resolution
"""


def _session(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> str:
    return _SESSION.format(
        org_hash=hashed_id(org_hash), actor_hash=hashed_id(actor_hash), session_id=uuid.UUID(str(session_id))
    )


def summary_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> str:
    """Frames, duration, reps, mean form score and ROM of one actor's session."""
    return _SUMMARY.format(session=_session(org_hash, actor_hash, session_id))


def trend_query(org_hash: str, actor_hash: str, session_id: uuid.UUID, bucket: str) -> str:
    """Form score, ROM and reps of one actor's session per ``bucket`` (``minute`` or ``rep``)."""
    return _TREND.format(bucket=BUCKETS[bucket], session=_session(org_hash, actor_hash, session_id))


def devices_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> str:
    """Frames and processing time per camera resolution of one actor's session."""
    return _DEVICES.format(session=_session(org_hash, actor_hash, session_id))
