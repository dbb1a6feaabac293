"""A ``POST /v1/beacon`` body decoded into the events to store, each kind's bad events rejected by the rules
of its own route (``ingest/partial.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from contracts.analytics import AnalyticsEvent, analytics_event_decoder
from contracts.beacons import Beacon, beacon_decoder
from contracts.decoding import BodyDecoder

from telemetry.ingest.partial import (
    ALL_STORED,
    ItemReport,
    RejectedBatch,
    Rule,
    decode_items,
    other_fields,
    with_raw_items,
)
from telemetry.media.decode import MEDIA_EVENT_RULES, media_event_item

# No rule repairs an analytics event: a bad one is rejected.
_ANALYTICS_EVENT_RULES: Mapping[str, Rule] = {}
_beacon_items: BodyDecoder[Any] = BodyDecoder(with_raw_items(Beacon, "media_events", "analytics_events"))


def decode_beacon(body: bytes) -> tuple[Beacon, ItemReport, ItemReport]:
    """A ``POST /v1/beacon`` body with the events to store, and the reports of its media and analytics
    events.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a fault outside the
    events (the token, the key, no event at all, too many), and :class:`RejectedBatch` when no event of
    either kind is left.
    """
    try:
        return beacon_decoder.decode(body), ALL_STORED, ALL_STORED
    except msgspec.ValidationError:
        items = _beacon_items.decode(body)
    media, media_report = decode_items(media_event_item, items.media_events, MEDIA_EVENT_RULES, "media_events")
    analytics: list[AnalyticsEvent]
    analytics, analytics_report = decode_items(
        analytics_event_decoder, items.analytics_events, _ANALYTICS_EVENT_RULES, "analytics_events"
    )
    if not media and not analytics:
        raise RejectedBatch(media_report.rejected + analytics_report.rejected)
    beacon = Beacon(
        **other_fields(items, "media_events", "analytics_events"), media_events=media, analytics_events=analytics
    )
    return beacon, media_report, analytics_report
