"""A ``POST /v1/media/events`` body decoded into the events to store: the rules that repair a media event's
bad values, and the decoder that keeps an array's good events (``ingest/partial.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from contracts.decoding import BodyDecoder
from contracts.media_event_data import ConnectionType, Platform
from contracts.media_events import MEDIA_EVENT_BATCH_MAX, MediaEvent, decode_media_events
from msgspec import Meta

from telemetry.ingest.partial import (
    ALL_STORED,
    ItemReport,
    Outcome,
    Rule,
    decode_items,
    item_report,
    kept,
    label_rule,
    repair_item,
)


def _megabits(value: Any) -> tuple[Any, Outcome] | None:
    """A bandwidth estimate outside 0-100 000 Mbit/s (a player's estimate in bit/s) is dropped to null."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None, "dropped"
    return None


MEDIA_EVENT_RULES: Mapping[str, Rule] = {
    # navigator.connection.type also gives bluetooth, mixed, none, wimax; `none` (offline) has no network
    # to attribute the figures to, like `unknown`.
    "data.connection_type": label_rule(ConnectionType, "other", null="unknown", aliases={"none": "unknown"}),
    "data.effective_bandwidth": _megabits,
    "data.platform": label_rule(Platform, "other"),
}
"""Rules by the path of the value within one media event, as msgspec names it."""

media_event_item: BodyDecoder[MediaEvent] = BodyDecoder(MediaEvent)
"""One media event of a batch, decoded alone."""
_media_items: BodyDecoder[list[msgspec.Raw]] = BodyDecoder(
    Annotated[list[msgspec.Raw], Meta(min_length=1, max_length=MEDIA_EVENT_BATCH_MAX)]
)


def decode_media_batch(body: bytes) -> tuple[list[MediaEvent], ItemReport]:
    """A ``POST /v1/media/events`` body as a list of the events to store, and the report of the others.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a single event (not
    in an array) with a fault no rule repairs or an array that breaks the contract (empty, over 500), and
    :class:`~telemetry.ingest.partial.RejectedBatch` when no event of the array is left.
    """
    try:
        return decode_media_events(body), ALL_STORED
    except msgspec.ValidationError as exc:
        if not body.lstrip().startswith(b"["):
            # One event alone: repaired by the same rules, else refused with its fault (nothing else to keep).
            event, repaired = repair_item(media_event_item, body, MEDIA_EVENT_RULES, exc)
            return [event], item_report([], [repaired])
    events, report = decode_items(media_event_item, _media_items.decode(body), MEDIA_EVENT_RULES, "")
    return kept(events, report), report
