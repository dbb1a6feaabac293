"""The ClickHouse migrations apply on both engines, using newer features only where they exist."""

from __future__ import annotations

import pytest
from telemetry.clickhouse.migrate import MigrationError, Statement, discover, migrate, render
from telemetry.clickhouse.store import ClickHouseStore, ServerFeatures

pytestmark = pytest.mark.anyio

OLD = ServerFeatures((18, 16))
NEW = ServerFeatures((26, 9))


async def test_apply_twice_on_each_engine(store: ClickHouseStore) -> None:
    first = await migrate(store)
    second = await migrate(store)

    assert first == [m.version for m in discover()]
    assert second == []
    tables = {
        row["name"] for row in await store.select(f"SELECT name FROM system.tables WHERE database = '{store.database}'")
    }
    assert {
        "schema_migrations",
        "media_events",
        "pose_tracking_frames",
        "analytics_events",
        "error_reports",
        "ingest_batches",
    } <= tables


async def test_retention_and_precision_follow_the_engine(store: ClickHouseStore) -> None:
    await migrate(store)
    engines = {
        row["name"]: row["engine_full"]
        for row in await store.select(
            f"SELECT name, engine_full FROM system.tables WHERE database = '{store.database}'"
        )
    }
    types = {
        row["name"]: row["type"]
        for row in await store.select(
            f"SELECT name, type FROM system.columns WHERE database = '{store.database}' AND table = 'media_events'"
        )
    }
    if store.backend == "embedded":
        assert "toIntervalYear(2)" in engines["media_events"]
        assert "toIntervalMonth(6)" in engines["pose_tracking_frames"]
        assert "toIntervalYear(2)" in engines["analytics_events"]
        assert "toIntervalDay(90)" in engines["error_reports"]
        assert "toIntervalDay(7)" in engines["ingest_batches"]
        assert types["event_time"] == "DateTime64(3, 'UTC')"
        assert types["connection_type"] == "LowCardinality(String)"
    else:
        assert not any("TTL" in engine for engine in engines.values())
        assert types["event_time"] == "DateTime('UTC')"
        assert types["connection_type"] == "String"


def test_statements_marked_with_a_feature_are_skipped_on_older_engines() -> None:
    statement = Statement("ALTER TABLE t MODIFY TTL at + INTERVAL 1 DAY", requires="ttl")
    assert render(statement, OLD) is None
    assert render(statement, NEW) == statement.sql


def test_macros_expand_per_engine() -> None:
    statement = Statement("CREATE TABLE t (at {timestamp_ms}, k {lc_string}) ENGINE = Log", requires=None)
    assert render(statement, OLD) == "CREATE TABLE t (at DateTime('UTC'), k String) ENGINE = Log"
    assert render(statement, NEW) == ("CREATE TABLE t (at DateTime64(3, 'UTC'), k LowCardinality(String)) ENGINE = Log")


def test_unknown_features_and_macros_are_errors() -> None:
    with pytest.raises(MigrationError, match="unknown feature"):
        render(Statement("SELECT 1", requires="time_travel"), NEW)
    with pytest.raises(MigrationError, match="unknown macro"):
        render(Statement("CREATE TABLE t (a {uint_big}) ENGINE = Log", requires=None), NEW)


def test_every_shipped_statement_splits_with_its_requirement() -> None:
    for migration in discover():
        statements = migration.statements()
        assert statements
        for statement in statements:
            assert not statement.sql.rstrip().endswith(";")
            assert statement.requires in (None, "ttl")


async def test_every_ingest_table_is_partitioned_by_month_of_arrival(store: ClickHouseStore) -> None:
    await migrate(store)
    rows = await store.select(
        f"SELECT name, partition_key FROM system.tables WHERE database = '{store.database}' "
        "AND name IN ('media_events', 'pose_tracking_frames', 'analytics_events', 'error_reports')"
        if store.backend == "embedded"
        else f"SELECT name, engine_full AS partition_key FROM system.tables WHERE database = '{store.database}' "
        "AND name IN ('media_events', 'pose_tracking_frames', 'analytics_events', 'error_reports')"
    )
    assert len(rows) == 4
    assert all("toYYYYMM(received_at)" in row["partition_key"] for row in rows)
    batch_columns = await store.select(
        f"SELECT table FROM system.columns WHERE database = '{store.database}' AND name = 'batch_id'"
    )
    assert {row["table"] for row in batch_columns} >= {
        "media_events",
        "pose_tracking_frames",
        "analytics_events",
        "error_reports",
    }
