"""Decoding and validating one pose batch (60 frames x 33 landmarks), the same bytes three ways: the
contracts' msgspec decoder against pydantic v2 models with the same constraints (``bench/pydantic_models``),
once with pydantic's own JSON parser (``model_validate_json``) and once the way FastAPI does it for a body
parameter (stdlib ``json.loads``, then ``model_validate``). Issue #6."""

from __future__ import annotations

import json
import random
import uuid

import msgspec
from contracts.pose import pose_batch_decoder

from bench.pydantic_models import PoseFrameBatchModel
from bench.timing import compare

_PHASES = ("concentric", "eccentric", "isometric")


def pose_batch_document(frames: int = 60, seed: int = 7) -> dict[str, object]:
    """A realistic batch: 33 landmarks per frame with plausible coordinates, visibilities and scores."""
    rng = random.Random(seed)
    return {
        "session_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "media_id": "3f9a1c0b7d2e",
        "frames": [
            {
                "frame_number": 450 + i,
                "elapsed_ms": 15_000 + i * 33,
                "landmark_x": [round(rng.uniform(0.2, 0.8), 4) for _ in range(33)],
                "landmark_y": [round(rng.uniform(0.1, 0.9), 4) for _ in range(33)],
                "landmark_z": [round(rng.uniform(-0.3, 0.3), 4) for _ in range(33)],
                "landmark_visibility": [round(rng.uniform(0.5, 1.0), 4) for _ in range(33)],
                "pose_confidence": round(rng.uniform(0.8, 1.0), 3),
                "landmarks_detected": 33,
                "rep_count": i // 20,
                "form_score": round(rng.uniform(0.6, 1.0), 3),
                "rom_degrees": round(rng.uniform(10, 90), 1),
                "active_exercise_phase": rng.choice(_PHASES),
                "camera_resolution": "640x480",
                "processing_time_ms": rng.randint(8, 20),
            }
            for i in range(frames)
        ],
    }


def pose_batch_body(frames: int = 60, seed: int = 7) -> bytes:
    """:func:`pose_batch_document` as the JSON bytes a device sends."""
    return msgspec.json.encode(pose_batch_document(frames, seed))


def run() -> str:
    body = pose_batch_body()
    decoded = pose_batch_decoder.decode(body)
    validated = PoseFrameBatchModel.model_validate_json(body)
    # Both sides accept the same body and see the same values.
    assert len(decoded.frames) == len(validated.frames) == 60
    assert decoded.frames[7].landmark_x == validated.frames[7].landmark_x
    assert PoseFrameBatchModel.model_validate(json.loads(body)) == validated
    title = f"pose batch decode + validate, 60 frames x 33 landmarks ({len(body):,} bytes)"
    target = "msgspec decode + validate (contracts)"
    pydantic_json = compare(
        f"{title}: vs pydantic JSON",
        lambda: pose_batch_decoder.decode(body),
        lambda: PoseFrameBatchModel.model_validate_json(body),
    )
    stdlib_then_pydantic = compare(
        f"{title}: vs json.loads + pydantic",
        lambda: pose_batch_decoder.decode(body),
        lambda: PoseFrameBatchModel.model_validate(json.loads(body)),
    )
    # Where msgspec's time goes: the same bytes parsed without a type (no validation at all), and the
    # batch without its landmark arrays (everything but the 7,920 landmark floats).
    document = pose_batch_document()
    for frame in document["frames"]:  # type: ignore[attr-defined]
        frame.update(landmark_x=[], landmark_y=[], landmark_z=[], landmark_visibility=[], landmarks_detected=0)
    no_landmarks = msgspec.json.encode(document)
    floor = compare("", lambda: msgspec.json.decode(body), lambda: pose_batch_decoder.decode(no_landmarks), rounds=15)
    return "\n".join(
        (
            pydantic_json.report(target, "pydantic v2 model_validate_json", ">= 1.4x"),
            stdlib_then_pydantic.report(target, "json.loads + pydantic v2 model_validate", ">= 7x"),
            "  where msgspec's time goes (medians, same run):",
            f"    untyped msgspec.json.decode of the same bytes, no validation  {floor.target_seconds * 1e6:8.1f} µs",
            f"    contracts decode of the batch without its landmark arrays     {floor.baseline_seconds * 1e6:8.1f} µs",
        )
    )
