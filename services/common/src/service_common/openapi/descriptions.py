"""What each operation tells a client beyond its schemas: tags, summary, who may call it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema, Tag
from litestar.routes import HTTPRoute

from service_common.auth.guards import RoleGuard
from service_common.openapi.operations import OPERATION_METHODS

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
                if method.lower() in OPERATION_METHODS:
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
