"""``POST /v1/media/cmcd``: CMCD v2 event-mode reports from a media player, stored as media events.

Admitted like ``POST /v1/media/events`` (the same bearer token, patient role, rate limit and consent
level 2, checked before the body is read) and stored the same way (the route as
:mod:`telemetry.ingest.route` builds it): one spool record per request in ``media_events``, under the
``Idempotency-Key`` rules, answered with an :class:`IngestAck` whose ``accepted`` counts the media events
the reports made. A report that cannot be read or mapped is listed in ``rejected`` with its index and key;
the others are stored. ``cmcd_reports.py`` does the reading, ``cmcd_events.py`` the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.media_events import MediaEvent
from litestar.exceptions import ClientException, ValidationException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from service_common.openapi.components import schema_document
from service_common.strict_requests import CMCD_BODY

from telemetry.identity import ANALYTICS
from telemetry.ingest.partial import ItemReport, RejectedBatch, problem_fields
from telemetry.ingest.route import IngestBody, IngestRoute, ingest_handler
from telemetry.media.cmcd_events import media_events
from telemetry.media.cmcd_reports import CMCD_REPORTS_MAX, BodyError, MalformedBody, read_body
from telemetry.media.columns import MEDIA_EVENTS

_LINES_EXAMPLE = (
    'cid="exercise-knee-01",e=ps,mtp=(12500),sid="6e2fb550-c457-11e9-bb97-0800200c9a66",sn=0,sta=s,'
    "ts=1771232400000,v=2\n"
    'cid="exercise-knee-01",e=ps,msd=2000,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",sn=1,sta=p,'
    "ts=1771232402000,v=2\n"
)
_LINES = {
    "type": "string",
    "description": (
        f"1-{CMCD_REPORTS_MAX} CMCD v2 event-mode reports (CTA-5004-B), one per line (LF or CRLF), each an RFC 8941 "
        "dictionary of CMCD keys: what a player's CMCD event target POSTs. docs/telemetry.md, CMCD, maps the keys."
    ),
    "examples": [_LINES_EXAMPLE],
}
_JSON_EXAMPLE = [
    {"cid": "exercise-knee-01", "e": "ps", "mtp": [12500], "sid": "6e2fb550-c457-11e9-bb97-0800200c9a66", "sn": 0,
     "sta": "s", "ts": 1771232400000, "v": 2},
    {"cid": "exercise-knee-01", "e": "ps", "msd": 2000, "sid": "6e2fb550-c457-11e9-bb97-0800200c9a66", "sn": 1,
     "sta": "p", "ts": 1771232402000, "v": 2},
]  # fmt: skip
_JSON = {
    "description": "The same reports as JSON objects with the same keys (an inner list as an array), or one alone.",
    "oneOf": [
        {"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": CMCD_REPORTS_MAX},
        {"type": "object"},
    ],
}


@dataclass
class _CmcdBodyOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "application/cmcd": OpenAPIMediaType(schema=schema_document(_LINES)),
                "text/cmcd": OpenAPIMediaType(schema=schema_document(_LINES)),
                "application/json": OpenAPIMediaType(schema=schema_document(_JSON), example=_JSON_EXAMPLE),
            },
            description="CMCD v2 event-mode reports, as a player's event target sends them.",
            required=True,
        )


def _read(body: bytes, media_type: str) -> tuple[list[MediaEvent], ItemReport]:
    """The media events of the reports in ``body`` and the report of those rejected, in order; 400 for a
    body that is not text (or JSON), 422 for one without a usable report, naming every rejected report."""
    as_json = media_type == "application/json" or media_type.endswith("+json")
    try:
        reports, unread = read_body(body, as_json=as_json)
    except MalformedBody as exc:
        raise ClientException(detail=f"The body cannot be read: {exc}") from exc
    except BodyError as exc:
        raise ValidationException(
            detail="The request body did not validate.", extra=[{"message": str(exc), "key": "", "source": "body"}]
        ) from exc
    events, unmapped = media_events(reports)
    rejected = sorted(unread + unmapped, key=lambda item: item.index)
    if len(rejected) == len(reports) + len(unread):
        raise ValidationException(
            detail="No report of the body could be stored.",
            extra=problem_fields(RejectedBatch(rejected)),
        )
    return events, ItemReport(rejected=rejected)


ingest_cmcd_reports = ingest_handler(
    IngestRoute(
        path="/v1/media/cmcd",
        operation_id="IngestCmcdReports",
        description="""Store the media events of CMCD v2 event-mode reports (consent level 2+): the reports that can be
        read, listing the others in the answer's `rejected`.""",
        body=IngestBody(_CmcdBodyOperation, _read),
        table=MEDIA_EVENTS,
        consent=ANALYTICS,
        endpoint="media_cmcd",
        statuses=(401, 403, 413, 415, 422, 429, 503),
        opt={CMCD_BODY: True},
    )
)
