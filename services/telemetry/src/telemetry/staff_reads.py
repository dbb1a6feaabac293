"""The route decorator of the staff read routes: staff only (``identity.require_staff``), the bearer token,
the ``media`` or ``pose`` tag and the errors every read documents. Each route is scoped to the organization
hash of the caller's token, which it takes by injection (``actor``) with the ClickHouse store (``store``)."""

from __future__ import annotations

from litestar import get
from litestar.handlers import HTTPRouteHandler
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from telemetry.identity import require_staff


def staff_read(path: str, *, operation_id: str, tag: str, not_found: bool = False) -> HTTPRouteHandler:
    """A ``GET`` route at ``path`` for staff; ``not_found`` documents its 404 (nothing of the actor in the
    organization)."""
    statuses = (401, 403, 404, 422, 503) if not_found else (401, 403, 422, 503)
    return get(
        path,
        operation_id=operation_id,
        tags=[tag],
        security=bearer_security(),
        guards=[require_staff],
        responses=problem_responses(*statuses),
    )
