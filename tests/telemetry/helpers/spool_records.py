"""Spool records for the spool tests, made in the test process and in the crashing writer it starts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from telemetry.spool.record import SpoolRecord


def record(number: int, *, idempotent: bool = False, rows: int = 2) -> SpoolRecord:
    """Record ``number`` of ``rows`` rows; an idempotent one gets the same batch id every time."""
    batch_id = uuid.uuid5(uuid.NAMESPACE_OID, f"batch-{number}") if idempotent else uuid.uuid4()
    return SpoolRecord(
        endpoint="analytics_events",
        table="analytics_events",
        batch_id=batch_id,
        idempotent=idempotent,
        received_at=datetime(2026, 2, 16, 9, 0, tzinfo=UTC),
        columns={"batch_id": [batch_id] * rows, "n": [number] * rows, "xs": [[0.5, 0.25]] * rows},
        uuid_columns=["batch_id"],
    )
