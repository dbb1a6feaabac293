"""The psycopg async connection pool core-api serves every request from.

The pool is opened in the app's lifespan without waiting for the database, so the process starts (and
answers ``/healthz``) while PostgreSQL is still coming up; ``/readyz`` reports when it can serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from core_api.settings import DatabaseSettings

# Role attributes that would let the service read every organization's rows.
BYPASSES_RLS = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"


def create_pool(settings: DatabaseSettings) -> AsyncConnectionPool[AsyncConnection]:
    """A closed pool for ``settings``; :func:`pool_lifespan` opens and closes it."""

    async def configure(conn: AsyncConnection) -> None:
        # UTC so timestamps built into JSON by queries carry +00:00 whatever the server's default is.
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false)",
            (str(settings.statement_timeout_ms),),
        )
        await conn.commit()

    return AsyncConnectionPool(
        settings.url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_seconds,
        configure=configure,
        open=False,
        name="core-api",
    )


def pool_lifespan(
    pool: AsyncConnectionPool[AsyncConnection],
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan context manager that opens ``pool`` at start-up and closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=False)
        try:
            yield
        finally:
            await pool.close()

    return lifespan


async def check_database(pool: AsyncConnectionPool[AsyncConnection]) -> None:
    """Raise unless the database answers and the connected role is subject to row-level security."""
    async with pool.connection(timeout=2.0) as conn:
        row = await (await conn.execute(BYPASSES_RLS)).fetchone()
    if row is None or row[0]:
        raise PermissionError("the service's database role bypasses row-level security")
