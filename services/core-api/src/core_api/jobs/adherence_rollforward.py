"""Roll every active enrollment's weekly adherence forward: ``python -m core_api.jobs.adherence_rollforward``.

Nightly, so weeks without any activity still get their rows (and are finalized once closed) and their
``adherence.below_threshold`` alerts. Like every job it works one organization at a time as the owner role
(``core_api.jobs.tenancy``), each organization in its own transaction. Loading
is set-based: the organization's active enrollments, their status history and their sessions of the last
16 days in three queries; the engine runs per enrollment in Python over the two weeks it writes. Writing:
one query finds the week rows that are final already, which are left out, and the others are written in
one statement; the alerts are inserted in one statement, and each one that is new writes its outbox
event with an INSERT of its own, one round trip after another. Running it twice changes nothing but
``computed_at`` of weeks still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from psycopg import AsyncConnection

from core_api.adherence import repository as repo
from core_api.adherence.alerts import raise_alerts, threshold_alerts
from core_api.adherence.history import week_rows
from core_api.adherence.loading import load
from core_api.jobs.tenancy import each_organization, job_database_url, run_job

log = structlog.get_logger("jobs.adherence_rollforward")


@dataclass(frozen=True)
class Rolled:
    enrollments: int
    weeks: int
    alerts: int


async def roll_organization(conn: AsyncConnection, as_of: datetime) -> Rolled:
    """Write the current and previous week of every active enrollment visible on ``conn``."""
    enrollments = await load(conn, await repo.enrollments(conn, active_only=True), as_of, "recent")
    weeks = []
    alerts = []
    for enrollment in enrollments:
        rows = week_rows(enrollment)
        weeks.extend(rows)
        alerts.extend(threshold_alerts(enrollment, rows))
    if weeks:
        # A final row would not be refreshed: leave it out rather than send and parse its report (most
        # nights every enrollment's previous week is final already).
        final = await repo.final_weeks(conn, min(w.week_start for w in weeks), max(w.week_start for w in weeks))
        await repo.upsert_weekly_reports(conn, [w for w in weeks if (w.id, w.week_start) not in final])
    raised = await raise_alerts(conn, alerts)
    return Rolled(enrollments=len(enrollments), weeks=len(weeks), alerts=raised)


async def roll_all(conninfo: str, owner_role: str = "rehab_owner", as_of: datetime | None = None) -> dict[int, Rolled]:
    """Roll every organization forward; organization id → what was written."""
    moment = as_of or datetime.now(UTC)

    async def roll(conn: AsyncConnection) -> Rolled:
        return await roll_organization(conn, moment)

    return await each_organization(conninfo, owner_role, roll, "adherence_rollforward")


def main() -> None:
    run_job(
        log,
        "adherence_rollforward",
        lambda settings: roll_all(job_database_url(settings), settings.migrations.owner_role),
        lambda rolled: {
            "organizations": len(rolled),
            "enrollments": sum(each.enrollments for each in rolled.values()),
            "weeks": sum(each.weeks for each in rolled.values()),
            "alerts": sum(each.alerts for each in rolled.values()),
        },
    )


if __name__ == "__main__":
    main()
