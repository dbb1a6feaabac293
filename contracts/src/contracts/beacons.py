"""Beacons (``POST /v1/beacon``): the last media and analytics events of a closing page, and the answer."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.analytics import AnalyticsEvent
from contracts.decoding import BodyDecoder
from contracts.ingest_ack import IngestAck
from contracts.media_events import MEDIA_EVENT_BATCH_MAX, MediaEvent

# Beacons ------------------------------------------------------------------------------------------------

BEACON_ANALYTICS_MAX = 100
IdempotencyKeyText = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
# A telemetry token is a few hundred bytes; the bound keeps a body from passing kilobytes off as one.
TelemetryTokenText = Annotated[str, Meta(min_length=1, max_length=4096)]


class Beacon(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/beacon``: the last media and analytics events of a closing page, sent with
    ``navigator.sendBeacon``. A beacon cannot set headers, so the telemetry token travels in this JSON
    document, which the browser sends as ``text/plain`` (never in the URL, where proxies log it).
    At least one event."""

    token: Annotated[
        TelemetryTokenText,
        Meta(
            description=(
                "The telemetry token from core-api's ``POST /v1/telemetry/token``: what the other"
                " routes take as ``Authorization: Bearer``."
            )
        ),
    ]
    media_events: Annotated[
        Annotated[list[MediaEvent], Meta(max_length=MEDIA_EVENT_BATCH_MAX)],
        Meta(description="Media events, as ``POST /v1/media/events`` takes them (consent level 2+)."),
    ] = msgspec.field(default_factory=list)
    analytics_events: Annotated[
        Annotated[list[AnalyticsEvent], Meta(max_length=BEACON_ANALYTICS_MAX)],
        Meta(
            description=(
                "Analytics events, as ``POST /v1/analytics/track`` takes them one at a time (consent level 2+)."
            )
        ),
    ] = msgspec.field(default_factory=list)
    idempotency_key: Annotated[
        IdempotencyKeyText | None,
        Meta(
            description=(
                "What the other routes take as the ``Idempotency-Key`` header: a resent beacon "
                "with the same key is stored once."
            )
        ),
    ] = None

    def __post_init__(self) -> None:
        if not self.media_events and not self.analytics_events:
            raise ValueError("a beacon carries at least one media or analytics event")


# The request body as documented: a page closing mid-video (the token shortened).
BeaconBody = Annotated[
    Beacon,
    Meta(
        examples=[
            {
                "token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl",
                "media_events": [
                    {
                        "event": "session_end",
                        "session_id": "550e8400-e29b-41d4-a716-446655440000",
                        "timestamp": "2026-02-16T09:04:10Z",
                        "data": {
                            "watched_duration_seconds": 29.5,
                            "completion_percent": 70.2,
                            "buffering_count": 0,
                            "buffering_duration_ms": 0,
                            "completed": False,
                            "exit_reason": "navigated_away",
                        },
                    }
                ],
                "idempotency_key": "beacon-550e8400-1",
            }
        ]
    ),
]


class BeaconAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted beacon (202; browsers ignore it): one acknowledgement per kind of event."""

    media_events: Annotated[
        IngestAck | None,
        Meta(description="The beacon's media events, stored as one batch; null when it carried none."),
    ]
    analytics_events: Annotated[
        IngestAck | None,
        Meta(description="The beacon's analytics events, stored as one batch; null when it carried none."),
    ]


beacon_decoder: BodyDecoder[Beacon] = BodyDecoder(Beacon)
