"""``POST /v1/media/events``: video and audio playback lifecycle events from a patient's player, stored in
``media_events`` (the route as :mod:`telemetry.ingest.route` builds it)."""

from __future__ import annotations

from contracts.media_events import MediaEventBatch

from telemetry.identity import ANALYTICS
from telemetry.ingest.route import IngestRoute, ingest_handler, json_body
from telemetry.media.columns import MEDIA_EVENTS
from telemetry.media.decode import decode_media_batch

ingest_media_events = ingest_handler(
    IngestRoute(
        path="/v1/media/events",
        operation_id="IngestMediaEvents",
        description="""Store video and audio playback lifecycle events (consent level 2+): the events of an array that
        fit the contract, listing the others in the answer (docs/telemetry.md, "Partial batches").""",
        body=json_body(MediaEventBatch, "One media event, or an array of up to 500.", decode_media_batch),
        table=MEDIA_EVENTS,
        consent=ANALYTICS,
    )
)
