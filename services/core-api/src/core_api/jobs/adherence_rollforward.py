"""Roll every active enrollment's weekly adherence forward: ``python -m core_api.jobs.adherence_rollforward``.

Nightly, so weeks without any activity still get their rows (and are finalized once closed) and their
``adherence.below_threshold`` alerts. Like every job it works one organization at a time as the owner role
(``core_api.jobs.tenancy``), each organization in its own transaction. Loading
is set-based: the organization's active enrollments, their status history and their sessions of the last
16 days in three queries; the engine runs per enrollment in Python over the two weeks it writes. Two more
reads find the week rows that are final already and the weeks that have their ``below_threshold`` alert
already: no report is built for the first (the upsert would not refresh them) and no alert offered for the
second (it would conflict), so it writes exactly what ``recompute_weekly`` per enrollment writes. The other
rows are written in one statement; the alerts are inserted in one statement, and each one that is new writes
its outbox event with an INSERT of its own, one round trip after another. Running it twice changes nothing
but ``computed_at`` of weeks still open.

It also makes the evidence collection of every completion still ``pending`` a day after it was completed due
now (docs/adherence.md, "Verified adherence"), in one statement.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from psycopg import AsyncConnection

from core_api.adherence import repository as repo
from core_api.adherence.alerts import raise_alerts, threshold_alerts
from core_api.adherence.history import recent_weeks, week_row
from core_api.adherence.loading import load
from core_api.enrollments.weeks import week_start
from core_api.evidence.repository import requeue_stale
from core_api.jobs.tenancy import each_organization, job_database_url, run_job

log = structlog.get_logger("jobs.adherence_rollforward")


@dataclass(frozen=True)
class Rolled:
    enrollments: int
    weeks: int
    alerts: int
    evidence_requeued: int = 0


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs), then resume it. An organization's run allocates some
    hundred thousand objects (rows, slots, reports) that form no cycles of their own and are freed by
    reference counting; the collector would only traverse them again and again as they accumulate (about a
    seventh of the job's Python time, measured). The few cycles psycopg and asyncio make are collected once
    it resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def roll_organization(conn: AsyncConnection, as_of: datetime) -> Rolled:
    """Write the current and previous week of every active enrollment visible on ``conn``."""
    with _cyclic_gc_paused():
        return await _roll(conn, as_of)


async def _roll(conn: AsyncConnection, as_of: datetime) -> Rolled:
    enrollments = await load(conn, await repo.enrollments(conn, active_only=True), as_of, "recent")
    weeks = [
        (each, index, week_start(each.row.start_date, index)) for each in enrollments for index in recent_weeks(each)
    ]
    rows = []
    alerts = []
    if weeks:
        first, last = min(start for _, _, start in weeks), max(start for _, _, start in weeks)
        # Most nights every enrollment's previous week is final already (it would not be refreshed) and many
        # weeks have their alert already (recorded once): neither report nor evidence is built for those.
        final = await repo.final_weeks(conn, first, last)
        alerted = await repo.alerted_weeks(conn, [each.row.id for each in enrollments], "below_threshold", first, last)
        for enrollment, index, start in weeks:
            if (enrollment.row.id, start) not in final:
                rows.append(week_row(enrollment, index))
            if (enrollment.row.id, start) not in alerted:
                alerts.extend(threshold_alerts(enrollment, [index]))
    await repo.upsert_weekly_reports(conn, rows)
    raised = await raise_alerts(conn, alerts)
    requeued = await requeue_stale(conn)
    return Rolled(enrollments=len(enrollments), weeks=len(weeks), alerts=raised, evidence_requeued=requeued)


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
            "evidence_requeued": sum(each.evidence_requeued for each in rolled.values()),
        },
    )


if __name__ == "__main__":
    main()
