"""The authenticated caller of core-api: its :class:`Actor`, the roles, :func:`current_actor`, and
:func:`caller_dependency`, which hands a service's caller to its handlers.

:class:`service_common.auth.verifier.TokenVerifier` builds the actor from a verified token and
:class:`service_common.auth.middleware.BearerAuthMiddleware` stores it as ``scope["user"]``, where guards
read it with :func:`current_actor` and handlers receive it as their ``actor`` dependency
(``caller_dependency(current_actor)``). (Telemetry's tokens describe a different caller,
``telemetry.identity.TelemetryActor``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ImproperlyConfiguredException

Role = Literal["admin", "specialist", "patient"]
"""What a user may do: administer an organization, treat its patients, or follow a program."""

CallerT = TypeVar("CallerT")


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as its verified token describes it."""

    user_id: int
    role: Role
    organization_id: int
    # Set exactly when ``role`` is ``patient``: the patient record this user is.
    patient_id: int | None
    # An admin of the platform operator, who may write global (organization-less) rows.
    platform_admin: bool = False


CurrentActor = NamedDependency[Actor]
"""A handler parameter ``actor: CurrentActor`` receives the caller (the app's ``actor`` dependency)."""


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The authenticated caller of ``connection``.

    Raises ``ImproperlyConfiguredException`` (a 500) on a route the middleware does not cover: that is a
    bug in the route's set-up, not something a client did.
    """
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):
        raise ImproperlyConfiguredException("no authenticated actor: the route is not behind auth_middleware")
    return actor


def caller_dependency(read: Callable[[ASGIConnection[Any, Any, Any, Any]], CallerT]) -> Provide:
    """A dependency that gives a handler the caller ``read`` takes from its request (``current_actor`` for
    core-api), registered app-wide as ``actor`` so that handlers declare ``actor: Actor`` instead of reading
    the request. It takes no parameter of its own: the OpenAPI documents and the strict request hook see
    none."""

    def provide_caller(request: Request[Any, Any, Any]) -> CallerT:
        return read(request)

    return Provide(provide_caller, sync_to_thread=False)
