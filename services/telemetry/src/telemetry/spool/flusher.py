"""The flusher: moves committed spool records into ClickHouse, each batch once.

:class:`Flusher`, a background task, reads committed records after the spool's durable checkpoint (from
the spool's memory while it keeps up, else from its segment files), merges them per table into blocks
(``flush_rows`` rows, or whatever is there after ``flush_interval_seconds``), inserts each block with one
columnar insert, writes the batch-id ledger for idempotent batches, then advances the spool's checkpoint.
ClickHouse unavailable: the records stay in the spool and the flusher retries with back-off (up to 30 s).

Replays store each batch once. Whenever the flusher cannot be sure what the last attempt left in
ClickHouse (after a start on a spool that holds records, and after any failed flush: an insert may land
although its answer was lost, or the ledger insert after it may fail), it first asks each target table
which of the block's batch ids it already holds and drops those records; every row carries its batch id,
and one block insert lands whole or not at all. In steady state that lookup is skipped. Retries by
clients (the same ``Idempotency-Key``) are caught by the ``ingest_batches`` ledger. What remains
at-least-once: a block whose rows fall into two monthly partitions and whose insert failed after the
first one was written.

A block ClickHouse refuses for its data (a value its column cannot hold: ``REFUSED_DATA_CODES``) would
be refused on every retry and hold up everything behind it. The flusher then inserts the block's records
one at a time and sets each refused one aside, whole, in the spool's ``refused/`` folder (fsynced, logged
as ``spool.record_refused``) before the checkpoint moves past it: nothing acknowledged is dropped, and
one bad record does not stop ingest.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import structlog

from telemetry.clickhouse.sql import Sql, identifier, literal, render
from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore
from telemetry.spool.record import SpoolRecord
from telemetry.spool.spool import Spool

log = structlog.get_logger("spool")

# Batch ids per lookup query, and the bytes of a data-table lookup's key list. A block after an outage
# holds thousands of records, and ClickHouse refuses queries over 256 KiB (max_query_size): one query for
# all of them failed on every retry, so the spool never drained. Lookups go over the native connection
# (``select_values``): through aiochclient, its sqlparse took longer to read a lookup than ClickHouse took
# to answer it, and refused more than 10,000 tokens.
_LOOKUP_IDS_PER_QUERY = 500
_LOOKUP_KEY_BYTES = 128 * 1024
# The ledger is ordered by batch_id: a lookup there reads a few granules whatever its age. The data tables
# are ordered for reads and leave batch_id out, so a lookup there names what their rows are ordered by: the
# leading columns of each table's sort key (SORT_KEY_PREFIXES, checked against the migrations by a test),
# with the values the records' rows hold, and the records' receive times, which their rows carry exactly.
# ClickHouse then reads only the granules of those keys in the parts of that time range, however large
# the table, instead of every batch_id of up to six months of rows.
_LEDGER_IDS = "SELECT DISTINCT batch_id FROM {table} WHERE batch_id IN {ids}"
_TABLE_IDS = (
    "SELECT DISTINCT batch_id FROM {table} WHERE {key} IN {keys} AND received_at >= {start} "
    "AND received_at <= {end} AND batch_id IN {ids}"
)
_ONE_SECOND = timedelta(seconds=1)
SORT_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "media_events": ("org_hash", "media_id", "session_id"),
    "pose_tracking_frames": ("org_hash", "session_id"),
    "analytics_events": ("org_hash", "event_name"),
    "error_reports": ("app_version", "error_type"),
}
# ClickHouse error codes that refuse an insert for its data, not for the connection or the server's state:
# retrying the same rows can never succeed (CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED,
# CANNOT_PARSE_DATE, CANNOT_PARSE_DATETIME, TYPE_MISMATCH (clickhouse-driver's own for a value its
# column cannot hold), ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE, CANNOT_PARSE_NUMBER,
# VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN).
REFUSED_DATA_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 321, 349})


def landed_batch_queries(table: str, records: list[SpoolRecord]) -> Iterator[Sql]:
    """The queries that tell which of ``records`` (all bound for ``table``) it already holds."""
    key = [name for name in SORT_KEY_PREFIXES.get(table, ()) if all(name in record.columns for record in records)]
    for lookup in _lookups(records, key):
        yield render(_TABLE_IDS, table=identifier(table), **lookup)


def _lookups(records: list[SpoolRecord], key: list[str]) -> Iterator[dict[str, Any]]:
    """The values of :data:`_TABLE_IDS` for ``records`` of one table, in groups of at most
    ``_LOOKUP_IDS_PER_QUERY`` records and ``_LOOKUP_KEY_BYTES`` of keys. ``key`` names the sort key columns
    every record has (an older record may lack a newer column); without any, the key condition is the
    always-true ``1 IN (1)``."""
    group: list[SpoolRecord] = []
    keys: set[tuple[Any, ...]] = set()
    key_bytes = 0
    for record in records:
        record_keys = set(zip(*(record.columns[name] for name in key), strict=True)) if key else set()
        if group and (
            len(group) == _LOOKUP_IDS_PER_QUERY or key_bytes + _literal_bytes(record_keys - keys) > _LOOKUP_KEY_BYTES
        ):
            yield _lookup(group, key, keys)
            group, keys, key_bytes = [], set(), 0
        key_bytes += _literal_bytes(record_keys - keys)
        group.append(record)
        keys |= record_keys
    if group:
        yield _lookup(group, key, keys)


def _literal_bytes(keys: set[tuple[Any, ...]]) -> int:
    return sum(len(literal(each)) + 2 for each in keys)


def _lookup(records: list[SpoolRecord], key: list[str], keys: set[tuple[Any, ...]]) -> dict[str, Any]:
    # DateTime('UTC') keeps whole seconds, truncated or rounded by the driver: a second either side.
    start = min(record.received_at for record in records).replace(microsecond=0) - _ONE_SECOND
    end = max(record.received_at for record in records).replace(microsecond=0) + _ONE_SECOND
    return {
        "key": Sql("(" + ", ".join(identifier(name) for name in key) + ")") if key else Sql("1"),
        "keys": sorted(keys, key=str) if key else [1],
        "start": start,
        "end": end,
        "ids": sorted({record.batch_id for record in records}),
    }


def merge_blocks(records: Sequence[SpoolRecord]) -> list[tuple[str, dict[str, list[Any]]]]:
    """``records``' columns concatenated per table and column set, in spool order of each block's first
    record. Records spooled by an older release lack the columns later migrations added: they form a block
    of their own, inserted with only their columns, so ClickHouse fills the others with their defaults."""
    blocks: dict[tuple[str, tuple[str, ...]], dict[str, list[Any]]] = {}
    for record in records:
        block = blocks.setdefault((record.table, tuple(record.columns)), {name: [] for name in record.columns})
        for name, values in record.columns.items():
            block[name].extend(values)
    return [(table, columns) for (table, _), columns in blocks.items()]


class Flusher:
    """Moves committed spool records into ClickHouse as large blocks, then advances the checkpoint."""

    def __init__(self, spool: Spool, store: ClickHouseStore, *, flush_rows: int, flush_interval_seconds: float) -> None:
        self._spool = spool
        self._store = store
        self._flush_rows = flush_rows
        self._interval = flush_interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        # True until a flush has succeeded since the start or since the last failure: then what ClickHouse
        # already holds of the next records is unknown and must be looked up.
        self._uncertain = True
        self.inserts = 0
        """Columnar inserts of data blocks made so far (ledger inserts not counted)."""

    def start(self) -> None:
        """Start the background task; it first replays whatever the spool holds after its checkpoint."""
        if self._spool.empty:
            # Nothing after the checkpoint: the last process's inserts are all behind it, so the records
            # to come are new and the first blocks need no lookup.
            self._uncertain = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spool-flusher")

    async def stop(self, deadline_seconds: float = 10.0) -> None:
        """Stop the task and insert what the spool holds, for at most ``deadline_seconds``; what cannot be
        inserted (ClickHouse down) stays in the spool for the next start."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        try:
            await asyncio.wait_for(self.drain(), deadline_seconds)
        except (ClickHouseError, TimeoutError) as exc:
            log.warning("spool.shutdown_left_rows", error=str(exc), spooled_bytes=self._spool.spooled_bytes)

    async def drain(self) -> int:
        """Insert everything committed so far; return the rows inserted. Raises :class:`ClickHouseError`."""
        total = 0
        while True:
            inserted, more = await self.flush_once()
            total += inserted
            if not more:
                return total

    async def flush_once(self) -> tuple[int, bool]:
        """Insert one block of up to about ``flush_rows`` rows per table from the checkpoint on; return the
        rows inserted and whether records remain. Raises :class:`ClickHouseError`."""
        async with self._flush_lock:
            spool = self._spool
            start = spool.checkpoint
            spool.appended_rows = 0
            result = spool.read_recent(start, self._flush_rows)
            if result is None:
                result = await asyncio.to_thread(spool.read, start, self._flush_rows)
            if result.end == start:
                return 0, False
            try:
                pending = await self._not_yet_stored(result.records)
                missing = await self._not_in_tables(pending) if self._uncertain else pending
                inserted, refused = 0, set[uuid.UUID]()
                try:
                    for table, columns in merge_blocks(missing):
                        inserted += await self._store.insert(table, columns)
                        self.inserts += 1
                except ClickHouseError as exc:
                    if exc.code not in REFUSED_DATA_CODES:
                        raise
                    log.error("spool.block_refused", code=exc.code, error=str(exc), records=len(missing))
                    inserted, refused = await self._insert_one_by_one(missing)
                # Every pending idempotent batch is stored by now (or set aside as refused), also those a lost
                # answer had stored.
                ledger = [record for record in pending if record.idempotent and record.batch_id not in refused]
                if ledger:
                    await self._store.insert(
                        "ingest_batches",
                        {
                            "batch_id": [record.batch_id for record in ledger],
                            "endpoint": [record.endpoint for record in ledger],
                            "row_count": [record.rows for record in ledger],
                            "received_at": [record.received_at for record in ledger],
                        },
                    )
            except BaseException:
                self._uncertain = True
                raise
            self._uncertain = False
            await asyncio.to_thread(spool.advance, result.end)
            return inserted, not spool.drained

    async def _insert_one_by_one(self, records: list[SpoolRecord]) -> tuple[int, set[uuid.UUID]]:
        """After ClickHouse refused a block's data: insert ``records`` one at a time, skipping those a table
        already holds (the tables inserted before the refused one), and set aside each one ClickHouse refuses
        in the spool's ``refused`` folder, so that one bad record neither blocks the spool nor is lost.
        Returns the rows inserted and the refused batch ids; other failures raise as usual."""
        inserted, refused = 0, set()
        for record in await self._not_in_tables(records):
            try:
                inserted += await self._store.insert(record.table, record.columns)
                self.inserts += 1
            except ClickHouseError as exc:
                if exc.code not in REFUSED_DATA_CODES:
                    raise
                path = await asyncio.to_thread(self._spool.set_aside, record)
                refused.add(record.batch_id)
                log.error(
                    "spool.record_refused",
                    code=exc.code,
                    error=str(exc),
                    table=record.table,
                    batch_id=str(record.batch_id),
                    rows=record.rows,
                    path=str(path),
                )
        return inserted, refused

    async def _not_in_tables(self, records: list[SpoolRecord]) -> list[SpoolRecord]:
        """``records`` without the batches their target table already holds, asked by sort key and receive
        time in queries of a bounded size."""
        by_table: dict[str, list[SpoolRecord]] = {}
        for record in records:
            by_table.setdefault(record.table, []).append(record)
        present: set[uuid.UUID] = set()
        for table, table_records in by_table.items():
            for query in landed_batch_queries(table, table_records):
                present.update(uuid.UUID(str(value)) for value in await self._store.select_values(query))
        if present:
            log.info("spool.replay_skipped", batches=len(present))
        return [record for record in records if record.batch_id not in present]

    async def _not_yet_stored(self, records: list[SpoolRecord]) -> list[SpoolRecord]:
        """``records`` without idempotent batches already in the ledger or earlier in ``records``."""
        ids = {record.batch_id for record in records if record.idempotent}
        stored = await self._stored_ids("ingest_batches", ids)
        kept: list[SpoolRecord] = []
        for record in records:
            if record.idempotent:
                if record.batch_id in stored:
                    log.info("spool.duplicate_skipped", batch_id=str(record.batch_id))
                    continue
                stored.add(record.batch_id)
            kept.append(record)
        return kept

    async def _stored_ids(self, table: str, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` ``table`` holds in its ``batch_id`` column, asked in queries of a bounded size."""
        ordered = sorted(ids)
        stored: set[uuid.UUID] = set()
        for first in range(0, len(ordered), _LOOKUP_IDS_PER_QUERY):
            chunk = ordered[first : first + _LOOKUP_IDS_PER_QUERY]
            query = render(_LEDGER_IDS, table=identifier(table), ids=chunk)
            stored.update(uuid.UUID(str(value)) for value in await self._store.select_values(query))
        return stored

    async def _run(self) -> None:
        backoff = self._interval
        while not self._stopping.is_set():
            await self._wait_for_rows(backoff)
            if self._stopping.is_set():
                return
            try:
                await self.drain()
                backoff = self._interval
            except ClickHouseError as exc:
                log.error("spool.insert_failed", code=exc.code, error=str(exc), spooled_bytes=self._spool.spooled_bytes)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("spool.writer_failed")
                backoff = min(backoff * 2, 30.0)

    async def _wait_for_rows(self, seconds: float) -> None:
        """Sleep ``seconds``, or less once ``flush_rows`` rows are committed or on stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stopping.is_set() and self._spool.appended_rows < self._flush_rows:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._spool.committed_event.clear()
            stop = asyncio.ensure_future(self._stopping.wait())
            committed = asyncio.ensure_future(self._spool.committed_event.wait())
            await asyncio.wait({stop, committed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            committed.cancel()
