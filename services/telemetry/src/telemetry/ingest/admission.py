"""What admits a request to an ingest route before its body is read: the caller's rate limit and consent, and
the answer (429 or 503 with ``Retry-After``) when the service cannot take it now."""

from __future__ import annotations

from typing import Any

from contracts.problems import PROBLEM_TYPE_BASE, Problem
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import ExceptionHandlersMap
from service_common.auth.guards import RoleGuard
from service_common.errors import problem_response

from telemetry.identity import check_consent
from telemetry.ingest.ratelimit import RateLimitedError, rate_limit
from telemetry.spool.spool import SpoolFullError


def admit(level: int, *, biometric: bool = False) -> RoleGuard:
    """An ingest route's guard: the caller's rate limit (every authenticated request counts), then its
    consent, both before the body is read. One guard rather than two because Litestar copies the route
    handler for each guard it runs, a measurable part of a small request (docs/performance.md)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await rate_limit(connection, handler)
        check_consent(connection, level, biometric=biometric)

    # Only patients' devices send telemetry (check_consent refuses the other roles).
    return RoleGuard(("patient",), guard)


def retry_later(_: Request[Any, Any, Any], exc: SpoolFullError | RateLimitedError) -> Response[bytes]:
    """The 503 or 429 problem of a full spool or a spent rate limit, with ``Retry-After``."""
    return problem_response(
        Problem(
            type=f"{PROBLEM_TYPE_BASE}{exc.slug}",
            title=exc.title,
            status=int(exc.status),
            detail=exc.detail,
        ),
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


RETRY_LATER: ExceptionHandlersMap = {SpoolFullError: retry_later, RateLimitedError: retry_later}
"""The exception handlers of every ingest route."""
