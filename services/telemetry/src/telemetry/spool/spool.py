"""The write-ahead spool between the ingest routes and ClickHouse.

A request's rows become one :class:`SpoolRecord` (table, columns, batch id; ``spool/record.py``),
appended to the current segment file as ``length | crc32 | msgpack``. Appends are group-committed: a
committer task takes every append waiting, writes them with one ``write`` and makes them durable with one
``fsync``; each request awaits its own future and is acknowledged (202) only after that fsync. So a 2xx
means the rows are on disk, and many concurrent requests share one fsync.

The flusher (``spool/flusher.py``) reads committed records after the durable checkpoint, stores them in
ClickHouse and then moves the checkpoint (:meth:`Spool.advance`: written to a temporary file, fsynced,
renamed), which deletes finished segments; a record ClickHouse refuses is set aside in ``refused/``. The
records this process committed are also kept in memory (up to ``recent_rows`` rows, from the checkpoint
on; ``spool/memory.py``), so the flusher takes them from there instead of reading and decoding them
back from disk; the disk is read only for a replay after a start and after the memory limit was exceeded.
Requests are accepted until the spool holds ``max_bytes``, then get 503 with Retry-After. A process that
starts on a spool folder replays everything after the checkpoint; a torn record at the end of a segment (a
write cut short by a crash, so never acknowledged) fails its length or checksum and is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec
import structlog
from service_common.errors import ServiceUnavailableError

from telemetry.spool.memory import SpoolMemory
from telemetry.spool.record import (
    FRAME_HEADER_SIZE,
    Position,
    ReadResult,
    SpoolRecord,
    encode_payload,
    framed,
    read_frames,
)

log = structlog.get_logger("spool")

_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".log"
_CHECKPOINT = "checkpoint"
_LOCK = "lock"
REFUSED_FOLDER = "refused"
_position_decoder = msgspec.msgpack.Decoder(tuple[int, int])


class SpoolFullError(ServiceUnavailableError):
    """The spool holds its maximum size; the client should retry after ``retry_after_seconds``."""

    slug = "spool-full"
    title = "Telemetry ingestion is saturated"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


@dataclass
class _Pending:
    payload: bytes
    """The record's msgpack; the committer frames it (crc32) in its thread, off the event loop."""
    record: SpoolRecord
    done: asyncio.Future[None]

    @property
    def size(self) -> int:
        return FRAME_HEADER_SIZE + len(self.payload)


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
        self.on_fsync = on_fsync
        """Called after each fsync with the number of records it made durable (tests, metrics)."""
        self.fsyncs = 0
        self.checkpoint = Position(0, 0)
        self.committed = Position(0, 0)
        self.appended_rows = 0
        """Rows committed since the flusher last took them; wakes the flusher at ``flush_rows``."""
        self.committed_event = asyncio.Event()
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        # Committed records kept for the flusher, at most recent_rows rows (0: always read back from disk).
        self._memory = SpoolMemory(recent_rows)
        self._spooled_bytes = 0
        self._wake = asyncio.Event()
        self._file: BinaryIO | None = None
        self._lock_file: BinaryIO | None = None
        self._committer: asyncio.Task[None] | None = None
        self._closing = False

    # Opening and closing ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Lock the folder (one process per spool), read the checkpoint and start a new segment; records of
        earlier segments after the checkpoint are read back for the flusher (the replay)."""
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
        payload = encode_payload(record)
        size = FRAME_HEADER_SIZE + len(payload)
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
        """Keep the records of a committed ``batch`` (written from ``start`` on) in memory for the flusher."""
        self._memory.forget_before(self.checkpoint)
        self._memory.keep(start, self.committed, [(item.size, item.record) for item in batch])

    def _write(self, payloads: list[bytes]) -> None:
        """Runs in a worker thread: frame, append, fsync, rotate the segment when it is large."""
        assert self._file is not None
        data = b"".join(framed(payload) for payload in payloads)
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
        self._memory.forget_before(self.checkpoint)
        return self._memory.read(start, max_rows)

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
                for record, end in read_frames(source, segment, offset, limit):
                    result.records.append(record)
                    result.end = Position(segment, end)
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
            target.write(encode_payload(record))
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
            target.write(encode_payload((position.segment, position.offset)))
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
        self._memory.forget_before(self.checkpoint)
        return not self._pending and not self._memory and not self.read(self.checkpoint, 1).records

    @property
    def drained(self) -> bool:
        """Whether everything committed is behind the checkpoint."""
        self._memory.forget_before(self.checkpoint)
        if self._pending or self._memory:
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
