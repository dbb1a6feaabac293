"""The ingest routes, each built from one :class:`IngestRoute` description by :func:`ingest_handler`.

A route reads its body raw and decodes it once with the contracts' decoder (Litestar's ``data`` parameter
would decode it a second time, and the strict-request hook a third); a batch that does not decode whole is
decoded item by item (``ingest/partial.py``), its good items stored and the others listed in the answer.
The admission guard (``ingest/admission.py``: rate limit, then consent) runs before the body is read, so a
refused request stores nothing. 202 with an :class:`IngestAck` once the rows are durable in the spool
(``spool/appender.py``); 503 with Retry-After while the spool is full, 429 with Retry-After when the
caller's actor is over its rate limit. Each feature describes its route beside its columns
(``media/ingest.py``, ``media/cmcd_ingest.py``, ``pose/ingest.py``, ``analytics/ingest.py``,
``error_reports/ingest.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from contracts.ingest_ack import IngestAck
from litestar import Request, post
from litestar.exceptions import ClientException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from litestar.params import HeaderParameter, RawBody
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses
from service_common.openapi.components import REF_TEMPLATE, schema_document

from telemetry.dependencies import Appender, CurrentActor, EdgeCountry
from telemetry.identity import TelemetryActor
from telemetry.ingest.admission import RETRY_LATER, admit
from telemetry.ingest.batch import Batch, IngestTable
from telemetry.ingest.partial import ALL_STORED, ItemReport, problem_fields

T = TypeVar("T")

BodyReader = Callable[[bytes, str], tuple[T, ItemReport]]
"""Reads a body sent as a media type into what to store and the report of the items it did not keep;
raises Litestar's ``ClientException`` (400) or ``ValidationException`` (422) for a body it refuses."""


@dataclass(frozen=True)
class IngestBody(Generic[T]):
    """How an ingest route's body is documented (its ``operation_class``) and read."""

    operation_class: type[Operation]
    read: BodyReader[T]


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


@dataclass(frozen=True)
class IngestRoute(Generic[T]):
    """One ingest route: its path and documentation, its body, where the rows go and who may send them."""

    path: str
    operation_id: str
    description: str
    """The operation's description in the OpenAPI document; its first clause is the summary."""
    body: IngestBody[T]
    table: IngestTable[T]
    consent: int
    """The consent level the caller needs (``identity.ANALYTICS``, ``identity.ERRORS_ONLY``)."""
    biometric: bool = False
    """Whether the caller also needs the patient's biometric consent."""
    endpoint: str | None = None
    """The route's name in batch ids (so a key is scoped to it) and in the spool's records and logs; the
    table's name unless given."""
    statuses: tuple[int, ...] = (401, 403, 413, 422, 429, 503)
    """The error statuses documented besides 400 and 415 (which every route documents)."""
    opt: Mapping[str, Any] = field(default_factory=dict)


def ingest_handler(route: IngestRoute[Any]) -> HTTPRouteHandler:
    """The Litestar handler of ``route``: admitted, read, turned into columns and appended to the spool. It
    takes ``actor``, ``appender`` and ``country`` from the app's dependencies (``dependencies.py``)."""
    endpoint = route.endpoint or route.table.name

    async def ingest(
        request: Request[TelemetryActor, Any, Any],
        body: RawBody,
        actor: CurrentActor,
        appender: Appender,
        country: EdgeCountry,
        idempotency_key: IdempotencyKey = None,
    ) -> IngestAck:
        stored, report = route.body.read(body, request.content_type[0].lower())
        batch = Batch.start(actor, endpoint, idempotency_key, country)
        ack = await appender.append(endpoint, route.table.name, route.table.columns(stored, batch), batch)
        return report.acknowledge(ack)

    return post(
        route.path,
        operation_id=route.operation_id,
        description=inspect.cleandoc(route.description),
        status_code=HTTP_202_ACCEPTED,
        tags=["ingest"],
        security=bearer_security(),
        guards=[admit(route.consent, biometric=route.biometric)],
        exception_handlers=RETRY_LATER,
        opt=dict(route.opt),
        operation_class=route.body.operation_class,
        responses=problem_responses(*route.statuses),
    )(ingest)


def raw_json_body(
    type_: Any, description: str, media_types: tuple[str, ...] = ("application/json",)
) -> type[Operation]:
    """An ``operation_class`` documenting a JSON request body of ``type_``, sent as each of ``media_types``,
    for a route that reads its body raw; the app adds the component schemas it refers to."""
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


def json_body(contract: Any, description: str, decode: Callable[[bytes], tuple[T, ItemReport]]) -> IngestBody[T]:
    """A JSON body documented as ``contract`` and read by ``decode``, which keeps a batch's good items
    (:func:`decode_body`'s 400 and 422 when it refuses the body). The strict-request hook has checked the
    media type."""

    def read(body: bytes, _media_type: str) -> tuple[T, ItemReport]:
        return decode_body(decode, body)

    return IngestBody(raw_json_body(contract, description), read)


def whole(decode: Callable[[bytes], T]) -> Callable[[bytes], tuple[T, ItemReport]]:
    """``decode`` of a body that is stored whole or refused whole: no item is ever left out."""

    def decode_whole(body: bytes) -> tuple[T, ItemReport]:
        return decode(body), ALL_STORED

    return decode_whole
