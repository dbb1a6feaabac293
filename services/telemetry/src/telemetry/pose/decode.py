"""A ``POST /v1/pose/frames`` body decoded into the frames to store: the rule that repairs a frame's exercise
phase, and the decoder that keeps a batch's good frames (``ingest/partial.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from contracts.decoding import BodyDecoder
from contracts.pose import ExercisePhase, PoseFrame, PoseFrameBatch, pose_batch_decoder

from telemetry.ingest.partial import (
    ALL_STORED,
    ItemReport,
    Rule,
    decode_items,
    kept,
    label_rule,
    other_fields,
    with_raw_items,
)

POSE_FRAME_RULES: Mapping[str, Rule] = {"active_exercise_phase": label_rule(ExercisePhase, "unknown", null="unknown")}
"""Rules by the path of the value within one frame, as msgspec names it."""

_pose_batch_items: BodyDecoder[Any] = BodyDecoder(with_raw_items(PoseFrameBatch, "frames"))
_pose_frame: BodyDecoder[PoseFrame] = BodyDecoder(PoseFrame)


def decode_pose_batch(body: bytes) -> tuple[PoseFrameBatch, ItemReport]:
    """A ``POST /v1/pose/frames`` body with the frames to store, and the report of the others.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a fault outside the
    frames (``session_id``, ``media_id``, ``visibility_kind``, more than 300 frames), and
    :class:`~telemetry.ingest.partial.RejectedBatch` when no frame is left.
    """
    try:
        return pose_batch_decoder.decode(body), ALL_STORED
    except msgspec.ValidationError:
        items = _pose_batch_items.decode(body)
    frames, report = decode_items(_pose_frame, items.frames, POSE_FRAME_RULES, "frames")
    return PoseFrameBatch(**other_fields(items, "frames"), frames=kept(frames, report)), report
