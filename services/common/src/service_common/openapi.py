"""What the services' OpenAPI documents add to Litestar's: msgspec component schemas, the errors every
route shares, and links between operations.

Component schemas come from msgspec, the one schema language.

Litestar's own translation of msgspec Structs loses constraints that decoding enforces: patterns on list
items, ``additionalProperties: false`` of ``forbid_unknown_fields`` Structs, bounds inside nullable
unions. A client (or schemathesis) reading such a document would send requests it believes valid and
get 422s. So after Litestar builds the document, every component that names a msgspec type is replaced
by the schema ``msgspec.json.schema_components`` generates for it; paths and parameters stay Litestar's.

Errors the app's shared machinery answers (413, 415, 503) are documented on every operation they can
reach by :func:`document_shared_errors`, and :func:`link_post_responses` links what a POST creates to
the operations on it. Each edits ``app.openapi_schema`` in place, so ``/schema`` and
``tools/openapi.py`` see one document.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgspec
from contracts.problems import PROBLEM_MEDIA_TYPE
from litestar import Litestar
from litestar.openapi.spec import (
    Link,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)

import contracts
from service_common.strict_requests import TEXT_PATTERN, YEAR_PATTERN

REF_TEMPLATE = "#/components/schemas/{name}"


@dataclass
class _DocumentSchema(Schema):
    """A component schema given as a ready JSON Schema document."""

    document: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.document


def add_msgspec_components(app: Litestar, *types: Any) -> None:
    """Add the component schemas msgspec generates for ``types`` and every type they reference to
    ``app``'s document.

    For routes that read their body raw and decode it themselves: Litestar knows no body type for them,
    so the request body their ``operation_class`` documents names components only this adds.
    """
    _, generated = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    schemas = app.openapi_schema.components.schemas
    for name, document in generated.items():
        schemas[name] = _DocumentSchema(document=document)


def schema_document(document: dict[str, Any]) -> Schema:
    """A ``Schema`` that renders as ``document``, a ready JSON Schema (from msgspec)."""
    return _DocumentSchema(document=document)


def _contract_types() -> dict[str, type]:
    """Every msgspec Struct and enum of the ``contracts`` package, by name."""
    found: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__, f"{contracts.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and (issubclass(value, msgspec.Struct) or issubclass(value, enum.Enum)):
                found.setdefault(value.__name__, value)
    return found


def use_msgspec_component_schemas(app: Litestar) -> None:
    """Replace ``app``'s component schemas of msgspec types from ``contracts`` with msgspec's own."""
    openapi = app.openapi_schema
    components = openapi.components
    if not components.schemas:
        return
    types = _contract_types()
    wanted = [types[name] for name in components.schemas if name in types]
    _, generated = msgspec.json.schema_components(wanted, ref_template=REF_TEMPLATE)
    for name, document in generated.items():
        components.schemas[name] = _DocumentSchema(document=document)


_OPERATION_METHODS = ("get", "put", "post", "patch", "delete")
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


def _operations(openapi: OpenAPI) -> Iterator[tuple[str, Operation]]:
    """Every operation of the document with its path."""
    for path, item in (openapi.paths or {}).items():
        for method in _OPERATION_METHODS:
            operation = getattr(item, method)
            if operation is not None:
                yield path, operation


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
    for _, operation in _operations(app.openapi_schema):
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


def document_parameter_values(app: Litestar) -> None:
    """State in the document the values every route refuses before its handler runs
    (:mod:`service_common.strict_requests`): a text query or path parameter holds no control character,
    and a date or date-time parameter falls in the years ``EARLIEST`` to ``LATEST``. A client, a
    generator or schemathesis reading the document then knows them."""
    for _, operation in _operations(app.openapi_schema):
        for parameter in operation.parameters or ():
            if not isinstance(parameter, Parameter) or not isinstance(parameter.schema, Schema):
                continue
            for schema in (parameter.schema, *(parameter.schema.one_of or ())):
                if not isinstance(schema, Schema) or schema.type != OpenAPIType.STRING or schema.enum:
                    continue
                if schema.format in (OpenAPIFormat.DATE, OpenAPIFormat.DATE_TIME):
                    schema.pattern = YEAR_PATTERN
                elif schema.pattern is None and schema.format is None:
                    schema.pattern = TEXT_PATTERN


def _path_parameters(operation: Operation) -> list[str]:
    return [
        parameter.name
        for parameter in operation.parameters or ()
        if isinstance(parameter, Parameter) and parameter.param_in == "path"
    ]


def _body_component(openapi: OpenAPI, response: OpenAPIResponse) -> tuple[str, set[str]] | None:
    """The component name of a JSON response body and its top-level fields; ``None`` for other bodies."""
    media = (response.content or {}).get("application/json")
    if media is None or not isinstance(media.schema, Reference):
        return None
    name = media.schema.ref.removeprefix(REF_TEMPLATE.format(name=""))
    component = (openapi.components.schemas or {}).get(name)
    if component is None:
        return None
    return name, set(component.to_schema().get("properties", {}))


def link_post_responses(app: Litestar, id_parameters: Mapping[str, str]) -> int:
    """Add OpenAPI links from the 201 responses of POST operations to the operations on what they created;
    the number of links added.

    ``id_parameters`` names, for a response component, the path parameter its ``id`` field is the value of
    (``{"TreatmentPlanDetail": "plan_id"}``). A link goes to every operation each of whose path parameters
    can be filled, and at least one from the response body:

    - the parameter ``id_parameters`` names, from the body's ``id``;
    - a parameter named like a reference (``..._id``) field of the body, from that field (a patient's
      ``user_id``, a session exercise's ``exercise_id``);
    - a parameter of the POST's own path, from the request (the ``plan_id`` a session was created under).

    Clients and schemathesis's stateful tests follow these links from a created object to the routes that
    read, change or delete it and its sub-resources.
    """
    openapi = app.openapi_schema
    targets = [(operation, _path_parameters(operation)) for _, operation in _operations(openapi)]
    added = 0
    for item in (openapi.paths or {}).values():
        source = item.post
        if source is None:
            continue
        source_parameters = set(_path_parameters(source))
        for status, response in (source.responses or {}).items():
            if status != "201" or not isinstance(response, OpenAPIResponse):
                continue
            body = _body_component(openapi, response)
            if body is None:
                continue
            component, fields = body
            # Only references: a draft's ``version`` is no published version to read or roll back to.
            from_body = {name: f"$response.body#/{name}" for name in fields if name.endswith("_id")}
            if component in id_parameters and "id" in fields:
                from_body[id_parameters[component]] = "$response.body#/id"
            links: dict[str, Link | Reference] = {}
            for target, target_parameters in targets:
                fillable = all(name in from_body or name in source_parameters for name in target_parameters)
                if fillable and any(name in from_body for name in target_parameters):
                    assert target.operation_id is not None, "every operation has an operation_id"
                    links[target.operation_id] = Link(
                        operation_id=target.operation_id,
                        parameters={name: from_body.get(name, f"$request.path.{name}") for name in target_parameters},
                    )
            if links:
                response.links = dict(sorted(links.items()))
                added += len(links)
    return added
