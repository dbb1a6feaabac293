"""Telemetry ingest bodies: the spec's examples decode, and bad frames or events fail at their path."""

import copy
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest
from contracts.analytics import AnalyticsEvent, AnalyticsEventBody, analytics_event_decoder
from contracts.decoding import BodyDecoder
from contracts.error_reports import ErrorReport, error_report_decoder
from contracts.media_events import (
    MediaBufferingEnd,
    MediaBufferingStart,
    MediaHeartbeat,
    MediaMilestone,
    MediaQualityChange,
    MediaSessionEnd,
    MediaSessionStart,
    decode_media_events,
    media_events_decoder,
)
from contracts.pose import PoseFrameBatch, PoseFrameBatchBody, pose_batch_decoder

from tests.contracts.helpers.examples import example_of
from tests.telemetry.helpers.payloads import media_events

SESSION_ID = "550e8400-e29b-41d4-a716-446655440000"

# One event of each type, as the spec's lifecycle sends them; the session_start is the spec's own sample.
SESSION_START, HEARTBEAT, *OTHER_EVENTS = media_events()


def full_pose(value: float) -> list[float]:
    return [value] * 33


# The spec's "Pose Tracking" sample as the contract states it, with the landmark arrays, which the spec
# abbreviates to three entries while reporting 33 landmarks, filled out to a full MediaPipe pose.
def filled_out(batch: dict[str, Any]) -> dict[str, Any]:
    [frame] = batch["frames"]
    for name, rest in {"landmark_x": 0.5, "landmark_y": 0.4, "landmark_z": -0.05, "landmark_visibility": 0.9}.items():
        frame[name] = [*frame[name], *full_pose(rest)[3:]]
    return batch


POSE_BATCH: dict[str, Any] = filled_out(example_of(PoseFrameBatchBody))

# From "Session Lifecycle Analytics": session_started as the contract states it, session_completed as written.
SESSION_STARTED: dict[str, Any] = example_of(AnalyticsEventBody)
SESSION_COMPLETED: dict[str, Any] = {
    "event_name": "treatment_plan.session_completed",
    "event_category": "treatment_plan",
    "timestamp": "2026-02-16T09:30:00Z",
    "resource_type": "patient_session_completion",
    "resource_id": "789",
    "properties": {
        "patient_treatment_plan_id": 42,
        "session_number": 6,
        "exercises_completed": 4,
        "exercises_skipped": 0,
        "duration_seconds": 1800,
    },
}

ERROR_REPORT: dict[str, Any] = {
    "error_type": "MediaError",
    "message": "MEDIA_ERR_NETWORK while loading the exercise video",
    "timestamp": "2026-02-16T09:05:00+01:00",
    "app_version": "2.14.0+build.301",
    "platform": "web",
}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def rejection(decoder: BodyDecoder[Any], body: Any) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        decoder.decode(encode(body))
    return str(caught.value)


# Media events -------------------------------------------------------------------------------------------


def test_session_start_decodes() -> None:
    [event] = decode_media_events(encode(SESSION_START))

    assert isinstance(event, MediaSessionStart)
    assert event.session_id == UUID(SESSION_ID)
    assert event.media_id == "hashed-exercise-id"
    assert event.timestamp == datetime(2026, 2, 16, 9, 3, tzinfo=UTC)
    assert event.data.total_duration_seconds == 42.0
    assert (event.data.ttfb_ms, event.data.rtt_ms) == (340, 45)
    assert event.data.connection_type == "wifi"
    assert event.data.effective_bandwidth == 12.5


def test_heartbeat_decodes_without_media_id() -> None:
    [event] = decode_media_events(encode(HEARTBEAT))

    assert isinstance(event, MediaHeartbeat)
    assert event.media_id is None
    assert event.media_type == "video"
    assert event.data.completion_percent == 70.25
    assert event.data.current_bitrate == 2_500_000
    assert event.data.current_resolution == "720p"
    assert (event.data.dropped_frames, event.data.total_frames) == (2, 750)


def test_an_array_decodes_every_lifecycle_event_in_order() -> None:
    events = decode_media_events(encode([SESSION_START, HEARTBEAT, *OTHER_EVENTS]))

    assert [type(event) for event in events] == [
        MediaSessionStart,
        MediaHeartbeat,
        MediaBufferingStart,
        MediaBufferingEnd,
        MediaQualityChange,
        MediaMilestone,
        MediaSessionEnd,
    ]
    milestone = events[5]
    assert isinstance(milestone, MediaMilestone)
    assert milestone.data.percent == 75


def test_the_decoder_returns_one_event_or_a_list() -> None:
    assert isinstance(media_events_decoder.decode(encode(HEARTBEAT)), MediaHeartbeat)
    assert isinstance(media_events_decoder.decode(encode([HEARTBEAT])), list)


def test_events_round_trip() -> None:
    events = decode_media_events(encode([SESSION_START, *OTHER_EVENTS]))
    assert decode_media_events(msgspec.json.encode(events)) == events


def with_changes(original: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(original)
    for key, value in changes.items():
        if key in changed["data"]:
            changed["data"][key] = value
        else:
            changed[key] = value
    return changed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (with_changes(HEARTBEAT, event="seek"), "Invalid value 'seek' - at `$.event`"),
        ([with_changes(HEARTBEAT, event="seek")], "Invalid value 'seek' - at `$[0].event`"),
        ({k: v for k, v in HEARTBEAT.items() if k != "event"}, "missing required field `event`"),
        (
            {k: v for k, v in SESSION_START.items() if k != "media_id"},
            "missing required field `media_id`",
        ),
        (with_changes(HEARTBEAT, timestamp="2026-02-16T09:03:30"), "timezone component - at `$.timestamp`"),
        (with_changes(HEARTBEAT, session_id="550e8400-..."), "Invalid UUID - at `$.session_id`"),
        (with_changes(HEARTBEAT, media_type="image"), "at `$.media_type`"),
        (with_changes(HEARTBEAT, completion_percent=101), "<= 100.0 - at `$.data.completion_percent`"),
        (with_changes(HEARTBEAT, buffering_count=-1), ">= 0 - at `$.data.buffering_count`"),
        (with_changes(HEARTBEAT, current_resolution="HD"), "at `$.data.current_resolution`"),
        (with_changes(SESSION_START, connection_type="5g"), "at `$.data.connection_type`"),
        (with_changes(OTHER_EVENTS[3], percent=60), "Invalid enum value 60 - at `$.data.percent`"),
        (with_changes(OTHER_EVENTS[2], reason="cdn"), "at `$.data.reason`"),
        (with_changes(SESSION_START, media_id="hashed/exercise"), "at `$.media_id`"),
        ([], "Expected `array` of length >= 1"),
        ([HEARTBEAT] * 501, "Expected `array` of length <= 500"),
    ],
)
def test_bad_media_events_are_rejected_at_their_path(body: Any, message: str) -> None:
    assert message in rejection(media_events_decoder, body)


def test_media_json_with_nan_is_malformed() -> None:
    body = encode(HEARTBEAT).replace(b"70.25", b"NaN")
    with pytest.raises(msgspec.DecodeError):
        decode_media_events(body)


# Pose frames --------------------------------------------------------------------------------------------


def pose_with(**changes: Any) -> dict[str, Any]:
    batch = copy.deepcopy(POSE_BATCH)
    batch["frames"][0].update(changes)
    return batch


def test_pose_batch_decodes() -> None:
    batch = pose_batch_decoder.decode(encode(POSE_BATCH))

    assert isinstance(batch, PoseFrameBatch)
    assert batch.session_id == UUID(SESSION_ID)
    [frame] = batch.frames
    assert frame.landmark_x[:3] == [0.52, 0.51, 0.50]
    assert len(frame.landmark_visibility) == frame.landmarks_detected == 33
    assert (frame.rep_count, frame.form_score, frame.rom_degrees) == (5, 0.85, 42.5)
    assert frame.active_exercise_phase == "concentric"
    assert frame.processing_time_ms == 12.0


def test_a_frame_without_a_body_in_view() -> None:
    empty: list[float] = []
    batch = pose_batch_decoder.decode(
        encode(
            pose_with(
                landmark_x=empty,
                landmark_y=empty,
                landmark_z=empty,
                landmark_visibility=empty,
                landmarks_detected=0,
                pose_confidence=0.0,
                form_score=None,
                rom_degrees=None,
                active_exercise_phase="unknown",
            )
        )
    )
    assert batch.frames[0].form_score is None


def test_the_spec_sample_frame_three_landmarks_of_33_detected_is_accepted() -> None:
    # landmarks_detected is MediaPipe's count of the 33 it found, not the length of the arrays sent.
    body = pose_with(
        landmark_x=[0.52, 0.51, 0.50],
        landmark_y=[0.32, 0.35, 0.38],
        landmark_z=[-0.1, -0.09, -0.08],
        landmark_visibility=[0.99, 0.98, 0.95],
        landmarks_detected=33,
    )
    [frame] = pose_batch_decoder.decode(encode(body)).frames
    assert (len(frame.landmark_x), frame.landmarks_detected) == (3, 33)


def test_a_full_pose_with_fewer_landmarks_detected_is_accepted() -> None:
    [frame] = pose_batch_decoder.decode(encode(pose_with(landmarks_detected=20))).frames
    assert (len(frame.landmark_x), frame.landmarks_detected) == (33, 20)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            pose_with(landmark_y=full_pose(0.4)[:32]),
            "landmark arrays must have equal lengths - at `$.frames[0]`",
        ),
        (
            pose_with(landmark_visibility=full_pose(0.9)[:30]),
            "landmark_visibility and landmark_presence must be empty or as long as landmark_x - at `$.frames[0]`",
        ),
        (pose_with(landmark_x=[*full_pose(0.5), 0.5]), "length <= 33 - at `$.frames[0].landmark_x`"),
        (pose_with(landmarks_detected=34), "<= 33 - at `$.frames[0].landmarks_detected`"),
        (pose_with(landmark_visibility=[2e6] * 33), "<= 1000000.0 - at `$.frames[0].landmark_visibility[0]`"),
        (pose_with(pose_confidence=1.2), "<= 1.0 - at `$.frames[0].pose_confidence`"),
        (pose_with(form_score=-0.1), ">= 0.0 - at `$.frames[0].form_score`"),
        (pose_with(rom_degrees=361), "<= 360.0 - at `$.frames[0].rom_degrees`"),
        (pose_with(frame_number=-1), ">= 0 - at `$.frames[0].frame_number`"),
        (pose_with(active_exercise_phase="jumping"), "at `$.frames[0].active_exercise_phase`"),
        (pose_with(camera_resolution="640 by 480"), "at `$.frames[0].camera_resolution`"),
        (pose_with(processing_time_ms=-1), ">= 0.0 - at `$.frames[0].processing_time_ms`"),
        ({**POSE_BATCH, "frames": []}, "length >= 1 - at `$.frames`"),
        ({**POSE_BATCH, "frames": POSE_BATCH["frames"] * 301}, "length <= 300 - at `$.frames`"),
    ],
)
def test_bad_pose_frames_are_rejected_at_their_path(body: Any, message: str) -> None:
    assert message in rejection(pose_batch_decoder, body)


def test_the_failing_frame_is_named() -> None:
    batch = copy.deepcopy(POSE_BATCH)
    bad_frame = {**batch["frames"][0], "landmark_z": full_pose(0.1)[:5]}
    batch["frames"] = [batch["frames"][0], batch["frames"][0], bad_frame]
    assert "at `$.frames[2]`" in rejection(pose_batch_decoder, batch)


# Analytics events and error reports ---------------------------------------------------------------------


def test_session_lifecycle_analytics_decode() -> None:
    started = analytics_event_decoder.decode(encode(SESSION_STARTED))
    completed = analytics_event_decoder.decode(encode(SESSION_COMPLETED))

    assert isinstance(started, AnalyticsEvent)
    assert started.event_name == "treatment_plan.session_started"
    assert started.resource_id == "789"
    assert started.properties == {"patient_treatment_plan_id": 42, "session_number": 6, "exercises_total": 4}
    assert completed.properties["duration_seconds"] == 1800
    assert completed.timestamp == datetime(2026, 2, 16, 9, 30, tzinfo=UTC)


def test_analytics_properties_take_flat_scalars() -> None:
    event = analytics_event_decoder.decode(
        encode({**SESSION_STARTED, "properties": {"a": "text", "b": 1.5, "c": True, "d": None}})
    )
    assert event.properties == {"a": "text", "b": 1.5, "c": True, "d": None}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_name": "session_started"}, "at `$.event_name`"),
        ({"event_name": "Treatment_Plan.Started"}, "at `$.event_name`"),
        ({"timestamp": "2026-02-16T09:00:00"}, "timezone component - at `$.timestamp`"),
        ({"resource_id": 789}, "Expected `str`, got `int` - at `$.resource_id`"),
        ({"properties": {"nested": {"a": 1}}}, "got `object` - at `$.properties[...]`"),
        ({"properties": {"Bad Key": 1}}, "at `key` in `$.properties`"),
        ({"properties": {f"p{n}": n for n in range(51)}}, "length <= 50 - at `$.properties`"),
        ({"properties": {"note": "x" * 1001}}, "length <= 1000 - at `$.properties[...]`"),
    ],
)
def test_bad_analytics_events_are_rejected_at_their_path(change: dict[str, Any], message: str) -> None:
    assert message in rejection(analytics_event_decoder, {**SESSION_STARTED, **change})


def test_error_report_decodes() -> None:
    report = error_report_decoder.decode(encode({**ERROR_REPORT, "stack": "at load (player.js:10:4)"}))

    assert isinstance(report, ErrorReport)
    assert report.platform == "web"
    assert report.app_version == "2.14.0+build.301"
    assert report.stack == "at load (player.js:10:4)"
    assert error_report_decoder.decode(encode(ERROR_REPORT)).stack is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"message": ""}, "length >= 1 - at `$.message`"),
        ({"message": "x" * 2001}, "length <= 2000 - at `$.message`"),
        ({"stack": "x" * 20_001}, "length <= 20000 - at `$.stack`"),
        ({"platform": "symbian"}, "at `$.platform`"),
        ({"app_version": "2.14 beta"}, "at `$.app_version`"),
        ({"error_type": "<script>"}, "at `$.error_type`"),
    ],
)
def test_bad_error_reports_are_rejected_at_their_path(change: dict[str, Any], message: str) -> None:
    assert message in rejection(error_report_decoder, {**ERROR_REPORT, **change})


# Timestamps ---------------------------------------------------------------------------------------------
# Found by schemathesis: a media event of the year 2510 was acknowledged, then refused by ClickHouse
# (DateTime ends in 2106), so the flusher could not store the block it was in.


@pytest.mark.parametrize(
    "timestamp", ["1969-12-31T23:59:59Z", "1999-12-31T23:59:59.999Z", "2100-01-01T00:00:00Z", "2510-05-01T10:00:00Z"]
)
@pytest.mark.parametrize(
    ("decoder", "sample"),
    [
        (media_events_decoder, HEARTBEAT),
        (media_events_decoder, [HEARTBEAT, HEARTBEAT]),
        (analytics_event_decoder, SESSION_COMPLETED),
        (error_report_decoder, ERROR_REPORT),
    ],
)
def test_timestamps_outside_the_stored_range_are_rejected(
    decoder: BodyDecoder[Any], sample: Any, timestamp: str
) -> None:
    if isinstance(sample, list):
        body: Any = [sample[0], {**sample[1], "timestamp": timestamp}]
        assert "timestamp must be from 2000-01-01 to before 2100-01-01 (UTC) - at `$[1]`" in rejection(decoder, body)
    else:
        assert "timestamp must be from 2000-01-01" in rejection(decoder, {**sample, "timestamp": timestamp})


@pytest.mark.parametrize(
    "timestamp", ["2000-01-01T00:00:00Z", "2099-12-31T23:59:59.999+00:00", "2000-01-01T01:00:00+01:00"]
)
def test_timestamps_at_the_ends_of_the_range_are_accepted(timestamp: str) -> None:
    assert error_report_decoder.decode(encode({**ERROR_REPORT, "timestamp": timestamp})).timestamp.year in (2000, 2099)
