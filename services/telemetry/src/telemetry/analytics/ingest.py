"""``POST /v1/analytics/track``: one product analytics event, stored in ``analytics_events`` (the route as
:mod:`telemetry.ingest.route` builds it)."""

from __future__ import annotations

from contracts.analytics import AnalyticsEvent, analytics_event_decoder

from telemetry.analytics.columns import ANALYTICS_EVENTS
from telemetry.identity import ANALYTICS
from telemetry.ingest.route import IngestRoute, ingest_handler, json_body, whole


def _one_event(body: bytes) -> list[AnalyticsEvent]:
    """The route's one event, as the list of events the columns take (a beacon sends several)."""
    return [analytics_event_decoder.decode(body)]


track_analytics_event = ingest_handler(
    IngestRoute(
        path="/v1/analytics/track",
        operation_id="TrackAnalyticsEvent",
        description="Store a product analytics event such as ``treatment_plan.session_started`` (consent level 2+).",
        body=json_body(AnalyticsEvent, "One product analytics event.", whole(_one_event)),
        table=ANALYTICS_EVENTS,
        consent=ANALYTICS,
    )
)
