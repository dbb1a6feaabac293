"""Transactions scoped to one organization and one actor, the basis of row-level security.

Every request that touches org-owned rows runs inside :func:`scoped_transaction`: its first statement
sets ``app.organization_id``, ``app.user_id``, ``app.role``, ``app.patient_id`` and ``app.platform_admin``
with ``set_config(..., true)``, which lasts until the transaction ends, so a pooled connection never
carries one request's tenant into the next.
(psycopg binds parameters on the server, where ``SET LOCAL x = $1`` is a syntax error.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor

SET_SCOPE = """
SELECT set_config('app.organization_id', %(organization_id)s, true),
       set_config('app.user_id', %(user_id)s, true),
       set_config('app.role', %(role)s, true),
       set_config('app.patient_id', %(patient_id)s, true),
       set_config('app.platform_admin', %(platform_admin)s, true)
"""


@asynccontextmanager
async def scoped_transaction(
    pool: AsyncConnectionPool[AsyncConnection],
    *,
    organization_id: int,
    user_id: int,
    role: str,
    patient_id: int | None = None,
    platform_admin: bool = False,
) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that sees only ``organization_id``'s rows (and, for a patient, only
    their own); commits when the block exits normally, rolls back when it raises."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            SET_SCOPE,
            {
                "organization_id": str(organization_id),
                "user_id": str(user_id),
                "role": role,
                "patient_id": "" if patient_id is None else str(patient_id),
                "platform_admin": "true" if platform_admin else "false",
            },
        )
        yield conn


def system_transaction(
    pool: AsyncConnectionPool[AsyncConnection], organization_id: int
) -> AbstractAsyncContextManager[AsyncConnection]:
    """A transaction in the organization's tenant as a background process (role ``system``, no user): the
    dispatcher's webhook deliveries and evidence collection."""
    return scoped_transaction(pool, organization_id=organization_id, user_id=0, role="system")


def actor_transaction(
    pool: AsyncConnectionPool[AsyncConnection], actor: Actor
) -> AbstractAsyncContextManager[AsyncConnection]:
    """:func:`scoped_transaction` for the authenticated ``actor`` of a request."""
    return scoped_transaction(
        pool,
        organization_id=actor.organization_id,
        user_id=actor.user_id,
        role=actor.role,
        patient_id=actor.patient_id,
        platform_admin=actor.platform_admin,
    )


class PoolService:
    """What every area's service holds: the pool its requests' transactions (:func:`actor_transaction`) run on."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection]) -> None:
        self._pool = pool
