"""HTTP route of the audit log: verify the organization's hash chain (admins only)."""

from __future__ import annotations

from contracts.audit import AuditChainReport
from litestar import Controller, get
from service_common.auth.actor import CurrentActor
from service_common.errors import problem_responses

from core_api.dependencies import Audit
from core_api.routing import ADMIN


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    guards = [ADMIN]

    @get("/verify", operation_id="VerifyAuditChain", responses=problem_responses(401, 403))
    async def verify(self, actor: CurrentActor, audit: Audit) -> AuditChainReport:
        """Recompute every link of the organization's audit chain, oldest first, and report the first broken
        one (an edited, reordered or deleted row); ``ok`` when there is none. Reads the whole chain."""
        return await audit.verify(actor)
