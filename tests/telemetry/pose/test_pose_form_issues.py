"""The most common form issues per exercise (``GET /v1/pose/media/{media_id}/form-issues``) match
hand-computed figures for scripted frames, on both ClickHouse engines, within the caller's organization."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from contracts.pose import pose_batch_decoder
from telemetry.identity import TelemetryActor
from telemetry.ingest.batch import Batch
from telemetry.pose.columns import pose_frame_columns

from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import pose_frame

EXERCISE = "exercise-squat"
S1, S2, S3 = (str(uuid.uuid4()) for _ in range(3))


def frame(number: int, rep: int, issues: list[str]) -> dict[str, Any]:
    return {**pose_frame(number), "rep_count": rep, "form_issues": issues}


# (patient, session, media, frames). Patient B's first session has the same id as A's: another session.
SCRIPT: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    ("a", S1, EXERCISE, [
        frame(1, 0, ["knee_valgus"]),
        frame(2, 0, ["knee_valgus", "trunk_lean"]),
        frame(3, 1, ["knee_valgus", "knee_valgus"]),  # listed twice: one frame
        frame(4, 1, []),
    ]),
    ("a", S2, EXERCISE, [frame(1, 0, ["trunk_lean"]), frame(2, 0, [])]),
    ("b", S1, EXERCISE, [frame(1, 0, ["knee_valgus"]), frame(2, 2, ["hip_hike"])]),
    ("b", S3, EXERCISE, [frame(1, 0, ["shoulder_shrug"])]),
    ("b", S3, "exercise-lunge", [frame(2, 0, ["knee_valgus", "trunk_lean"])]),  # another exercise
]  # fmt: skip

# By hand. Sessions of the exercise: (a, S1), (a, S2), (b, S1), (b, S3); frames 4 + 2 + 2 + 1.
# knee_valgus: frames a/S1 1-3 and b/S1 1; reps (a, S1, 0), (a, S1, 1), (b, S1, 0); sessions a/S1, b/S1.
# trunk_lean: frames a/S1 2 and a/S2 1; reps (a, S1, 0), (a, S2, 0); sessions a/S1, a/S2: as many sessions
# as knee_valgus, fewer frames. hip_hike and shoulder_shrug tie on everything: by code.
ISSUES = [
    {"issue": "knee_valgus", "sessions": 2, "session_share": 0.5, "reps": 3, "frames": 4},
    {"issue": "trunk_lean", "sessions": 2, "session_share": 0.5, "reps": 2, "frames": 2},
    {"issue": "hip_hike", "sessions": 1, "session_share": 0.25, "reps": 1, "frames": 1},
    {"issue": "shoulder_shrug", "sessions": 1, "session_share": 0.25, "reps": 1, "frames": 1},
]


def post(ingest: Ingest, session: str, media: str, frames: list[dict[str, Any]]) -> None:
    response = ingest.client.post(
        "/v1/pose/frames",
        content=msgspec.json.encode({"session_id": session, "media_id": media, "frames": frames}),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


@pytest.fixture
def scripted(ingest: Ingest) -> Ingest:
    """The script's frames under an organization of this test's own, and the same exercise's frames in
    another organization."""
    ingest.org_hash = f"org_{uuid.uuid4().hex}"
    actors = {"a": f"actor_a_{uuid.uuid4().hex}", "b": f"actor_b_{uuid.uuid4().hex}"}
    for patient, session, media, frames in SCRIPT:
        ingest.actor_hash = actors[patient]
        post(ingest, session, media, frames)
    organization = ingest.org_hash
    ingest.org_hash = f"org_other_{uuid.uuid4().hex}"
    post(ingest, S2, EXERCISE, [frame(1, 0, ["hip_hike"]), frame(2, 1, ["hip_hike"])])
    ingest.org_hash = organization
    ingest.flush()
    return ingest


def form_issues(ingest: Ingest, media: str = EXERCISE, **params: str) -> Any:
    return ingest.client.get(f"/v1/pose/media/{media}/form-issues", params=params, headers=ingest.headers(role="staff"))


def test_issues_per_exercise_match_the_hand_computed_figures(scripted: Ingest) -> None:
    response = form_issues(scripted)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "media_id": EXERCISE,
        "period": "30d",
        "sessions": 4,
        "frames": 9,
        "issues": ISSUES,
    }


def test_limit_keeps_the_most_common(scripted: Ingest) -> None:
    response = form_issues(scripted, limit="2", period="1h")

    assert response.status_code == 200, response.text
    assert (response.json()["sessions"], response.json()["issues"]) == (4, ISSUES[:2])


def test_an_exercise_without_issues_or_frames_is_an_empty_list(scripted: Ingest) -> None:
    scripted.new_actor()
    post(scripted, str(uuid.uuid4()), "exercise-plank", [frame(1, 0, []), frame(2, 1, [])])
    scripted.flush()

    quiet, unknown = form_issues(scripted, "exercise-plank"), form_issues(scripted, "exercise-never-sent")

    assert quiet.status_code == unknown.status_code == 200
    assert quiet.json() == {"media_id": "exercise-plank", "period": "30d", "sessions": 1, "frames": 2, "issues": []}
    assert unknown.json() == {"media_id": "exercise-never-sent", "period": "30d", "sessions": 0, "frames": 0,
                              "issues": []}  # fmt: skip


def test_the_period_counts_frames_by_arrival(scripted: Ingest) -> None:
    # A session whose frames arrived two days ago (written straight to ClickHouse with that arrival time).
    scripted.new_actor()
    payload = pose_batch_decoder.decode(
        msgspec.json.encode(
            {
                "session_id": str(uuid.uuid4()),
                "media_id": EXERCISE,
                "frames": [frame(1, 0, ["hip_hike"]), frame(2, 1, ["hip_hike"])],
            }
        )
    )
    actor = TelemetryActor(actor_hash=scripted.actor_hash, org_hash=scripted.org_hash, consent_level=3, biometric=True)
    batch = dataclasses.replace(
        Batch.start(actor, "pose_frames", None, ""),
        received_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=2),
    )
    store = scripted.client.app.state.store
    scripted.client.blocking_portal.call(store.insert, "pose_tracking_frames", pose_frame_columns(payload, batch))

    recent, longer = form_issues(scripted, period="24h").json(), form_issues(scripted, period="3d").json()

    assert (recent["sessions"], recent["frames"], recent["issues"]) == (4, 9, ISSUES)
    assert (longer["sessions"], longer["frames"]) == (5, 11)
    # hip_hike now in two sessions too: between knee_valgus (more frames) and trunk_lean (fewer).
    assert longer["issues"] == [
        {"issue": "knee_valgus", "sessions": 2, "session_share": 0.4, "reps": 3, "frames": 4},
        {"issue": "hip_hike", "sessions": 2, "session_share": 0.4, "reps": 3, "frames": 3},
        {"issue": "trunk_lean", "sessions": 2, "session_share": 0.4, "reps": 2, "frames": 2},
        {"issue": "shoulder_shrug", "sessions": 1, "session_share": 0.2, "reps": 1, "frames": 1},
    ]


def test_only_the_organizations_staff_read_its_issues(scripted: Ingest) -> None:
    patient = scripted.client.get(f"/v1/pose/media/{EXERCISE}/form-issues", headers=scripted.headers())
    organization = scripted.org_hash
    scripted.org_hash = f"org_nobody_{uuid.uuid4().hex}"
    stranger = form_issues(scripted)
    scripted.org_hash = organization

    assert patient.status_code == 403
    assert stranger.status_code == 200
    assert (stranger.json()["sessions"], stranger.json()["issues"]) == (0, [])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=0d", "query:period"),
        ("period=731d", "query:period"),
        ("period=7w", "query:period"),
        ("limit=0", "query:limit"),
        ("limit=101", "query:limit"),
        ("limit=ten", "query:limit"),
    ],
)
def test_bad_parameters_are_a_422_naming_them(scripted: Ingest, query: str, field: str) -> None:
    response = scripted.client.get(
        f"/v1/pose/media/{EXERCISE}/form-issues?{query}", headers=scripted.headers(role="staff")
    )

    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_a_media_id_that_is_not_a_hashed_id_is_refused(scripted: Ingest) -> None:
    response = scripted.client.get(
        "/v1/pose/media/a%27%20OR%201%3D1/form-issues", headers=scripted.headers(role="staff")
    )

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["path:media_id"]
