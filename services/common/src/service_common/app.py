"""The parts of a Litestar app both services assemble the same way.

Each service's ``create_app()`` calls :func:`service_app` with its own routes, lifespan and state; this
keeps error handling, request ids, logging and the OpenAPI set-up identical across the two services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Contact, Server, ServerVariable
from litestar.response import Response
from litestar.status_codes import HTTP_201_CREATED
from litestar.types import AfterRequestHookHandler, ControllerRouterHandler, ExceptionHandlersMap

from service_common.auth.middleware import auth_middleware
from service_common.auth.openapi import IDENTITY_PROVIDER_SCHEME, bearer_security_components
from service_common.auth.verifier import Verifier
from service_common.errors import exception_handlers
from service_common.logging import LogSettings, configure_logging
from service_common.openapi.components import settle_required_fields, use_msgspec_component_schemas
from service_common.openapi.descriptions import document_operations
from service_common.openapi.errors import document_shared_errors
from service_common.openapi.links import document_locations, link_post_responses
from service_common.openapi.parameters import document_parameter_values, drop_null_from_query_parameters
from service_common.requests import request_context_middleware
from service_common.strict_requests import enforce_strict_request

HEALTH_TAG = "Liveness and readiness probes for Kubernetes; no token needed."
# A cross-origin page reads only CORS-safelisted response headers unless they are exposed: a browser client
# needs Retry-After to honour a 429 or 503, Location for a 201's new resource, WWW-Authenticate on a 401.
CORS_EXPOSED_HEADERS = ("Retry-After", "Location", "WWW-Authenticate")

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def _send_location(templates: Mapping[str, str]) -> AfterRequestHookHandler:
    """An after-request hook that sends ``Location`` with every 201 whose body is a resource ``templates``
    knows (its Struct's name → its read path with ``{id}``), filled from the body's ``id``."""

    async def send_location(response: Response[Any]) -> Response[Any]:
        template = templates.get(type(response.content).__name__)
        if response.status_code == HTTP_201_CREATED and template is not None:
            response.set_header("Location", template.format(id=response.content.id))
        return response

    return send_location


def service_app(
    *,
    title: str,
    version: str,
    description: str,
    route_handlers: Sequence[ControllerRouterHandler],
    lifespan: Sequence[Lifespan],
    state: dict[str, Any],
    log_settings: LogSettings,
    max_body_bytes: int,
    verifier: Verifier,
    dependencies: Mapping[str, Provide] | None = None,
    bearer_description: str = IDENTITY_PROVIDER_SCHEME,
    cors_origins: Sequence[str] = (),
    extra_exception_handlers: ExceptionHandlersMap | None = None,
    resource_id_parameters: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    roles: Sequence[str] = (),
    origin: str = "http://localhost:8000",
) -> Litestar:
    """A Litestar app with problem+json errors, request ids, JSON logs, bearer-token authentication on
    every route but the health and schema paths, and OpenAPI UI at ``/schema``.

    ``dependencies`` are what every handler may take by name (core-api's ``actor``, the caller).
    ``bearer_description`` describes the bearer token in the OpenAPI document: which token the service
    takes and how a client gets it. ``extra_exception_handlers`` adds a service's own translations (its
    database driver's errors); ``resource_id_parameters`` names the path parameter of each created
    resource's ``id``, for the links of the OpenAPI document
    (:func:`service_common.openapi.links.link_post_responses`) and the ``Location`` of its 201
    (:func:`service_common.openapi.links.document_locations`). ``tags`` describes every tag its routes use,
    ``roles`` lists the roles its tokens carry, and ``origin`` is where ``make run`` serves it (the
    document's default server)."""
    configure_logging(log_settings)
    # Filled from the OpenAPI document once it is built (document_locations), so header and document agree.
    locations: dict[str, str] = {}
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=list(lifespan),
        state=State(state),
        dependencies=dict(dependencies or {}),
        exception_handlers={**exception_handlers(), **(extra_exception_handlers or {})},
        before_request=enforce_strict_request,
        after_request=_send_location(locations),
        middleware=[request_context_middleware, auth_middleware(verifier)],
        openapi_config=OpenAPIConfig(
            title=title,
            version=version,
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            use_handler_docstrings=True,
            # The authenticated routes name the scheme (``security=bearer_security()``, on a controller or router);
            # the health routes stay open.
            components=bearer_security_components(bearer_description),
            contact=Contact(name="Telerehabilitation platform team"),
            servers=[
                Server(
                    url="{origin}",
                    description="The service's origin; its paths start at /v1 (and /healthz, /readyz).",
                    variables={
                        "origin": ServerVariable(
                            default=origin,
                            description="Scheme, host and port of the deployment; the default is `make run`'s.",
                        )
                    },
                )
            ],
        ),
        cors_config=CORSConfig(allow_origins=list(cors_origins), expose_headers=list(CORS_EXPOSED_HEADERS))
        if cors_origins
        else None,
        request_max_body_size=max_body_bytes,
        # Logging is ours (structlog, configured above); Litestar would otherwise install its own format.
        logging_config=None,
        debug=False,
    )
    use_msgspec_component_schemas(app)
    document_shared_errors(app)
    document_parameter_values(app)
    drop_null_from_query_parameters(app)
    document_operations(app, {"health": HEALTH_TAG, **(tags or {})}, roles)
    if resource_id_parameters:
        link_post_responses(app, resource_id_parameters)
        locations.update(document_locations(app, resource_id_parameters))
    settle_required_fields(app)
    return app
