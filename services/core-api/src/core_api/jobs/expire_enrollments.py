"""Expire enrollments whose end_date has passed: ``python -m core_api.jobs.expire_enrollments``.

One organization at a time as the owner role (``core_api.jobs.tenancy``), each its own transaction: one
that fails is logged and the others still run; the next run retries it. Running it twice expires nothing
new, and reads expire lazily anyway, so a missed run delays nothing a user sees.
"""

from __future__ import annotations

import structlog

from core_api.enrollments.expiry import expire_overdue
from core_api.jobs.tenancy import each_organization, job_database_url, run_job

log = structlog.get_logger("jobs.expire_enrollments")


async def expire_all(conninfo: str, owner_role: str = "rehab_owner") -> dict[int, int]:
    """Expire the overdue enrollments of every organization; organization id → number expired."""
    return await each_organization(conninfo, owner_role, expire_overdue, "expire_enrollments")


def main() -> None:
    run_job(
        log,
        "expire_enrollments",
        lambda settings: expire_all(job_database_url(settings), settings.migrations.owner_role),
        lambda expired: {"organizations": len(expired), "expired": sum(expired.values())},
    )


if __name__ == "__main__":
    main()
