"""What a POST creates, linked to the operations on it and located by its read route."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Litestar
from litestar.openapi.spec import (
    Link,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)

from service_common.openapi.components import REF_TEMPLATE
from service_common.openapi.operations import operations, path_parameters


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
    targets = [(operation, path_parameters(operation)) for _, operation in operations(openapi)]
    added = 0
    for item in (openapi.paths or {}).values():
        source = item.post
        if source is None:
            continue
        source_parameters = set(path_parameters(source))
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
        for path, operation in operations(openapi)
        if (openapi.paths or {})[path].get is operation
        and len(parameters := path_parameters(operation)) == 1
        and path.endswith(f"/{{{parameters[0]}}}")
    }
    templates: dict[str, str] = {}
    for path, operation in operations(openapi):
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
