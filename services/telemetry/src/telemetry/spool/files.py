"""The files of one spool folder, shared by the process that appends to it and the flusher that empties it.

A folder holds numbered segment files (``segment-<n>.log``), the flusher's durable ``checkpoint`` (the
position before which everything is in ClickHouse), the appender's ``committed`` position (the end of
what it has made durable and so may acknowledge), and two lock files: ``lock``, held by the one request
process appending to the folder, and ``flusher.lock``, held by its one flusher.

``committed`` is written with one ``pwrite`` after each fsync and never fsynced itself: it tells the
flusher, in another process, how far it may read in the current segment (a record being written there is
not complete yet). After a crash a stale value is harmless: the next appender starts a new segment and
publishes a position in it, and the flusher reads every earlier segment to its end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import msgspec

from telemetry.spool.record import Position, encode_payload

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".log"
CHECKPOINT = "checkpoint"
COMMITTED = "committed"
APPENDER_LOCK = "lock"
FLUSHER_LOCK = "flusher.lock"
REFUSED_FOLDER = "refused"

_position_decoder = msgspec.msgpack.Decoder(tuple[int, int])
_COMMITTED = struct.Struct("<QQI")  # segment, offset, crc32 of the two


def segment_numbers(directory: Path) -> list[int]:
    """The numbers of the segment files in ``directory``, ascending."""
    numbers = []
    for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        with contextlib.suppress(ValueError):
            numbers.append(int(path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]))
    return sorted(numbers)


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{SEGMENT_PREFIX}{number:012d}{SEGMENT_SUFFIX}"


def read_checkpoint(directory: Path) -> Position:
    """The flusher's durable checkpoint (the start of the spool when there is none yet)."""
    try:
        return Position(*_position_decoder.decode((directory / CHECKPOINT).read_bytes()))
    except FileNotFoundError:
        return Position(0, 0)


def write_checkpoint(directory: Path, position: Position) -> None:
    """Make ``position`` the checkpoint: written to a temporary file, fsynced, renamed over the old one."""
    temporary = directory / f"{CHECKPOINT}.tmp"
    with temporary.open("wb") as target:
        target.write(encode_payload((position.segment, position.offset)))
        target.flush()
        os.fsync(target.fileno())
    temporary.replace(directory / CHECKPOINT)
    fsync_dir(directory)


def unflushed_bytes(directory: Path, checkpoint: Position) -> int:
    """Bytes of segment files from ``checkpoint`` on: what is not in ClickHouse yet."""
    total = 0
    for number in segment_numbers(directory):
        if number >= checkpoint.segment:
            with contextlib.suppress(FileNotFoundError):
                total += segment_path(directory, number).stat().st_size
                if number == checkpoint.segment:
                    total -= checkpoint.offset
    return max(total, 0)


class CommittedPosition:
    """The ``committed`` file of a folder, open for publishing (the appender) or reading (the flusher)."""

    def __init__(self, directory: Path) -> None:
        self._descriptor = os.open(directory / COMMITTED, os.O_RDWR | os.O_CREAT, 0o600)

    def publish(self, position: Position) -> None:
        fields = struct.pack("<QQ", position.segment, position.offset)
        os.pwrite(self._descriptor, fields + struct.pack("<I", zlib.crc32(fields)), 0)

    def read(self) -> Position | None:
        """The last published position; None when there is none (no appender has opened the folder yet)."""
        for _ in range(3):  # a read that overlapped a publish fails its checksum: read again
            data = os.pread(self._descriptor, _COMMITTED.size, 0)
            if len(data) < _COMMITTED.size:
                return None
            segment, offset, checksum = _COMMITTED.unpack(data)
            if zlib.crc32(data[:16]) == checksum:
                return Position(segment, offset)
        return None

    def close(self) -> None:
        os.close(self._descriptor)


def lock(path: Path) -> BinaryIO | None:
    """An exclusive lock on ``path`` (created if missing), held while the returned file stays open; None
    when another process holds it."""
    file = path.open("ab")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    return file


def is_locked(path: Path) -> bool:
    """Whether another process holds the lock on ``path`` (tested without taking it)."""
    with path.open("ab") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(file, fcntl.LOCK_UN)
        return False


def fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
