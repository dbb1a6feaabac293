"""Role guards: :class:`RoleGuard`, a guard that states the roles it admits, and :func:`allow_roles`.

core-api's controllers and routes take ``guards=[allow_roles("specialist", "admin")]``; telemetry builds
its own :class:`RoleGuard` s on its caller (``telemetry.identity.require_staff``, the consent guards of the
ingest routes, the erasure route's). :func:`service_common.openapi.descriptions.document_operations` reads the roles
of each operation's role guards into the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, get_args

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from service_common.auth.actor import Role, current_actor
from service_common.errors import ForbiddenError


class RoleGuard:
    """A guard that admits only callers with one of ``roles`` (``check`` refuses the others) and says so:
    the OpenAPI document states each operation's roles from its role guards
    (:func:`service_common.openapi.descriptions.document_operations`)."""

    def __init__(
        self,
        roles: tuple[str, ...],
        check: Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]],
    ) -> None:
        self.roles = roles
        self._check = check

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await self._check(connection, handler)


def allow_roles(*roles: Role) -> RoleGuard:
    """A guard that lets only callers with one of ``roles`` through; others get a 403 problem."""
    unknown = set(roles) - set(get_args(Role))
    if unknown or not roles:
        raise ValueError(f"allow_roles needs roles among {get_args(Role)}, got {roles}")
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # A controller's guards also cover Litestar's automatic OPTIONS handler, which needs no token.
        if connection.scope.get("method") == "OPTIONS":
            return
        if current_actor(connection).role not in allowed:
            raise ForbiddenError(f"This operation is for the roles {', '.join(sorted(allowed))}.")

    return RoleGuard(tuple(sorted(allowed)), guard)
