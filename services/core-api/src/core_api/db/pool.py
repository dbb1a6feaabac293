"""The psycopg async connection pool core-api serves every request from.

The pool is opened in the app's lifespan without waiting for the database, so the process starts (and
answers ``/healthz``) while PostgreSQL is still coming up; ``/readyz`` reports when it can serve.
While PostgreSQL is unreachable, restarting or kills a request's backend, the request fails with 503
(:func:`database_unavailable_handlers`) within ``pool_timeout_seconds``, and its transaction is rolled
back by the server; the pool replaces broken connections by itself.
"""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus
from typing import Any

import structlog
from contracts.problems import PROBLEM_TYPE_BASE, Problem
from litestar import Litestar, Request, Response
from litestar.types import ExceptionHandlersMap
from psycopg import AsyncConnection, OperationalError
from psycopg_pool import AsyncConnectionPool
from service_common.errors import problem_response

from core_api.settings import DatabaseSettings

log = structlog.get_logger("database")

# psycopg_pool retries a failed connection attempt with exponential backoff (1 s, 2 s, 4 s, ...) until
# this timeout, and meanwhile starts no other attempt for the same slot: with its default of 5 minutes, a
# pool whose server was down for 30 s waited up to 30 s more after the restart before connecting. Giving up
# early instead lets the next request start a fresh attempt at once.
RECONNECT_TIMEOUT_SECONDS = 5.0

# Role attributes that would let the service read every organization's rows.
BYPASSES_RLS = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"


async def check_idle_connection(conn: AsyncConnection) -> None:
    """Raise unless ``conn``, idle in the pool, still works; a round trip only when it may not.

    A backend that ends (server shutdown or restart, ``pg_terminate_backend``, an idle timeout) sends its
    FATAL message and closes the socket, so the socket of an idle connection it served becomes readable.
    An idle connection whose socket has nothing to read is taken as it is, without the empty query
    ``AsyncConnectionPool.check_connection`` sends: under load that query was one round trip in every
    request (docs/performance.md). A readable one gets that query, which raises if the server has gone.
    """
    if conn.closed or conn.broken:
        raise OperationalError("the connection is closed")
    # poll, not select: a busy process's descriptors may lie beyond select's FD_SETSIZE.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        await AsyncConnectionPool.check_connection(conn)


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
        # A connection the server closed while it sat in the pool (restart, pg_terminate_backend) is
        # replaced on checkout instead of failing the request that took it.
        check=check_idle_connection,
        reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
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


# How long a client should wait before retrying after a 503 for an unavailable database.
RETRY_AFTER_SECONDS = 2


def _on_database_unavailable(request: Request[Any, Any, Any], exc: OperationalError) -> Response[bytes]:
    # Connection refused or lost, backend terminated, pool wait timed out (PoolTimeout is an
    # OperationalError), statement timeout: the transaction did not commit, and a retry may succeed.
    log.warning("database.unavailable", route=request.scope.get("path_template"), error=type(exc).__name__)
    return problem_response(
        Problem(
            type=f"{PROBLEM_TYPE_BASE}service-unavailable",
            title="A dependency is unavailable",
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            detail="The database is unavailable; nothing was changed. Retry later.",
        ),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def database_unavailable_handlers() -> ExceptionHandlersMap:
    """Exception handlers answering 503 problem+json with Retry-After when PostgreSQL cannot serve."""
    return {OperationalError: _on_database_unavailable}
