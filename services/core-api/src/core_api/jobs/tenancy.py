"""What every maintenance job shares: the owner role's connection and one organization at a time.

Every table the jobs touch forces row-level security, so a job works one organization at a time with that
tenant set, as the app does for a request (role ``system``: it sees every patient of the organization). It
connects with MIGRATIONS_DATABASE_URL (else DATABASE_URL) and acts as the owner role, the one role a policy
lets list every organization (migration 0003).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from psycopg import AsyncConnection, sql
from service_common.logging import configure_logging

from core_api.settings import Settings, load_settings

log = structlog.get_logger("jobs")
T = TypeVar("T")

ORGANIZATIONS = "SELECT id FROM organizations WHERE deleted_at IS NULL ORDER BY id"
SET_TENANT = """
SELECT set_config('app.organization_id', %(organization_id)s, true),
       set_config('app.user_id', '', true),
       set_config('app.role', 'system', true),
       set_config('app.patient_id', '', true),
       set_config('app.platform_admin', 'false', true)
"""


def job_database_url(settings: Settings) -> str:
    """The URL a job connects with; exits with the reason when none is set."""
    url = settings.migrations.database_url or settings.database.url
    if not url:
        raise SystemExit("set MIGRATIONS_DATABASE_URL or DATABASE_URL")
    return url


@asynccontextmanager
async def owner_connection(conninfo: str, owner_role: str) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection acting as ``owner_role``; each job opens its transactions on it."""
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)))
        yield conn


async def organization_ids(conn: AsyncConnection) -> list[int]:
    """The ids of every organization not deleted, in order."""
    return [row[0] for row in await (await conn.execute(ORGANIZATIONS)).fetchall()]


async def set_tenant(conn: AsyncConnection, organization_id: int) -> None:
    """Act for ``organization_id`` (role ``system``) until the current transaction ends."""
    await conn.execute(SET_TENANT, {"organization_id": str(organization_id)})


async def each_organization(
    conninfo: str, owner_role: str, work: Callable[[AsyncConnection], Awaitable[T]], job: str
) -> dict[int, T]:
    """``work`` for every organization, each in its own transaction with its tenant set; organization id →
    its result. One that fails is logged (``<job>.organization_failed``) and the others still run."""
    done: dict[int, T] = {}
    async with owner_connection(conninfo, owner_role) as conn:
        for organization_id in await organization_ids(conn):
            try:
                async with conn.transaction():
                    await set_tenant(conn, organization_id)
                    done[organization_id] = await work(conn)
            except Exception:
                log.exception(f"{job}.organization_failed", organization_id=organization_id)
    return done


def run_job(
    job_log: Any,
    job: str,
    run: Callable[[Settings], Coroutine[Any, Any, T]],
    summary: Callable[[T], Mapping[str, Any]],
) -> None:
    """A job's command line: read the settings, configure logging, run the job and log ``<job>.done`` with
    the counts ``summary`` takes from its result."""
    settings = load_settings()
    configure_logging(settings.log)
    result = asyncio.run(run(settings))
    job_log.info(f"{job}.done", **summary(result))
