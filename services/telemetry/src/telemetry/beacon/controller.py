"""``POST /v1/beacon``: media and analytics events sent with ``navigator.sendBeacon`` as a page closes.

A beacon cannot set headers, and its body goes out as ``text/plain``: the body is a JSON document
(:class:`contracts.beacons.Beacon`) carrying the telemetry token, the events and an optional idempotency
key. The route is left out of the bearer middleware and does what the middleware and the ingest guards do,
with the same objects and in the same order: the app's telemetry verifier checks the token (401 with
``WWW-Authenticate``), then the caller's rate limit (429) and, for each kind of event the beacon carries,
the consent that kind's own route needs (403). Each kind is a batch whose bad events are rejected and
listed in the answer while its good ones are stored (``beacon/decode.py``). Rows are spooled only after
every check has passed, one batch per kind, under the same idempotency rules as the ``Idempotency-Key``
header. The token is never
taken from the URL: the route declares no query parameter, so the strict-request hook refuses
``?token=`` with 422.
"""

from __future__ import annotations

from typing import Any

import msgspec
from contracts.beacons import Beacon, BeaconAck
from contracts.decoding import BodyDecoder
from contracts.ingest_ack import IngestAck
from litestar import Controller, Request, post
from litestar.params import RawBody
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.errors import AuthenticationError, unauthenticated_response
from service_common.errors import problem_responses
from service_common.strict_requests import JSON_AS_TEXT_PLAIN

from telemetry.analytics.columns import ANALYTICS_EVENTS
from telemetry.beacon.decode import decode_beacon
from telemetry.dependencies import Appender, EdgeCountry, Verifier
from telemetry.identity import ANALYTICS, check_consent
from telemetry.ingest.admission import RETRY_LATER
from telemetry.ingest.batch import Batch, IngestTable
from telemetry.ingest.ratelimit import rate_limit
from telemetry.ingest.route import decode_body, raw_json_body
from telemetry.media.columns import MEDIA_EVENTS

# Each kind of event a beacon carries: the consent its own route's guard asks, and the table it goes to.
_KINDS: dict[str, tuple[int, IngestTable[Any]]] = {
    "media_events": (ANALYTICS, MEDIA_EVENTS),
    "analytics_events": (ANALYTICS, ANALYTICS_EVENTS),
}


class _Credentials(msgspec.Struct, frozen=True):
    """The token alone, read before anything else of the body is validated."""

    token: str | None = None


_credentials_decoder: BodyDecoder[_Credentials] = BodyDecoder(_Credentials)


class BeaconController(Controller):
    """Telemetry a closing page sends with ``navigator.sendBeacon``; the token is in the body."""

    path = "/v1/beacon"
    tags = ["ingest"]
    exception_handlers = {AuthenticationError: unauthenticated_response, **RETRY_LATER}

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
    async def ingest_beacon(
        self,
        request: Request[Any, Any, Any],
        body: RawBody,
        verifier: Verifier,
        appender: Appender,
        country: EdgeCountry,
    ) -> BeaconAck:
        """Store the media and analytics events of a closing page (consent level 2+), authenticated by the
        telemetry token in the body instead of the Authorization header, which a beacon cannot set."""
        token = decode_body(_credentials_decoder.decode, body).token
        if token is None:
            raise AuthenticationError("A beacon carries the telemetry token in its `token` field.", token_sent=False)
        actor = await verifier.verify(token)
        # Where the bearer middleware puts the caller, so the rate limit and the consent check read it
        # exactly as on the other ingest routes.
        request.scope["user"] = actor
        await rate_limit(request, request.route_handler)
        beacon, media_report, analytics_report = decode_body(decode_beacon, body)
        # A kind whose every event was rejected was carried all the same: its consent is checked and its
        # answer lists the rejected events.
        carried = {
            kind: (events, report)
            for kind, events, report in (
                ("media_events", beacon.media_events, media_report),
                ("analytics_events", beacon.analytics_events, analytics_report),
            )
            if events or report.rejected
        }
        for kind in carried:
            check_consent(request, _KINDS[kind][0])
        acks: dict[str, IngestAck] = {}
        for kind, (events, report) in carried.items():
            endpoint, table = f"beacon.{kind}", _KINDS[kind][1]
            batch = Batch.start(actor, endpoint, beacon.idempotency_key, country)
            acks[kind] = report.acknowledge(
                await appender.append(endpoint, table.name, table.columns(events, batch), batch)
            )
        return BeaconAck(media_events=acks.get("media_events"), analytics_events=acks.get("analytics_events"))
