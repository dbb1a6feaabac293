"""Spool records for the spool tests (made in the test process and in the crashing writer it starts), a
store that records what a flusher inserts, and both sides of a spool folder: the request process's spool
and the flusher."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore
from telemetry.spool.flusher import Flusher
from telemetry.spool.reader import SpoolReader
from telemetry.spool.record import SpoolRecord
from telemetry.spool.spool import Spool


def record(number: int, *, idempotent: bool = False, rows: int = 2) -> SpoolRecord:
    """Record ``number`` of ``rows`` rows; an idempotent one gets the same batch id every time."""
    batch_id = uuid.uuid5(uuid.NAMESPACE_OID, f"batch-{number}") if idempotent else uuid.uuid4()
    return SpoolRecord(
        endpoint="analytics_events",
        table="analytics_events",
        batch_id=batch_id,
        idempotent=idempotent,
        received_at=datetime(2026, 2, 16, 9, 0, tzinfo=UTC),
        columns={"batch_id": [batch_id] * rows, "n": [number] * rows, "xs": [[0.5, 0.25]] * rows},
        uuid_columns=["batch_id"],
    )


class RecordingStore:
    """Just enough of a ClickHouse store to see what the flusher inserts; ``down`` makes it fail."""

    backend = "fake"
    database = "fake"

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, list[Any]]] = {}
        self.inserts = 0
        self.down = False
        # The next data insert lands but its answer is lost (the connection drops after the server wrote it).
        self.lose_next_answer = False
        # Blocks holding a row whose "n" is one of these are refused for their data, as ClickHouse refuses
        # a value its column cannot hold.
        self.poison: set[int] = set()

    async def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        if self.down:
            raise ClickHouseError("Connection refused", 210)
        if self.poison.intersection(columns.get("n", ())):
            raise ClickHouseError("Code: 53. Type mismatch in VALUES section.", 53)
        self.inserts += 1
        block = self.tables.setdefault(table, {name: [] for name in columns})
        for name, values in columns.items():
            block[name].extend(values)
        if self.lose_next_answer and table != "ingest_batches":
            self.lose_next_answer = False
            raise ClickHouseError("Connection reset by peer", 210)
        return len(next(iter(columns.values())))

    async def select(self, query: str) -> list[dict[str, Any]]:
        if self.down:
            raise ClickHouseError("Connection refused", 210)
        table = query.split(" FROM ", 1)[1].split(maxsplit=1)[0]
        stored = set(self.tables.get(table, {}).get("batch_id", []))
        # The ledger lookup lists the ids it asks about; a data-table lookup answers every id under its keys.
        asked = "batch_id IN" in query
        return [{"batch_id": batch_id} for batch_id in stored if not asked or str(batch_id) in query]

    async def select_values(self, query: str) -> list[Any]:
        return [row["batch_id"] for row in await self.select(query)]

    async def server_version(self) -> str:
        return "0.0"

    async def execute(self, statement: str) -> None:
        return None

    async def close(self) -> None:
        return None

    def column(self, table: str, name: str) -> list[Any]:
        return self.tables.get(table, {}).get(name, [])


@contextlib.contextmanager
def reader_of(directory: Path) -> Iterator[SpoolReader]:
    """The flusher's side of the spool folder ``directory``, open."""
    reader = SpoolReader(directory)
    reader.open()
    try:
        yield reader
    finally:
        reader.close()


@contextlib.asynccontextmanager
async def open_spool(
    directory: Path, *records: SpoolRecord, max_bytes: int = 1 << 30, **options: Any
) -> AsyncIterator[Spool]:
    """The request process's side of the spool folder ``directory``, open (a :class:`Spool` with ``options``),
    with ``records`` appended."""
    spool = Spool(directory, max_bytes=max_bytes, **options)
    spool.open()
    try:
        for each in records:
            await spool.append(each)
        yield spool
    finally:
        await spool.close()


def flusher_of(reader: SpoolReader, store: ClickHouseStore, *, interval_seconds: float = 1.0) -> Flusher:
    """A flusher from ``reader`` into ``store`` that inserts everything in one block."""
    return Flusher(reader, store, flush_rows=10_000, flush_interval_seconds=interval_seconds)


async def left_behind(directory: Path, *records: SpoolRecord) -> None:
    """What a request process that appended ``records`` and exited leaves in the folder ``directory``."""
    async with open_spool(directory, *records):
        pass
