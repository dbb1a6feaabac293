"""The ClickHouse migrations apply on both engines, using newer features only where they exist."""

from __future__ import annotations

import pytest
from telemetry.clickhouse.migrate import (
    CREATE_LEDGER,
    MigrationError,
    Statement,
    alter_actions,
    discover,
    migrate,
    plan,
    record,
    render,
    unapplied,
)
from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore, ServerFeatures

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
        assert types["connection_type"] == types["platform"] == "LowCardinality(String)"
    else:
        assert not any("TTL" in engine for engine in engines.values())
        assert types["event_time"] == "DateTime('UTC')"
        assert types["connection_type"] == types["platform"] == "String"


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


async def _apply_without_ledger_row(store: ClickHouseStore, statements: list[str]) -> None:
    for sql in statements:
        await store.execute(sql)


async def _columns(store: ClickHouseStore, table: str) -> dict[str, str]:
    rows = await store.select(
        f"SELECT name, type FROM system.columns WHERE database = '{store.database}' AND table = '{table}'"
    )
    return {row["name"]: row["type"] for row in rows}


async def test_a_run_interrupted_half_way_through_0004_and_0005_is_finished_by_the_next(
    store: ClickHouseStore,
) -> None:
    # 18.16 has no ADD COLUMN IF NOT EXISTS, so before the runner skipped existing columns a second run
    # failed with "column with this name already exists".
    features = ServerFeatures.parse(await store.server_version())
    migrations = {migration.version: migration for migration in discover()}
    await store.execute(CREATE_LEDGER)
    for version in (1, 2, 3):
        await _apply_without_ledger_row(store, plan(migrations[version], features))
        await record(store, migrations[version])
    # 0004 ran to its end but its ledger row was never written (the process died in between).
    await _apply_without_ledger_row(store, plan(migrations[4], features))
    # 0005 stopped with two of its five columns added (in cluster form the local tables can be ahead of the
    # Distributed ones this way).
    await store.execute(
        "ALTER TABLE pose_tracking_frames ADD COLUMN landmark_presence Array(Float32) AFTER landmark_visibility, "
        "ADD COLUMN world_landmark_x Array(Float32) AFTER landmark_presence"
    )
    with pytest.raises(ClickHouseError):  # what a plain re-run of 0005's statement meets
        await store.execute(plan(migrations[5], features)[0])

    applied = await migrate(store)

    assert applied == [version for version in migrations if version >= 4]
    media, pose = await _columns(store, "media_events"), await _columns(store, "pose_tracking_frames")
    assert (media["error_code"], media["fatal"]) == ("String", "UInt8")
    assert "'error' = 9" in media["event"]
    assert {
        name: pose[name] for name in ("landmark_presence", "world_landmark_x", "world_landmark_z")
    } == dict.fromkeys(("landmark_presence", "world_landmark_x", "world_landmark_z"), "Array(Float32)")
    assert (pose["form_issues"], pose["pose_confidence"]) == ("Array(String)", "Nullable(Float32)")
    assert list(pose).index("landmark_presence") == list(pose).index("landmark_visibility") + 1
    assert await migrate(store) == []


async def test_only_the_add_column_actions_whose_column_exists_are_left_out(store: ClickHouseStore) -> None:
    await store.execute("CREATE TABLE probe (a UInt8, b String) ENGINE = MergeTree ORDER BY a")
    both = "ALTER TABLE probe ADD COLUMN b String, ADD COLUMN c Enum8('x' = 1, 'y' = 2) AFTER b, MODIFY COLUMN a UInt16"

    assert (
        await unapplied(store, both)
        == "ALTER TABLE probe ADD COLUMN c Enum8('x' = 1, 'y' = 2) AFTER b,\n    MODIFY COLUMN a UInt16"
    )
    assert await unapplied(store, "ALTER TABLE probe ADD COLUMN a UInt8, ADD COLUMN b String") is None
    assert await unapplied(store, f"ALTER TABLE {store.database}.probe ADD COLUMN b String") is None
    # The cluster form (migrate.for_cluster) names the database and the cluster.
    clustered = f"ALTER TABLE {store.database}.probe ON CLUSTER main ADD COLUMN b String, ADD COLUMN e UInt8"
    assert await unapplied(store, clustered) == f"ALTER TABLE {store.database}.probe ON CLUSTER main ADD COLUMN e UInt8"
    untouched = "ALTER TABLE probe ADD COLUMN d DateTime('UTC')"
    assert await unapplied(store, untouched) == untouched
    assert await unapplied(store, "CREATE TABLE IF NOT EXISTS probe (a UInt8) ENGINE = Log") is not None


def test_alter_actions_split_only_at_top_level_commas() -> None:
    actions = (
        "MODIFY COLUMN e Enum8('a, b' = 1, 'it''s' = 2), ADD COLUMN t DateTime64(3, 'UTC') AFTER e, "
        "ADD COLUMN m Map(String, Array(Tuple(UInt8, String))) DEFAULT map(), ADD COLUMN q String DEFAULT 'x\\', y'"
    )
    assert alter_actions(actions) == [
        "MODIFY COLUMN e Enum8('a, b' = 1, 'it''s' = 2)",
        "ADD COLUMN t DateTime64(3, 'UTC') AFTER e",
        "ADD COLUMN m Map(String, Array(Tuple(UInt8, String))) DEFAULT map()",
        "ADD COLUMN q String DEFAULT 'x\\', y'",
    ]
