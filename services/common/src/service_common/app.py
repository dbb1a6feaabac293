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
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap

from service_common.auth import Verifier, auth_middleware, bearer_security_components
from service_common.errors import exception_handlers
from service_common.logging import LogSettings, configure_logging
from service_common.openapi import (
    document_parameter_values,
    document_shared_errors,
    link_post_responses,
    use_msgspec_component_schemas,
)
from service_common.requests import request_context_middleware
from service_common.strict_requests import enforce_strict_request

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


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
    cors_origins: Sequence[str] = (),
    extra_exception_handlers: ExceptionHandlersMap | None = None,
    resource_id_parameters: Mapping[str, str] | None = None,
) -> Litestar:
    """A Litestar app with problem+json errors, request ids, JSON logs, bearer-token authentication on
    every route but the health and schema paths, and OpenAPI UI at ``/schema``.

    ``extra_exception_handlers`` adds a service's own translations (its database driver's errors);
    ``resource_id_parameters`` names the path parameter of each created resource's ``id``, for the links of
    the OpenAPI document (:func:`service_common.openapi.link_post_responses`)."""
    configure_logging(log_settings)
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=list(lifespan),
        state=State(state),
        exception_handlers={**exception_handlers(), **(extra_exception_handlers or {})},
        before_request=enforce_strict_request,
        middleware=[request_context_middleware, auth_middleware(verifier)],
        openapi_config=OpenAPIConfig(
            title=title,
            version=version,
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            use_handler_docstrings=True,
            # Each authenticated controller names the scheme (``security = bearer_security()``);
            # the health routes stay open.
            components=bearer_security_components(),
        ),
        cors_config=CORSConfig(allow_origins=list(cors_origins)) if cors_origins else None,
        request_max_body_size=max_body_bytes,
        # Logging is ours (structlog, configured above); Litestar would otherwise install its own format.
        logging_config=None,
        debug=False,
    )
    use_msgspec_component_schemas(app)
    document_shared_errors(app)
    document_parameter_values(app)
    if resource_id_parameters:
        link_post_responses(app, resource_id_parameters)
    return app
