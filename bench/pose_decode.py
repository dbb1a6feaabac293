"""Decoding one pose batch (60 frames x 33 landmarks): the contracts' msgspec decoder, which parses and
validates every constraint, against the standard library's json.loads, which only parses. A ratio above
1 means full validation still costs less than an unvalidated stdlib parse."""

from __future__ import annotations

import json
import random
import uuid

import msgspec
from contracts.telemetry import pose_batch_decoder

from bench.timing import compare


def pose_batch_body(frames: int = 60, seed: int = 7) -> bytes:
    """A realistic batch: 33 landmarks per frame with plausible coordinates and visibilities."""
    rng = random.Random(seed)
    batch = {
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
                "active_exercise_phase": rng.choice(["concentric", "eccentric", "isometric"]),
                "camera_resolution": "640x480",
                "processing_time_ms": rng.randint(8, 20),
            }
            for i in range(frames)
        ],
    }
    return msgspec.json.encode(batch)


def run() -> str:
    body = pose_batch_body()
    decoded = pose_batch_decoder.decode(body)
    assert len(decoded.frames) == 60
    result = compare(
        f"pose batch decode, 60 frames x 33 landmarks ({len(body):,} bytes)",
        lambda: pose_batch_decoder.decode(body),
        lambda: json.loads(body),
    )
    return result.report("msgspec decode + validate (contracts)", "stdlib json.loads, no validation", "> 1x")
