"""The authenticated caller of core-api: its :class:`Actor`, the roles, and :func:`current_actor`.

:class:`service_common.auth.verifier.TokenVerifier` builds the actor from a verified token and
:class:`service_common.auth.middleware.BearerAuthMiddleware` stores it as ``scope["user"]``, where handlers
and guards read it with :func:`current_actor`. (Telemetry's tokens describe a different caller,
``telemetry.identity.TelemetryActor``.)
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ImproperlyConfiguredException

Role = Literal["admin", "specialist", "patient"]
"""What a user may do: administer an organization, treat its patients, or follow a program."""


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as its verified token describes it."""

    user_id: int
    role: Role
    organization_id: int
    # Set exactly when ``role`` is ``patient``: the patient record this user is.
    patient_id: int | None
    # An admin of the platform operator, who may write global (organization-less) rows.
    platform_admin: bool = False


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The authenticated caller of ``connection``.

    Raises ``ImproperlyConfiguredException`` (a 500) on a route the middleware does not cover: that is a
    bug in the route's set-up, not something a client did.
    """
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):
        raise ImproperlyConfiguredException("no authenticated actor: the route is not behind auth_middleware")
    return actor
