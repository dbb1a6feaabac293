"""The columns of ``pose_tracking_frames`` built from a decoded pose batch: one row per frame, landmark
scores as probabilities (docs/telemetry.md, "Pose as MediaPipe gives it")."""

from __future__ import annotations

import itertools
import math

from contracts.pose import PoseFrameBatch

from telemetry.ingest.batch import Batch, Columns, IngestTable

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


POSE_FRAMES = IngestTable("pose_tracking_frames", pose_frame_columns)
"""The table of pose frames."""


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
