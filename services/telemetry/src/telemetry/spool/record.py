"""What the write-ahead spool stores: one request's rows as a :class:`SpoolRecord`, framed in a segment file
as ``length | crc32 | msgpack``, and the positions of records in the spool.

The spool (``spool/spool.py``) writes and reads the segment files; the flusher (``spool/flusher.py``)
inserts the records into ClickHouse.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import msgspec
import structlog

log = structlog.get_logger("spool")

_FRAME = struct.Struct("<II")  # payload length, crc32 of the payload
FRAME_HEADER_SIZE = _FRAME.size


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


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass
class ReadResult:
    """Committed records read from the spool and the position just after the last one."""

    records: list[SpoolRecord] = field(default_factory=list)
    end: Position = Position(0, 0)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SpoolRecord)


def encode_payload(value: object) -> bytes:
    """``value`` (a record, or the checkpoint's position) as msgpack, unframed."""
    return _encoder.encode(value)


def encode_record(record: SpoolRecord) -> bytes:
    """``record`` framed for a segment file: length, crc32, msgpack payload."""
    return framed(_encoder.encode(record))


def framed(payload: bytes) -> bytes:
    """A record's msgpack ``payload`` as a segment file holds it: length, crc32, payload."""
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(source: BinaryIO, segment: int, offset: int, limit: int | None) -> Iterator[tuple[SpoolRecord, int]]:
    """The records framed in ``source`` (segment number ``segment``) from ``offset`` up to ``limit`` (None:
    the file's end), each with the offset just after it. Stops at a torn record (its length or checksum
    fails: a write cut short by a crash) or an unreadable one, and logs it."""
    source.seek(offset)
    while limit is None or offset < limit:
        header = source.read(_FRAME.size)
        if len(header) < _FRAME.size:
            return
        length, checksum = _FRAME.unpack(header)
        payload = source.read(length)
        if len(payload) < length or zlib.crc32(payload) != checksum:
            log.warning("spool.torn_record", segment=segment, offset=offset)
            return
        try:
            record = _restore_uuids(_decoder.decode(payload))
        except (msgspec.DecodeError, ValueError):
            log.warning("spool.unreadable_record", segment=segment, offset=offset)
            return
        offset += _FRAME.size + length
        yield record, offset


def _restore_uuids(record: SpoolRecord) -> SpoolRecord:
    # Each distinct text parsed once: a record's rows share their batch id and mostly their session, and
    # parsing all 60 of each was half the flusher's reading of a pose batch (bench/telemetry_ingest.py).
    for name in record.uuid_columns:
        values = record.columns[name]
        parsed = {text: uuid.UUID(text) for text in set(values)}
        record.columns[name] = [parsed[text] for text in values]
    return record
