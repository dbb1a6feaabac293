"""The write-ahead spool between the ingest routes and ClickHouse, and the writer that drains it.

A request's rows become one :class:`SpoolRecord` (table, columns, batch id), appended to the current
segment file as ``length | crc32 | msgpack``. Appends are group-committed: a committer task takes every
append waiting, writes them with one ``write`` and makes them durable with one ``fsync``; each request
awaits its own future and is acknowledged (202) only after that fsync. So a 2xx means the rows are on
disk, and many concurrent requests share one fsync.

:class:`SpoolWriter`, a background task, reads committed records after the durable checkpoint, merges
them per table into blocks (``flush_rows`` rows, or whatever is there after ``flush_interval_seconds``),
inserts each block with one columnar insert, writes the batch-id ledger for idempotent batches, then
moves the checkpoint (written to a temporary file, fsynced, renamed) and deletes finished segments.
The records this process committed are also kept in memory (up to ``recent_rows`` rows, from the
checkpoint on), so the writer takes them from there instead of reading and decoding them back from disk;
the disk is read only for a replay after a start and after the memory limit was exceeded.
ClickHouse unavailable: the records stay in the spool and the writer retries; requests keep being
accepted until the spool holds ``max_bytes``, then get 503 with Retry-After. A process that starts on a
spool folder replays everything after the checkpoint; a torn record at the end of a segment (a write
cut short by a crash, so never acknowledged) fails its length or checksum and is skipped.

Replays store each batch once. Whenever the writer cannot be sure what the last attempt left in
ClickHouse (after a start on a spool that holds records, and after any failed flush: an insert may land
although its answer was lost, or the ledger insert after it may fail), it first asks each target table
which of the block's batch ids it already holds and drops those records; every row carries its batch id,
and one block insert lands whole or not at all. In steady state that lookup is skipped. Retries by
clients (the same ``Idempotency-Key``) are caught by the ``ingest_batches`` ledger. What remains
at-least-once: a block whose rows fall into two monthly partitions and whose insert failed after the
first one was written.

A block ClickHouse refuses for its data (a value its column cannot hold: ``REFUSED_DATA_CODES``) would
be refused on every retry and hold up everything behind it. The writer then inserts the block's records
one at a time and sets each refused one aside, whole, in the spool's ``refused/`` folder (fsynced, logged
as ``spool.record_refused``) before the checkpoint moves past it: nothing acknowledged is dropped, and
one bad record does not stop ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import structlog
from service_common.errors import ServiceUnavailableError

from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore

log = structlog.get_logger("spool")

_FRAME = struct.Struct("<II")  # payload length, crc32 of the payload
_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".log"
_CHECKPOINT = "checkpoint"
_LOCK = "lock"
# Batch ids per lookup query. A block after an outage holds thousands of records; aiochclient parses each
# query with sqlparse, which refuses more than 10,000 tokens (six per listed id), and ClickHouse refuses
# queries over 256 KiB. One query for all of them failed on every retry, so the spool never drained.
_LOOKUP_IDS_PER_QUERY = 500
REFUSED_FOLDER = "refused"
# ClickHouse error codes that refuse an insert for its data, not for the connection or the server's state:
# retrying the same rows can never succeed (CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED,
# CANNOT_PARSE_DATE, CANNOT_PARSE_DATETIME, TYPE_MISMATCH (clickhouse-driver's own for a value its
# column cannot hold), ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE, CANNOT_PARSE_NUMBER,
# VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN).
REFUSED_DATA_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 321, 349})


class SpoolRecord(msgspec.Struct, array_like=True, frozen=True):
    """One request's rows for one table, as the spool stores them."""

    endpoint: str
    table: str
    batch_id: uuid.UUID
    idempotent: bool
    received_at: datetime
    columns: dict[str, list[Any]]
    uuid_columns: list[str] = []
    """Columns holding UUIDs: msgpack carries them as text, the stores need :class:`uuid.UUID`."""

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()), []))


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SpoolRecord)
_position_decoder = msgspec.msgpack.Decoder(tuple[int, int])


def encode_record(record: SpoolRecord) -> bytes:
    """``record`` framed for a segment file: length, crc32, msgpack payload."""
    return _framed(_encoder.encode(record))


def _framed(payload: bytes) -> bytes:
    """A record's msgpack ``payload`` as a segment file holds it: length, crc32, payload."""
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _restore_uuids(record: SpoolRecord) -> SpoolRecord:
    for name in record.uuid_columns:
        record.columns[name] = [uuid.UUID(value) for value in record.columns[name]]
    return record


class SpoolFullError(ServiceUnavailableError):
    """The spool holds its maximum size; the client should retry after ``retry_after_seconds``."""

    slug = "spool-full"
    title = "Telemetry ingestion is saturated"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass
class _Pending:
    payload: bytes
    """The record's msgpack; the committer frames it (crc32) in its thread, off the event loop."""
    record: SpoolRecord
    done: asyncio.Future[None]

    @property
    def size(self) -> int:
        return _FRAME.size + len(self.payload)


@dataclass(frozen=True)
class _Recent:
    """A committed record kept in memory, with where it starts and ends in the spool."""

    start: Position
    end: Position
    record: SpoolRecord


@dataclass
class ReadResult:
    """Committed records read from the spool and the position just after the last one."""

    records: list[SpoolRecord] = field(default_factory=list)
    end: Position = Position(0, 0)


class Spool:
    """Segment files under ``directory``: durable group-committed appends, reads from a checkpoint."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_bytes: int = 67_108_864,
        retry_after_seconds: int = 5,
        recent_rows: int = 20_000,
        on_fsync: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.retry_after_seconds = retry_after_seconds
        self.recent_rows = recent_rows
        """Most rows of committed records kept in memory for the writer (0: always read back from disk)."""
        self.on_fsync = on_fsync
        """Called after each fsync with the number of records it made durable (tests, metrics)."""
        self.fsyncs = 0
        self.checkpoint = Position(0, 0)
        self.committed = Position(0, 0)
        self.appended_rows = 0
        """Rows committed since the writer last took them; wakes the writer at ``flush_rows``."""
        self.committed_event = asyncio.Event()
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        # Committed records from the checkpoint on, contiguous, in spool order; empty whenever some
        # committed record after the checkpoint is only on disk (a replay, or more than recent_rows).
        self._recent: deque[_Recent] = deque()
        self._recent_row_count = 0
        self._recent_full = False
        self._spooled_bytes = 0
        self._wake = asyncio.Event()
        self._file: BinaryIO | None = None
        self._lock_file: BinaryIO | None = None
        self._committer: asyncio.Task[None] | None = None
        self._closing = False

    # Opening and closing ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Lock the folder (one process per spool), read the checkpoint and start a new segment; records of
        earlier segments after the checkpoint are read back by the writer (the replay)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.directory / _LOCK).open("wb")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_file.close()
            raise RuntimeError(f"another process is using the spool in {self.directory}") from exc
        checkpoint_file = self.directory / _CHECKPOINT
        if checkpoint_file.exists():
            self.checkpoint = Position(*_position_decoder.decode(checkpoint_file.read_bytes()))
        segments = self._segments()
        current = max([*segments, self.checkpoint.segment]) + 1
        self._file = self._segment_path(current).open("ab")
        _fsync_dir(self.directory)
        self.committed = Position(current, 0)
        self._spooled_bytes = self._measure()
        self._committer = asyncio.get_running_loop().create_task(self._commit_loop(), name="spool-commit")

    async def stop_appends(self) -> None:
        """Commit what is waiting and stop the committer; later appends get 503."""
        self._closing = True
        self._wake.set()
        if self._committer is not None:
            await self._committer

    async def close(self) -> None:
        """Stop appends, close the segment and release the folder."""
        await self.stop_appends()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # Appending ---------------------------------------------------------------------------------------------

    @property
    def spooled_bytes(self) -> int:
        """Bytes appended (or waiting to be) and not yet checkpointed."""
        return self._spooled_bytes + self._pending_bytes

    async def append(self, record: SpoolRecord) -> None:
        """Return once ``record`` is durable; raise :class:`SpoolFullError` when the spool is full."""
        if self._closing or self._committer is None:
            raise ServiceUnavailableError("The telemetry service is shutting down; retry.")
        payload = _encoder.encode(record)
        size = _FRAME.size + len(payload)
        if self.spooled_bytes + size > self.max_bytes:
            raise SpoolFullError(
                "Telemetry storage is behind and its spool is full; retry later with the same key.",
                self.retry_after_seconds,
            )
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(payload, record, done))
        self._pending_bytes += size
        self._wake.set()
        await asyncio.shield(done)
        self.appended_rows += record.rows

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                batch, self._pending = self._pending, []
                size = sum(item.size for item in batch)
                self._pending_bytes -= size
                start = self.committed
                try:
                    await asyncio.to_thread(self._write, [item.payload for item in batch])
                except OSError as exc:
                    log.error("spool.write_failed", error=str(exc))
                    for item in batch:
                        item.done.set_exception(ServiceUnavailableError("The telemetry spool cannot be written."))
                    continue
                self._remember(start, batch)
                self._spooled_bytes += size
                self.fsyncs += 1
                if self.on_fsync is not None:
                    self.on_fsync(len(batch))
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
                self.committed_event.set()
            if self._closing and not self._pending:
                return

    def _remember(self, start: Position, batch: list[_Pending]) -> None:
        """Keep the records of a committed ``batch`` (written from ``start`` on) for the writer. The kept
        records stay contiguous and within ``recent_rows``: past the limit, new records are not kept until
        the writer has taken all kept ones, and it reads the others from disk until it reaches the first
        record kept after that."""
        rows = sum(item.record.rows for item in batch)
        recent = self._recent
        self._forget_checkpointed()
        if recent and (
            self._recent_full or recent[-1].end != start or self._recent_row_count + rows > self.recent_rows
        ):
            self._recent_full = True
            return
        self._recent_full = False
        if rows > self.recent_rows:
            return
        offset = start.offset
        for item in batch:
            record_start = Position(start.segment, offset)
            offset += item.size
            recent.append(_Recent(record_start, Position(start.segment, offset), item.record))
        if self.committed.segment != start.segment:
            # The batch filled its segment and the next one began: reading on starts there.
            last = recent.pop()
            recent.append(_Recent(last.start, self.committed, last.record))
        self._recent_row_count += rows

    def _forget_checkpointed(self) -> None:
        """Drop kept records the checkpoint has passed (runs on the event loop, like every use of them)."""
        recent = self._recent
        while recent and recent[0].end <= self.checkpoint:
            self._recent_row_count -= recent.popleft().record.rows

    def _write(self, payloads: list[bytes]) -> None:
        """Runs in a worker thread: frame, append, fsync, rotate the segment when it is large."""
        assert self._file is not None
        data = b"".join(_framed(payload) for payload in payloads)
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            # Cut off a partial write so the next append starts where the committed data ends.
            with contextlib.suppress(OSError):
                self._file.truncate(self.committed.offset)
            raise
        offset = self.committed.offset + len(data)
        if offset >= self.segment_bytes:
            self._file.close()
            self._file = self._segment_path(self.committed.segment + 1).open("ab")
            _fsync_dir(self.directory)
            self.committed = Position(self.committed.segment + 1, 0)
        else:
            self.committed = Position(self.committed.segment, offset)

    # Reading and checkpointing ----------------------------------------------------------------------------

    def read_recent(self, start: Position, max_rows: int) -> ReadResult | None:
        """What :meth:`read` would return, from the records kept in memory; None when they do not start at
        ``start``. Cheap: runs on the event loop."""
        self._forget_checkpointed()
        recent = self._recent
        if not recent or recent[0].start != start:
            return None
        result = ReadResult(end=start)
        rows = 0
        for entry in recent:
            result.records.append(entry.record)
            result.end = entry.end
            rows += entry.record.rows
            if rows >= max_rows:
                break
        return result

    def read(self, start: Position, max_rows: int) -> ReadResult:
        """Committed records from ``start`` until about ``max_rows`` rows (at least one record), skipping a
        torn record at the end of an earlier segment."""
        result = ReadResult(end=start)
        rows = 0
        committed = self.committed
        for segment in [number for number in self._segments() if number >= start.segment]:
            if segment > committed.segment:
                break
            limit = committed.offset if segment == committed.segment else None
            offset = start.offset if segment == start.segment else 0
            with self._segment_path(segment).open("rb") as source:
                source.seek(offset)
                while limit is None or offset < limit:
                    header = source.read(_FRAME.size)
                    if len(header) < _FRAME.size:
                        break
                    length, checksum = _FRAME.unpack(header)
                    payload = source.read(length)
                    if len(payload) < length or zlib.crc32(payload) != checksum:
                        log.warning("spool.torn_record", segment=segment, offset=offset)
                        break
                    try:
                        record = _restore_uuids(_decoder.decode(payload))
                    except (msgspec.DecodeError, ValueError):
                        log.warning("spool.unreadable_record", segment=segment, offset=offset)
                        break
                    offset += _FRAME.size + length
                    result.records.append(record)
                    result.end = Position(segment, offset)
                    rows += record.rows
                    if rows >= max_rows:
                        return result
            if segment < committed.segment:
                # An earlier segment is finished (its tail, if torn, was never acknowledged).
                result.end = Position(segment + 1, 0)
        return result

    def set_aside(self, record: SpoolRecord) -> Path:
        """Keep ``record``, which ClickHouse refused, as ``refused/<batch id>.msgpack`` (durably, before the
        checkpoint passes it) for an operator to inspect; return its path. It counts no longer towards the
        spool's size, so refused records never fill the spool."""
        folder = self.directory / REFUSED_FOLDER
        folder.mkdir(exist_ok=True)
        path = folder / f"{record.batch_id}.msgpack"
        with path.open("wb") as target:
            target.write(_encoder.encode(record))
            target.flush()
            os.fsync(target.fileno())
        _fsync_dir(folder)
        return path

    def advance(self, position: Position) -> None:
        """Make ``position`` the durable checkpoint and delete the segments wholly before it."""
        if position <= self.checkpoint:
            return
        temporary = self.directory / f"{_CHECKPOINT}.tmp"
        with temporary.open("wb") as target:
            target.write(_encoder.encode((position.segment, position.offset)))
            target.flush()
            os.fsync(target.fileno())
        temporary.replace(self.directory / _CHECKPOINT)
        _fsync_dir(self.directory)
        self.checkpoint = position
        for segment in self._segments():
            if segment < position.segment:
                with contextlib.suppress(FileNotFoundError):
                    self._segment_path(segment).unlink()
        self._spooled_bytes = self._measure()

    @property
    def empty(self) -> bool:
        """Whether no committed record lies after the checkpoint (a segment boundary may)."""
        self._forget_checkpointed()
        return not self._pending and not self._recent and not self.read(self.checkpoint, 1).records

    @property
    def drained(self) -> bool:
        """Whether everything committed is behind the checkpoint."""
        self._forget_checkpointed()
        if self._pending or self._recent:
            return False
        return self.read(self.checkpoint, 1).end == self.checkpoint

    def _measure(self) -> int:
        total = 0
        for segment in self._segments():
            if segment >= self.checkpoint.segment:
                total += self._segment_path(segment).stat().st_size
        return max(total - (self.checkpoint.offset if self.checkpoint.segment in self._segments() else 0), 0)

    def _segments(self) -> list[int]:
        numbers = []
        for path in self.directory.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}"):
            with contextlib.suppress(ValueError):
                numbers.append(int(path.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]))
        return sorted(numbers)

    def _segment_path(self, number: int) -> Path:
        return self.directory / f"{_SEGMENT_PREFIX}{number:012d}{_SEGMENT_SUFFIX}"


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# The background writer -----------------------------------------------------------------------------------


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


class SpoolWriter:
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
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spool-writer")

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
            # Table names come from the ingest code and ids are UUIDs this service made: safe as text.
            listed = ", ".join(f"toUUID('{batch_id}')" for batch_id in ordered[start : start + _LOOKUP_IDS_PER_QUERY])
            rows = await self._store.select(f"SELECT DISTINCT batch_id FROM {table} WHERE batch_id IN ({listed})")
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
