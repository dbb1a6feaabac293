"""A batch survives one odd field (issue 17 §4), on both ClickHouse engines: a media array, a pose batch or
a beacon with some bad items stores every good item exactly once and names the bad ones by index, path and
reason; an unknown connection type is coerced, a bandwidth in bit/s dropped, both counted; a batch with no
good item, or with a fault outside its items, is a 422 that stores nothing; an idempotent retry stores
nothing twice."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from telemetry.spool.appender import SpoolAppender

from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import ANALYTICS_EVENT

MEDIA = "/v1/media/events"
POSE = "/v1/pose/frames"
BEACON = "/v1/beacon"


def at(second: int) -> str:
    return f"2026-02-16T09:03:{second:02d}Z"


def heartbeat(session: str, second: int, **changes: Any) -> dict[str, Any]:
    """A heartbeat at ``second`` past 09:03, its position ``second`` seconds, so each row is told apart."""
    data = {
        "position_seconds": float(second),
        "watched_duration_seconds": float(second),
        "completion_percent": 50.0,
        "buffering_count": 0,
        "buffering_duration_ms": 0,
        "current_bitrate": 2_500_000,
        "current_resolution": "720p",
    }
    return {"event": "heartbeat", "session_id": session, "timestamp": at(second), "data": data | changes}


def play_intent(session: str, second: int, **data: Any) -> dict[str, Any]:
    return {
        "event": "play_intent",
        "session_id": session,
        "media_id": "exercise-42",
        "timestamp": at(second),
        "data": data,
    }


def pose_frame(number: int, **changes: Any) -> dict[str, Any]:
    frame = {
        "frame_number": number,
        "elapsed_ms": number * 33,
        "landmark_x": [0.5] * 3,
        "landmark_y": [0.25] * 3,
        "landmark_z": [-0.125] * 3,
        "landmarks_detected": 33,
        "rep_count": 1,
        "form_score": 0.75,
        "active_exercise_phase": "concentric",
        "camera_resolution": "640x480",
        "processing_time_ms": 12,
    }
    return frame | changes


def post(ingest: Ingest, path: str, body: Any, key: str | None = None) -> Any:
    headers = {**ingest.headers(), "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return ingest.client.post(path, content=content, headers=headers)


def beacon(ingest: Ingest, body: dict[str, Any]) -> Any:
    token = ingest.headers()["Authorization"].removeprefix("Bearer ")
    return ingest.client.post(
        BEACON, content=msgspec.json.encode({"token": token, **body}), headers={"Content-Type": "text/plain"}
    )


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    ack: dict[str, Any] = response.json()
    return ack


def refused(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, str]] = response.json()["errors"]
    return errors


def rejected(*items: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"index": index, "field": field, "reason": reason} for index, field, reason in items]


def stored_media(ingest: Ingest) -> list[dict[str, Any]]:
    return ingest.mine(
        "media_events",
        "toString(batch_id) AS batch, toString(event) AS event, position_seconds, toString(connection_type) AS "
        "connection_type, effective_bandwidth_mbps",
        order_by="event_time, position_seconds",
    )


# Media events -------------------------------------------------------------------------------------------


def test_a_media_batch_stores_its_good_events_once_and_names_the_bad_ones(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    events = [
        heartbeat(session, 0),
        heartbeat(session, 1, completion_percent=150.0),  # a percentage over 100
        heartbeat(session, 2),
        {**heartbeat(session, 3), "event": "rewind"},  # no such event
        heartbeat(session, 4),
        heartbeat(session, 5, current_resolution="HD"),  # not a rendition label
        heartbeat(session, 6),
        {**heartbeat(session, 7), "session_id": "not-a-uuid"},
    ]

    ack = accepted(post(ingest, MEDIA, events))

    assert ack["accepted"] == 4
    assert ack["rejected"] == rejected(
        (1, "[1].data.completion_percent", "Expected `float` <= 100.0"),
        (3, "[3].event", "Invalid value 'rewind'"),
        (5, "[5].data.current_resolution", r"Expected `str` matching regex '^\\d{3,4}p$'"),
        (7, "[7].session_id", "Invalid UUID"),
    )
    assert (ack["coerced"], ack["dropped"], ack["duplicate"]) == ({}, {}, False)
    rows = stored_media(ingest)
    assert [(row["event"], row["position_seconds"]) for row in rows] == [
        ("heartbeat", 0.0),
        ("heartbeat", 2.0),
        ("heartbeat", 4.0),
        ("heartbeat", 6.0),
    ]
    assert {row["batch"] for row in rows} == {ack["batch_id"]}


def test_a_valid_batch_is_acknowledged_with_nothing_rejected(ingest: Ingest) -> None:
    session = str(uuid.uuid4())

    ack = accepted(post(ingest, MEDIA, [heartbeat(session, 0), heartbeat(session, 1)]))

    assert (ack["accepted"], ack["rejected"], ack["coerced"], ack["dropped"]) == (2, [], {}, {})


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("bluetooth", "other"),
        ("mixed", "other"),
        ("wimax", "other"),
        ("none", "unknown"),
        ("WIFI", "wifi"),
        ("Cellular", "cellular"),
        (None, "unknown"),
    ],
)
def test_an_unknown_connection_type_is_coerced_and_counted(ingest: Ingest, sent: str | None, stored: str) -> None:
    session = str(uuid.uuid4())
    events = [play_intent(session, 0, connection_type=sent, effective_bandwidth=12.5), heartbeat(session, 1)]

    ack = accepted(post(ingest, MEDIA, events))

    assert (ack["accepted"], ack["rejected"]) == (2, [])
    assert (ack["coerced"], ack["dropped"]) == ({"data.connection_type": 1}, {})
    intent = stored_media(ingest)[0]
    assert (intent["event"], intent["connection_type"], intent["effective_bandwidth_mbps"]) == (
        "play_intent",
        stored,
        12.5,
    )


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (3, "Expected `str`, got `int`"),
        ("wi fi", "Invalid enum value 'wi fi'"),
        ("x" * 33, f"Invalid enum value '{'x' * 33}'"),
    ],
)
def test_a_connection_type_that_is_not_a_label_rejects_the_event(ingest: Ingest, sent: Any, reason: str) -> None:
    session = str(uuid.uuid4())
    events = [play_intent(session, 0, connection_type=sent), heartbeat(session, 1)]

    ack = accepted(post(ingest, MEDIA, events))

    assert ack["accepted"] == 1
    assert ack["rejected"] == rejected((0, "[0].data.connection_type", reason))
    assert [row["event"] for row in stored_media(ingest)] == ["heartbeat"]


def test_a_repeated_key_rejects_the_event_it_cannot_repair(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    # The typed decode meets the first `data`, a generic decode keeps the last: there is nothing to repair.
    odd = msgspec.json.encode(play_intent(session, 0, connection_type="bluetooth"))[:-1] + b', "data": [1]}'
    body = b"[" + odd + b", " + msgspec.json.encode(heartbeat(session, 1)) + b"]"

    ack = accepted(post(ingest, MEDIA, body))

    assert ack["accepted"] == 1
    assert ack["rejected"] == rejected((0, "[0].data.connection_type", "Invalid enum value 'bluetooth'"))
    assert ack["coerced"] == {}


def test_a_bandwidth_in_bits_per_second_is_dropped_and_counted(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    start = {
        "event": "session_start",
        "session_id": session,
        "media_id": "exercise-42",
        "timestamp": at(1),
        "data": {
            "total_duration_seconds": 42.0,
            "cdn_response_time_ms": 280,
            "connection_type": "bluetooth",
            "effective_bandwidth": 12_500_000,  # hls.js's bandwidth estimate: bit/s
        },
    }
    events = [
        play_intent(session, 0, connection_type="wifi", effective_bandwidth=-1),
        start,
        heartbeat(session, 2),
        play_intent(session, 3, effective_bandwidth="fast"),  # not a number: the event is rejected
    ]

    ack = accepted(post(ingest, MEDIA, events))

    assert ack["accepted"] == 3
    assert ack["dropped"] == {"data.effective_bandwidth": 2}
    assert ack["coerced"] == {"data.connection_type": 1}
    assert ack["rejected"] == rejected((3, "[3].data.effective_bandwidth", "Expected `float | null`, got `str`"))
    rows = stored_media(ingest)
    # A dropped bandwidth is stored as the column's "not reported", 0, like an estimate never sent.
    assert [(row["event"], row["connection_type"], row["effective_bandwidth_mbps"]) for row in rows] == [
        ("play_intent", "wifi", 0.0),
        ("session_start", "other", 0.0),
        ("heartbeat", "", 0.0),
    ]


def test_a_single_event_gets_the_same_rules(ingest: Ingest) -> None:
    session = str(uuid.uuid4())

    ack = accepted(post(ingest, MEDIA, play_intent(session, 0, connection_type="wimax", effective_bandwidth=3e6)))

    assert ack["accepted"] == 1
    assert (ack["coerced"], ack["dropped"], ack["rejected"]) == (
        {"data.connection_type": 1},
        {"data.effective_bandwidth": 1},
        [],
    )
    assert [(row["connection_type"], row["effective_bandwidth_mbps"]) for row in stored_media(ingest)] == [
        ("other", 0.0)
    ]
    # Alone, an event with a fault no rule repairs is refused as before, naming the field.
    errors = refused(post(ingest, MEDIA, heartbeat(session, 1, completion_percent=150.0)))
    assert [error["field"] for error in errors] == ["data.completion_percent"]
    assert len(stored_media(ingest)) == 1


def test_a_media_batch_without_a_good_event_is_refused_naming_each(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    events = [{**heartbeat(session, 0), "event": "rewind"}, heartbeat(session, 1, buffering_count=-1), 7]

    errors = refused(post(ingest, MEDIA, events))

    assert errors == [
        {"field": "[0].event", "message": "Invalid value 'rewind'"},
        {"field": "[1].data.buffering_count", "message": "Expected `int` >= 0"},
        {"field": "[2]", "message": "Expected `object`, got `int`"},
    ]
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b'[{"event": "rewind"}, {"event": "heartbeat", "x": NaN}]', 400, id="nan-after-a-bad-event"),
        pytest.param(b'[{"event": "rewind"}, {"event": "heartbeat"', 400, id="truncated-after-a-bad-event"),
        pytest.param([{"event": "rewind"}] * 501, 422, id="more-than-500"),
    ],
)
def test_a_body_level_fault_still_refuses_the_whole_array(ingest: Ingest, body: Any, status: int) -> None:
    session = str(uuid.uuid4())
    if isinstance(body, list):
        body = [heartbeat(session, 0), *body[1:]]

    response = post(ingest, MEDIA, body)

    assert response.status_code == status, response.text
    assert ingest.stored_count() == 0


# Pose frames --------------------------------------------------------------------------------------------


def pose_batch(frames: list[Any], **fields: Any) -> dict[str, Any]:
    return {"session_id": str(uuid.uuid4()), "media_id": "exercise-42", "frames": frames, **fields}


def stored_frames(ingest: Ingest) -> list[tuple[int, str]]:
    rows = ingest.mine(
        "pose_tracking_frames",
        "frame_number, toString(active_exercise_phase) AS phase",
        order_by="frame_number",
    )
    return [(int(row["frame_number"]), row["phase"]) for row in rows]


def test_a_pose_batch_stores_its_good_frames_once_and_names_the_bad_ones(ingest: Ingest) -> None:
    frames = [pose_frame(n) for n in range(10)]
    frames[3] = pose_frame(3, form_score=1.5)
    frames[5] = pose_frame(5, landmark_y=[0.25] * 2)  # arrays of unequal lengths
    frames[7] = pose_frame(7, landmark_x=[0.5, 11.0, 0.5])
    frames[8] = pose_frame(8, active_exercise_phase="Hold")  # coerced
    frames[9] = pose_frame(9, active_exercise_phase="ECCENTRIC")  # coerced

    ack = accepted(post(ingest, POSE, pose_batch(frames)))

    assert ack["accepted"] == 7
    assert ack["rejected"] == rejected(
        (3, "frames[3].form_score", "Expected `float` <= 1.0"),
        (5, "frames[5]", "landmark arrays must have equal lengths"),
        (7, "frames[7].landmark_x[1]", "Expected `float` <= 10.0"),
    )
    assert (ack["coerced"], ack["dropped"]) == ({"active_exercise_phase": 2}, {})
    assert stored_frames(ingest) == [
        (0, "concentric"),
        (1, "concentric"),
        (2, "concentric"),
        (4, "concentric"),
        (6, "concentric"),
        (8, "unknown"),
        (9, "eccentric"),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"session_id": "not-a-uuid"}, "session_id"),
        ({"media_id": "no spaces"}, "media_id"),
        ({"visibility_kind": "odds"}, "visibility_kind"),
    ],
)
def test_a_fault_outside_the_frames_refuses_the_whole_batch(ingest: Ingest, fields: dict[str, Any], field: str) -> None:
    # The bad frame comes first in the document, so the whole-body decode meets it before the batch's field.
    frames = [pose_frame(0, form_score=1.5), pose_frame(1)]
    body = {"frames": frames, "session_id": str(uuid.uuid4()), "media_id": "exercise-42", **fields}

    errors = refused(post(ingest, POSE, body))

    assert [error["field"] for error in errors] == [field]
    assert ingest.stored_count() == 0


def test_a_pose_batch_without_a_good_frame_is_refused_naming_each(ingest: Ingest) -> None:
    frames = [pose_frame(0, rep_count=-1), pose_frame(1, camera_resolution="big")]

    errors = refused(post(ingest, POSE, pose_batch(frames)))

    assert [error["field"] for error in errors] == ["frames[0].rep_count", "frames[1].camera_resolution"]
    assert ingest.stored_count() == 0


# Beacons ------------------------------------------------------------------------------------------------


def test_a_beacon_stores_its_good_events_of_each_kind(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    body = {
        "media_events": [heartbeat(session, 0, completion_percent=-5.0), heartbeat(session, 1)],
        "analytics_events": [ANALYTICS_EVENT, {**ANALYTICS_EVENT, "event_name": "Nope"}, ANALYTICS_EVENT],
    }

    ack = accepted(beacon(ingest, body))

    media, analytics = ack["media_events"], ack["analytics_events"]
    assert media["accepted"] == 1
    assert media["rejected"] == rejected((0, "media_events[0].data.completion_percent", "Expected `float` >= 0.0"))
    assert analytics["accepted"] == 2
    assert analytics["rejected"] == rejected(
        (1, "analytics_events[1].event_name", r"Expected `str` matching regex '^[a-z_]+(\\.[a-z_]+)+$'")
    )
    assert [row["position_seconds"] for row in stored_media(ingest)] == [1.0]
    assert len(ingest.mine("analytics_events")) == 2


def test_a_beacon_whose_media_events_are_all_bad_stores_its_analytics(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    body = {"media_events": [{**heartbeat(session, 0), "event": "rewind"}], "analytics_events": [ANALYTICS_EVENT]}

    ack = accepted(beacon(ingest, body))

    assert ack["media_events"]["accepted"] == 0
    assert ack["media_events"]["rejected"] == rejected((0, "media_events[0].event", "Invalid value 'rewind'"))
    assert ack["analytics_events"]["accepted"] == 1
    assert (len(stored_media(ingest)), len(ingest.mine("analytics_events"))) == (0, 1)


def test_a_beacon_without_a_good_event_is_refused(ingest: Ingest) -> None:
    session = str(uuid.uuid4())
    body = {
        "media_events": [{**heartbeat(session, 0), "event": "rewind"}],
        "analytics_events": [{**ANALYTICS_EVENT, "resource_id": "a b"}],
    }

    errors = refused(beacon(ingest, body))

    assert [error["field"] for error in errors] == ["media_events[0].event", "analytics_events[0].resource_id"]
    assert ingest.stored_count() == 0


# Idempotent retries -------------------------------------------------------------------------------------


def partial_media_batch() -> list[Any]:
    session = str(uuid.uuid4())
    return [heartbeat(session, 0), {**heartbeat(session, 1), "event": "rewind"}, heartbeat(session, 2)]


def test_a_retried_partial_batch_stores_nothing_twice(ingest: Ingest) -> None:
    key = f"partial-{uuid.uuid4().hex}"
    body = partial_media_batch()

    first = accepted(post(ingest, MEDIA, body, key))
    retry = accepted(post(ingest, MEDIA, body, key))

    assert first["accepted"] == 2
    assert retry == {**first, "accepted": 0, "duplicate": True}
    assert retry["rejected"] == rejected((1, "[1].event", "Invalid value 'rewind'"))
    rows = stored_media(ingest)
    assert [(row["batch"], row["position_seconds"]) for row in rows] == [
        (first["batch_id"], 0.0),
        (first["batch_id"], 2.0),
    ]


def test_a_partial_batch_retried_after_the_process_forgot_it_is_stored_once(ingest: Ingest) -> None:
    state = ingest.client.app.state
    remembering, state.spool_appender = state.spool_appender, SpoolAppender(state.spool, recent_batches=1)
    try:
        media_key, pose_key = f"media-{uuid.uuid4().hex}", f"pose-{uuid.uuid4().hex}"
        media_body = partial_media_batch()
        pose_body = pose_batch([pose_frame(0), pose_frame(1, form_score=2.0), pose_frame(2)])
        first = accepted(post(ingest, MEDIA, media_body, media_key))
        ingest.flush()  # in ClickHouse and in the ledger
        first_pose = accepted(post(ingest, POSE, pose_body, pose_key))  # pushes the media key out of memory
        retries = [
            accepted(post(ingest, MEDIA, media_body, media_key)),
            accepted(post(ingest, POSE, pose_body, pose_key)),
        ]
    finally:
        state.spool_appender = remembering

    # Each retry pushed the other key out of the one-entry memory, so both were spooled again: the media
    # batch after its first delivery reached ClickHouse, the pose batch while its first was still spooled.
    # The flusher dropped both.
    assert retries == [first, first_pose]
    assert [row["position_seconds"] for row in stored_media(ingest)] == [0.0, 2.0]
    assert stored_frames(ingest) == [(0, "concentric"), (2, "concentric")]
