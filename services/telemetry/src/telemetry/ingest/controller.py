"""``POST /v1/media/events``, ``/v1/pose/frames``, ``/v1/analytics/track`` and ``/v1/errors/report``.

Each route reads its body raw and decodes it once with the contracts' decoder (Litestar's ``data``
parameter would decode it a second time, and the strict-request hook a third); a batch that does not
decode whole is decoded item by item (``ingest/partial.py``), its good items stored and the others listed
in the answer. Consent guards run before the body is read, so a refused request stores nothing. 202 with
an :class:`IngestAck` once the rows are durable in the spool; 503 with Retry-After while the spool is full,
429 with Retry-After when the caller's actor is over its rate limit (``ingest/ratelimit.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from contracts.problems import PROBLEM_TYPE_BASE, Problem
from contracts.telemetry import (
    AnalyticsEvent,
    ErrorReport,
    IngestAck,
    MediaEventBatch,
    PoseFrameBatch,
    analytics_event_decoder,
    error_report_decoder,
)
from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import ClientException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from litestar.params import HeaderParameter, RawBody
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.guards import RoleGuard
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_response, problem_responses
from service_common.openapi import REF_TEMPLATE, schema_document

from telemetry.identity import ANALYTICS, ERRORS_ONLY, check_consent, telemetry_actor
from telemetry.ingest.appender import SpoolAppender
from telemetry.ingest.columns import (
    Batch,
    analytics_event_columns,
    error_report_columns,
    media_event_columns,
    pose_frame_columns,
)
from telemetry.ingest.partial import decode_media_batch, decode_pose_batch, problem_fields
from telemetry.ingest.ratelimit import RateLimitedError, rate_limit
from telemetry.ingest.spool import SpoolFullError
from telemetry.settings import Settings

T = TypeVar("T")

# Every body these routes accept is documented by the contracts' types, listed here for the app to add
# their component schemas to the OpenAPI document.
BODY_TYPES: tuple[Any, ...] = (MediaEventBatch, PoseFrameBatch, AnalyticsEvent, ErrorReport)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Codes edges use for "not a country": Cloudflare's unknown (XX) and Tor (T1, already not two letters).
_NOT_A_COUNTRY = frozenset({"XX"})

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A key the client keeps for this batch across retries; a retry with the same key is "
        "acknowledged (`duplicate: true`) without storing the batch again.",
    ),
]


def raw_json_body(
    type_: Any, description: str, media_types: tuple[str, ...] = ("application/json",)
) -> type[Operation]:
    """An ``operation_class`` documenting a JSON request body of ``type_``, sent as each of ``media_types``,
    for a route that reads its body raw; the component schemas it refers to are added by the app
    (:data:`BODY_TYPES`)."""
    (schema,), _ = msgspec.json.schema_components([type_], ref_template=REF_TEMPLATE)

    @dataclass
    class RawJsonBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={media_type: OpenAPIMediaType(schema=schema_document(schema)) for media_type in media_types},
                description=description,
                required=True,
            )

    return RawJsonBodyOperation


def decode_body(decode: Callable[[bytes], T], body: bytes) -> T:
    """``body`` decoded by ``decode``: malformed JSON is a 400, a value breaking the contract a 422 naming
    the field (msgspec's path, such as ``frames[3].landmark_x``; every item's, when ``decode`` rejected
    each item of a batch)."""
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail="The request body did not validate.", extra=problem_fields(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ClientException(detail=f"The body is not valid JSON: {exc}") from exc


def country_code(request: Request[Any, Any, Any], header: str) -> str:
    """The edge's two-letter country code for the client, or '' when absent or not a country code."""
    value = request.headers.get(header, "").strip().upper()
    return value if _COUNTRY.match(value) and value not in _NOT_A_COUNTRY else ""


def start_batch(request: Request[Any, Any, Any], state: State, endpoint: str, idempotency_key: str | None) -> Batch:
    """The batch of a request to ``endpoint`` by the verified caller, with the edge's country."""
    settings: Settings = state.settings
    return Batch.start(
        telemetry_actor(request), endpoint, idempotency_key, country_code(request, settings.ingest.country_header)
    )


def spool_appender(state: State) -> SpoolAppender:
    """The app's appender to the spool."""
    appender: SpoolAppender = state.spool_appender
    return appender


def retry_later(_: Request[Any, Any, Any], exc: SpoolFullError | RateLimitedError) -> Response[bytes]:
    """The 503 or 429 problem of a full spool or a spent rate limit, with ``Retry-After``."""
    return problem_response(
        Problem(
            type=f"{PROBLEM_TYPE_BASE}{exc.slug}",
            title=exc.title,
            status=int(exc.status),
            detail=exc.detail,
        ),
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


_ERRORS = problem_responses(401, 403, 413, 422, 429, 503)


def admit(level: int, *, biometric: bool = False) -> RoleGuard:
    """An ingest route's guard: the caller's rate limit (every authenticated request counts), then its
    consent, both before the body is read. One guard rather than two because Litestar copies the route
    handler for each guard it runs, a measurable part of a small request (docs/performance.md)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await rate_limit(connection, handler)
        check_consent(connection, level, biometric=biometric)

    # Only patients' devices send telemetry (check_consent refuses the other roles).
    return RoleGuard(("patient",), guard)


class IngestController(Controller):
    """Telemetry ingestion from patient devices, under the caller's consent."""

    path = "/v1"
    tags = ["ingest"]
    security = bearer_security()
    exception_handlers = {SpoolFullError: retry_later, RateLimitedError: retry_later}

    @post(
        "/media/events",
        operation_id="IngestMediaEvents",
        status_code=HTTP_202_ACCEPTED,
        guards=[admit(ANALYTICS)],
        operation_class=raw_json_body(MediaEventBatch, "One media event, or an array of up to 500."),
        responses=_ERRORS,
    )
    async def ingest_media_events(
        self, request: Request[Any, Any, Any], state: State, body: RawBody, idempotency_key: IdempotencyKey = None
    ) -> IngestAck:
        """Store video and audio playback lifecycle events (consent level 2+): the events of an array that
        fit the contract, listing the others in the answer (docs/telemetry.md, "Partial batches")."""
        events, report = decode_body(decode_media_batch, body)
        batch = start_batch(request, state, "media_events", idempotency_key)
        ack = await spool_appender(state).append(
            "media_events", "media_events", media_event_columns(events, batch), batch
        )
        return report.acknowledge(ack)

    @post(
        "/pose/frames",
        operation_id="IngestPoseFrames",
        status_code=HTTP_202_ACCEPTED,
        guards=[admit(ANALYTICS, biometric=True)],
        operation_class=raw_json_body(PoseFrameBatch, "A batch of up to 300 MediaPipe frames of one session."),
        responses=_ERRORS,
    )
    async def ingest_pose_frames(
        self, request: Request[Any, Any, Any], state: State, body: RawBody, idempotency_key: IdempotencyKey = None
    ) -> IngestAck:
        """Store pose-tracking frames (consent level 2+ and biometric consent): the frames that fit the
        contract, listing the others in the answer (docs/telemetry.md, "Partial batches")."""
        payload, report = decode_body(decode_pose_batch, body)
        batch = start_batch(request, state, "pose_frames", idempotency_key)
        ack = await spool_appender(state).append(
            "pose_frames", "pose_tracking_frames", pose_frame_columns(payload, batch), batch
        )
        return report.acknowledge(ack)

    @post(
        "/analytics/track",
        operation_id="TrackAnalyticsEvent",
        status_code=HTTP_202_ACCEPTED,
        guards=[admit(ANALYTICS)],
        operation_class=raw_json_body(AnalyticsEvent, "One product analytics event."),
        responses=_ERRORS,
    )
    async def track_analytics_event(
        self, request: Request[Any, Any, Any], state: State, body: RawBody, idempotency_key: IdempotencyKey = None
    ) -> IngestAck:
        """Store a product analytics event such as ``treatment_plan.session_started`` (consent level 2+)."""
        event = decode_body(analytics_event_decoder.decode, body)
        batch = start_batch(request, state, "analytics_events", idempotency_key)
        return await spool_appender(state).append(
            "analytics_events", "analytics_events", analytics_event_columns([event], batch), batch
        )

    @post(
        "/errors/report",
        operation_id="ReportClientError",
        status_code=HTTP_202_ACCEPTED,
        guards=[admit(ERRORS_ONLY)],
        operation_class=raw_json_body(ErrorReport, "One client-side error."),
        responses=_ERRORS,
    )
    async def report_client_error(
        self, request: Request[Any, Any, Any], state: State, body: RawBody, idempotency_key: IdempotencyKey = None
    ) -> IngestAck:
        """Store a client-side error report, scrubbed of personal data (consent level 1+)."""
        report = decode_body(error_report_decoder.decode, body)
        batch = start_batch(request, state, "error_reports", idempotency_key)
        return await spool_appender(state).append(
            "error_reports", "error_reports", error_report_columns(report, batch), batch
        )
