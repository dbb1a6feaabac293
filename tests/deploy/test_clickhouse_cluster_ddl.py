"""Cluster mode of the telemetry migrations, checked by rendering the DDL (no ClickHouse cluster here):
ON CLUSTER everywhere, Replicated*MergeTree ``_local`` tables, Distributed tables under the usual names,
and the single-node DDL unchanged."""

from __future__ import annotations

import re

import pytest
from telemetry.clickhouse.migrate import (
    CREATE_LEDGER,
    LOCAL_SUFFIX,
    MigrationError,
    discover,
    for_cluster,
    plan,
    render,
)
from telemetry.clickhouse.store import ServerFeatures

MODERN = ServerFeatures((24, 8))
CLUSTER = "telemetry"
DATABASE = "telemetry"
SERVICE_TABLES = {"media_events", "pose_tracking_frames", "analytics_events", "error_reports", "ingest_batches"}


def cluster_ddl() -> list[str]:
    return [sql for migration in discover() for sql in plan(migration, MODERN, CLUSTER, DATABASE)]


def test_single_node_ddl_is_the_files_as_written() -> None:
    for migration in discover():
        expected = [sql for s in migration.statements() if (sql := render(s, MODERN)) is not None]
        assert plan(migration, MODERN) == expected
        assert not any("ON CLUSTER" in sql or "Replicated" in sql for sql in expected)


def test_every_statement_runs_on_the_whole_cluster() -> None:
    for sql in cluster_ddl():
        assert f"ON CLUSTER {CLUSTER}" in sql, sql


def test_each_table_becomes_a_replicated_local_table_and_a_distributed_table_of_the_same_name() -> None:
    ddl = cluster_ddl()
    created = {
        match["table"]: sql
        for sql in ddl
        if (match := re.match(rf"CREATE TABLE IF NOT EXISTS {DATABASE}\.(?P<table>\w+) ON CLUSTER", sql))
    }
    assert set(created) == SERVICE_TABLES | {f"{t}{LOCAL_SUFFIX}" for t in SERVICE_TABLES}
    for table in SERVICE_TABLES:
        local = created[f"{table}{LOCAL_SUFFIX}"]
        assert f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{DATABASE}/{table}_local', '{{replica}}')" in local
        assert "PARTITION BY toYYYYMM(received_at)" in local
        assert "ORDER BY" in local
        distributed = created[table]
        assert f"AS {DATABASE}.{table}{LOCAL_SUFFIX}" in distributed
        # One person's rows share one shard (and so do a batch's: it comes from one actor); the ledger has
        # no actor, so its batch id decides.
        key = "cityHash64(batch_id)" if table == "ingest_batches" else "cityHash64(actor_hash)"
        assert f"ENGINE = Distributed({CLUSTER}, {DATABASE}, {table}{LOCAL_SUFFIX}, {key})" in distributed
        assert "ORDER BY" not in distributed


def test_retention_applies_to_the_local_tables() -> None:
    # Column changes go to the local and the Distributed tables alike (test below); TTLs only to the local ones.
    alters = [sql for sql in cluster_ddl() if sql.startswith("ALTER TABLE") and re.search(r"\bTTL\b", sql)]
    altered = {sql.split()[2] for sql in alters}
    assert altered == {f"{DATABASE}.{table}{LOCAL_SUFFIX}" for table in SERVICE_TABLES}
    for sql in alters:
        assert re.match(rf"ALTER TABLE {DATABASE}\.\w+{LOCAL_SUFFIX} ON CLUSTER {CLUSTER} MODIFY ", sql), sql


def test_the_ledger_and_database_exist_on_every_host() -> None:
    ledger = for_cluster(CREATE_LEDGER.strip(), CLUSTER, DATABASE)
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/telemetry/schema_migrations_local'" in ledger[0]
    assert ledger[1].endswith("Distributed(telemetry, telemetry, schema_migrations_local, rand())")
    assert for_cluster("CREATE DATABASE IF NOT EXISTS telemetry", CLUSTER, DATABASE) == [
        "CREATE DATABASE IF NOT EXISTS telemetry ON CLUSTER telemetry"
    ]


def test_a_column_change_reaches_the_distributed_table_too() -> None:
    assert for_cluster("ALTER TABLE media_events ADD COLUMN IF NOT EXISTS cdn_pop String", CLUSTER, DATABASE) == [
        "ALTER TABLE telemetry.media_events_local ON CLUSTER telemetry ADD COLUMN IF NOT EXISTS cdn_pop String",
        "ALTER TABLE telemetry.media_events ON CLUSTER telemetry ADD COLUMN IF NOT EXISTS cdn_pop String",
    ]


def test_a_statement_without_a_cluster_form_is_refused() -> None:
    with pytest.raises(MigrationError, match="no cluster form"):
        for_cluster("INSERT INTO media_events SELECT * FROM other", CLUSTER, DATABASE)


def test_the_platform_column_reaches_the_local_and_the_distributed_media_table() -> None:
    (migration,) = [m for m in discover() if m.name == "media_platform"]
    added = "ADD COLUMN platform LowCardinality(String) AFTER cdn"
    assert plan(migration, MODERN, CLUSTER, DATABASE) == [
        f"ALTER TABLE {DATABASE}.media_events_local ON CLUSTER {CLUSTER} {added}",
        f"ALTER TABLE {DATABASE}.media_events ON CLUSTER {CLUSTER} {added}",
    ]


OLDEST = ServerFeatures((18, 16))


def test_on_18_16_the_distributed_table_is_created_again_over_the_altered_local_table() -> None:
    # 18.16 refuses ALTER ... ON CLUSTER of a Distributed table when shards replicate internally.
    (migration,) = [m for m in discover() if m.name == "media_platform"]
    assert plan(migration, OLDEST, CLUSTER, DATABASE) == [
        f"ALTER TABLE {DATABASE}.media_events_local ON CLUSTER {CLUSTER} ADD COLUMN platform String AFTER cdn",
        f"DROP TABLE IF EXISTS {DATABASE}.media_events ON CLUSTER {CLUSTER}",
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.media_events ON CLUSTER {CLUSTER} AS {DATABASE}.media_events_local\n"
        f"ENGINE = Distributed({CLUSTER}, {DATABASE}, media_events_local, cityHash64(actor_hash))",
    ]


def test_column_comments_are_left_out_of_replicated_tables_only_where_the_engine_refuses_them() -> None:
    (migration,) = [m for m in discover() if m.name == "events"]
    assert not any("COMMENT" in sql for sql in plan(migration, OLDEST, CLUSTER, DATABASE))
    assert any("COMMENT 'ISO 3166-1 alpha-2" in sql for sql in plan(migration, MODERN, CLUSTER, DATABASE))
    assert any("COMMENT 'ISO 3166-1 alpha-2" in sql for sql in plan(migration, OLDEST))
