"""The ingest routes store every payload in its table with the right values, on both ClickHouse engines,
and store nothing of a request they refuse."""

from __future__ import annotations

import math
import uuid
from typing import Any

import msgspec
import pytest
from telemetry.spool.appender import SpoolAppender

from tests.telemetry.helpers.harness import COUNTRY_HEADER, MAX_BODY_BYTES, TABLES, Ingest
from tests.telemetry.helpers.payloads import (
    ANALYTICS_EVENT,
    ERROR_REPORT,
    SESSION,
    media_events,
    pose_batch,
    pose_frame,
)
from tools.tokens import mint_token


def post(ingest: Ingest, path: str, body: Any, **header_args: Any) -> Any:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    extra = header_args.pop("extra_headers", {})
    headers = {**ingest.headers(**header_args), "Content-Type": "application/json", **extra}
    return ingest.client.post(path, content=content, headers=headers)


def test_every_media_event_type_lands_in_media_events(ingest: Ingest) -> None:
    response = post(ingest, "/v1/media/events", media_events(), extra_headers={COUNTRY_HEADER: "de"})

    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 7
    rows = {row["event"]: row for row in ingest.mine("media_events", order_by="event")}
    assert set(rows) == {
        "session_start",
        "heartbeat",
        "buffering_start",
        "buffering_end",
        "quality_change",
        "milestone",
        "session_end",
    }
    for row in rows.values():
        assert str(row["session_id"]) == SESSION
        assert row["org_hash"] == ingest.org_hash
        assert row["country_code"] == "DE"
        assert str(row["batch_id"]) == response.json()["batch_id"]
    start = rows["session_start"]
    assert (start["media_id"], start["ttfb_ms"], start["rtt_ms"], start["connection_type"]) == (
        "hashed-exercise-id",
        340,
        45,
        "wifi",
    )
    assert start["effective_bandwidth_mbps"] == 12.5
    assert start["event_time"].replace(tzinfo=None).isoformat() == "2026-02-16T09:03:00"
    heartbeat = rows["heartbeat"]
    assert (heartbeat["bitrate"], heartbeat["resolution"], heartbeat["dropped_frames"]) == (2500000, "720p", 2)
    assert heartbeat["completion_percent"] == 70.25
    assert heartbeat["media_id"] == ""  # later events are keyed by session_id only
    assert rows["buffering_end"]["buffering_duration_ms"] == 850
    change = rows["quality_change"]
    assert (change["previous_bitrate"], change["bitrate"], change["previous_resolution"], change["reason"]) == (
        2500000,
        1200000,
        "720p",
        "abr",
    )
    assert rows["milestone"]["milestone_percent"] == 75
    end = rows["session_end"]
    assert (end["completed"], end["reason"], end["completion_percent"]) == (1, "ended", 97.5)


def test_a_single_media_event_is_accepted_without_an_array(ingest: Ingest) -> None:
    response = post(ingest, "/v1/media/events", media_events()[0])

    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert len(ingest.mine("media_events")) == 1


def test_pose_frames_land_in_pose_tracking_frames(ingest: Ingest) -> None:
    response = post(ingest, "/v1/pose/frames", pose_batch(pose_frame(450), pose_frame(451, form_score=None)))

    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    rows = ingest.mine("pose_tracking_frames", order_by="frame_number")
    assert [row["frame_number"] for row in rows] == [450, 451]
    first = rows[0]
    assert str(first["session_id"]) == SESSION
    assert first["media_id"] == "hashed-exercise-id"
    assert list(first["landmark_x"]) == [0.5] * 33
    assert list(first["landmark_z"]) == [-0.125] * 33
    assert list(first["landmark_visibility"]) == [0.75] * 33
    assert (first["landmarks_detected"], first["rep_count"], first["active_exercise_phase"]) == (33, 5, "concentric")
    assert math.isclose(first["form_score"], 0.85, rel_tol=1e-6)
    assert rows[1]["form_score"] is None  # no body in view is not a score of 0


def test_a_frame_with_fewer_landmarks_than_detected_is_stored_as_sent(ingest: Ingest) -> None:
    # The spec's sample frame: three landmarks in each array, 33 detected by MediaPipe.
    frame = pose_frame(7, count=3) | {"landmarks_detected": 33}
    response = post(ingest, "/v1/pose/frames", pose_batch(frame))

    assert response.status_code == 202, response.text
    (row,) = ingest.mine("pose_tracking_frames")
    assert (list(row["landmark_x"]), list(row["landmark_visibility"])) == ([0.5] * 3, [0.75] * 3)
    assert row["landmarks_detected"] == 33


def test_analytics_events_keep_their_properties(ingest: Ingest) -> None:
    response = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT)

    assert response.status_code == 202, response.text
    (row,) = ingest.mine("analytics_events")
    assert (row["event_name"], row["event_category"], row["resource_type"], row["resource_id"]) == (
        "treatment_plan.session_completed",
        "treatment_plan",
        "patient_session_completion",
        "789",
    )
    properties = dict(zip(row["property_keys"], row["property_values"], strict=True))
    assert properties == {"session_number": "6", "duration_seconds": "1800.5", "skipped": "false", "plan_type": '"acl"'}


def test_error_reports_are_stored_scrubbed(ingest: Ingest) -> None:
    response = post(ingest, "/v1/errors/report", ERROR_REPORT, consent_level=1, biometric=False)

    assert response.status_code == 202, response.text
    (row,) = ingest.mine("error_reports")
    assert (row["error_type"], row["app_version"], row["platform"]) == ("TypeError", "1.4.2", "web")
    assert row["message"] == "Cannot read 'x' of undefined for <email> from <ip>"
    assert row["stack"] == "at load (https://app.example/plan?<query>)"


def pose_text_with(value: bytes, replacement: bytes) -> bytes:
    """A one-frame pose batch as JSON text, with the number ``value`` written as ``replacement``."""
    return msgspec.json.encode(pose_batch(pose_frame(1))).replace(value, replacement)


BAD_PAYLOADS = [
    pytest.param(
        "/v1/pose/frames",
        pose_batch({**pose_frame(1), "landmark_y": [0.1] * 32}),
        422,
        "frames[0]",
        id="unequal-landmark-lengths",
    ),
    pytest.param(
        "/v1/pose/frames", pose_batch({**pose_frame(1), "form_score": 1.5}), 422, "frames[0].form_score", id="score"
    ),
    pytest.param(
        "/v1/pose/frames",
        pose_batch({**pose_frame(1), "landmarks_detected": 34}),
        422,
        "frames[0].landmarks_detected",
        id="more-than-33-detected",
    ),
    pytest.param(
        "/v1/pose/frames",
        pose_batch(*(pose_frame(n, count=1) for n in range(301))),
        422,
        "frames",
        id="more-than-300-frames",
    ),
    pytest.param("/v1/pose/frames", pose_text_with(b"0.96", b"NaN"), 400, None, id="nan"),
    pytest.param("/v1/pose/frames", pose_text_with(b"42.5", b"Infinity"), 400, None, id="infinity"),
    pytest.param("/v1/pose/frames", pose_text_with(b"42.5", b"1e400"), 422, "frames[0].rom_degrees", id="overflow"),
    # A batch keeps its good items (test_partial_batches.py): these batches have none.
    pytest.param("/v1/media/events", [{**media_events()[2], "event": "rewind"}], 422, "[0].event", id="unknown-event"),
    pytest.param("/v1/media/events", {**media_events()[2], "event": "rewind"}, 422, "event", id="one-unknown-event"),
    pytest.param("/v1/media/events", [media_events()[0]] * 501, 422, None, id="more-than-500-events"),
    pytest.param("/v1/media/events", [], 422, None, id="empty-array"),
    pytest.param("/v1/analytics/track", {**ANALYTICS_EVENT, "event_name": "Nope"}, 422, "event_name", id="name"),
    pytest.param("/v1/errors/report", {**ERROR_REPORT, "platform": "fax"}, 422, "platform", id="platform"),
    pytest.param("/v1/errors/report", b'{"error_type": "TypeError",', 400, None, id="truncated"),
    pytest.param("/v1/analytics/track", b"", 400, None, id="empty-body"),
    pytest.param(
        "/v1/analytics/track", b'{"unknown": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, None, id="nested-too-deeply"
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), BAD_PAYLOADS)
def test_bad_payloads_are_refused_and_nothing_is_stored(
    ingest: Ingest, path: str, body: Any, status: int, field: str | None
) -> None:
    response = post(ingest, path, body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if field is not None:
        assert any(error["field"].startswith(field) for error in problem["errors"]), problem
    assert ingest.stored_count() == 0


def test_an_oversize_body_gets_413_and_nothing_is_stored(ingest: Ingest) -> None:
    full_precision = {f"landmark_{axis}": [0.123456789012345] * 33 for axis in ("x", "y", "z", "visibility")}
    frames = [{**pose_frame(n), **full_precision} for n in range(300)]
    body = msgspec.json.encode(pose_batch(*frames))
    assert len(body) > MAX_BODY_BYTES

    response = post(ingest, "/v1/pose/frames", body)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("consent_level", "biometric", "allowed"),
    [
        (0, True, set()),
        (1, True, {"/v1/errors/report"}),
        (2, False, {"/v1/errors/report", "/v1/media/events", "/v1/analytics/track"}),
        (2, True, {"/v1/errors/report", "/v1/media/events", "/v1/analytics/track", "/v1/pose/frames"}),
        (3, False, {"/v1/errors/report", "/v1/media/events", "/v1/analytics/track"}),
    ],
)
def test_consent_decides_what_is_stored(ingest: Ingest, consent_level: int, biometric: bool, allowed: set[str]) -> None:
    bodies = {
        "/v1/errors/report": ERROR_REPORT,
        "/v1/media/events": media_events(),
        "/v1/analytics/track": ANALYTICS_EVENT,
        "/v1/pose/frames": pose_batch(pose_frame(1)),
    }
    stored = {"/v1/errors/report": 1, "/v1/media/events": 7, "/v1/analytics/track": 1, "/v1/pose/frames": 1}

    statuses = {
        path: post(ingest, path, body, consent_level=consent_level, biometric=biometric).status_code
        for path, body in bodies.items()
    }

    assert statuses == {path: 202 if path in allowed else 403 for path in bodies}
    assert ingest.stored_count() == sum(stored[path] for path in allowed)


def test_a_refusal_says_why(ingest: Ingest) -> None:
    response = post(ingest, "/v1/pose/frames", pose_batch(pose_frame(1)), consent_level=3, biometric=False)

    assert response.status_code == 403
    assert "biometric" in response.json()["detail"]


def test_requests_without_a_usable_token_get_401(ingest: Ingest) -> None:
    body = msgspec.json.encode(ERROR_REPORT)
    cases = {
        "missing": {},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": ingest.headers(consent_level=1, exp=1),
        "api-token-without-consent": {
            "Authorization": "Bearer "
            + mint_token(ingest.keys, user_id=9, role="patient", organization_id=1, patient_id=3, org="org_h4sh")
        },
        "hashed-sub-missing": ingest.headers(consent_level=1, sub=None),
        "consent-out-of-range": ingest.headers(consent_level=7),
        "other-audience": ingest.headers(consent_level=1, aud="somebody-else"),
    }
    for name, headers in cases.items():
        response = ingest.client.post("/v1/errors/report", content=body, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("sent", "stored"), [("FR", "FR"), ("fr", "FR"), ("XX", ""), ("T1", ""), ("FRA", ""), (None, "")]
)
def test_the_edge_country_is_stored_after_validation(ingest: Ingest, sent: str | None, stored: str) -> None:
    extra = {COUNTRY_HEADER: sent} if sent is not None else {}

    post(ingest, "/v1/analytics/track", ANALYTICS_EVENT, extra_headers=extra)

    assert [row["country_code"] for row in ingest.mine("analytics_events")] == [stored]


def test_the_client_ip_is_never_stored(ingest: Ingest) -> None:
    ip = "203.0.113.77"
    forwarded = {"X-Forwarded-For": ip, "X-Real-IP": ip, "CF-Connecting-IP": ip, COUNTRY_HEADER: "NL"}
    for path, body in (
        ("/v1/media/events", media_events()),
        ("/v1/pose/frames", pose_batch(pose_frame(1))),
        ("/v1/analytics/track", ANALYTICS_EVENT),
        ("/v1/errors/report", ERROR_REPORT),
    ):
        assert post(ingest, path, body, extra_headers=forwarded).status_code == 202

    for table in TABLES:
        for row in ingest.mine(table):
            assert not any(ip in str(value) or "testclient" in str(value) for value in row.values()), table
    columns = ingest.rows("SELECT name FROM system.columns WHERE database = currentDatabase()")
    assert not [row["name"] for row in columns if "ip" in row["name"].split("_")]


def test_a_retried_batch_is_stored_once(ingest: Ingest) -> None:
    key = {"Idempotency-Key": f"flush-{uuid.uuid4().hex}"}

    first = post(ingest, "/v1/media/events", media_events(), extra_headers=key)
    retry = post(ingest, "/v1/media/events", media_events(), extra_headers=key)
    ingest.new_actor()
    other_actor = post(ingest, "/v1/media/events", media_events(), extra_headers=key)

    assert first.json()["accepted"] == 7
    assert retry.status_code == 202
    assert retry.json() == {**first.json(), "accepted": 0, "duplicate": True}
    assert other_actor.json()["duplicate"] is False
    assert other_actor.json()["batch_id"] != first.json()["batch_id"]
    batch = first.json()["batch_id"]
    stored = ingest.rows(f"SELECT count() AS n FROM media_events WHERE batch_id = toUUID('{batch}')")
    assert int(stored[0]["n"]) == 7


def test_a_retry_the_process_no_longer_remembers_is_still_stored_once(ingest: Ingest) -> None:
    # An appender remembering one batch id stands for a restarted process or a long-evicted key: the request
    # path then spools the retry like a first delivery, and the flusher drops it.
    state = ingest.client.app.state
    remembering, state.spool_appender = state.spool_appender, SpoolAppender(state.spool, recent_batches=1)
    try:
        stored_first = {"Idempotency-Key": f"stored-{uuid.uuid4().hex}"}
        still_spooled = {"Idempotency-Key": f"spooled-{uuid.uuid4().hex}"}
        first = post(ingest, "/v1/media/events", media_events(), extra_headers=stored_first)
        ingest.flush()  # in ClickHouse and in the ledger
        post(ingest, "/v1/media/events", media_events(), extra_headers=still_spooled)
        retries = [
            post(ingest, "/v1/media/events", media_events(), extra_headers=key) for key in (stored_first, still_spooled)
        ]
    finally:
        state.spool_appender = remembering

    # Each retry pushed the other key out of the one-entry memory: both were spooled again.
    assert [retry.json()["duplicate"] for retry in retries] == [False, False]
    assert retries[0].json()["batch_id"] == first.json()["batch_id"]
    stored = ingest.rows(
        "SELECT toString(batch_id) AS batch, count() AS n FROM media_events "
        f"WHERE actor_hash = '{ingest.actor_hash}' GROUP BY batch ORDER BY batch"
    )
    assert sorted(int(row["n"]) for row in stored) == [7, 7]
    assert first.json()["batch_id"] in {row["batch"] for row in stored}


def test_a_retry_spooled_again_is_stored_once(ingest: Ingest) -> None:
    state = ingest.client.app.state
    remembering, state.spool_appender = state.spool_appender, SpoolAppender(state.spool, recent_batches=1)
    try:
        key = {"Idempotency-Key": f"twice-{uuid.uuid4().hex}"}
        first = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT, extra_headers=key)
        post(ingest, "/v1/analytics/track", ANALYTICS_EVENT, extra_headers={"Idempotency-Key": "evicts-it"})
        retry = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT, extra_headers=key)
    finally:
        state.spool_appender = remembering

    assert retry.json() == {**first.json(), "duplicate": False}
    batches = [row["batch_id"] for row in ingest.mine("analytics_events", "toString(batch_id) AS batch_id")]
    assert sorted(batches).count(first.json()["batch_id"]) == 1
    assert len(batches) == 2


def test_batches_without_a_key_are_never_merged(ingest: Ingest) -> None:
    first = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT)
    second = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT)

    assert first.json()["batch_id"] != second.json()["batch_id"]
    assert len(ingest.mine("analytics_events")) == 2


def test_a_bad_idempotency_key_is_refused(ingest: Ingest) -> None:
    response = post(ingest, "/v1/analytics/track", ANALYTICS_EVENT, extra_headers={"Idempotency-Key": "a b"})

    assert response.status_code in (400, 422)
    assert ingest.stored_count() == 0
