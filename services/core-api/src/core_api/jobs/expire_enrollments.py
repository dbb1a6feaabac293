"""Expire enrollments whose end_date has passed: ``python -m core_api.jobs.expire_enrollments``.

Every table the job touches forces row-level security, so it works one organization at a time with that
tenant set, as the app does for a request (role ``system``: it sees every patient of the organization).
It connects with MIGRATIONS_DATABASE_URL (else DATABASE_URL) and acts as the owner role, the one role a
policy lets list every organization (migration 0003). Each organization is its own transaction: one that
fails is logged and the others still run; the next run retries it. Running it twice expires nothing new,
and reads expire lazily anyway, so a missed run delays nothing a user sees.
"""

from __future__ import annotations

import asyncio

import structlog
from psycopg import AsyncConnection, sql
from service_common.logging import configure_logging

from core_api.domain.enrollments.service import expire_overdue
from core_api.settings import load_settings

log = structlog.get_logger("jobs.expire_enrollments")

ORGANIZATIONS = "SELECT id FROM organizations WHERE deleted_at IS NULL ORDER BY id"
SET_TENANT = """
SELECT set_config('app.organization_id', %(organization_id)s, true),
       set_config('app.user_id', '', true),
       set_config('app.role', 'system', true),
       set_config('app.patient_id', '', true),
       set_config('app.platform_admin', 'false', true)
"""


async def expire_all(conninfo: str, owner_role: str = "rehab_owner") -> dict[int, int]:
    """Expire the overdue enrollments of every organization; organization id → number expired."""
    expired: dict[int, int] = {}
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)))
        organizations = [row[0] for row in await (await conn.execute(ORGANIZATIONS)).fetchall()]
        for organization_id in organizations:
            try:
                async with conn.transaction():
                    await conn.execute(SET_TENANT, {"organization_id": str(organization_id)})
                    expired[organization_id] = await expire_overdue(conn)
            except Exception:
                log.exception("expire_enrollments.organization_failed", organization_id=organization_id)
    return expired


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    url = settings.migrations.database_url or settings.database.url
    if not url:
        raise SystemExit("set MIGRATIONS_DATABASE_URL or DATABASE_URL")
    expired = asyncio.run(expire_all(url, settings.migrations.owner_role))
    log.info(
        "expire_enrollments.done",
        organizations=len(expired),
        expired=sum(expired.values()),
    )


if __name__ == "__main__":
    main()
