"""The retention job drops whole monthly partitions past each table's period on ClickHouse 18.16 (no
TTL), clears expired bandwidth samples, keeps everything younger, and does nothing where TTL applies."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telemetry.clickhouse.embedded import EmbeddedStore
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore
from telemetry.clickhouse.store import ClickHouseStore
from telemetry.jobs.retention import apply_retention, month_end
from telemetry.settings import RetentionSettings

from tests.conftest import ClickHouseServerInfo

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
async def server_store(clickhouse_server: ClickHouseServerInfo) -> AsyncIterator[ServerStore]:
    """A freshly migrated database on the session's ClickHouse 18.16 server."""
    store = ServerStore(clickhouse_server.url, clickhouse_server.http_url, f"retention_{uuid.uuid4().hex[:12]}")
    await migrate(store)
    try:
        yield store
    finally:
        await store.close()


async def add_row(store: ClickHouseStore, table: str, received_at: datetime, marker: str, **values: Any) -> None:
    """One row of ``table``, of a session of its own, with ``marker`` as its media id and ``values``."""
    row = {
        "batch_id": uuid.uuid4(),
        "org_hash": "org_h4sh",
        "actor_hash": "actor_retention",
        "session_id": uuid.uuid4(),
        "media_id": marker,
        "received_at": received_at,
        **values,
    }
    await store.insert(table, {name: [value] for name, value in row.items()})


async def add_media(store: ClickHouseStore, received_at: datetime, marker: str) -> None:
    await add_row(
        store,
        "media_events",
        received_at,
        marker,
        media_type="video",
        event="session_start",
        event_time=received_at,
        effective_bandwidth_mbps=8.0,
        ttfb_ms=300,
        rtt_ms=45,
        cdn_response_time_ms=120,
        video_load_time_ms=1500,
    )


async def add_pose(store: ClickHouseStore, received_at: datetime, marker: str) -> None:
    await add_row(store, "pose_tracking_frames", received_at, marker, frame_number=1, processing_time_ms=12.0)


async def add_batch(store: ClickHouseStore, table: str, received_at: datetime) -> None:
    if table == "error_reports":
        columns: dict[str, list[Any]] = {"error_type": ["TypeError"], "message": ["x"], "event_time": [received_at]}
    else:
        columns = {"endpoint": ["media_events"], "row_count": [1]}
    await store.insert(table, {"batch_id": [uuid.uuid4()], **columns, "received_at": [received_at]})


async def media_rows(store: ClickHouseStore) -> dict[str, tuple[float, int, int, int, int]]:
    rows = await store.select(
        "SELECT media_id, effective_bandwidth_mbps, ttfb_ms, rtt_ms, cdn_response_time_ms, video_load_time_ms "
        "FROM media_events"
    )
    return {
        row["media_id"]: (
            row["effective_bandwidth_mbps"],
            row["ttfb_ms"],
            row["rtt_ms"],
            row["cdn_response_time_ms"],
            row["video_load_time_ms"],
        )
        for row in rows
    }


async def column(store: ClickHouseStore, table: str, name: str) -> list[Any]:
    return sorted(str(row[name]) for row in await store.select(f"SELECT {name} FROM {table}"))


def test_month_end_is_the_first_moment_of_the_next_month() -> None:
    assert month_end("202612") == datetime(2027, 1, 1, tzinfo=UTC)
    assert month_end("202602") == datetime(2026, 3, 1, tzinfo=UTC)
    assert month_end("tuple()") is None
    assert month_end("202613") is None


@pytest.mark.anyio
async def test_partitions_wholly_past_retention_are_dropped_on_18_16(server_store: ServerStore) -> None:
    # Media 730 days: cutoff 2024-11-22. October 2024 ends before it; November 2024 does not.
    await add_media(server_store, datetime(2024, 10, 15, tzinfo=UTC), "media-2024-10")
    await add_media(server_store, datetime(2024, 11, 2, tzinfo=UTC), "media-2024-11")
    # Bandwidth 90 days: cutoff 2026-08-24, so months before August 2026 lose their samples.
    await add_media(server_store, datetime(2026, 7, 31, 23, 59, tzinfo=UTC), "media-2026-07")
    await add_media(server_store, datetime(2026, 8, 1, tzinfo=UTC), "media-2026-08")
    await add_media(server_store, datetime(2026, 11, 21, tzinfo=UTC), "media-fresh")
    # Pose 183 days: cutoff 2026-05-23. April goes; May stays although its frame is older than 183 days.
    await add_pose(server_store, datetime(2026, 4, 30, tzinfo=UTC), "pose-2026-04")
    await add_pose(server_store, datetime(2026, 5, 10, tzinfo=UTC), "pose-2026-05")
    await add_pose(server_store, datetime(2026, 11, 21, tzinfo=UTC), "pose-fresh")
    # Errors 90 days (July goes), the ledger 7 days (October goes, November stays).
    for received_at in (datetime(2026, 7, 20, tzinfo=UTC), datetime(2026, 8, 30, tzinfo=UTC)):
        await add_batch(server_store, "error_reports", received_at)
    for received_at in (datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)):
        await add_batch(server_store, "ingest_batches", received_at)

    report = await apply_retention(server_store, RetentionSettings(), now=NOW)

    assert await media_rows(server_store) == {
        "media-2024-11": (0.0, 0, 0, 0, 1500),  # kept two years; bandwidth samples cleared, startup kept
        "media-2026-07": (0.0, 0, 0, 0, 1500),
        "media-2026-08": (8.0, 300, 45, 120, 1500),
        "media-fresh": (8.0, 300, 45, 120, 1500),
    }
    assert await column(server_store, "pose_tracking_frames", "media_id") == ["pose-2026-05", "pose-fresh"]
    assert await column(server_store, "error_reports", "toYYYYMM(received_at)") == ["202608"]
    assert await column(server_store, "ingest_batches", "toYYYYMM(received_at)") == ["202611"]
    removed = {(entry.table, entry.cleared_columns != ()): (entry.partitions, entry.rows) for entry in report}
    assert removed == {
        ("media_events", False): (["202410"], 1),
        ("media_events", True): (["202411", "202607"], 2),
        ("pose_tracking_frames", False): (["202604"], 1),
        ("analytics_events", False): ([], 0),
        ("error_reports", False): (["202607"], 1),
        ("ingest_batches", False): (["202610"], 1),
    }
    # A second run finds nothing left to do.
    again = await apply_retention(server_store, RetentionSettings(), now=NOW)
    assert [(entry.partitions, entry.rows) for entry in again] == [([], 0)] * 6


@pytest.mark.processes
@pytest.mark.anyio
async def test_the_job_runs_as_a_module_with_periods_from_the_environment(
    clickhouse_server: ClickHouseServerInfo, server_store: ServerStore
) -> None:
    now = datetime.now(UTC)
    await add_pose(server_store, now - timedelta(days=120), "pose-old")
    await add_pose(server_store, now, "pose-fresh")
    env = {
        **os.environ,
        "CLICKHOUSE_URL": clickhouse_server.url,
        "CLICKHOUSE_HTTP_URL": clickhouse_server.http_url,
        "CLICKHOUSE_DATABASE": server_store.database,
        "RETENTION_POSE_DAYS": "30",
        "LOG_FORMAT": "json",
    }

    job = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "telemetry.jobs.retention"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert await column(server_store, "pose_tracking_frames", "media_id") == ["pose-fresh"]
    logged = [json.loads(line) for line in (job.stdout + job.stderr).splitlines() if line.startswith("{")]
    pose = [entry for entry in logged if entry.get("table") == "pose_tracking_frames"]
    assert [(entry["event"], entry["rows_dropped"], entry["retention_days"]) for entry in pose] == [
        ("retention.table_done", 1, 30)
    ]


@pytest.mark.anyio
async def test_the_job_does_nothing_where_ttl_applies(chdb_dir: Path) -> None:
    store = EmbeddedStore(str(chdb_dir), f"retention_{uuid.uuid4().hex[:12]}")
    try:
        await migrate(store)
        await add_pose(store, datetime.now(UTC), "pose-fresh")

        report = await apply_retention(
            store, RetentionSettings(pose_days=1), now=datetime.now(UTC) + timedelta(days=90)
        )

        assert report == []
        assert await column(store, "pose_tracking_frames", "media_id") == ["pose-fresh"]
    finally:
        await store.close()


@pytest.mark.anyio
async def test_ttl_removes_expired_rows_where_the_engine_has_it(chdb_dir: Path) -> None:
    """chdb (ClickHouse 26): the migrations' TTLs delete rows past retention at the next merge."""
    store = EmbeddedStore(str(chdb_dir), f"retention_{uuid.uuid4().hex[:12]}")
    try:
        await migrate(store)
        now = datetime.now(UTC)
        await add_pose(store, now - timedelta(days=200), "pose-expired")  # past 6 months
        await add_pose(store, now - timedelta(days=150), "pose-kept")
        await add_batch(store, "error_reports", now - timedelta(days=100))  # past 90 days
        await add_batch(store, "error_reports", now - timedelta(days=10))
        for table in ("pose_tracking_frames", "error_reports"):
            await store.execute(f"OPTIMIZE TABLE {table} FINAL")

        assert await column(store, "pose_tracking_frames", "media_id") == ["pose-kept"]
        kept = await store.select("SELECT count() AS n, min(received_at) AS oldest FROM error_reports")
        assert kept[0]["n"] == 1
    finally:
        await store.close()
