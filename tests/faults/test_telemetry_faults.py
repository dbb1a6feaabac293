"""telemetry when ClickHouse or the process itself fails under ingest load: no acknowledged event lost,
none stored twice. The long variants run in ``make soak`` (tools/soak.py)."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore
from telemetry.spool.flusher import Flusher
from telemetry.spool.reader import SpoolReader
from telemetry.spool.record import SpoolRecord
from telemetry.spool.spool import Spool

from tests.conftest import ClickHouseServerInfo
from tests.faults.scenarios import (
    TELEMETRY_KILLS,
    clickhouse_stopped_during_ingest,
    telemetry_killed_during_ingest,
)
from tools.databases import ClickHouseUnavailable, ensure_clickhouse_server_installed


@pytest.mark.clickhouse_server
@pytest.mark.processes
def test_clickhouse_stopped_during_ingest_stores_exactly_the_acknowledged_events(
    tmp_path: Path, dev_keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        ensure_clickhouse_server_installed()
    except ClickHouseUnavailable as exc:
        pytest.skip(f"no ClickHouse server: {exc}")
    report = clickhouse_stopped_during_ingest(tmp_path, dev_keys, load_seconds=20.0, down_seconds=8.0)
    with capsys.disabled():
        print(f"\n{report}")


@pytest.mark.clickhouse_server
@pytest.mark.processes
@pytest.mark.parametrize(
    ("victim", "how", "workers"),
    TELEMETRY_KILLS,
    ids=[f"{victim}-{how.name}-{workers}-worker" for victim, how, workers in TELEMETRY_KILLS],
)
def test_telemetry_killed_during_ingest_keeps_every_acknowledged_event_once(
    clickhouse_server: ClickHouseServerInfo,
    tmp_path: Path,
    dev_keys: Path,
    victim: str,
    how: signal.Signals,
    workers: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = telemetry_killed_during_ingest(
        (clickhouse_server.url, clickhouse_server.http_url),
        f"faults_{uuid.uuid4().hex[:12]}",
        tmp_path / "spool",
        dev_keys,
        how=how,
        victim=victim,
        workers=workers,
        load_seconds=8.0,
    )
    with capsys.disabled():
        print(f"\n{report}")


@pytest.mark.clickhouse_server
@pytest.mark.anyio
async def test_a_spool_of_thousands_of_batches_drains_after_a_restart(
    clickhouse_server: ClickHouseServerInfo, tmp_path: Path
) -> None:
    """A flusher that starts on a spool (or retries after a failed flush) first asks ClickHouse which of
    the block's batch ids it holds; after a long outage that is thousands of ids, more than one query may
    list (the 5-minute soak found the spool stuck there)."""
    store = ServerStore(clickhouse_server.url, clickhouse_server.http_url, f"faults_{uuid.uuid4().hex[:12]}")
    spool = Spool(tmp_path, max_bytes=1 << 30)
    spool.open()
    try:
        await migrate(store)
        received = datetime.now(UTC).replace(microsecond=0)
        for number in range(3000):
            batch_id = uuid.uuid4()
            await spool.append(
                SpoolRecord(
                    endpoint="media_events",
                    table="ingest_batches",
                    batch_id=batch_id,
                    idempotent=number % 2 == 0,
                    received_at=received,
                    columns={
                        "batch_id": [batch_id],
                        "endpoint": ["faults"],
                        "row_count": [1],
                        "received_at": [received],
                    },
                    uuid_columns=["batch_id"],
                )
            )
        reader = SpoolReader(tmp_path)
        reader.open()
        inserted = await Flusher(reader, store, flush_rows=10_000, flush_interval_seconds=1.0).drain()
        reader.close()
        rows = await store.select("SELECT uniqExact(batch_id) AS ids, count() AS n FROM ingest_batches")
    finally:
        await spool.close()
        await store.close()
    # Each idempotent batch is also in the ledger, which is the same table here.
    assert (inserted, int(rows[0]["ids"]), int(rows[0]["n"])) == (3000, 3000, 4500)
