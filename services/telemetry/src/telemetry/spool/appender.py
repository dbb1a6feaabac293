"""Append a request's columns to the spool, one record per request, unless it is a retry remembered here.

A request is acknowledged once its record is durable in the write-ahead spool (``spool/spool.py``); the
flusher (``spool/flusher.py``) inserts large blocks into ClickHouse.

Deduplication: a request that sends an ``Idempotency-Key`` gets a batch id derived from the caller and
the key (:class:`~telemetry.ingest.batch.Batch`). A retry whose batch id this process spooled recently
(a bounded in-memory set) is acknowledged as a duplicate and spooled again not at all; the request path
never asks ClickHouse. Any other retry (this process forgot the id, or it went to another process) is
spooled like a first delivery, and the flusher drops it: it skips batches already in the
``ingest_batches`` ledger and repeats within a block, and writes the ledger after the rows. This works the
same on ClickHouse 18.16 (where a non-replicated MergeTree does not deduplicate inserts) and on newer
engines. It is at-least-once, not exactly-once (see the flusher's docstring for the window).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from contracts.ingest_ack import IngestAck

from telemetry.ingest.batch import Batch
from telemetry.spool.record import SpoolRecord
from telemetry.spool.spool import Spool

log = structlog.get_logger("ingest")

RECENT_BATCHES = 100_000
"""Idempotent batch ids a process remembers (about 11 MB); older ones are left to the flusher."""


class SpoolAppender:
    """Appends one request's rows to the spool; the flusher moves them into ClickHouse."""

    def __init__(self, spool: Spool, recent_batches: int = RECENT_BATCHES) -> None:
        self._spool = spool
        self._recent_limit = recent_batches
        # Idempotent batch ids spooled by this process, least recently seen first. A hit answers the
        # retry without a ClickHouse lookup; a miss is harmless, the flusher checks the ledger.
        # Kept as 128-bit ints, half the memory of UUID objects.
        self._recent: OrderedDict[int, None] = OrderedDict()

    async def append(self, endpoint: str, table: str, columns: Mapping[str, Sequence[Any]], batch: Batch) -> IngestAck:
        """Make ``columns`` durable in the spool for ``table`` unless ``batch`` is a retry this process
        remembers, or has no rows (every item of the request was rejected): then nothing is spooled.

        Raises :class:`SpoolFullError` (503 with Retry-After) when the spool is full.
        """
        if not columns["batch_id"]:
            return IngestAck(accepted=0, batch_id=batch.batch_id)
        if batch.idempotent and batch.batch_id.int in self._recent:
            self._recent.move_to_end(batch.batch_id.int)
            log.info("ingest.duplicate", endpoint=endpoint, batch_id=str(batch.batch_id))
            return IngestAck(accepted=0, batch_id=batch.batch_id, duplicate=True)
        lists = {name: list(values) for name, values in columns.items()}
        record = SpoolRecord(
            endpoint=endpoint,
            table=table,
            batch_id=batch.batch_id,
            idempotent=batch.idempotent,
            received_at=batch.received_at,
            columns=lists,
            uuid_columns=[name for name, values in lists.items() if values and isinstance(values[0], uuid.UUID)],
        )
        # Remembered only once durable: a retry of a request refused with 503 must be stored.
        await self._spool.append(record)
        if batch.idempotent:
            self._recent[batch.batch_id.int] = None
            if len(self._recent) > self._recent_limit:
                self._recent.popitem(last=False)
        return IngestAck(accepted=record.rows, batch_id=batch.batch_id)
