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

from typing import Annotated

from contracts.actor_erasure import ActorErasure
from contracts.types import HashedId
from litestar import Controller, delete
from litestar.datastructures import State
from litestar.status_codes import HTTP_202_ACCEPTED
from service_common.auth.openapi import bearer_security
from service_common.errors import ServiceUnavailableError, problem_responses

from telemetry.clickhouse.sql import identifier, render
from telemetry.clickhouse.store import ClickHouseError
from telemetry.dependencies import CurrentActor, Store
from telemetry.identity import only_role
from telemetry.read_parameters import hashed_id_in_path
from telemetry.settings import Settings

ACTOR_TABLES = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports")

_DELETE = "ALTER TABLE {table} DELETE WHERE org_hash = {org_hash} AND actor_hash = {actor_hash}"
_ON_CLUSTER = "{table} ON CLUSTER {cluster}"


require_service = only_role("service", "Only core-api's retention job may erase telemetry.")
"""A guard refusing (403) every token but core-api's ``service`` tokens."""


def erasure_statements(cluster: str, org_hash: str, actor_hash: str) -> list[str]:
    """One DELETE mutation per table, of each shard's local table ``ON CLUSTER`` when ``cluster`` is set."""
    return [
        render(
            _DELETE,
            table=render(_ON_CLUSTER, table=identifier(f"{table}_local"), cluster=identifier(cluster))
            if cluster
            else identifier(table),
            org_hash=org_hash,
            actor_hash=actor_hash,
        )
        for table in ACTOR_TABLES
    ]


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
        actor: CurrentActor,
        store: Store,
        state: State,
        # hashed_id_in_path repeats HashedId's bounds: Litestar does not apply them to a path parameter.
        actor_hash: Annotated[HashedId, hashed_id_in_path("The keyed hash of the person to erase.")],
    ) -> ActorErasure:
        """Delete every telemetry row of ``actor_hash`` in the caller's organization (core-api only)."""
        settings: Settings = state.settings
        try:
            for statement in erasure_statements(settings.clickhouse.cluster, actor.org_hash, actor_hash):
                await store.execute(statement)
        except ClickHouseError as exc:
            raise ServiceUnavailableError("The telemetry store is unavailable; retry later.") from exc
        return ActorErasure(actor_hash=actor_hash, tables=list(ACTOR_TABLES))
