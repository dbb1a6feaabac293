"""The lock every change to a treatment plan, its sessions or their exercises starts with.

Taking the plan row ``FOR UPDATE`` first makes concurrent changes of one plan (a publish racing a session
reorder, two reorders) run one after the other, each seeing what the previous one committed.
"""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection
from service_common.errors import ForbiddenError, NotFoundError

from core_api.plans import repository as repo


async def lock_for_change(conn: AsyncConnection, plan_id: UUID) -> repo.LockedPlan:
    """Lock the plan for a change; 404 when the caller cannot see it, 403 when it is a global plan."""
    current = await repo.lock_plan(conn, plan_id)
    if current is not None:
        return current
    # Row-level security lets an organization read global plans but not lock (update) them.
    if await repo.plan_detail(conn, plan_id) is not None:
        raise ForbiddenError("global treatment plans can only be changed by platform administrators")
    raise NotFoundError(f"treatment plan {plan_id} does not exist")
