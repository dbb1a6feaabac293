"""The flusher: moves committed spool records into ClickHouse, each batch once.

:class:`Flusher` runs in a process of its own (``python -m telemetry.flusher``, one per spool folder), so
the request process only appends and fsyncs and the two do not share one interpreter's lock. Every
``flush_interval_seconds`` it reads the committed records after the folder's durable checkpoint
(``spool/reader.py``), merges them per table into blocks of up to about ``flush_rows`` rows, inserts each
block with one columnar insert, writes the batch-id ledger for idempotent batches, then advances the
checkpoint; it repeats until it has caught up. ClickHouse unavailable: the records stay in the spool and
the flusher retries with back-off (up to 30 s).

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
import contextlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import structlog

from telemetry.clickhouse.sql import Sql, identifier, literal, render
from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore
from telemetry.spool.reader import SpoolReader
from telemetry.spool.record import SpoolRecord

log = structlog.get_logger("spool")

# Batch ids per ledger lookup, and the bytes of a data-table lookup's key lists. A block after an outage
# holds thousands of records, and ClickHouse refuses queries over 256 KiB (max_query_size): one query for
# all of them failed on every retry, so the spool never drained. Lookups go over the native connection
# (``select_values``): through aiochclient, its sqlparse took longer to read a lookup than ClickHouse took
# to answer it, and refused more than 10,000 tokens.
_LOOKUP_IDS_PER_QUERY = 500
_LOOKUP_KEY_BYTES = 128 * 1024
# The ledger is ordered by batch_id: a lookup there reads a few granules whatever its age. The data tables
# are ordered for reads and leave batch_id out, so a lookup there names what their rows are ordered by: the
# leading columns of each table's sort key (SORT_KEY_PREFIXES, checked against the migrations by a test),
# each with the values the records' rows hold, and the records' receive times, which their rows carry
# exactly. ClickHouse then reads only the granules of those keys in the parts of that time range, however
# large the table. It answers every batch id it finds there, and the flusher keeps those of its records:
# a list of 500 ids in the query made ClickHouse 18.16 take several times longer to read the query than
# to find the rows (bench/replay_lookup.py).
# Both lookups write UUIDs as quoted text, which ClickHouse converts to the column's type as it builds the
# IN set: 18.16 analyses each toUUID('…') as an expression of its own (a ledger lookup of 500 ids took 14 ms
# of server CPU so, 4 ms as text; bench/replay_lookup.py prints the data-table lookup's profile).
_LEDGER_IDS = "SELECT DISTINCT batch_id FROM {table} WHERE batch_id IN {ids}"
_TABLE_IDS = "SELECT DISTINCT batch_id FROM {table} WHERE {keys} AND received_at >= {start} AND received_at <= {end}"
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
    """The queries that tell which of ``records`` (all bound for ``table``) it already holds: each answers
    the batch ids ``table`` holds under those records' sort keys and receive times, theirs among them."""
    key = [name for name in SORT_KEY_PREFIXES.get(table, ()) if all(name in record.columns for record in records)]
    for group, values in _groups(records, key):
        yield _lookup(table, group, key, values)


async def landed_batch_ids(store: ClickHouseStore, table: str, records: list[SpoolRecord]) -> set[uuid.UUID]:
    """The batch ids ``table`` holds under ``records``' sort keys and receive times, theirs among them, asked
    in queries of a bounded size (``landed_batch_queries``)."""
    present: set[uuid.UUID] = set()
    for query in landed_batch_queries(table, records):
        present.update(_batch_id(value) for value in await store.select_values(query))
    return present


def _groups(records: list[SpoolRecord], key: list[str]) -> Iterator[tuple[list[SpoolRecord], set[tuple[str, Any]]]]:
    """``records`` in groups whose key values take at most ``_LOOKUP_KEY_BYTES`` as literals, each with those
    values (column name, value as the lookup names it). ``key`` names the sort key columns every record has
    (an older record may lack a newer column)."""
    group: list[SpoolRecord] = []
    seen: set[tuple[str, Any]] = set()
    key_bytes = 0
    for record in records:
        values = {(name, value) for name in key for value in _distinct(record.columns[name])}
        added = sum(len(literal(value)) + 2 for _, value in values - seen)
        if group and key_bytes + added > _LOOKUP_KEY_BYTES:
            yield group, seen
            group, seen, key_bytes = [], set(), 0
            added = sum(len(literal(value)) + 2 for _, value in values)
        group.append(record)
        seen |= values
        key_bytes += added
    if group:
        yield group, seen


def _distinct(values: list[Any]) -> set[Any]:
    """The distinct ``values`` of a record's column, as a lookup names them: a UUID as quoted text (see
    above ``_LEDGER_IDS``). ``uuid.UUID`` hashes and compares in Python, which for every row of a block of
    500 records took longer than ClickHouse's answer; but a record's rows share their value objects (the
    spool reader makes one UUID per distinct text, and a pose batch is one session), so the rows are told
    apart by identity first, in C: ``list.count`` compares by identity before it calls ``__eq__``."""
    if values and values.count(values[0]) == len(values):
        unique: Iterable[Any] = values[:1]
    else:
        unique = dict(zip(map(id, values), values, strict=True)).values()
    return {str(value) if isinstance(value, uuid.UUID) else value for value in unique}


def _lookup(table: str, records: list[SpoolRecord], key: list[str], values: set[tuple[str, Any]]) -> Sql:
    # Each key column's own list of values: a superset of the records' key tuples that the primary key
    # index uses as well, and far quicker for 18.16 to read than a list of tuples. Without any key column,
    # the always-true 1.
    keys = [
        render(
            "{column} IN {values}",
            column=identifier(name),
            values=sorted((value for column, value in values if column == name), key=str),
        )
        for name in key
    ]
    # DateTime('UTC') keeps whole seconds, truncated or rounded by the driver: a second either side.
    return render(
        _TABLE_IDS,
        table=identifier(table),
        keys=Sql(" AND ".join(keys) or "1"),
        start=min(record.received_at for record in records).replace(microsecond=0) - _ONE_SECOND,
        end=max(record.received_at for record in records).replace(microsecond=0) + _ONE_SECOND,
    )


def _batch_id(value: Any) -> uuid.UUID:
    """A ``batch_id`` a lookup answered: the server store's native reads give a UUID already, the embedded
    store's text."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


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

    def __init__(
        self, spool: SpoolReader, store: ClickHouseStore, *, flush_rows: int, flush_interval_seconds: float
    ) -> None:
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
        """Stop the task and insert what the spool holds until the request process has let go of the folder
        and everything is in, for at most ``deadline_seconds``; what cannot be inserted in time (ClickHouse
        down) stays in the spool for the next flusher of this folder."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if deadline_seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._drain_until_released(), deadline_seconds)
        except (ClickHouseError, TimeoutError) as exc:
            log.warning("spool.shutdown_left_rows", error=str(exc), unflushed_bytes=self._spool.unflushed_bytes)

    async def _drain_until_released(self) -> None:
        while True:
            appender_running = await asyncio.to_thread(lambda: self._spool.appender_running)
            await self.drain()
            if not appender_running:
                return
            await asyncio.sleep(0.1)

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
            # A read that stopped short of flush_rows reached the committed end as it was then.
            return inserted, sum(record.rows for record in result.records) >= self._flush_rows

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
            present |= await landed_batch_ids(self._store, table, table_records)
        kept = [record for record in records if record.batch_id not in present]
        if len(kept) < len(records):
            log.info("spool.replay_skipped", batches=len(records) - len(kept))
        return kept

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
            query = render(_LEDGER_IDS, table=identifier(table), ids=[str(batch_id) for batch_id in chunk])
            stored.update(_batch_id(value) for value in await self._store.select_values(query))
        return stored

    async def _run(self) -> None:
        backoff = self._interval
        while not self._stopping.is_set():
            await self._wait_for_rows(backoff)
            if self._stopping.is_set():
                return
            try:
                # Until caught up, or stopping: under a load faster than the inserts, drain() would not end.
                while not self._stopping.is_set() and (await self.flush_once())[1]:
                    pass
                backoff = self._interval
            except ClickHouseError as exc:
                log.error(
                    "spool.insert_failed", code=exc.code, error=str(exc), unflushed_bytes=self._spool.unflushed_bytes
                )
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("spool.writer_failed")
                backoff = min(backoff * 2, 30.0)

    async def _wait_for_rows(self, seconds: float) -> None:
        """Sleep ``seconds``, or less on stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
