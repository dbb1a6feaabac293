"""What every row of one ingest request shares: its batch id, the caller, the edge's country and the arrival
time.

A batch id is derived from the caller and the ``Idempotency-Key`` when one was sent, so a retry gets the
same id. Each feature's ``columns.py`` turns a decoded body and its :class:`Batch` into the columns of its
table, one list per column; the spool appender (``spool/appender.py``) makes them durable.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from telemetry.identity import TelemetryActor

Columns = dict[str, list[Any]]
T = TypeVar("T")

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Codes edges use for "not a country": Cloudflare's unknown (XX) and Tor (T1, already not two letters).
_NOT_A_COUNTRY = frozenset({"XX"})

# Batch ids of idempotent requests are UUIDv5 names in this namespace (a random constant of this service).
_BATCH_NAMESPACE = uuid.UUID("6f1c3c2e-8d3b-4d8e-9a57-2f0b9c1d7e41")
# Other batch ids: a random prefix drawn once per process and a counter (UUIDv4 layout), without a
# getrandom() call per request as uuid4() makes (a system call that gives up the GIL, and under load waits
# up to a millisecond to get it back from the flusher's threads, docs/performance.md). Two processes
# share a prefix with odds of about n² / 2**61 for n process starts ever.
_BATCH_PREFIX = int.from_bytes(os.urandom(8)) << 64
_batch_counter = itertools.count()


def new_batch_id() -> uuid.UUID:
    """A new batch id: this process's 60 random bits, then a counter."""
    return uuid.UUID(int=_BATCH_PREFIX | next(_batch_counter), version=4)


@dataclass(frozen=True)
class Batch:
    """What every row of one request shares."""

    batch_id: uuid.UUID
    idempotent: bool
    actor: TelemetryActor
    country_code: str
    received_at: datetime

    @classmethod
    def start(cls, actor: TelemetryActor, endpoint: str, idempotency_key: str | None, country_code: str) -> Batch:
        """A batch for a request to ``endpoint``; its id is derived from the key when one was sent, so a
        retry of the same request by the same caller gets the same id."""
        if idempotency_key is None:
            batch_id, idempotent = new_batch_id(), False
        else:
            name = f"{actor.org_hash}\n{actor.actor_hash}\n{endpoint}\n{idempotency_key}"
            batch_id, idempotent = uuid.uuid5(_BATCH_NAMESPACE, name), True
        return cls(batch_id, idempotent, actor, country_code, datetime.now(UTC).replace(microsecond=0))

    def common(self, rows: int) -> Columns:
        """The batch, actor and arrival columns for ``rows`` rows."""
        return {
            "batch_id": [self.batch_id] * rows,
            "org_hash": [self.actor.org_hash] * rows,
            "actor_hash": [self.actor.actor_hash] * rows,
            "received_at": [self.received_at] * rows,
        }

    def common_with_country(self, rows: int) -> Columns:
        """:meth:`common` and the edge's country, for the tables that keep it."""
        return {**self.common(rows), "country_code": [self.country_code] * rows}


@dataclass(frozen=True)
class IngestTable(Generic[T]):
    """A ClickHouse table the ingest routes write, and how a decoded body and its batch become its columns
    (one list per column)."""

    name: str
    columns: Callable[[T, Batch], Columns]


def utc(moment: datetime) -> datetime:
    """A device's timestamp as UTC, as the tables store it."""
    return moment.astimezone(UTC)


def edge_country(header_value: str) -> str:
    """The two-letter country code the edge put in its header, or '' when absent or not a country code."""
    value = header_value.strip().upper()
    return value if _COUNTRY.match(value) and value not in _NOT_A_COUNTRY else ""
