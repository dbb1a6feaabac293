"""Transactions scoped to one organization and one actor, the basis of row-level security.

Every request that touches org-owned rows runs inside :func:`scoped_transaction`: it sets
``app.organization_id``, ``app.user_id`` and ``app.role`` with ``set_config(..., true)``, which lasts until
the transaction ends, so a pooled connection never carries one request's tenant into the next.
(psycopg binds parameters on the server, where ``SET LOCAL x = $1`` is a syntax error.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

SET_SCOPE = """
SELECT set_config('app.organization_id', %(organization_id)s, true),
       set_config('app.user_id', %(user_id)s, true),
       set_config('app.role', %(role)s, true)
"""


@asynccontextmanager
async def scoped_transaction(
    pool: AsyncConnectionPool[AsyncConnection], *, organization_id: int, user_id: int, role: str
) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that sees only ``organization_id``'s rows; commits on success."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            SET_SCOPE,
            {"organization_id": str(organization_id), "user_id": str(user_id), "role": role},
        )
        yield conn
