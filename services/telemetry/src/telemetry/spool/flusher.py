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
from collections.abc import Sequence
from typing import Any

import structlog

from telemetry.clickhouse.sql import identifier, render
from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore
from telemetry.spool.record import SpoolRecord
from telemetry.spool.spool import Spool

log = structlog.get_logger("spool")

# Batch ids per lookup query. A block after an outage holds thousands of records; aiochclient parses each
# query with sqlparse, which refuses more than 10,000 tokens (six per listed id), and ClickHouse refuses
# queries over 256 KiB. One query for all of them failed on every retry, so the spool never drained.
_LOOKUP_IDS_PER_QUERY = 500
_STORED_IDS = "SELECT DISTINCT batch_id FROM {table} WHERE batch_id IN {ids}"
# ClickHouse error codes that refuse an insert for its data, not for the connection or the server's state:
# retrying the same rows can never succeed (CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED,
# CANNOT_PARSE_DATE, CANNOT_PARSE_DATETIME, TYPE_MISMATCH (clickhouse-driver's own for a value its
# column cannot hold), ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE, CANNOT_PARSE_NUMBER,
# VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN).
REFUSED_DATA_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 321, 349})


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
            # to come are new and the first blocks need no lookup (with aiochclient parsing each lookup
            # query with sqlparse, the first block after a start cost hundreds of milliseconds of the event loop).
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
        """``records`` without the batches their target table already holds (one lookup per table)."""
        by_table: dict[str, set[uuid.UUID]] = {}
        for record in records:
            by_table.setdefault(record.table, set()).add(record.batch_id)
        present: set[uuid.UUID] = set()
        for table, ids in by_table.items():
            present |= await self._stored_ids(table, ids)
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
        for start in range(0, len(ordered), _LOOKUP_IDS_PER_QUERY):
            chunk = ordered[start : start + _LOOKUP_IDS_PER_QUERY]
            rows = await self._store.select(render(_STORED_IDS, table=identifier(table), ids=chunk))
            stored.update(uuid.UUID(str(row["batch_id"])) for row in rows)
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
