"""The errors the app's shared machinery answers, rather than a handler, documented on every operation
they can reach."""

from __future__ import annotations

from http import HTTPStatus

from contracts.problems import PROBLEM_MEDIA_TYPE
from litestar import Litestar
from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema

from service_common.openapi.components import REF_TEMPLATE
from service_common.openapi.operations import operations

_PROBLEM_REF = REF_TEMPLATE.format(name="Problem")
# Every 429 carries Retry-After; a 503 carries it when waiting helps (an unavailable database, a full
# spool), not when the identity provider's keys could not be fetched.
_RETRY_AFTER = {
    HTTPStatus.TOO_MANY_REQUESTS: OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
        description="Seconds to wait before sending again.",
        required=True,
    ),
    HTTPStatus.SERVICE_UNAVAILABLE: OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
        description="Seconds to wait before retrying; sent while the database is unavailable or the spool full.",
    ),
}


def _problem(status: HTTPStatus) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=status.phrase,
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=Reference(ref=_PROBLEM_REF))},
    )


def document_shared_errors(app: Litestar) -> None:
    """Document, on every operation they can reach, the errors that come from the app's shared machinery
    rather than from a handler.

    - 413 and 415 on every operation with a request body: bodies over ``HTTP_MAX_BODY_BYTES`` and bodies
      not sent as JSON are refused before the handler runs (``request_max_body_size``, the strict-request
      hook).
    - 503 on every authenticated operation: verifying a token may need the identity provider's keys, and
      every authenticated route of both services is served from the service's database (PostgreSQL, or
      telemetry's ClickHouse and spool).
    - ``Retry-After`` on every documented 429 and 503.
    """
    for _, operation in operations(app.openapi_schema):
        responses = operation.responses if operation.responses is not None else {}
        statuses: list[HTTPStatus] = []
        if operation.request_body is not None:
            statuses += [HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE]
        if operation.security:
            statuses.append(HTTPStatus.SERVICE_UNAVAILABLE)
        for status in statuses:
            responses.setdefault(str(int(status)), _problem(status))
        for status, header in _RETRY_AFTER.items():
            response = responses.get(str(int(status)))
            if isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "Retry-After": header}
        operation.responses = dict(sorted(responses.items()))
