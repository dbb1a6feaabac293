"""``/healthz`` (the process answers) and ``/readyz`` (its database answers) for both services.

Kubernetes restarts a pod whose liveness probe fails and takes it out of the load balancer while its
readiness probe fails, so liveness must not depend on the database: a database outage must not restart
every pod at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

import structlog
from contracts.health import Health, Readiness
from litestar import Response, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

ReadinessCheck = Callable[[State], Awaitable[None]]
"""Raises when the dependency it checks cannot serve requests."""

log = structlog.get_logger("health")


@get("/healthz", operation_id="GetHealth", tags=["health"], summary="The process is alive")
async def healthz() -> Health:
    """Answers 200 while the process serves requests, whatever its dependencies do (the liveness probe)."""
    return Health(status="ok")


def readiness_route(checks: Mapping[str, ReadinessCheck]) -> HTTPRouteHandler:
    """A ``/readyz`` route that runs every named check and answers 503 when any of them fails."""

    @get(
        "/readyz",
        operation_id="GetReadiness",
        tags=["health"],
        summary="Every dependency answers",
        responses={
            HTTPStatus.SERVICE_UNAVAILABLE: ResponseSpec(
                data_container=Readiness, description="A dependency does not answer", generate_examples=False
            ),
        },
    )
    async def readyz(state: State) -> Response[Readiness]:
        """Answers 200 when every dependency answers, 503 with the failing ones named otherwise (the
        readiness probe)."""
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check(state)
            except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
                log.warning("readiness.failed", check=name, error_type=type(exc).__name__)
                results[name] = "unavailable"
            else:
                results[name] = "ok"
        ready = all(result == "ok" for result in results.values())
        return Response(
            Readiness(status="ready" if ready else "unavailable", checks=results),
            status_code=HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
        )

    return readyz
