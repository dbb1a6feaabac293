"""Pose frames as MediaPipe emits them (presence, world landmarks, logit or missing visibility, no pose
confidence, form issue codes) are stored, and the per-repetition joint ranges of motion, tempo and form
issues the session route serves match hand computations from the world landmarks, on both engines."""

from __future__ import annotations

import math
import struct
import uuid
from typing import Any

import msgspec
import pytest

from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import still_landmarks

SESSION = str(uuid.uuid4())

# BlazePose's landmark numbers of the body parts, (left, right).
LANDMARKS = {
    "shoulder": (11, 12),
    "elbow": (13, 14),
    "wrist": (15, 16),
    "hip": (23, 24),
    "knee": (25, 26),
    "ankle": (27, 28),
}
# Each joint's angle is at the joint, between the vectors to these two parts (docs/telemetry.md).
END_POINTS = {
    "knee": ("hip", "ankle"),
    "hip": ("shoulder", "knee"),
    "shoulder": ("elbow", "hip"),
    "elbow": ("shoulder", "wrist"),
}
# The served joints in order, each as BlazePose numbers (end point, vertex, other end point).
JOINTS = {
    f"{side}_{joint}": (LANDMARKS[end][index], LANDMARKS[joint][index], LANDMARKS[other][index])
    for joint, (end, other) in END_POINTS.items()
    for index, side in enumerate(("left", "right"))
}


def world(step: int) -> list[list[float]]:
    """33 world landmarks (x, y, z in metres) that move with ``step``: every joint bends differently."""
    return [
        [0.01 * i + 0.03 * step * math.sin(i), 0.02 * i - 0.04 * step * math.cos(i * 0.7), 0.05 * math.sin(i + step)]
        for i in range(33)
    ]


def mediapipe_frame(number: int, elapsed_ms: int, rep: int, phase: str, step: int, issues: list[str]) -> dict[str, Any]:
    points = world(step)
    return {
        "frame_number": number,
        "elapsed_ms": elapsed_ms,
        **still_landmarks(),
        "landmark_visibility": [2.0] * 32 + [-40.0],
        "landmark_presence": [0.0] * 33,
        "world_landmark_x": [point[0] for point in points],
        "world_landmark_y": [point[1] for point in points],
        "world_landmark_z": [point[2] for point in points],
        "landmarks_detected": 33,
        "rep_count": rep,
        "rom_degrees": 10.0 * (step + 1),
        "active_exercise_phase": phase,
        "form_issues": issues,
        "camera_resolution": "640x480",
        "processing_time_ms": 12.0,
    }


# Rep 0: three frames (eccentric 0-400 ms, concentric 400-1000 ms); rep 1: two frames, then one frame
# without world landmarks that must not count in any joint's range.
FRAMES = [
    mediapipe_frame(1, 0, 0, "eccentric", 0, ["knee_valgus"]),
    mediapipe_frame(2, 400, 0, "concentric", 1, ["knee_valgus", "trunk_lean"]),
    mediapipe_frame(3, 1000, 0, "rest", 2, []),
    mediapipe_frame(4, 1100, 1, "eccentric", 3, ["trunk_lean"]),
    mediapipe_frame(5, 1600, 1, "concentric", 4, ["knee_valgus"]),
    {
        **mediapipe_frame(6, 1700, 1, "concentric", 5, []),
        "world_landmark_x": [],
        "world_landmark_y": [],
        "world_landmark_z": [],
    },
]


def float32(value: float) -> float:
    """``value`` as the Float32 column stores it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def angle(points: list[list[float]], end: int, vertex: int, other: int) -> float:
    """The angle at ``vertex``, in degrees, computed by hand from the stored (Float32) coordinates."""
    stored = [[float32(value) for value in point] for point in points]
    first = [stored[end][axis] - stored[vertex][axis] for axis in range(3)]
    second = [stored[other][axis] - stored[vertex][axis] for axis in range(3)]
    dot = sum(a * b for a, b in zip(first, second, strict=True))
    norms = math.sqrt(sum(a * a for a in first)) * math.sqrt(sum(b * b for b in second))
    return math.degrees(math.acos(max(-1.0, min(1.0, dot / norms))))


def expected_range(steps: list[int], joint: str) -> tuple[float, float]:
    angles = [angle(world(step), *JOINTS[joint]) for step in steps]
    return min(angles), max(angles)


@pytest.fixture
def sent(ingest: Ingest) -> Ingest:
    """The MediaPipe-shaped batch, with logit visibility, under an organization of this test's own."""
    ingest.own_organization()
    ingest.store(
        "/v1/pose/frames",
        {"session_id": SESSION, "media_id": "exercise-mp", "visibility_kind": "logit", "frames": FRAMES},
    )
    ingest.flush()
    return ingest


def session_stats(ingest: Ingest) -> Any:
    response = ingest.client.get(
        f"/v1/pose/sessions/{SESSION}/stats",
        params={"actor_hash": ingest.actor_hash, "bucket": "rep"},
        headers=ingest.headers(role="staff"),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_mediapipe_batch_is_stored_with_presence_world_landmarks_and_converted_visibility(sent: Ingest) -> None:
    rows = sent.mine(
        "pose_tracking_frames",
        "landmark_visibility, landmark_presence, world_landmark_x, pose_confidence, form_issues",
        "frame_number",
    )
    assert len(rows) == 6
    first = rows[0]
    sigmoid_two = 1 / (1 + math.exp(-2.0))
    assert [round(value, 5) for value in first["landmark_visibility"][:2]] == [round(sigmoid_two, 5)] * 2
    assert first["landmark_visibility"][32] == pytest.approx(0.0, abs=1e-12)
    assert list(first["landmark_presence"]) == [0.5] * 33
    assert list(first["world_landmark_x"]) == pytest.approx([point[0] for point in world(0)], abs=1e-6)
    assert first["pose_confidence"] is None
    assert list(first["form_issues"]) == ["knee_valgus"]
    assert list(rows[5]["world_landmark_x"]) == []


def test_probabilities_out_of_range_are_clamped_not_refused(ingest: Ingest) -> None:
    frames = [mediapipe_frame(1, 0, 0, "rest", 0, []), mediapipe_frame(2, 33, 0, "rest", 1, [])]
    frames[1]["landmark_visibility"] = [1.25] * 16 + [-0.5] * 17
    frames[0]["landmark_visibility"] = [0.75] * 33
    response = ingest.client.post(
        "/v1/pose/frames",
        content=msgspec.json.encode({"session_id": str(uuid.uuid4()), "media_id": "exercise-mp", "frames": frames}),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    rows = ingest.mine("pose_tracking_frames", "landmark_visibility", "frame_number")
    assert [list(row["landmark_visibility"]) for row in rows] == [[0.75] * 33, [1.0] * 16 + [0.0] * 17]


def test_per_rep_joint_rom_equals_the_hand_computation_from_world_landmarks(sent: Ingest) -> None:
    repetitions = session_stats(sent)["repetitions"]
    assert [(rep["rep"], rep["frames"], rep["start_ms"], rep["duration_ms"]) for rep in repetitions] == [
        (0, 3, 0, 1000),
        (1, 3, 1100, 600),
    ]
    assert [rep["client_max_rom_degrees"] for rep in repetitions] == [30.0, 60.0]
    for rep, steps in zip(repetitions, ([0, 1, 2], [3, 4]), strict=True):
        assert [joint["joint"] for joint in rep["joints"]] == list(JOINTS)
        for joint in rep["joints"]:
            low, high = expected_range(steps, joint["joint"])
            assert joint["frames"] == len(steps)
            assert joint["min_angle_degrees"] == pytest.approx(low, abs=1e-3)
            assert joint["max_angle_degrees"] == pytest.approx(high, abs=1e-3)
            assert joint["rom_degrees"] == pytest.approx(high - low, abs=1e-3)
            assert joint["rom_degrees"] > 1.0


def test_tempo_is_the_time_per_phase_of_each_rep(sent: Ingest) -> None:
    tempo = [rep["tempo"] for rep in session_stats(sent)["repetitions"]]
    assert tempo == [
        [{"phase": "concentric", "duration_ms": 600}, {"phase": "eccentric", "duration_ms": 400}],
        [{"phase": "eccentric", "duration_ms": 500}, {"phase": "concentric", "duration_ms": 100}],
    ]


def test_most_common_form_issues_of_the_session(sent: Ingest) -> None:
    stats = session_stats(sent)
    assert stats["form_issues"] == [
        {"issue": "knee_valgus", "frames": 3, "reps": 2},
        {"issue": "trunk_lean", "frames": 2, "reps": 2},
    ]
    assert stats["average_pose_confidence"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"landmark_presence": [0.5] * 32}, "frames[0]"),
        ({"world_landmark_y": [0.0] * 32}, "frames[0]"),
        ({"form_issues": ["Knee Valgus"]}, "frames[0].form_issues[0]"),
    ],
)
def test_inconsistent_mediapipe_fields_are_refused_at_the_field(
    ingest: Ingest, change: dict[str, Any], field: str
) -> None:
    frames = [{**mediapipe_frame(1, 0, 0, "rest", 0, []), **change}]
    response = ingest.client.post(
        "/v1/pose/frames",
        content=msgspec.json.encode({"session_id": str(uuid.uuid4()), "media_id": "exercise-mp", "frames": frames}),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert field in response.text
