"""Audit rules: an organization's admin verifies the organization's own chain."""

from __future__ import annotations

from contracts.audit import AuditChainReport
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor

from core_api.audit.chain import verify_chain
from core_api.db.tenancy import actor_transaction


class AuditService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection]) -> None:
        self._pool = pool

    async def verify(self, actor: Actor) -> AuditChainReport:
        # Row-level security limits the walk to the actor's organization whatever the query names.
        async with actor_transaction(self._pool, actor) as conn:
            return await verify_chain(conn, actor.organization_id)
