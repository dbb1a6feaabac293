"""``POST /v1/media/cmcd`` on both ClickHouse engines: CMCD v2 event-mode reports as a CML ``CmcdReporter``
event target sends them (dash.js's CMCD v2 event targets: POST, ``application/cmcd``, one RFC 8941 dictionary
per line, keys in alphabetical order) land in ``media_events`` as the media events they stand for, and the
per-view QoE read back equals the figures computed by hand from the reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from service_common.strict_requests import CMCD_BODY
from telemetry.media.cmcd_reports import CMCD_SESSION_NAMESPACE

from tests.core_api.helpers.app import APP as CORE_API_APP
from tests.core_api.helpers.responses import problem
from tests.telemetry.helpers.app import APP as TELEMETRY_APP
from tests.telemetry.helpers.harness import COUNTRY_HEADER, Ingest
from tests.telemetry.helpers.routes import routes_flagged

ROUTE = "/v1/media/cmcd"
CMCD = {"Content-Type": "application/cmcd"}
T0 = int(datetime(2026, 2, 16, 9, 0, tzinfo=UTC).timestamp() * 1000)
MEDIA = "exercise-knee-01"
EVENT_COLUMNS = (
    "event, reason, toFloat64(event_time) AS at, media_id, cdn, effective_bandwidth_mbps, bitrate, "
    "previous_bitrate, buffering_duration_ms, buffering_count, position_seconds, watched_duration_seconds, "
    "completion_percent, completed, video_load_time_ms, dropped_frames, error_code, fatal"
)


def at(ms: int) -> int:
    return T0 + ms


def lines(*reports: str) -> bytes:
    """A POST body as the CML reporter makes it: the reports joined by LF, with a last LF."""
    return ("\n".join(reports) + "\n").encode()


def post(ingest: Ingest, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return ingest.client.post(ROUTE, content=body, headers={**CMCD, **ingest.headers(), **(headers or {})})


def qoe(ingest: Ingest, session: uuid.UUID | str) -> dict[str, Any]:
    ingest.flush()
    response = ingest.client.get(
        f"/v1/media/sessions/{session}/qoe",
        params={"actor_hash": ingest.actor_hash},
        headers=ingest.headers(role="staff"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# One whole view, sent as a target with batching sends it: four POSTs. sid is the UUID dash.js makes.
VIEW = uuid.UUID("b248658d-1d1a-4039-91d0-8c08ba597da5")
SID = f'sid="{VIEW}"'
VIEW_POSTS = [
    # The play request (12.5 Mbit/s measured), then the first frame 2 s later (msd).
    lines(
        f'cdn="cloudfront",cid="{MEDIA}",e=ps,mtp=(12500),{SID},sn=0,sta=s,ts={at(0)},v=2',
        f'br=(2500;v 128;a),cid="{MEDIA}",e=ps,msd=2000,{SID},sn=1,sta=p,ts={at(2000)},v=2',
    ),
    # A heartbeat at 10 s (playhead 8 s), a stall from 12 s reported with its duration (bsd) when playback
    # resumed at 13.5 s, an ABR switch to 5 Mbit/s at 15 s, and keys the service does not read.
    lines(
        f'bl=(12000),br=(2500),cid="{MEDIA}",com.example-ab="b",dfa=3,e=t,pt=8000,sf=d,{SID},sn=2,st=v,sta=p,'
        f"ts={at(10_000)},v=2",
        f'bs,cid="{MEDIA}",e=ps,pt=10000,{SID},sn=3,sta=r,ts={at(12_000)},v=2',
        f'bsd=(1500),cid="{MEDIA}",e=ps,pt=10000,{SID},sn=4,sta=p,ts={at(13_500)},v=2',
        f'br=(5000;v 128;a),cid="{MEDIA}",e=bc,{SID},sn=5,ts={at(15_000)},v=2',
        f'cid="{MEDIA}",e=m,{SID},sn=6,ts={at(16_000)},v=2',
    ),
    # A seek from 18 s to 30 s of the media, playing again 1 s later, and a heartbeat at 30 s.
    lines(
        f'cid="{MEDIA}",e=ps,pt=18000,{SID},sn=7,sta=k,ts={at(20_000)},v=2',
        f'cid="{MEDIA}",e=ps,pt=30000,{SID},sn=8,sta=p,ts={at(21_000)},v=2',
        f'br=(5000),cid="{MEDIA}",dfa=10,e=t,pt=39000,{SID},sn=9,sta=p,ts={at(30_000)},v=2',
    ),
    # The end of the media at 36 s (playhead 45 s), with the session's stall totals.
    lines(f'bsa=(1),bsda=(1500),cid="{MEDIA}",e=ps,pt=45000,{SID},sn=10,sta=e,ts={at(36_000)},v=2'),
]

# A view that fails before its first frame, with a session id that is not a UUID.
FAILED_SID = "player-session-7"
FAILED_VIEW = uuid.uuid5(CMCD_SESSION_NAMESPACE, FAILED_SID)
FAILED_REPORTS = [
    {"cid": MEDIA, "e": "ps", "sid": FAILED_SID, "sta": "s", "ts": at(0), "v": 2},
    {"cid": MEDIA, "e": "e", "ec": ["MEDIA_ERR_SRC_NOT_SUPPORTED"], "sid": FAILED_SID, "sta": "s", "ts": at(1500)},
    {"cid": MEDIA, "e": "ps", "ec": ["MEDIA_ERR_SRC_NOT_SUPPORTED"], "sid": FAILED_SID, "sta": "f", "ts": at(1500)},
]


def send_view(ingest: Ingest) -> None:
    for body in VIEW_POSTS:
        response = post(ingest, body, {COUNTRY_HEADER: "ES"})
        assert response.status_code == 202, response.text
        assert response.json()["rejected"] == []


def test_a_whole_view_lands_in_media_events_as_the_events_it_stands_for(ingest: Ingest) -> None:
    send_view(ingest)

    rows = ingest.mine("media_events", EVENT_COLUMNS, order_by="event_time, event")
    seconds = (T0 // 1000) if ingest.backend == "server" else T0 / 1000
    got = [(row["event"], row["reason"], row["at"] - seconds) for row in rows]
    # 18.16 stores whole seconds: 13.5 s is 13 s there.
    half = 13.0 if ingest.backend == "server" else 13.5
    assert got == [
        ("play_intent", "", 0.0),
        ("session_start", "", 2.0),
        ("heartbeat", "", 10.0),
        ("buffering_start", "playback", 12.0),
        ("buffering_end", "playback", half),
        ("quality_change", "abr", 15.0),
        ("buffering_start", "seek", 20.0),
        ("buffering_end", "seek", 21.0),
        ("heartbeat", "", 30.0),
        ("session_end", "ended", 36.0),
    ]
    by_event = {(row["event"], row["reason"]): row for row in rows}
    intent, start = by_event[("play_intent", "")], by_event[("session_start", "")]
    assert (intent["media_id"], intent["cdn"], intent["effective_bandwidth_mbps"]) == (MEDIA, "cloudfront", 12.5)
    assert start["video_load_time_ms"] == 2000
    assert [row["bitrate"] for row in rows if row["event"] == "heartbeat"] == [2_500_000, 5_000_000]
    assert [row["dropped_frames"] for row in rows if row["event"] == "heartbeat"] == [3, 10]
    switch = by_event[("quality_change", "abr")]
    assert (switch["previous_bitrate"], switch["bitrate"]) == (2_500_000, 5_000_000)  # the video entry
    assert by_event[("buffering_end", "playback")]["buffering_duration_ms"] == 1500  # bsd
    assert by_event[("buffering_end", "seek")]["buffering_duration_ms"] == 1000  # k at 20 s to p at 21 s
    end = by_event[("session_end", "ended")]
    assert (end["watched_duration_seconds"], end["completion_percent"], end["completed"]) == (45.0, 100.0, 1)
    assert (end["buffering_count"], end["buffering_duration_ms"]) == (1, 1500)


def test_the_view_qoe_equals_the_hand_computed_figures(ingest: Ingest) -> None:
    send_view(ingest)

    view = qoe(ingest, VIEW)

    assert {key: view[key] for key in ("session_id", "media_id", "country_code", "cdn", "bandwidth_mbps")} == {
        "session_id": str(VIEW),
        "media_id": MEDIA,
        "country_code": "ES",
        "cdn": "cloudfront",
        "bandwidth_mbps": 12.5,
    }
    assert (view["started"], view["playback_failed"], view["exited_before_start"]) == (True, False, False)
    assert view["startup_time_ms"] == 2000  # play request at 0 s, first frame at 2 s (and msd=2000)
    assert (view["rebuffer_count"], view["rebuffer_duration_ms"]) == (1, 1500)  # the seek is not a stall
    assert view["watched_seconds"] == 45.0  # the last playhead time
    assert view["rebuffer_percent"] == pytest.approx(1500 * 100 / (45_000 + 1500))
    assert view["rebuffer_per_minute"] == pytest.approx(60_000 / 46_500)
    # 2.5 Mbit/s from 10 s to 15 s, then 5 Mbit/s to the last event at 36 s.
    assert view["average_bitrate"] == pytest.approx((2.5e6 * 5 + 5e6 * 21) / 26)
    assert view["dropped_frame_percent"] == 0.0  # CMCD has no decoded-frame count


def test_a_view_failing_before_its_first_frame_sent_as_json(ingest: Ingest) -> None:
    response = ingest.client.post(
        ROUTE,
        content=msgspec.json.encode(FAILED_REPORTS),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3  # play_intent, the error report's error, the fatal state's error
    rows = ingest.mine("media_events", "event, error_code, fatal, toString(session_id) AS sid", "event_time, fatal")
    assert [(row["event"], row["error_code"], row["fatal"]) for row in rows] == [
        ("play_intent", "", 0),
        ("error", "MEDIA_ERR_SRC_NOT_SUPPORTED", 0),
        ("error", "MEDIA_ERR_SRC_NOT_SUPPORTED", 1),
    ]
    assert {row["sid"] for row in rows} == {str(FAILED_VIEW)}
    view = qoe(ingest, FAILED_VIEW)
    flags = ("started", "playback_failed", "startup_failed", "exited_before_start")
    assert [view[flag] for flag in flags] == [False, True, True, False]
    assert view["startup_time_ms"] == 0


def test_the_former_text_cmcd_type_and_crlf_lines_are_read_too(ingest: Ingest) -> None:
    body = (
        f'cid="{MEDIA}",e=ps,{SID},sta=s,ts={at(0)},v=2\r\n'
        f'cid="{MEDIA}",e=ps,{SID},sta=p,ts={at(3000)},v=2\r\n'
        f'cid="{MEDIA}",e=ps,pt=5000,{SID},sta=q,ts={at(8000)},v=2'
    ).encode()

    response = post(ingest, body, {"Content-Type": "text/cmcd; charset=utf-8"})

    assert response.status_code == 202, response.text
    rows = ingest.mine("media_events", "event, reason, video_load_time_ms, completed", "event_time")
    assert [(row["event"], row["reason"]) for row in rows] == [
        ("play_intent", ""),
        ("session_start", ""),  # no msd: the first p after s in the request, 3 s later
        ("session_end", "user_exit"),
    ]
    assert (rows[1]["video_load_time_ms"], rows[2]["completed"]) == (3000, 0)


def test_a_retry_with_the_same_idempotency_key_is_stored_once(ingest: Ingest) -> None:
    for _ in range(2):
        assert post(ingest, VIEW_POSTS[0], {"Idempotency-Key": "cmcd-batch-1"}).status_code == 202
    assert len(ingest.mine("media_events", "event")) == 2


# Bad reports ---------------------------------------------------------------------------------------------


def test_bad_reports_are_listed_and_the_others_stored(ingest: Ingest) -> None:
    body = lines(
        f'cid="{MEDIA}",e=ps,{SID},sta=s,ts={at(0)},v=2',
        f'cid="{MEDIA}",e=ps,{SID},sta=p,v=2',  # no ts
        f'cid="{MEDIA}",e=ps,{SID},sta=z,ts={at(1000)},v=2',  # no such state
        f'cid="{MEDIA}",e=ps,{SID},sta=p,ts={at(2000)},v=2,',  # not a dictionary: a trailing comma
        f'cid="media/1.mpd",e=ps,sid="other",sta=s,ts={at(0)},v=2',  # not a hashed media id
        f'e=ps,sid="third",sta=s,ts={at(0)},v=2',  # a view's first report names no media
        f'br=(-5),cid="{MEDIA}",e=t,{SID},ts={at(3000)},v=2',  # a negative bitrate
        f'cid="{MEDIA}",e=ps,{SID},sta=p,ts={at(4000)},v=1',  # CMCD v1 has no event mode
    )

    response = post(ingest, body)

    assert response.status_code == 202, response.text
    ack = response.json()
    assert ack["accepted"] == 1
    assert [(item["index"], item["field"]) for item in ack["rejected"]] == [
        (1, "[1].ts"),
        (2, "[2].sta"),
        (3, "[3]"),
        (4, "[4].cid"),
        (5, "[5].cid"),
        (6, "[6].br"),
        (7, "[7].v"),
    ]
    assert "trailing ','" in ack["rejected"][2]["reason"]
    assert [row["event"] for row in ingest.mine("media_events", "event")] == ["play_intent"]


def test_a_body_of_bad_reports_only_is_a_422_naming_each(ingest: Ingest) -> None:
    body = lines(f"e=ps,{SID},sta=s,ts={at(0)}", f'e=ps,sid="",sta=p,ts={at(0)}')

    fields = [error["field"] for error in problem(post(ingest, body), 422)["errors"]]

    assert fields == ["[0].cid", "[1].sid"]
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 422),  # no report
        (b"\n\n", 422),
        (lines(*[f"e=m,{SID},ts={at(0)}"] * 501), 422),  # over 500 reports
        (b"e=ps,sta=s,\xff", 400),  # not UTF-8
        (lines(f'cid="{MEDIA}",e=ps,sid="a\x00b",sta=s,ts={at(0)},v=2'), 422),  # a NUL in a string
        (lines(f'cid="{MEDIA}",e=ps\x00,{SID},sta=s,ts={at(0)},v=2'), 422),  # and outside one
        (lines(f'br=((1)),cid="{MEDIA}",e=t,{SID},ts={at(0)},v=2'), 422),  # inner lists do not nest
        (lines(f'cid="{MEDIA}",e=t,{SID},ts={at(0)},x="{"é" * 10}",v=2'), 422),  # a string is ASCII
    ],
)
def test_a_body_without_readable_reports_is_refused(ingest: Ingest, body: bytes, status: int) -> None:
    problem(post(ingest, body), status)
    assert ingest.stored_count() == 0


def test_malformed_json_is_a_400(ingest: Ingest) -> None:
    problem(post(ingest, b'[{"e": "ps",', {"Content-Type": "application/json"}), 400)


# Admission -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"consent_level": 1}, 403),  # CMCD is media telemetry: level 2 and up
        ({"role": "staff"}, 403),
        ({"role": "service"}, 403),
    ],
)
def test_consent_and_role_are_checked_before_the_body(ingest: Ingest, claims: dict[str, Any], status: int) -> None:
    response = ingest.client.post(ROUTE, content=VIEW_POSTS[0], headers={**CMCD, **ingest.headers(**claims)})
    problem(response, status)
    assert ingest.stored_count() == 0


def test_a_report_without_a_token_is_a_401(ingest: Ingest) -> None:
    response = ingest.client.post(ROUTE, content=VIEW_POSTS[0], headers=CMCD)
    assert problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("content_type", ["text/plain", "application/cmcd; charset=ISO-8859-1", "text/html"])
def test_the_route_takes_only_cmcd_or_json(ingest: Ingest, content_type: str) -> None:
    problem(post(ingest, VIEW_POSTS[0], {"Content-Type": content_type}), 415)
    assert ingest.stored_count() == 0


@pytest.mark.parametrize("path", ["/v1/media/events", "/v1/pose/frames", "/v1/analytics/track", "/v1/errors/report"])
def test_the_other_ingest_routes_refuse_cmcd_bodies(ingest: Ingest, path: str) -> None:
    response = ingest.client.post(path, content=VIEW_POSTS[0], headers={**CMCD, **ingest.headers()})
    problem(response, 415)


def test_this_is_the_only_route_of_either_service_taking_cmcd_bodies() -> None:
    assert routes_flagged(TELEMETRY_APP, CMCD_BODY) == [("POST", ROUTE)]
    assert routes_flagged(CORE_API_APP, CMCD_BODY) == []


@pytest.mark.parametrize("media_type", ["application/cmcd", "application/json"])
def test_the_documented_examples_are_stored(ingest: Ingest, media_type: str) -> None:
    # Both examples of the OpenAPI document: the play request and the first frame of one view.
    media = ingest.client.get("/schema/openapi.json").json()["paths"][ROUTE]["post"]["requestBody"]["content"]
    example = (
        media[media_type]["example"] if media_type == "application/json" else media[media_type]["schema"]["examples"][0]
    )
    body = example.encode() if isinstance(example, str) else msgspec.json.encode(example)
    response = ingest.client.post(ROUTE, content=body, headers={**ingest.headers(), "Content-Type": media_type})
    assert response.status_code == 202, response.text
    assert (response.json()["accepted"], response.json()["rejected"]) == (2, [])
    assert [row["event"] for row in ingest.mine("media_events", "event", order_by="event_time")] == [
        "play_intent",
        "session_start",
    ]
