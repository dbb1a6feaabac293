"""What core-api's routes share: who may call them (role guards), the error statuses they document, and
the kinds of route they are.

Every controller's route takes the bearer token (``create_app`` declares it once, on the router that holds
them). A route is declared by its kind, which fixes its method, its success status and the errors it
documents; it names its path, its operation id and the guards of the roles that may call it::

    @create("/", "CreateSpecialty", ADMIN)      # POST, 201, CREATE_ERRORS, admins only

A route whose errors differ from its kind's names them (``errors=WRITE_ERRORS``); one that fits no kind
uses Litestar's own decorator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from litestar import delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import Guard
from service_common.auth.guards import allow_roles
from service_common.errors import problem_responses

ADMIN = allow_roles("admin")
STAFF = allow_roles("admin", "specialist")
# Every role takes part: patients on their own rows, staff on their organization's.
PARTICIPANTS = allow_roles("admin", "specialist", "patient")

Errors = Mapping[int, ResponseSpec]

LIST_ERRORS: Errors = problem_responses(401, 403, 422)
"""A listing or report of the caller's organization: no id that could be missing."""
READ_ERRORS: Errors = problem_responses(401, 403, 404, 422)
"""A read of one resource (or of what hangs from it), which may not exist or not be visible."""
CREATE_ERRORS: Errors = problem_responses(401, 403, 409, 422)
"""A create that may clash with an existing resource."""
WRITE_ERRORS: Errors = problem_responses(401, 403, 404, 409, 422)
"""A write to an existing resource, which may be missing or in a state that refuses the write."""


class RouteKind(Protocol):
    """A kind of route: ``kind(path, operation_id, *guards)`` is the route's decorator."""

    def __call__(
        self, path: str, operation_id: str, *guards: Guard, errors: Errors = ..., **options: Any
    ) -> HTTPRouteHandler: ...


def _kind(method: type[HTTPRouteHandler], kind_errors: Errors, status_code: int | None = None) -> RouteKind:
    """The route kind answering ``method`` with ``status_code`` (Litestar's default for the method when
    ``None``) and documenting ``kind_errors`` unless a route names its own."""

    def route(
        path: str, operation_id: str, *guards: Guard, errors: Errors = kind_errors, **options: Any
    ) -> HTTPRouteHandler:
        if status_code is not None:
            options["status_code"] = status_code
        return method(path, operation_id=operation_id, guards=list(guards) or None, responses=errors, **options)

    return route


read = _kind(get, READ_ERRORS)
"""``GET`` of one resource or of what hangs from it: 200, or 404 when it is missing or not visible."""
listing = _kind(get, LIST_ERRORS)
"""``GET`` of a list or report of the caller's organization."""
create = _kind(post, CREATE_ERRORS, HTTP_201_CREATED)
"""``POST`` that creates a resource: 201 with it."""
act = _kind(post, WRITE_ERRORS, HTTP_200_OK)
"""``POST`` of an action on an existing resource (publish, cancel, retry, ...): 200 with the result."""
update = _kind(put, WRITE_ERRORS)
"""``PUT`` of the fields the body names: 200 with the resource."""
remove = _kind(delete, WRITE_ERRORS, HTTP_204_NO_CONTENT)
"""``DELETE``: 204 without a body."""
