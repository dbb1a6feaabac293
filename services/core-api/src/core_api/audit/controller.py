"""HTTP route of the audit log: verify the organization's hash chain (admins only)."""

from __future__ import annotations

from contracts.audit import AuditChainReport
from litestar import Controller, Request, get
from litestar.datastructures import State
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.audit.service import AuditService


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    security = bearer_security()
    guards = [allow_roles("admin")]

    @get("/verify", operation_id="VerifyAuditChain", responses=problem_responses(401, 403))
    async def verify(self, request: Request, state: State) -> AuditChainReport:  # type: ignore[type-arg]
        """Recompute every link of the organization's audit chain, oldest first, and report the first broken
        one (an edited, reordered or deleted row); ``ok`` when there is none. Reads the whole chain."""
        return await AuditService(state.pool).verify(current_actor(request))
