"""Audit rules: an organization's admin verifies the organization's own chain."""

from __future__ import annotations

from contracts.audit import AuditChainReport
from service_common.auth.actor import Actor

from core_api.audit.chain import verify_chain
from core_api.db.tenancy import PoolService, actor_transaction


class AuditService(PoolService):
    async def verify(self, actor: Actor) -> AuditChainReport:
        # Row-level security limits the walk to the actor's organization whatever the query names.
        async with actor_transaction(self._pool, actor) as conn:
            return await verify_chain(conn, actor.organization_id)
