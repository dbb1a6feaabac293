"""The columns of ``analytics_events`` built from decoded analytics events."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from contracts.analytics import AnalyticsEvent

from telemetry.ingest.batch import Batch, Columns, IngestTable, utc

_json = msgspec.json.Encoder()


def analytics_event_columns(events: Sequence[AnalyticsEvent], batch: Batch) -> Columns:
    """``analytics_events`` columns, one row per event; property values become JSON text."""
    return {
        **batch.common_with_country(len(events)),
        "event_name": [event.event_name for event in events],
        "event_category": [event.event_category for event in events],
        "event_time": [utc(event.timestamp) for event in events],
        "resource_type": [event.resource_type for event in events],
        "resource_id": [event.resource_id for event in events],
        "property_keys": [list(event.properties) for event in events],
        "property_values": [[_json.encode(value).decode() for value in event.properties.values()] for event in events],
    }


ANALYTICS_EVENTS = IngestTable("analytics_events", analytics_event_columns)
"""The table of analytics events: their own route and beacons write it."""
