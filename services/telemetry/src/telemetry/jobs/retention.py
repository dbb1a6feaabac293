"""Retention where ClickHouse has no TTL: ``python -m telemetry.jobs.retention``, run daily (a CronJob).

ClickHouse 18.16 has no TTL clause (19.6 added it), so there this job enforces the retention the
migrations state as TTLs elsewhere. Every table is partitioned by ``toYYYYMM(received_at)``; a monthly
partition whose last second is older than a table's retention is dropped whole
(``ALTER TABLE ... DROP PARTITION``), which frees its disk at once and never rewrites data. A partition
is dropped only when *all* of it is past retention, so rows live up to one month longer than their
period, never shorter. Bandwidth samples (the network columns of ``media_events``) are kept 90 days
although their rows are kept two years: partitions past that are cleared of those columns
(``ALTER TABLE ... CLEAR COLUMN ... IN PARTITION``), resetting them to 0, "not reported" for the read
routes.

On a cluster (CLICKHOUSE_CLUSTER) of such servers the partitions are found through the Distributed
tables (every shard's rows) and dropped or cleared in each shard's ``<table>_local`` ``ON CLUSTER``: the
tables are replicated, so one replica of each shard runs the ALTER and the other copies it. On an engine
with TTL (chdb, ClickHouse 19.6+) the table and column TTLs of the migrations do this, and the job only
logs that it has nothing to do. Periods come from the ``RETENTION_*`` settings. Every run logs, per table,
the partitions and rows it removed (structlog, no row contents).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from service_common.logging import configure_logging

from telemetry.clickhouse.migrate import LOCAL_SUFFIX
from telemetry.clickhouse.open import open_store
from telemetry.clickhouse.sql import Sql, identifier, render
from telemetry.clickhouse.store import ClickHouseStore, ServerFeatures
from telemetry.settings import RetentionSettings, load_settings

log = structlog.get_logger("jobs.retention")

BANDWIDTH_COLUMNS = ("effective_bandwidth_mbps", "ttfb_ms", "rtt_ms", "cdn_response_time_ms")
"""The network measurements of ``media_events`` that are bandwidth samples (90 days, not two years)."""

_PARTITIONS = """
SELECT table, partition, sum(rows) AS partition_rows
FROM system.parts
WHERE database = currentDatabase() AND active AND table IN {tables}
GROUP BY table, partition
ORDER BY table, partition
"""

# Rows of old partitions that still hold a bandwidth sample; already cleared partitions are skipped.
_UNCLEARED_BANDWIDTH = """
SELECT toString(toYYYYMM(received_at)) AS partition, count() AS partition_rows
FROM media_events
WHERE received_at < {before} AND ({any_sample})
GROUP BY partition
ORDER BY partition
"""

# On a cluster: the partitions of every shard, read through the Distributed table.
_CLUSTER_PARTITIONS = """
SELECT {name} AS table, toString(toYYYYMM(received_at)) AS partition, count() AS partition_rows
FROM {table}
GROUP BY partition
ORDER BY partition
"""
_ON_CLUSTER = "{table} ON CLUSTER {cluster}"

_ANY_SAMPLE = Sql(" OR ".join(f"{identifier(column)} != 0" for column in BANDWIDTH_COLUMNS))
_DROP_PARTITION = "ALTER TABLE {table} DROP PARTITION {partition}"
_CLEAR_COLUMN = "ALTER TABLE {table} CLEAR COLUMN {column} IN PARTITION {partition}"

_MONTH = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})$")


@dataclass(frozen=True)
class TableRetention:
    """What one run removed from one table."""

    table: str
    days: int
    partitions: list[str]
    rows: int
    """Rows dropped, or for the bandwidth columns, rows whose samples were cleared."""
    cleared_columns: tuple[str, ...] = ()


def table_periods(settings: RetentionSettings) -> dict[str, int]:
    """Days each table's rows are kept."""
    return {
        "media_events": settings.media_days,
        "pose_tracking_frames": settings.pose_days,
        "analytics_events": settings.analytics_days,
        "error_reports": settings.errors_days,
        "ingest_batches": settings.ingest_batches_days,
    }


def month_end(partition: str) -> datetime | None:
    """The first moment after the monthly partition ``YYYYMM``; None for a partition of another shape."""
    match = _MONTH.match(partition)
    if match is None:
        return None
    year, month = int(match["year"]), int(match["month"])
    if not 1 <= month <= 12:
        return None
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _first_kept_month(cutoff: datetime) -> datetime:
    """The start of the month holding ``cutoff``: partitions ending at or before it are wholly older."""
    return cutoff.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _altered(table: str, cluster: str) -> Sql:
    """What an ALTER of ``table`` names: the table, or on ``cluster`` each shard's local table."""
    if not cluster:
        return identifier(table)
    return render(_ON_CLUSTER, table=identifier(f"{table}{LOCAL_SUFFIX}"), cluster=identifier(cluster))


async def _partitions(store: ClickHouseStore, tables: list[str], cluster: str) -> list[dict[str, Any]]:
    """Rows of (table, partition, partition_rows) of ``tables``, of every shard on ``cluster``."""
    if not cluster:
        return await store.select(render(_PARTITIONS, tables=tables))
    return [
        row
        for table in tables
        for row in await store.select(render(_CLUSTER_PARTITIONS, name=table, table=identifier(table)))
    ]


async def apply_retention(
    store: ClickHouseStore, settings: RetentionSettings, now: datetime | None = None, cluster: str = ""
) -> list[TableRetention]:
    """Drop (and for bandwidth samples, clear) the monthly partitions wholly past retention, of every
    shard's local table when ``cluster`` is set; nothing on an engine with TTL. Returns what was removed,
    per table."""
    version = await store.server_version()
    if ServerFeatures.parse(version).ttl:
        log.info("retention.ttl_applies", backend=store.backend, version=version)
        return []
    now = now or datetime.now(UTC)
    periods = table_periods(settings)
    parts = await _partitions(store, list(periods), cluster)
    report: list[TableRetention] = []
    for table, days in periods.items():
        cutoff = now - timedelta(days=days)
        expired = [
            (str(row["partition"]), int(row["partition_rows"]))
            for row in parts
            if row["table"] == table and (end := month_end(str(row["partition"]))) is not None and end <= cutoff
        ]
        for partition, _ in expired:
            await store.execute(render(_DROP_PARTITION, table=_altered(table, cluster), partition=int(partition)))
        done = TableRetention(table, days, [p for p, _ in expired], sum(rows for _, rows in expired))
        log.info(
            "retention.table_done",
            table=table,
            retention_days=days,
            partitions_dropped=done.partitions,
            rows_dropped=done.rows,
        )
        report.append(done)
    report.append(await _clear_bandwidth(store, settings.bandwidth_days, now, cluster))
    return report


async def _clear_bandwidth(store: ClickHouseStore, days: int, now: datetime, cluster: str) -> TableRetention:
    before = _first_kept_month(now - timedelta(days=days))
    rows = await store.select(render(_UNCLEARED_BANDWIDTH, before=before, any_sample=_ANY_SAMPLE))
    partitions = [str(row["partition"]) for row in rows if month_end(str(row["partition"])) is not None]
    for partition in partitions:
        for column in BANDWIDTH_COLUMNS:
            await store.execute(
                render(
                    _CLEAR_COLUMN,
                    table=_altered("media_events", cluster),
                    column=identifier(column),
                    partition=int(partition),
                )
            )
    done = TableRetention(
        "media_events",
        days,
        partitions,
        sum(int(row["partition_rows"]) for row in rows),
        cleared_columns=BANDWIDTH_COLUMNS,
    )
    log.info(
        "retention.bandwidth_cleared",
        table="media_events",
        retention_days=days,
        columns=list(BANDWIDTH_COLUMNS),
        partitions_cleared=done.partitions,
        rows_cleared=done.rows,
    )
    return done


async def _main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    store = open_store(settings.clickhouse)
    try:
        await apply_retention(store, settings.retention, cluster=settings.clickhouse.cluster)
    finally:
        await store.close()


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
