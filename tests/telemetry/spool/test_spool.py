"""The write-ahead spool: an acknowledged row survives a crash, a torn tail, ClickHouse going away and a
full spool, and concurrent requests share fsyncs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from contracts.analytics import analytics_event_decoder
from contracts.media_events import decode_media_events
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.analytics.columns import analytics_event_columns
from telemetry.app import create_app
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore
from telemetry.clickhouse.store import ClickHouseError
from telemetry.identity import TelemetryActor
from telemetry.ingest.batch import Batch
from telemetry.media.columns import media_event_columns
from telemetry.settings import ClickHouseSettings, HttpSettings, Settings, SpoolSettings
from telemetry.spool.files import REFUSED_FOLDER
from telemetry.spool.flusher import SORT_KEY_PREFIXES, Flusher
from telemetry.spool.reader import SpoolReader
from telemetry.spool.record import SpoolRecord, encode_record
from telemetry.spool.spool import Spool, SpoolFullError

from tests.conftest import ClickHouseServerInfo
from tests.markers import needs
from tests.telemetry.helpers.spool_records import (
    RecordingStore,
    flusher_of,
    left_behind,
    open_spool,
    reader_of,
    record,
)
from tools.databases import ClickHouseServer, ClickHouseUnavailable
from tools.tokens import mint_telemetry_token

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = ROOT / "services/telemetry/src/telemetry/clickhouse/migrations"


async def drain_into(directory: Path, store: RecordingStore, flush_rows: int = 10_000) -> int:
    """What a restart does: a new request process opens the folder (starting a segment of its own) and the
    flusher inserts everything the earlier processes left."""
    async with open_spool(directory):
        with reader_of(directory) as reader:
            return await Flusher(reader, store, flush_rows=flush_rows, flush_interval_seconds=1.0).drain()


_CRASHING_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from telemetry.spool.spool import Spool
from tests.telemetry.helpers.spool_records import RecordingStore, reader_of, record

async def main() -> None:
    spool = Spool(Path(sys.argv[1]), max_bytes=1 << 30)
    spool.open()
    await asyncio.gather(*(spool.append(record(n, idempotent=n % 2 == 0)) for n in range(int(sys.argv[2]))))
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("segment-*.log"))


def append_then_kill_9(directory: Path, records: int) -> subprocess.CompletedProcess[str]:
    """Another process appends ``records`` records, waits for their acknowledgement and kills itself."""
    return subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(directory), str(records)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.mark.processes
@pytest.mark.anyio
async def test_acknowledged_records_survive_kill_9_and_are_delivered_once(tmp_path: Path) -> None:
    crashed = append_then_kill_9(tmp_path, 40)
    assert crashed.returncode == -9, crashed.stderr
    assert crashed.stdout.strip() == "acknowledged"
    store = RecordingStore()

    delivered = await drain_into(tmp_path, store, flush_rows=25)
    again = await drain_into(tmp_path, store)

    assert delivered == 80
    assert again == 0
    assert sorted(store.column("analytics_events", "n")) == sorted([n for n in range(40) for _ in range(2)])
    assert len(store.column("ingest_batches", "batch_id")) == 20
    assert isinstance(store.column("analytics_events", "batch_id")[0], uuid.UUID)


@pytest.mark.anyio
async def test_a_replayed_block_whose_ledger_row_landed_is_not_inserted_twice(tmp_path: Path) -> None:
    await left_behind(tmp_path, record(1, idempotent=True))
    store = RecordingStore()
    # A crash after the insert and the ledger row, before the checkpoint: the ledger already has the batch.
    store.tables["ingest_batches"] = {"batch_id": [record(1, idempotent=True).batch_id]}

    assert await drain_into(tmp_path, store) == 0
    assert store.column("analytics_events", "n") == []


@pytest.mark.anyio
@pytest.mark.parametrize("damage", ["truncated", "bad_checksum"])
async def test_a_torn_tail_record_is_skipped_and_earlier_ones_kept(tmp_path: Path, damage: str) -> None:
    await left_behind(tmp_path, *(record(number) for number in range(3)))
    (segment,) = segments(tmp_path)
    frame = bytearray(encode_record(record(99)))
    if damage == "truncated":
        frame = frame[: len(frame) // 2]
    else:
        frame[-1] ^= 0xFF
    with segment.open("ab") as target:
        target.write(bytes(frame))
    store = RecordingStore()

    delivered = await drain_into(tmp_path, store)

    assert delivered == 6
    assert sorted(set(store.column("analytics_events", "n"))) == [0, 1, 2]


@pytest.mark.anyio
async def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    batches: list[int] = []
    async with open_spool(tmp_path, on_fsync=batches.append) as spool:
        await asyncio.gather(*(spool.append(record(number)) for number in range(100)))

    assert sum(batches) == 100
    assert spool.fsyncs == len(batches)
    assert spool.fsyncs < 10


@pytest.mark.anyio
async def test_clickhouse_down_keeps_records_until_it_is_back(tmp_path: Path, reader: SpoolReader) -> None:
    store = RecordingStore()
    flusher = flusher_of(reader, store)
    async with open_spool(tmp_path, record(1)) as spool:
        store.down = True
        with pytest.raises(ClickHouseError):
            await flusher.drain()
        await spool.append(record(2))
        store.down = False
        assert await flusher.drain() == 4
    assert sorted(store.column("analytics_events", "n")) == [1, 1, 2, 2]
    assert len(segments(tmp_path)) == 1


@pytest.mark.anyio
async def test_a_block_whose_insert_answer_was_lost_is_not_inserted_again(tmp_path: Path, reader: SpoolReader) -> None:
    store = RecordingStore()
    flusher = flusher_of(reader, store)
    async with open_spool(tmp_path, record(1, idempotent=True), record(2)) as spool:
        store.lose_next_answer = True
        with pytest.raises(ClickHouseError):
            await flusher.drain()
        await spool.append(record(3))
        assert await flusher.drain() == 2
    assert sorted(store.column("analytics_events", "n")) == [1, 1, 2, 2, 3, 3]
    # The idempotent batch also reached the ledger, so a client's retry of it is recognised.
    assert len(store.column("ingest_batches", "batch_id")) == 1


@pytest.mark.anyio
async def test_a_record_clickhouse_refuses_is_set_aside_and_the_others_stored(
    tmp_path: Path, reader: SpoolReader
) -> None:
    store = RecordingStore()
    store.poison = {3}
    records = [record(number, idempotent=number % 2 == 1) for number in range(1, 6)]
    async with open_spool(tmp_path, *records):
        inserted = await flusher_of(reader, store).drain()
        assert reader.empty  # the checkpoint passed the refused record: it blocks nothing behind it

    assert inserted == 8
    assert sorted(store.column("analytics_events", "n")) == [1, 1, 2, 2, 4, 4, 5, 5]
    # The refused batch is kept, whole, for an operator, and is not in the ledger of stored batches.
    [kept] = (tmp_path / REFUSED_FOLDER).iterdir()
    refused = msgspec.msgpack.decode(kept.read_bytes(), type=SpoolRecord)
    assert (refused.batch_id, refused.columns["n"]) == (records[2].batch_id, [3, 3])
    assert sorted(store.column("ingest_batches", "batch_id")) == sorted([records[0].batch_id, records[4].batch_id])


@pytest.mark.anyio
async def test_a_connection_failure_during_the_one_by_one_inserts_is_retried_without_duplicates(
    tmp_path: Path, reader: SpoolReader
) -> None:
    store = RecordingStore()
    store.poison = {2}
    flusher = flusher_of(reader, store)
    async with open_spool(tmp_path, *(record(number) for number in range(1, 4))):
        store.lose_next_answer = True  # the first one-by-one insert (record 1) lands, its answer is lost
        with pytest.raises(ClickHouseError):
            await flusher.drain()
        await flusher.drain()
    assert sorted(store.column("analytics_events", "n")) == [1, 1, 3, 3]
    assert len(list((tmp_path / REFUSED_FOLDER).iterdir())) == 1


@pytest.mark.anyio
async def test_the_flusher_inserts_one_block_per_table(tmp_path: Path, reader: SpoolReader) -> None:
    store = RecordingStore()
    async with open_spool(tmp_path, segment_bytes=2_000) as spool:
        await asyncio.gather(*(spool.append(record(number)) for number in range(200)))
        inserted = await flusher_of(reader, store).drain()

    assert inserted == 400
    assert store.inserts == 1  # 200 requests over several segments, one insert
    assert len(segments(tmp_path)) == 1


class CountingStore(RecordingStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def select(self, query: str) -> list[dict[str, Any]]:
        self.lookups += 1
        return await super().select(query)


@pytest.mark.anyio
@pytest.mark.parametrize("earlier", [0, 3])
async def test_a_flusher_started_on_an_empty_spool_skips_the_replay_lookup(tmp_path: Path, earlier: int) -> None:
    await left_behind(tmp_path, *(record(number) for number in range(earlier)))

    spool = Spool(tmp_path, max_bytes=1 << 30)
    spool.open()
    store = CountingStore()
    with reader_of(tmp_path) as reader:
        flusher = flusher_of(reader, store, interval_seconds=3600)
        flusher.start()
        try:
            await spool.append(record(10))
            await flusher.drain()
        finally:
            await spool.close()
            await flusher.stop()

    # Records left by the last process may be in ClickHouse already: only then does the flusher look.
    assert store.lookups == (1 if earlier else 0)
    assert sorted(store.column("analytics_events", "n")) == sorted([*range(earlier), 10] * 2)


@pytest.mark.anyio
async def test_a_full_spool_refuses_appends(tmp_path: Path) -> None:
    max_bytes = 2 * len(encode_record(record(0))) + 10
    async with open_spool(tmp_path, record(1), record(2), max_bytes=max_bytes, retry_after_seconds=7) as spool:
        with pytest.raises(SpoolFullError) as refused:
            await spool.append(record(3))
    assert refused.value.retry_after_seconds == 7
    assert spool.spooled_bytes == 2 * len(encode_record(record(0)))


# Through the app ------------------------------------------------------------------------------------------


def _settings(clickhouse: ClickHouseSettings, dev_keys: Path, spool: SpoolSettings) -> Settings:
    return Settings(
        clickhouse=clickhouse,
        http=HttpSettings(),
        log=LogSettings(format="json", level="error"),
        auth=AuthSettings(jwks_file=str(dev_keys / "jwks.json")),
        spool=spool,
    )


def _event(marker: int) -> bytes:
    return msgspec.json.encode(
        {
            "event_name": "treatment_plan.session_started",
            "event_category": "treatment_plan",
            "timestamp": "2026-02-16T09:30:00Z",
            "resource_type": "session",
            "resource_id": str(marker),
            "properties": {},
        }
    )


def _headers(dev_keys: Path, actor: str, key: str | None = None) -> dict[str, str]:
    token = mint_telemetry_token(dev_keys, actor_hash=actor, org_hash="org_h4sh", consent_level=3)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _migrated(clickhouse: ClickHouseSettings) -> ClickHouseSettings:
    async def run() -> None:
        store = ServerStore(clickhouse.url, clickhouse.http_url, clickhouse.database)
        try:
            await migrate(store)
        finally:
            await store.close()

    asyncio.run(run())
    return clickhouse


@pytest.fixture
def clickhouse(clickhouse_server: ClickHouseServerInfo) -> ClickHouseSettings:
    """A freshly migrated database on the session's ClickHouse 18.16 server."""
    database = f"spool_{uuid.uuid4().hex[:12]}"
    return _migrated(
        ClickHouseSettings(url=clickhouse_server.url, http_url=clickhouse_server.http_url, database=database)
    )


def _count(settings: ClickHouseSettings, table: str) -> int:
    async def run() -> int:
        store = ServerStore(settings.url, settings.http_url, settings.database)
        try:
            rows = await store.select(f"SELECT count() AS n FROM {table}")
        finally:
            await store.close()
        return int(rows[0]["n"])

    return asyncio.run(run())


def test_a_full_spool_answers_503_with_retry_after(
    clickhouse: ClickHouseSettings, tmp_path: Path, dev_keys: Path
) -> None:
    settings = _settings(clickhouse, dev_keys, SpoolSettings(dir=str(tmp_path), max_bytes=1, retry_after_seconds=9))
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/analytics/track", content=_event(1), headers=_headers(dev_keys, "actor_full"))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "9"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("spool-full")
    assert _count(clickhouse, "analytics_events") == 0


def test_shutdown_inserts_what_the_spool_holds(clickhouse: ClickHouseSettings, tmp_path: Path, dev_keys: Path) -> None:
    settings = _settings(clickhouse, dev_keys, SpoolSettings(dir=str(tmp_path), flush_interval_seconds=3600.0))
    with TestClient(create_app(settings)) as client:
        for marker in range(5):
            response = client.post(
                "/v1/analytics/track", content=_event(marker), headers=_headers(dev_keys, "actor_shutdown")
            )
            assert response.status_code == 202
        assert _count(clickhouse, "analytics_events") == 0
    # The interval is an hour: only the lifespan's shutdown (what uvicorn runs on SIGTERM) inserted them.
    assert _count(clickhouse, "analytics_events") == 5


def test_clickhouse_refusing_a_record_does_not_block_the_spool(
    clickhouse: ClickHouseSettings, tmp_path: Path, reader: SpoolReader
) -> None:
    # A timestamp beyond what 18.16's DateTime holds (the contracts refuse it now; older clients' rows, or a
    # column a later migration narrows, could still meet such a refusal): ClickHouse refuses the block.
    actor = TelemetryActor(actor_hash="actor_refused", org_hash="org_h4sh", consent_level=3, biometric=False)

    def analytics_record(marker: int, *, year: int = 2026) -> SpoolRecord:
        batch = Batch.start(actor, "analytics_events", None, "ES")
        columns = analytics_event_columns([analytics_event_decoder.decode(_event(marker))], batch)
        columns["event_time"] = [moment.replace(year=year) for moment in columns["event_time"]]
        return SpoolRecord(
            endpoint="analytics_events",
            table="analytics_events",
            batch_id=batch.batch_id,
            idempotent=False,
            received_at=batch.received_at,
            columns={name: list(values) for name, values in columns.items()},
            uuid_columns=["batch_id"],
        )

    async def run() -> None:
        store = ServerStore(clickhouse.url, clickhouse.http_url, clickhouse.database)
        try:
            async with open_spool(tmp_path, analytics_record(1), analytics_record(2, year=2510), analytics_record(3)):
                await flusher_of(reader, store).drain()
                assert reader.empty
        finally:
            await store.close()

    asyncio.run(run())
    assert _count(clickhouse, "analytics_events") == 2
    assert len(list((tmp_path / REFUSED_FOLDER).iterdir())) == 1


def test_records_spooled_before_a_column_was_added_are_inserted_with_its_default(
    clickhouse: ClickHouseSettings, tmp_path: Path, reader: SpoolReader
) -> None:
    # A spool left by the previous release holds media rows without the columns a later migration added
    # (platform, 0006); the new release replays them between its own rows. Merged into one block with the
    # first record's columns, they used to fail the insert or misalign the columns.
    actor = TelemetryActor(actor_hash="actor_upgrade", org_hash="org_h4sh", consent_level=3, biometric=False)

    def media_record(session: uuid.UUID, *, old_release: bool) -> SpoolRecord:
        batch = Batch.start(actor, "media_events", None, "ES")
        events = decode_media_events(
            msgspec.json.encode(
                {
                    "event": "play_intent",
                    "session_id": str(session),
                    "media_id": "media-upgrade",
                    "timestamp": "2026-02-16T09:30:00Z",
                    "data": {"platform": "android"},
                }
            )
        )
        columns = {name: list(values) for name, values in media_event_columns(events, batch).items()}
        if old_release:
            del columns["platform"]
        return SpoolRecord(
            endpoint="media_events",
            table="media_events",
            batch_id=batch.batch_id,
            idempotent=False,
            received_at=batch.received_at,
            columns=columns,
            uuid_columns=["batch_id", "session_id"],
        )

    sessions = [uuid.uuid4() for _ in range(4)]

    async def run() -> list[dict[str, Any]]:
        store = ServerStore(clickhouse.url, clickhouse.http_url, clickhouse.database)
        records = [media_record(session, old_release=number % 2 == 0) for number, session in enumerate(sessions)]
        try:
            async with open_spool(tmp_path, *records):
                await flusher_of(reader, store).drain()
                assert reader.empty
                return await store.select(
                    "SELECT toString(session_id) AS session, platform FROM media_events "
                    "WHERE actor_hash = 'actor_upgrade' ORDER BY session"
                )
        finally:
            await store.close()

    rows = asyncio.run(run())
    expected = {str(session): "" if number % 2 == 0 else "android" for number, session in enumerate(sessions)}
    assert {row["session"]: row["platform"] for row in rows} == expected
    assert not (tmp_path / REFUSED_FOLDER).exists() or not list((tmp_path / REFUSED_FOLDER).iterdir())


@pytest.fixture
@needs("clickhouse_server")
def own_clickhouse(tmp_path: Path) -> Iterator[ClickHouseServer]:
    """A ClickHouse server of this test's own, which it may stop and start again on the same data."""
    server = ClickHouseServer(tmp_path / "clickhouse")
    try:
        server.start()
    except ClickHouseUnavailable as exc:
        pytest.skip(f"no ClickHouse server: {exc}")
    yield server
    server.stop()


def test_clickhouse_stopped_mid_stream_loses_no_acknowledged_event(
    own_clickhouse: ClickHouseServer, tmp_path: Path, dev_keys: Path
) -> None:
    clickhouse = _migrated(
        ClickHouseSettings(
            url=own_clickhouse.url, http_url=own_clickhouse.http_url, database="spool", query_timeout_seconds=3.0
        )
    )
    spool_settings = SpoolSettings(dir=str(tmp_path / "spool"), flush_interval_seconds=0.05)
    acknowledged: list[str] = []
    with TestClient(create_app(_settings(clickhouse, dev_keys, spool_settings))) as client:

        def send(marker: int) -> None:
            key = f"k-{marker}" if marker % 2 == 0 else None
            response = client.post(
                "/v1/analytics/track", content=_event(marker), headers=_headers(dev_keys, "actor_down", key)
            )
            assert response.status_code == 202, response.text
            acknowledged.append(response.json()["batch_id"])

        for marker in range(10):
            send(marker)
        own_clickhouse.stop()
        for marker in range(10, 30):
            send(marker)
        assert client.app.state.spool.spooled_bytes > 0
        own_clickhouse.start()
        # A retry of an acknowledged idempotent batch after recovery stores nothing more.
        send(12)
        client.blocking_portal.call(client.app.state.flusher.drain)
        rows = client.blocking_portal.call(
            client.app.state.store.select,
            "SELECT toString(batch_id) AS batch_id, resource_id FROM analytics_events ORDER BY resource_id",
        )

    assert len(acknowledged) == 31
    assert sorted(int(row["resource_id"]) for row in rows) == list(range(30))
    assert {row["batch_id"] for row in rows} == set(acknowledged)


class LosingStore:
    """A real ClickHouse store whose next data insert lands but whose answer is lost."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.lose_next_answer = True
        self.lookups: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        inserted: int = await self.store.insert(table, columns)
        if self.lose_next_answer and table != "ingest_batches":
            self.lose_next_answer = False
            raise ClickHouseError("Connection reset by peer", 210)
        return inserted

    async def select_values(self, query: str) -> list[Any]:
        self.lookups.append(query)
        values: list[Any] = await self.store.select_values(query)
        return values


def two_row_record(
    table: str, *, endpoint: str | None = None, idempotent: bool, received_at: datetime, **values: Any
) -> SpoolRecord:
    """A record of two rows for ``table``: each of ``values`` is both rows' value, or a list of the two."""
    batch_id = uuid.uuid4()
    columns: dict[str, list[Any]] = {"batch_id": [batch_id] * 2}
    columns.update({name: value if isinstance(value, list) else [value] * 2 for name, value in values.items()})
    columns["received_at"] = [received_at] * 2
    return SpoolRecord(
        endpoint=endpoint or table,
        table=table,
        batch_id=batch_id,
        idempotent=idempotent,
        received_at=received_at,
        columns=columns,
        uuid_columns=[name for name, value in columns.items() if isinstance(value[0], uuid.UUID)],
    )


async def drain_after_a_lost_answer(flusher: Flusher) -> Flusher:
    """The flusher's first drain fails on the lost answer; its second finds every landed batch and inserts none."""
    with pytest.raises(ClickHouseError):
        await flusher.drain()
    assert await flusher.drain() == 0
    return flusher


async def rows_per_batch(store: Any, table: str, where: str) -> dict[str, int]:
    """How many rows of ``table`` matching ``where`` each batch id holds."""
    rows = await store.select(
        f"SELECT toString(batch_id) AS batch_id, count() AS n FROM {table} WHERE {where} GROUP BY batch_id"
    )
    return {row["batch_id"]: int(row["n"]) for row in rows}


@pytest.mark.anyio
async def test_an_uncertain_insert_is_checked_within_the_records_receive_times_and_not_repeated(
    store: Any, tmp_path: Path, reader: SpoolReader
) -> None:
    """Records received across a month boundary, at fractions of a second, land; the answer is lost; the
    retry's lookup is bounded by their receive times and still finds every landed batch."""
    await migrate(store)
    moments = [
        datetime(2026, 11, 30, 23, 59, 59, 900_000, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 0, 0, 400_000, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 0, 1, 999_999, tzinfo=UTC),
    ]
    records = [
        two_row_record(
            "analytics_events",
            idempotent=number == 0,
            received_at=moment,
            org_hash="org_h4sh",
            actor_hash="actor_bounded",
            event_name="bounded_lookup",
        )
        for number, moment in enumerate(moments)
    ]
    losing = LosingStore(store)
    async with open_spool(tmp_path, *records):
        await drain_after_a_lost_answer(flusher_of(reader, losing))
        assert reader.empty

    assert await rows_per_batch(store, "analytics_events", "event_name = 'bounded_lookup'") == {
        str(each.batch_id): 2 for each in records
    }
    table_lookups = [query for query in losing.lookups if "FROM analytics_events" in query]
    assert table_lookups
    assert all(
        "org_hash IN ('org_h4sh') AND event_name IN ('bounded_lookup')" in query
        and "received_at >= toDateTime('2026-11-30 23:59:58', 'UTC')" in query
        and "received_at <= toDateTime('2026-12-01 00:00:02', 'UTC')" in query
        for query in table_lookups
    )


@pytest.mark.anyio
async def test_a_lost_pose_block_is_found_by_its_session_ids_written_as_text(
    store: Any, tmp_path: Path, reader: SpoolReader
) -> None:
    """Pose records of two sessions land but the answer is lost: the retry's lookup names the session ids as
    quoted text (no toUUID call a value), which each engine compares with its UUID column, and finds every
    landed batch. A client's retry of the idempotent batch is then caught by the ledger, asked the same way."""
    await migrate(store)
    sessions = [uuid.uuid4(), uuid.uuid4()]
    records = [
        two_row_record(
            "pose_tracking_frames",
            endpoint="pose_frames",
            idempotent=number == 0,
            received_at=datetime(2026, 12, 1, 9, 0, number, tzinfo=UTC),
            org_hash="org_h4sh",
            actor_hash="actor_pose",
            session_id=session,
            media_id="video_text_ids",
            frame_number=[0, 1],
        )
        for number, session in enumerate([sessions[0], sessions[0], sessions[1]])
    ]
    losing = LosingStore(store)
    async with open_spool(tmp_path, *records) as spool:
        flusher = await drain_after_a_lost_answer(flusher_of(reader, losing))
        await spool.append(records[0])
        assert await flusher.drain() == 0

    assert await rows_per_batch(store, "pose_tracking_frames", "media_id = 'video_text_ids'") == {
        str(each.batch_id): 2 for each in records
    }
    pose_lookups = [query for query in losing.lookups if "FROM pose_tracking_frames" in query]
    assert pose_lookups
    assert all(f"'{session}'" in query for query in pose_lookups for session in sessions)
    assert [query for query in losing.lookups if "FROM ingest_batches" in query]
    assert not [query for query in losing.lookups if "toUUID(" in query]


def test_the_lookup_keys_are_the_leading_columns_of_each_tables_sort_key() -> None:
    migrations = "\n".join(path.read_text() for path in sorted(MIGRATIONS.glob("*.sql")))
    for table, prefix in SORT_KEY_PREFIXES.items():
        created = migrations.split(f"CREATE TABLE IF NOT EXISTS {table} (", 1)[1]
        sort_key = created.split("ORDER BY (", 1)[1].split(")", 1)[0]
        assert [name.strip() for name in sort_key.split(",")][: len(prefix)] == list(prefix), table
