"""``DELETE /v1/actors/{actor_hash}``: GDPR erasure of one person's telemetry.

core-api's retention job calls it with a ``service`` token it signs (docs/privacy.md), once a patient's
erasure grace period has passed; the organization comes from the token, so a call deletes only that
organization's rows of the hash. Every table holding an ``actor_hash`` gets an ``ALTER TABLE ... DELETE``
mutation (on a cluster, on each shard's local table ``ON CLUSTER``). Mutations run in the background: the
answer (202) means they are queued, and ClickHouse completes them in order. By the time erasure runs the
patient's consent has been at level 0 for the whole grace period, so no row of theirs is still waiting in
the spool.
"""

from __future__ import annotations

from typing import Annotated, Any

from contracts.telemetry import ActorErasure
from contracts.types import HashedId
from litestar import Controller, Request, delete
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler
from litestar.params import PathParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.guards import RoleGuard
from service_common.auth.openapi import bearer_security
from service_common.errors import ForbiddenError, ServiceUnavailableError, problem_responses

from telemetry.clickhouse.server import identifier
from telemetry.clickhouse.store import ClickHouseError
from telemetry.identity import telemetry_actor
from telemetry.reads import HASHED_ID_PATTERN, hashed_id
from telemetry.settings import Settings

ACTOR_TABLES = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports")


async def _refuse_all_but_service(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return
    if telemetry_actor(connection).role != "service":
        raise ForbiddenError("Only core-api's retention job may erase telemetry.")


require_service = RoleGuard(("service",), _refuse_all_but_service)
"""A guard refusing (403) every token but core-api's ``service`` tokens."""


def erasure_statements(cluster: str, org_hash: str, actor_hash: str) -> list[str]:
    """One DELETE mutation per table; the hashes match ``HashedId`` (letters, digits, ``-``, ``_``)."""
    where = f"org_hash = '{hashed_id(org_hash)}' AND actor_hash = '{hashed_id(actor_hash)}'"
    if cluster:
        return [
            f"ALTER TABLE {identifier(table)}_local ON CLUSTER {identifier(cluster)} DELETE WHERE {where}"
            for table in ACTOR_TABLES
        ]
    return [f"ALTER TABLE {identifier(table)} DELETE WHERE {where}" for table in ACTOR_TABLES]


class ActorErasureController(Controller):
    path = "/v1/actors"
    tags = ["privacy"]
    security = bearer_security()
    guards = [require_service]

    @delete(
        "/{actor_hash:str}",
        operation_id="EraseActorTelemetry",
        status_code=HTTP_202_ACCEPTED,
        responses=problem_responses(401, 403, 422, 503),
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        state: State,
        # The bounds are repeated here: Litestar does not apply HashedId's own to a path parameter.
        actor_hash: Annotated[
            HashedId,
            PathParameter(
                min_length=1,
                max_length=128,
                pattern=HASHED_ID_PATTERN,
                description="The keyed hash of the person to erase.",
            ),
        ],
    ) -> ActorErasure:
        """Delete every telemetry row of ``actor_hash`` in the caller's organization (core-api only)."""
        actor = telemetry_actor(request)
        settings: Settings = state.settings
        try:
            for statement in erasure_statements(settings.clickhouse.cluster, actor.org_hash, actor_hash):
                await state.store.execute(statement)
        except ClickHouseError as exc:
            raise ServiceUnavailableError("The telemetry store is unavailable; retry later.") from exc
        return ActorErasure(actor_hash=actor_hash, tables=list(ACTOR_TABLES))
