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
import inspect
import json
import pkgutil
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgspec
from contracts.problems import PROBLEM_MEDIA_TYPE
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
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
    RequestBody,
    Schema,
    Tag,
)
from litestar.routes import HTTPRoute

import contracts
from service_common.auth.guards import RoleGuard
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
    examples = _contract_examples()
    contract_types = _contract_types()
    for name, document in generated.items():
        schemas[name] = _component(document, examples.get(name), contract_types.get(name))
    document_request_examples(app)
    settle_required_fields(app)


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


def _contract_examples() -> dict[str, list[Any]]:
    """Struct name → the examples a ``contracts`` alias ``Annotated[<Struct>, Meta(examples=[...])]`` gives it.

    msgspec attaches ``Meta`` to a type, not to a class, so a Struct's example is stated beside it as such
    an alias (``UserCreateBody``); the component schema of the Struct carries it."""
    found: dict[str, list[Any]] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__, f"{contracts.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if typing.get_origin(value) is not typing.Annotated:
                continue
            struct, *metadata = typing.get_args(value)
            if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
                continue
            for meta in metadata:
                if isinstance(meta, msgspec.Meta) and meta.examples:
                    found.setdefault(struct.__name__, list(meta.examples))
    return found


def _component(document: dict[str, Any], examples: list[Any] | None, kind: type | None) -> _DocumentSchema:
    """A component schema from msgspec's ``document`` for the type ``kind``: the class docstring dedented
    (msgspec keeps the indentation of its later lines, which Markdown would show as code), with ``examples``
    when given, and the tag field of a tagged-union Struct described (msgspec renders it as a bare
    ``enum`` of its one value)."""
    if "description" in document:
        document = {**document, "description": inspect.cleandoc(document["description"])}
    if kind is not None and issubclass(kind, msgspec.Struct):
        config = kind.__struct_config__
        tag = document.get("properties", {}).get(config.tag_field)
        if tag is not None:
            tag.setdefault(
                "description",
                f"Always `{config.tag}`: tells a {kind.__name__} apart from the other kinds that share "
                f"the `{config.tag_field}` field.",
            )
    if examples:
        document = {**document, "examples": examples}
    return _DocumentSchema(document=document)


def document_request_examples(app: Litestar) -> None:
    """Give every request body media type whose schema carries ``examples`` (its component's, or its own)
    the first of them as its ``example``, the field generators and linters read."""
    components = app.openapi_schema.components.schemas or {}
    for _, operation in _operations(app.openapi_schema):
        body = operation.request_body
        if not isinstance(body, RequestBody):
            continue
        for media in (body.content or {}).values():
            if media.example is not None:
                continue
            schema = media.schema
            if isinstance(schema, Reference):
                schema = components.get(schema.ref.removeprefix(REF_TEMPLATE.format(name="")))
            document = schema.to_schema() if isinstance(schema, Schema) else {}
            if not document.get("examples") and "$ref" in document:
                target = components.get(document["$ref"].removeprefix(REF_TEMPLATE.format(name="")))
                document = target.to_schema() if target is not None else {}
            if document.get("examples"):
                media.example = document["examples"][0]


def use_msgspec_component_schemas(app: Litestar) -> None:
    """Replace ``app``'s component schemas of msgspec types from ``contracts`` with msgspec's own."""
    openapi = app.openapi_schema
    components = openapi.components
    if not components.schemas:
        return
    types = _contract_types()
    wanted = [types[name] for name in components.schemas if name in types]
    _, generated = msgspec.json.schema_components(wanted, ref_template=REF_TEMPLATE)
    examples = _contract_examples()
    for name, document in generated.items():
        components.schemas[name] = _component(document, examples.get(name), types.get(name))
    document_request_examples(app)


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


# Litestar's description of every 201, which promises a URL where none may be sent.
_LITESTAR_201 = "Document created, URL follows"


def document_locations(app: Litestar, id_parameters: Mapping[str, str]) -> dict[str, str]:
    """Declare ``Location`` on every 201 response whose body is a resource with a read route of its own;
    the path template of that route (``/v1/treatment-plans/{id}``) for each such response component, which
    the app's ``Location`` hook fills from the body's ``id``.

    ``id_parameters`` is the table :func:`link_post_responses` reads: the path parameter a component's ``id``
    is the value of. The read route is the GET whose only path parameter is that one, at the end of its path
    (``/v1/treatment-plans/{plan_id}``, not ``.../{plan_id}/versions``). A created resource without one (a
    specialty, a plan's session) sends no ``Location``, and its 201 says so.
    """
    openapi = app.openapi_schema
    reads = {
        parameters[0]: path
        for path, operation in _operations(openapi)
        if (openapi.paths or {})[path].get is operation
        and len(parameters := _path_parameters(operation)) == 1
        and path.endswith(f"/{{{parameters[0]}}}")
    }
    templates: dict[str, str] = {}
    for path, operation in _operations(openapi):
        response = (operation.responses or {}).get("201")
        if not isinstance(response, OpenAPIResponse):
            continue
        if response.description == _LITESTAR_201:
            response.description = "Created."
        body = _body_component(openapi, response)
        component = body[0] if body is not None and "id" in body[1] else None
        read = reads.get(id_parameters.get(component, "")) if component is not None else None
        if component is None or read is None:
            listed = f" `GET {path}` lists it." if (openapi.paths or {})[path].get is not None else ""
            response.description = f"{response.description} No `Location`: it has no read route of its own.{listed}"
            continue
        templates[component] = read.replace(f"{{{id_parameters[component]}}}", "{id}")
        response.headers = {
            **(response.headers or {}),
            "Location": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI_REFERENCE),
                description=f"The path of what was created, read by `GET {read}`.",
                required=True,
            ),
        }
    return templates


_SUMMARY_END = re.compile(r"(?<=[.!?])\s|\n\n|:\s|;\s|\s\(")
_WWW_AUTHENTICATE = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description='The bearer challenge (RFC 6750): `Bearer` without a token, `Bearer error="invalid_token"` '
    "for a token that was refused.",
    required=True,
)


def _summary(description: str) -> str:
    """An operation's summary: the first clause of its handler's docstring."""
    first = _SUMMARY_END.split(description.strip(), maxsplit=1)[0]
    return " ".join(first.replace("``", "").replace("`", "").split()).rstrip(".")


def _handlers(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """Every documented route handler with its OpenAPI path and lower-case method."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in handler.http_methods:
                if method.lower() in _OPERATION_METHODS:
                    yield route.path_format or "/", method.lower(), handler


def document_operations(app: Litestar, tags: Mapping[str, str], roles: Sequence[str]) -> None:
    """Complete what each operation tells a client:

    - every tag declared with its description (``tags``); an undeclared tag is a ``ValueError``;
    - a summary from the first clause of the handler's docstring, unless the handler names one;
    - on secured operations, the roles that may call it, from its :class:`RoleGuard` s (all of ``roles``,
      the service's roles, without one), in the description;
    - ``security: []`` on the public ones, so no reader takes them for forgotten;
    - ``WWW-Authenticate`` on every 401 (the bearer middleware sends it).
    """
    openapi = app.openapi_schema
    used: set[str] = set()
    for path, method, handler in _handlers(app):
        item = (openapi.paths or {}).get(path)
        operation = getattr(item, method, None)
        if not isinstance(operation, Operation):
            continue
        used.update(operation.tags or ())
        if handler.summary is None and operation.description:
            operation.summary = _summary(operation.description)
        if not operation.security:
            operation.security = []
        else:
            guards = [guard for guard in handler.resolve_guards() if isinstance(guard, RoleGuard)]
            allowed = sorted(set(roles).intersection(*(guard.roles for guard in guards)) if guards else roles)
            statement = f"Roles: {', '.join(allowed)}."
            operation.description = f"{operation.description}\n\n{statement}" if operation.description else statement
        unauthorized = (operation.responses or {}).get("401")
        if isinstance(unauthorized, OpenAPIResponse):
            unauthorized.headers = {**(unauthorized.headers or {}), "WWW-Authenticate": _WWW_AUTHENTICATE}
    undeclared = used - set(tags)
    if undeclared:
        raise ValueError(f"tags without a declared description: {', '.join(sorted(undeclared))}")
    openapi.tags = [Tag(name=name, description=tags[name]) for name in sorted(used)]


def drop_null_from_query_parameters(app: Litestar) -> None:
    """Type optional query parameters as their value alone: Litestar renders ``int | None`` as
    ``oneOf: [integer, null]``, but a query string has no null, an absent parameter is how a client says
    it (and generators would otherwise type the parameter ``number | null``)."""
    for _, operation in _operations(app.openapi_schema):
        for parameter in operation.parameters or ():
            if not isinstance(parameter, Parameter) or parameter.param_in != "query":
                continue
            schema = parameter.schema
            if not isinstance(schema, Schema) or not schema.one_of:
                continue
            values = [
                branch
                for branch in schema.one_of
                if not (isinstance(branch, Schema) and branch.type == OpenAPIType.NULL)
            ]
            if len(values) != 1 or len(values) == len(schema.one_of):
                continue
            (value,) = values
            schema.one_of = None
            if isinstance(value, Reference):
                if any(item is not None for item in vars(schema).values()):
                    schema.all_of = [value]
                else:
                    parameter.schema = value
                continue
            for name, item in vars(value).items():
                if getattr(schema, name) is None:
                    setattr(schema, name, item)


def _references(value: Any, schemas: Mapping[str, Any], found: set[str]) -> set[str]:
    """``found`` plus the component names ``value`` references, directly or through other components."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                name = item.removeprefix(REF_TEMPLATE.format(name=""))
                if name not in found:
                    found.add(name)
                    _references(schemas.get(name), schemas, found)
            else:
                _references(item, schemas, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, schemas, found)
    return found


def settle_required_fields(app: Litestar) -> None:
    """Say which fields a client must send and which it always receives.

    msgspec marks a field with a default as optional and gives its ``default``. In a request that is
    right, but generators (openapi-typescript's default mode) read a ``default`` as "always present" and
    make the field required; so request components state their defaults in the description instead. In a
    response every field is always present (msgspec encodes defaults too, unless ``omit_defaults``), so
    components only responses use list every field as required.
    """
    openapi = app.openapi_schema
    schemas = openapi.components.schemas or {}
    document = openapi.to_schema()
    rendered = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    responses: set[str] = set()
    for item in document.get("paths", {}).values():
        for method in _OPERATION_METHODS:
            operation = item.get(method)
            if operation is not None:
                _references(operation.get("requestBody"), rendered, requests)
                _references(operation.get("responses"), rendered, responses)
    types = _contract_types()
    for name, component in schemas.items():
        if not isinstance(component, _DocumentSchema):
            continue
        properties: dict[str, Any] = component.document.get("properties", {})
        if name in requests:
            for field_schema in properties.values():
                if "default" in field_schema:
                    default = json.dumps(field_schema.pop("default"))
                    described = field_schema.get("description", "")
                    field_schema["description"] = f"{described} Default: `{default}`.".strip()
        elif name in responses and properties:
            struct = types.get(name)
            if struct is not None and issubclass(struct, msgspec.Struct) and struct.__struct_config__.omit_defaults:
                continue
            component.document["required"] = sorted(properties)
