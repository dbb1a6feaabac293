"""Hostile bodies on every telemetry ingest route, on both ClickHouse engines: each is a 4xx problem, never a
500, and stores nothing. The ingest routes are found in the app's route table, so a new one is covered."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.service_common.json_paths import is_string, paths, with_nul_at
from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import ANALYTICS_EVENT, ERROR_REPORT, media_events, pose_batch, pose_frame
from tests.telemetry.helpers.routes import INGEST_ROUTES

Json = dict[str, Any]

VALID_BODIES: dict[str, Json] = {
    "/v1/media/events": media_events()[0],
    "/v1/pose/frames": pose_batch(pose_frame(1)),
    "/v1/analytics/track": ANALYTICS_EVENT,
    "/v1/errors/report": ERROR_REPORT,
    "/v1/beacon": {"media_events": [media_events()[0]], "analytics_events": [ANALYTICS_EVENT]},
    # A CMCD report in its JSON form (test_cmcd.py sends the line form's hostile cases).
    "/v1/media/cmcd": {"cid": "exercise-1", "e": "ps", "sid": "player-1", "sta": "s", "ts": 1771232400000, "v": 2},
}
BEACON = "/v1/beacon"
NOT_JSON = ("text-plain", "form-encoded")
# Free text ClickHouse keeps byte for byte (a String column holds any bytes): a NUL there is stored as sent,
# not refused. Every other string is an id, a name or a code whose pattern refuses NUL.
FREE_TEXT = {("message",), ("stack",), ("properties", "plan_type")}


def is_number(value: Any) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def with_raw_at(body: Json, path: tuple[Any, ...], raw: bytes) -> bytes:
    """``body`` encoded with the JSON text at ``path`` replaced by ``raw`` (bytes no encoder would write)."""
    copy: Any = msgspec.json.decode(msgspec.json.encode(body))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = "@@raw@@"
    return msgspec.json.encode(copy).replace(b'"@@raw@@"', raw)


def hostile_bodies(path: str, token: str) -> dict[str, tuple[bytes, str]]:
    # NaN, Infinity and invalid UTF-8 go in fields the route reads: the ingest types tolerate unknown
    # fields (clients newer than the server), and msgspec skips an unknown field's value unread.
    body, json_type = VALID_BODIES[path], "application/json"
    if path == BEACON:
        # A beacon's token is in its body, which sendBeacon sends as text/plain.
        body, json_type = {"token": token, **body}, "text/plain"
    valid = msgspec.json.encode(body)
    number = next(paths(body, is_number), None) or next(paths(body, is_string))
    text = next(paths(body, is_string))
    # A batch stores its items that fit (test_partial_batches.py): a NUL in a beacon's event goes in a beacon
    # carrying that event alone.
    one_kind = [{"token": token, kind: events} for kind, events in VALID_BODIES[BEACON].items()]
    nul_cases = {
        f"nul-in-{'.'.join(map(str, at))}": (msgspec.json.encode(with_nul_at(alone, at)), json_type)
        for alone in (one_kind if path == BEACON else [body])
        for at in paths(alone, is_string)
        if not any(at[-len(free) :] == free for free in FREE_TEXT)  # a beacon's events are nested
    }
    cases = {
        **nul_cases,
        "1mb-string": (msgspec.json.encode(body | {"session_id": "x" * 1_048_576}), json_type),
        "nan": (with_raw_at(body, number, b"NaN"), json_type),
        "infinity": (with_raw_at(body, number, b"-Infinity"), json_type),
        "nested-10000": (b'{"x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", json_type),
        "nested-10000-before-tag": (
            b'{"data": ' + b"[" * 10_000 + b"]" * 10_000 + b', "event": "x"}',
            json_type,
        ),
        "text-plain": (valid, "text/plain"),
        "form-encoded": (b"event=session_start&session_id=1", "application/x-www-form-urlencoded"),
        "empty": (b"", json_type),
        "invalid-utf8": (with_raw_at(body, text, b'"\xff\xfe\xc3"'), json_type),
    }
    if path == BEACON:
        del cases["text-plain"]  # the beacon's own encoding: its hostile cases above are all sent so
    return cases


def test_every_ingest_route_has_a_valid_body() -> None:
    assert sorted(VALID_BODIES) == INGEST_ROUTES


@pytest.mark.parametrize("path", INGEST_ROUTES)
def test_hostile_bodies_are_4xx_problems_and_store_nothing(ingest: Ingest, path: str) -> None:
    statuses = {}
    token = ingest.headers()["Authorization"].removeprefix("Bearer ")
    for case, (content, content_type) in hostile_bodies(path, token).items():
        headers = {**ingest.headers(), "Content-Type": content_type}
        response = ingest.client.post(path, content=content, headers=headers)
        statuses[case] = response.status_code
        assert 400 <= response.status_code < 500, f"{case}: {response.status_code} {response.text}"
        assert response.status_code != 429, "the rate limit hid the answer"
        assert response.headers["content-type"] == "application/problem+json", case
    assert {statuses[case] for case in NOT_JSON if case in statuses} == {415}
    assert ingest.stored_count() == 0


@pytest.mark.parametrize("path", ["/v1/errors/report", "/v1/analytics/track"])
def test_nul_in_free_text_is_stored_as_sent(ingest: Ingest, path: str) -> None:
    body = with_nul_at(VALID_BODIES[path], ("message",) if path == "/v1/errors/report" else ("properties", "plan_type"))
    response = ingest.client.post(
        path, content=msgspec.json.encode(body), headers={**ingest.headers(), "Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    assert ingest.stored_count() == 1
