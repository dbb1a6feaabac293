"""The write-ahead spool between the ingest routes and ClickHouse: the appending side.

A request's rows become one :class:`SpoolRecord` (table, columns, batch id; ``spool/record.py``),
appended to the current segment file as ``length | crc32 | msgpack``. Appends are group-committed: a
committer task takes every append waiting, writes them with one ``write`` and makes them durable with one
``fsync``, then publishes the new end in the folder's ``committed`` file (``spool/files.py``); each
request awaits its own future and is acknowledged (202) only after that. So a 2xx means the rows are on
disk, and many concurrent requests share one fsync.

The flusher (``spool/flusher.py``) runs in a process of its own (``python -m telemetry.flusher``): it reads
the committed records, stores them in ClickHouse and moves the folder's checkpoint, deleting finished
segments. This process never reads the segments back; it learns from the checkpoint, at most every
``_MEASURE_SECONDS``, how much of the spool is still to be flushed. Requests are accepted until the spool
holds ``max_bytes``, then get 503 with Retry-After.

Each request process appends to a folder of its own: :func:`claim_folder` takes the lowest numbered
subfolder of the spool root that no other process holds (``0``, ``1``, ... with ``SERVER_WORKERS``
processes), so a restarted worker takes over the folder its predecessor left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import structlog
from service_common.errors import ServiceUnavailableError

from telemetry.spool.files import (
    APPENDER_LOCK,
    CommittedPosition,
    fsync_dir,
    lock,
    read_checkpoint,
    segment_numbers,
    segment_path,
    unflushed_bytes,
)
from telemetry.spool.record import FRAME_HEADER_SIZE, Position, SpoolRecord, encode_payload, framed

log = structlog.get_logger("spool")

_MEASURE_SECONDS = 0.5
"""How often the committer re-reads the flusher's checkpoint to learn how full the spool is."""


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
    done: asyncio.Future[None]

    @property
    def size(self) -> int:
        return FRAME_HEADER_SIZE + len(self.payload)


def claim_folder(root: Path) -> tuple[Path, BinaryIO]:
    """The lowest numbered subfolder of ``root`` whose appender lock no other process holds, and that lock
    (held while the file stays open)."""
    root.mkdir(parents=True, exist_ok=True)
    number = 0
    while True:
        folder = root / str(number)
        folder.mkdir(exist_ok=True)
        held = lock(folder / APPENDER_LOCK)
        if held is not None:
            return folder, held
        number += 1


class Spool:
    """Segment files under ``directory``: durable group-committed appends, published for the flusher."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_bytes: int = 67_108_864,
        retry_after_seconds: int = 5,
        on_fsync: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.retry_after_seconds = retry_after_seconds
        self.on_fsync = on_fsync
        """Called after each fsync with the number of records it made durable (tests, metrics)."""
        self.fsyncs = 0
        self.committed = Position(0, 0)
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._spooled_bytes = 0
        self._measured_at = 0.0
        self._wake = asyncio.Event()
        self._file: BinaryIO | None = None
        self._lock_file: BinaryIO | None = None
        self._published: CommittedPosition | None = None
        self._committer: asyncio.Task[None] | None = None
        self._closing = False

    # Opening and closing ---------------------------------------------------------------------------------

    def open(self, held_lock: BinaryIO | None = None) -> None:
        """Lock the folder (one appending process per folder; ``held_lock`` when :func:`claim_folder` took
        it already), start a new segment after every existing one and publish its start."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = held_lock or lock(self.directory / APPENDER_LOCK)
        if self._lock_file is None:
            raise RuntimeError(f"another process is appending to the spool in {self.directory}")
        checkpoint = read_checkpoint(self.directory)
        current = max([*segment_numbers(self.directory), checkpoint.segment]) + 1
        self._file = segment_path(self.directory, current).open("ab")
        fsync_dir(self.directory)
        self.committed = Position(current, 0)
        self._published = CommittedPosition(self.directory)
        self._published.publish(self.committed)
        self._measure()
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
        for resource in (self._file, self._published, self._lock_file):
            if resource is not None:
                resource.close()
        self._file = self._published = self._lock_file = None

    # Appending ---------------------------------------------------------------------------------------------

    @property
    def spooled_bytes(self) -> int:
        """Bytes appended (or waiting to be) and not yet flushed, as of the last look at the checkpoint."""
        return self._spooled_bytes + self._pending_bytes

    @property
    def accepting(self) -> bool:
        """Whether an append now would be taken: the spool is open and has room (the readiness check)."""
        if self._committer is None or self._closing:
            return False
        self._measure_if_stale()
        return self.spooled_bytes < self.max_bytes

    async def append(self, record: SpoolRecord) -> None:
        """Return once ``record`` is durable; raise :class:`SpoolFullError` when the spool is full."""
        if self._closing or self._committer is None:
            raise ServiceUnavailableError("The telemetry service is shutting down; retry.")
        payload = encode_payload(record)
        size = FRAME_HEADER_SIZE + len(payload)
        if self.spooled_bytes + size > self.max_bytes:
            self._measure_if_stale()  # no commits while full: only a fresh look sees the flusher catch up
        if self.spooled_bytes + size > self.max_bytes:
            raise SpoolFullError(
                "Telemetry storage is behind and its spool is full; retry later with the same key.",
                self.retry_after_seconds,
            )
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(payload, done))
        self._pending_bytes += size
        self._wake.set()
        await asyncio.shield(done)

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                batch, self._pending = self._pending, []
                size = sum(item.size for item in batch)
                self._pending_bytes -= size
                self._spooled_bytes += size
                try:
                    await asyncio.to_thread(self._write, [item.payload for item in batch])
                except OSError as exc:
                    self._spooled_bytes -= size
                    log.error("spool.write_failed", error=str(exc))
                    for item in batch:
                        item.done.set_exception(ServiceUnavailableError("The telemetry spool cannot be written."))
                    continue
                self.fsyncs += 1
                if self.on_fsync is not None:
                    self.on_fsync(len(batch))
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
            if self._closing and not self._pending:
                return

    def _write(self, payloads: list[bytes]) -> None:
        """Runs in a worker thread: frame, append, fsync, publish, rotate the segment when it is large."""
        assert self._file is not None
        assert self._published is not None
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
            self._file = segment_path(self.directory, self.committed.segment + 1).open("ab")
            fsync_dir(self.directory)
            self.committed = Position(self.committed.segment + 1, 0)
        else:
            self.committed = Position(self.committed.segment, offset)
        self._published.publish(self.committed)
        self._measure_if_stale()

    def _measure_if_stale(self) -> None:
        if time.monotonic() - self._measured_at >= _MEASURE_SECONDS:
            self._measure()

    def _measure(self) -> None:
        """Learn how much of the folder is not flushed yet, from the flusher's checkpoint."""
        self._spooled_bytes = unflushed_bytes(self.directory, read_checkpoint(self.directory))
        self._measured_at = time.monotonic()
