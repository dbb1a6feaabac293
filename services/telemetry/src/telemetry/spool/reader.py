"""The flusher's side of a spool folder: reads committed records, moves the checkpoint, sets refused ones aside.

Runs in the flusher's process (``python -m telemetry.flusher``), beside the request process appending to
the same folder (``spool/spool.py``). It reads the current segment only up to the position the appender
published after its last fsync, and every earlier segment to its end: a torn record there was cut short by
a crash and never acknowledged. Reads and checkpoint writes block; the flusher runs them in a thread.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from telemetry.spool.files import (
    APPENDER_LOCK,
    FLUSHER_LOCK,
    REFUSED_FOLDER,
    CommittedPosition,
    fsync_dir,
    is_locked,
    lock,
    read_checkpoint,
    segment_numbers,
    segment_path,
    unflushed_bytes,
    write_checkpoint,
)
from telemetry.spool.record import Position, ReadResult, SpoolRecord, encode_payload, read_frames


class SpoolReader:
    """One spool folder as its single flusher sees it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.checkpoint = Position(0, 0)
        self._lock_file: BinaryIO | None = None
        self._committed: CommittedPosition | None = None

    def open(self) -> None:
        """Take the folder's flusher lock (one flusher per folder) and read its checkpoint."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = lock(self.directory / FLUSHER_LOCK)
        if self._lock_file is None:
            raise RuntimeError(f"another flusher is emptying the spool in {self.directory}")
        self._committed = CommittedPosition(self.directory)
        self.checkpoint = read_checkpoint(self.directory)

    def close(self) -> None:
        for resource in (self._committed, self._lock_file):
            if resource is not None:
                resource.close()
        self._committed = self._lock_file = None

    @property
    def committed(self) -> Position:
        """The end of what the appender has made durable (the checkpoint while none has published)."""
        assert self._committed is not None, "open() first"
        return self._committed.read() or self.checkpoint

    @property
    def appender_running(self) -> bool:
        """Whether a request process holds the folder (so more records may come)."""
        return is_locked(self.directory / APPENDER_LOCK)

    def read(self, start: Position, max_rows: int) -> ReadResult:
        """Committed records from ``start`` until about ``max_rows`` rows (at least one record), skipping a
        torn record at the end of an earlier segment."""
        result = ReadResult(end=start)
        rows = 0
        committed = self.committed
        for segment in [number for number in segment_numbers(self.directory) if number >= start.segment]:
            if segment > committed.segment:
                break
            limit = committed.offset if segment == committed.segment else None
            offset = start.offset if segment == start.segment else 0
            with segment_path(self.directory, segment).open("rb") as source:
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

    def advance(self, position: Position) -> None:
        """Make ``position`` the durable checkpoint and delete the segments wholly before it."""
        if position <= self.checkpoint:
            return
        write_checkpoint(self.directory, position)
        self.checkpoint = position
        for segment in segment_numbers(self.directory):
            if segment < position.segment:
                with contextlib.suppress(FileNotFoundError):
                    segment_path(self.directory, segment).unlink()

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
        fsync_dir(folder)
        return path

    @property
    def drained(self) -> bool:
        """Whether everything committed is behind the checkpoint."""
        return self.read(self.checkpoint, 1).end == self.checkpoint

    @property
    def empty(self) -> bool:
        """Whether no committed record lies after the checkpoint (a segment boundary may)."""
        return not self.read(self.checkpoint, 1).records

    @property
    def unflushed_bytes(self) -> int:
        """Bytes of segments after the checkpoint (the spool's backlog, a metric)."""
        return unflushed_bytes(self.directory, self.checkpoint)
