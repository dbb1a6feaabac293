"""``POST /v1/beacon``: media and analytics events sent with ``navigator.sendBeacon`` as a page closes.

A beacon cannot set headers, and its body goes out as ``text/plain``: the body is a JSON document
(:class:`contracts.telemetry.Beacon`) carrying the telemetry token, the events and an optional idempotency
key. The route is left out of the bearer middleware and does what the middleware and the ingest guards do,
with the same objects and in the same order: the app's telemetry verifier checks the token (401 with
``WWW-Authenticate``), then the caller's rate limit (429) and, for each kind of event the beacon carries,
the consent that kind's own route needs (403). Each kind is a batch whose bad events are rejected and
listed in the answer while its good ones are stored (``ingest/partial.py``). Rows are spooled only after
every check has passed, one batch per kind, under the same idempotency rules as the ``Idempotency-Key``
header. The token is never
taken from the URL: the route declares no query parameter, so the strict-request hook refuses
``?token=`` with 422.
"""

from __future__ import annotations

from typing import Any

import msgspec
from contracts.decoding import BodyDecoder
from contracts.telemetry import Beacon, BeaconAck, IngestAck
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.params import RawBody
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.errors import AuthenticationError, unauthenticated_response
from service_common.errors import problem_responses
from service_common.strict_requests import JSON_AS_TEXT_PLAIN

from telemetry.identity import ANALYTICS, TelemetryVerifier, check_consent
from telemetry.ingest.columns import Batch, analytics_event_columns, media_event_columns
from telemetry.ingest.controller import decode_body, raw_json_body, retry_later, spool_appender, start_batch
from telemetry.ingest.partial import decode_beacon
from telemetry.ingest.ratelimit import RateLimitedError, rate_limit
from telemetry.ingest.spool import SpoolFullError

# The consent each kind of event needs: what its own route's guard asks (``ingest/controller.py``).
CONSENT = {"media_events": ANALYTICS, "analytics_events": ANALYTICS}


class _Credentials(msgspec.Struct, frozen=True):
    """The token alone, read before anything else of the body is validated."""

    token: str | None = None


_credentials_decoder: BodyDecoder[_Credentials] = BodyDecoder(_Credentials)


class BeaconController(Controller):
    """Telemetry a closing page sends with ``navigator.sendBeacon``; the token is in the body."""

    path = "/v1/beacon"
    tags = ["ingest"]
    exception_handlers = {
        AuthenticationError: unauthenticated_response,
        SpoolFullError: retry_later,
        RateLimitedError: retry_later,
    }

    @post(
        "/",
        operation_id="IngestBeacon",
        status_code=HTTP_202_ACCEPTED,
        opt={"exclude_from_auth": True, JSON_AS_TEXT_PLAIN: True},
        operation_class=raw_json_body(
            Beacon,
            "The token and the events as one JSON document, sent as text/plain (what navigator.sendBeacon "
            "sends for a string) or application/json.",
            media_types=("text/plain", "application/json"),
        ),
        responses=problem_responses(401, 403, 413, 422, 429, 503),
    )
    async def ingest_beacon(self, request: Request[Any, Any, Any], state: State, body: RawBody) -> BeaconAck:
        """Store the media and analytics events of a closing page (consent level 2+), authenticated by the
        telemetry token in the body instead of the Authorization header, which a beacon cannot set."""
        token = decode_body(_credentials_decoder.decode, body).token
        if token is None:
            raise AuthenticationError("A beacon carries the telemetry token in its `token` field.", token_sent=False)
        verifier: TelemetryVerifier = state.token_verifier
        # Where the bearer middleware puts the caller, so the rate limit, the consent check and the batch
        # read it exactly as on the other ingest routes.
        request.scope["user"] = await verifier.verify(token)
        await rate_limit(request, request.route_handler)
        beacon, media_report, analytics_report = decode_body(decode_beacon, body)
        media, analytics = beacon.media_events, beacon.analytics_events
        # A kind whose every event was rejected was carried all the same: its consent is checked and its
        # answer lists the rejected events.
        carried = {
            "media_events": bool(media or media_report.rejected),
            "analytics_events": bool(analytics or analytics_report.rejected),
        }
        for kind, sent in carried.items():
            if sent:
                check_consent(request, CONSENT[kind])
        appender = spool_appender(state)
        media_ack = analytics_ack = None
        if carried["media_events"]:
            batch = start_batch(request, state, "beacon.media_events", beacon.idempotency_key)
            media_ack = media_report.acknowledge(
                await appender.append("beacon.media_events", "media_events", media_event_columns(media, batch), batch)
                if media
                else _nothing_stored(batch)
            )
        if carried["analytics_events"]:
            batch = start_batch(request, state, "beacon.analytics_events", beacon.idempotency_key)
            analytics_ack = analytics_report.acknowledge(
                await appender.append(
                    "beacon.analytics_events", "analytics_events", analytics_event_columns(analytics, batch), batch
                )
                if analytics
                else _nothing_stored(batch)
            )
        return BeaconAck(media_events=media_ack, analytics_events=analytics_ack)


def _nothing_stored(batch: Batch) -> IngestAck:
    """The answer for a kind of event the beacon carried but whose every event was rejected."""
    return IngestAck(accepted=0, batch_id=batch.batch_id)
