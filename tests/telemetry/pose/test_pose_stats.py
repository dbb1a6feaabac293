"""Per-session pose statistics match hand-computed figures for scripted frames, on both ClickHouse
engines, and only the organization's staff can read them."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import pose_frame

SESSION = str(uuid.uuid4())


def frame(
    number: int,
    elapsed_ms: int,
    reps: int,
    form_score: float | None,
    rom: float | None,
    camera: str,
    processing_ms: float,
) -> dict[str, Any]:
    return pose_frame(number) | {
        "elapsed_ms": elapsed_ms,
        "pose_confidence": 0.75,
        "rep_count": reps,
        "form_score": form_score,
        "rom_degrees": rom,
        "camera_resolution": camera,
        "processing_time_ms": processing_ms,
    }


# Minute 0: three frames at 640x480, the third without a body in view; minute 1: two at 1280x720.
BATCHES = [
    [
        frame(1, 0, 0, 0.5, 30.0, "640x480", 10.0),
        frame(2, 30_000, 1, 0.75, 40.0, "640x480", 20.0),
        frame(3, 59_000, 1, None, None, "640x480", 30.0),
    ],
    [
        frame(4, 60_000, 2, 1.0, 50.0, "1280x720", 40.0),
        frame(5, 90_000, 3, 0.5, 60.0, "1280x720", 50.0),
    ],
]


@pytest.fixture
def scripted(ingest: Ingest) -> Ingest:
    """The session's frames, in two batches, under an organization of this test's own."""
    ingest.own_organization()
    for frames in BATCHES:
        ingest.store("/v1/pose/frames", {"session_id": SESSION, "media_id": "exercise-p", "frames": frames})
    ingest.flush()
    return ingest


def staff_get(ingest: Ingest, path: str, **params: str) -> Any:
    """``path`` read by staff of the organization; of the test's actor's frames unless ``actor_hash`` says."""
    params = {"actor_hash": ingest.actor_hash, **params}
    return ingest.client.get(path, params=params, headers=ingest.headers(role="staff"))


SUMMARY = {
    "session_id": SESSION,
    "media_id": "exercise-p",
    "frames": 5,
    "duration_ms": 90_000,
    "reps": 3,
    "average_form_score": (0.5 + 0.75 + 1.0 + 0.5) / 4,  # the frame without a body left out
    "frames_without_body": 1,
    "average_rom_degrees": (30 + 40 + 50 + 60) / 4,
    "max_rom_degrees": 60.0,
    "average_pose_confidence": 0.75,
}
DEVICES = [
    {
        "camera_resolution": "640x480",
        "frames": 3,
        "share": 0.6,
        "average_processing_time_ms": 20.0,
        "median_processing_time_ms": 20.0,
        "p95_processing_time_ms": 30.0,
    },
    {
        "camera_resolution": "1280x720",
        "frames": 2,
        "share": 0.4,
        "average_processing_time_ms": 45.0,
        "median_processing_time_ms": 50.0,  # quantileExact takes the upper of two
        "p95_processing_time_ms": 50.0,
    },
]


def test_per_minute_trend_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    response = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats")

    assert response.status_code == 200, response.text
    body = response.json()
    # Frames without world landmarks or form issues: no joint angle, no issue (test_pose_mediapipe.py).
    assert body.pop("form_issues") == []
    repetitions = body.pop("repetitions")
    assert [(rep["rep"], rep["frames"]) for rep in repetitions] == [(0, 1), (1, 2), (2, 1), (3, 1)]
    assert {joint["rom_degrees"] for rep in repetitions for joint in rep["joints"]} == {None}
    assert body == {
        **SUMMARY,
        "bucket": "minute",
        "trend": [
            {
                "bucket": 0,
                "start_ms": 0,
                "frames": 3,
                "reps": 1,
                "average_form_score": 0.625,
                "average_rom_degrees": 35.0,
                "max_rom_degrees": 40.0,
            },
            {
                "bucket": 1,
                "start_ms": 60_000,
                "frames": 2,
                "reps": 3,
                "average_form_score": 0.75,
                "average_rom_degrees": 55.0,
                "max_rom_degrees": 60.0,
            },
        ],
        "devices": DEVICES,
    }


def test_per_rep_trend_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    response = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats", bucket="rep")

    assert response.status_code == 200, response.text
    assert response.json()["bucket"] == "rep"
    assert response.json()["trend"] == [
        {"bucket": 0, "start_ms": 0, "frames": 1, "reps": 0, "average_form_score": 0.5,
         "average_rom_degrees": 30.0, "max_rom_degrees": 30.0},
        # Frame 3 had no body in view: its null score and ROM are left out, its frame still counts.
        {"bucket": 1, "start_ms": 30_000, "frames": 2, "reps": 1, "average_form_score": 0.75,
         "average_rom_degrees": 40.0, "max_rom_degrees": 40.0},
        {"bucket": 2, "start_ms": 60_000, "frames": 1, "reps": 2, "average_form_score": 1.0,
         "average_rom_degrees": 50.0, "max_rom_degrees": 50.0},
        {"bucket": 3, "start_ms": 90_000, "frames": 1, "reps": 3, "average_form_score": 0.5,
         "average_rom_degrees": 60.0, "max_rom_degrees": 60.0},
    ]  # fmt: skip


def test_a_session_without_a_body_in_view_has_null_scores(ingest: Ingest) -> None:
    ingest.org_hash = f"org_{uuid.uuid4().hex}"
    session = str(uuid.uuid4())
    frames = [frame(1, 0, 0, None, None, "640x480", 10.0)]
    response = ingest.client.post(
        "/v1/pose/frames",
        content=msgspec.json.encode({"session_id": session, "media_id": "exercise-p", "frames": frames}),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202
    ingest.flush()

    body = staff_get(ingest, f"/v1/pose/sessions/{session}/stats").json()

    assert (body["average_form_score"], body["average_rom_degrees"], body["max_rom_degrees"]) == (None, None, None)
    assert body["trend"][0]["average_form_score"] is None
    assert body["frames_without_body"] == 1


def test_frames_another_actor_sent_under_the_session_id_never_count(scripted: Ingest) -> None:
    # Another patient of the organization who learned the session's id posts frames under it: a minute
    # later in the session, other reps and scores, another camera.
    owner = scripted.actor_hash
    scripted.new_actor()
    intruder = scripted.actor_hash
    frames = [frame(6, 120_000, 9, 0.0, 170.0, "320x240", 500.0), frame(7, 0, 0, 0.0, 0.0, "640x480", 1.0)]
    response = scripted.client.post(
        "/v1/pose/frames",
        content=msgspec.json.encode({"session_id": SESSION, "media_id": "exercise-x", "frames": frames}),
        headers={**scripted.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    scripted.flush()

    by_owner = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats", actor_hash=owner)
    by_intruder = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats", actor_hash=intruder)
    nobody = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats", actor_hash="actor_nobody")

    assert by_owner.status_code == 200, by_owner.text
    stats = by_owner.json()
    assert {key: stats[key] for key in SUMMARY} == SUMMARY
    assert [(bucket["bucket"], bucket["frames"]) for bucket in stats["trend"]] == [(0, 3), (1, 2)]
    assert stats["devices"] == DEVICES
    assert by_intruder.status_code == 200, by_intruder.text
    assert (by_intruder.json()["frames"], by_intruder.json()["media_id"]) == (2, "exercise-x")
    assert nobody.status_code == 404
    assert nobody.headers["Content-Type"].startswith("application/problem+json")


def test_only_staff_of_the_organization_read_a_session(scripted: Ingest) -> None:
    patient = scripted.client.get(f"/v1/pose/sessions/{SESSION}/stats", headers=scripted.headers())
    unknown = staff_get(scripted, f"/v1/pose/sessions/{uuid.uuid4()}/stats")
    scripted.org_hash = "another_org"
    other_org = staff_get(scripted, f"/v1/pose/sessions/{SESSION}/stats")

    assert patient.status_code == 403
    assert (unknown.status_code, other_org.status_code) == (404, 404)
    assert other_org.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/v1/pose/sessions/{SESSION}/stats?bucket=hour&actor_hash=actor_x", "bucket"),
        (f"/v1/pose/sessions/{SESSION}/stats?actor_hash=a%27%20OR%201%3D1", "actor_hash"),
        (f"/v1/pose/sessions/{SESSION}/stats?actor_hash=", "actor_hash"),
        (f"/v1/pose/sessions/{SESSION}/stats", "actor_hash"),
        ("/v1/pose/sessions/not-a-uuid/stats", ""),
    ],
)
def test_bad_parameters_are_refused(scripted: Ingest, path: str, field: str) -> None:
    response = scripted.client.get(path, headers=scripted.headers(role="staff"))

    assert response.status_code in ((422,) if field else (404, 422)), response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    if field:
        body = response.json()
        assert any(field in text for text in [body["detail"], *(error["field"] for error in body.get("errors", []))])


def test_a_missing_parameter_is_named_as_the_field_at_fault(scripted: Ingest) -> None:
    # Seen using the running service: Litestar's own refusal named it only in prose, with the whole URL.
    response = scripted.client.get(f"/v1/pose/sessions/{SESSION}/stats", headers=scripted.headers(role="staff"))
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["query:actor_hash"]
