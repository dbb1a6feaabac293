"""``POST /v1/beacon`` on both ClickHouse engines: a ``text/plain`` body carrying the telemetry token and
the events, as ``navigator.sendBeacon`` sends it, is verified like the Authorization header (same
verifier, consent and idempotency), stores its events, and stores nothing of a request it refuses; the
token is never taken from the URL, and every other route still answers 415 to ``text/plain``."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from service_common.strict_requests import JSON_AS_TEXT_PLAIN

from tests.core_api.helpers.app import APP as CORE_API_APP
from tests.core_api.helpers.responses import problem
from tests.telemetry.helpers.app import APP as TELEMETRY_APP
from tests.telemetry.helpers.harness import MAX_BODY_BYTES, Ingest
from tests.telemetry.helpers.payloads import ANALYTICS_EVENT, ERROR_REPORT, media_events, pose_batch, pose_frame
from tests.telemetry.helpers.routes import routes_flagged
from tools.tokens import mint_token

BEACON = "/v1/beacon"
# What sendBeacon sends for a string body.
TEXT_PLAIN = {"Content-Type": "text/plain;charset=UTF-8"}


def token(ingest: Ingest, **claims: Any) -> str:
    """A telemetry token of the test's actor: consent 3 with biometric consent unless overridden."""
    return ingest.headers(**claims)["Authorization"].removeprefix("Bearer ")


def last_events() -> dict[str, Any]:
    """What a closing page sends: the view's last heartbeat and its end, and one analytics event."""
    media = media_events()
    return {"media_events": [media[1], media[6]], "analytics_events": [ANALYTICS_EVENT]}


def send(ingest: Ingest, body: Any, headers: dict[str, str] = TEXT_PLAIN, target: str = BEACON) -> Any:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return ingest.client.post(target, content=content, headers=headers)


def test_a_text_plain_beacon_carrying_the_token_stores_its_events(ingest: Ingest) -> None:
    response = send(ingest, {"token": token(ingest), **last_events()})

    assert response.status_code == 202, response.text
    ack = response.json()
    assert (ack["media_events"]["accepted"], ack["analytics_events"]["accepted"]) == (2, 1)
    media = ingest.mine("media_events", order_by="event_time")
    assert [row["event"] for row in media] == ["heartbeat", "session_end"]
    assert {row["org_hash"] for row in media} == {ingest.org_hash}
    assert {str(row["batch_id"]) for row in media} == {ack["media_events"]["batch_id"]}
    assert media[1]["reason"] == "ended"
    (analytics,) = ingest.mine("analytics_events")
    assert analytics["event_name"] == "treatment_plan.session_completed"
    assert str(analytics["batch_id"]) == ack["analytics_events"]["batch_id"]


def test_a_beacon_may_carry_one_kind_of_event(ingest: Ingest) -> None:
    response = send(ingest, {"token": token(ingest), "analytics_events": [ANALYTICS_EVENT, ANALYTICS_EVENT]})

    assert response.status_code == 202, response.text
    assert response.json()["media_events"] is None
    assert response.json()["analytics_events"]["accepted"] == 2
    assert ingest.stored_count() == 2


def test_a_fetch_keepalive_beacon_may_send_json(ingest: Ingest) -> None:
    response = send(ingest, {"token": token(ingest), **last_events()}, {"Content-Type": "application/json"})

    assert response.status_code == 202, response.text
    assert ingest.stored_count() == 3


def test_bad_tokens_are_401_and_store_nothing(ingest: Ingest) -> None:
    api_token = mint_token(ingest.keys, user_id=9, role="patient", organization_id=1, patient_id=3, org="org_h4sh")
    cases: dict[str, dict[str, Any]] = {
        "missing": {},
        "null": {"token": None},
        "empty": {"token": ""},
        "garbage": {"token": "not.a.jwt"},
        "expired": {"token": token(ingest, exp=1)},
        "other audience": {"token": token(ingest, aud="somebody-else")},
        "api token without consent claims": {"token": api_token},
    }
    for case, credentials in cases.items():
        response = send(ingest, {**credentials, **last_events()})
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer"), case
    assert ingest.stored_count() == 0


def test_the_token_is_checked_before_the_events(ingest: Ingest) -> None:
    # Its only event is bad: a beacon with a good one besides would store that one (test_partial_batches.py).
    broken = {"media_events": [{**media_events()[1], "event": "rewind"}]}

    problem(send(ingest, {"token": "not.a.jwt", **broken}), 401)
    refused = problem(send(ingest, {"token": token(ingest), **broken}), 422)

    assert any(error["field"].startswith("media_events[0]") for error in refused["errors"]), refused
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"consent_level": 1}, "consent level 2"),
        ({"consent_level": 0}, "consent level"),
        ({"role": "staff"}, "patients"),
        ({"role": "service"}, "patients"),
    ],
)
def test_too_little_consent_is_403_and_stores_nothing(ingest: Ingest, claims: dict[str, Any], reason: str) -> None:
    for events in (last_events(), {"analytics_events": [ANALYTICS_EVENT]}, {"media_events": media_events()}):
        assert reason in problem(send(ingest, {"token": token(ingest, **claims), **events}), 403)["detail"]
    assert ingest.stored_count() == 0


def test_biometric_consent_is_not_needed(ingest: Ingest) -> None:
    assert send(ingest, {"token": token(ingest, consent_level=2, biometric=False), **last_events()}).status_code == 202
    assert ingest.stored_count() == 3


def test_a_token_in_the_url_is_not_accepted(ingest: Ingest) -> None:
    valid = token(ingest)
    for parameter in ("token", "access_token"):
        problem(send(ingest, last_events(), target=f"{BEACON}?{parameter}={valid}"), 422)
        problem(send(ingest, {"token": valid, **last_events()}, target=f"{BEACON}?{parameter}={valid}"), 422)
    assert ingest.stored_count() == 0


def test_the_authorization_header_does_not_replace_the_body_token(ingest: Ingest) -> None:
    headers = {**TEXT_PLAIN, "Authorization": f"Bearer {token(ingest)}"}

    problem(send(ingest, last_events(), headers), 401)
    assert ingest.stored_count() == 0


def test_a_resent_beacon_with_its_key_is_stored_once(ingest: Ingest) -> None:
    body = {"token": token(ingest), **last_events(), "idempotency_key": f"beacon-{uuid.uuid4().hex}"}

    first, resent = send(ingest, body), send(ingest, body)

    assert resent.status_code == 202
    for kind in ("media_events", "analytics_events"):
        assert resent.json()[kind] == {**first.json()[kind], "accepted": 0, "duplicate": True}
    assert ingest.stored_count() == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param({"media_events": [], "analytics_events": []}, 422, None, id="no-event"),
        pytest.param({"media_events": [media_events()[0]] * 501}, 422, "media_events", id="over-500-media-events"),
        pytest.param({"analytics_events": [ANALYTICS_EVENT] * 101}, 422, "analytics_events", id="over-100-analytics"),
        pytest.param(
            {"analytics_events": [{**ANALYTICS_EVENT, "event_name": "Nope"}]},
            422,
            "analytics_events[0].event_name",
            id="bad-event-name",
        ),
        pytest.param(
            {"analytics_events": [ANALYTICS_EVENT], "idempotency_key": "a b"}, 422, "idempotency_key", id="key"
        ),
    ],
)
def test_a_beacon_breaking_the_contract_is_refused(
    ingest: Ingest, body: dict[str, Any], status: int, field: str | None
) -> None:
    refused = problem(send(ingest, {"token": token(ingest), **body}), status)

    if field is not None:
        assert any(error["field"].startswith(field) for error in refused["errors"]), refused
    assert ingest.stored_count() == 0


def test_malformed_json_is_400(ingest: Ingest) -> None:
    problem(send(ingest, b'{"token": "x", "media_events": ['), 400)
    assert ingest.stored_count() == 0


def test_an_oversize_beacon_is_413(ingest: Ingest) -> None:
    body = msgspec.json.encode(
        {"token": token(ingest), "analytics_events": [ANALYTICS_EVENT], "pad": "x" * MAX_BODY_BYTES}
    )

    problem(send(ingest, body), 413)
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain; charset=ISO-8859-1",
        "text/html",
    ],
)
def test_the_beacon_takes_only_json_or_utf8_text(ingest: Ingest, content_type: str) -> None:
    problem(send(ingest, {"token": token(ingest), **last_events()}, {"Content-Type": content_type}), 415)
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/media/events", media_events()),
        ("/v1/pose/frames", pose_batch(pose_frame(1))),
        ("/v1/analytics/track", ANALYTICS_EVENT),
        ("/v1/errors/report", ERROR_REPORT),
    ],
)
def test_the_other_ingest_routes_still_refuse_text_plain(ingest: Ingest, path: str, body: Any) -> None:
    problem(send(ingest, body, {**TEXT_PLAIN, **ingest.headers()}, target=path), 415)
    assert ingest.stored_count() == 0


def test_the_beacon_is_the_only_route_of_either_service_taking_text_plain() -> None:
    assert routes_flagged(TELEMETRY_APP, JSON_AS_TEXT_PLAIN) == [("POST", BEACON)]
    assert routes_flagged(CORE_API_APP, JSON_AS_TEXT_PLAIN) == []


def test_both_documents_say_which_token_telemetry_takes_and_how_to_get_it() -> None:
    schemes = {
        name: app.openapi_schema.to_schema()["components"]["securitySchemes"]["BearerToken"]["description"]
        for name, app in (("telemetry", TELEMETRY_APP), ("core-api", CORE_API_APP))
    }

    assert "not the identity provider's token" in schemes["telemetry"]
    for description in schemes.values():
        assert "POST /v1/telemetry/token" in description
        assert "expires_at" in description
    assert "from the identity provider" in schemes["core-api"]
