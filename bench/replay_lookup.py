"""The uncertain-insert check on 20 million pose rows over six months: bounded lookup vs the unbounded one.

After an insert whose answer was lost, the flusher asks the target table which of the block's batch ids
landed. A throwaway ClickHouse server (Debian's 18.16, as the tests start it) gets ROWS pose frames of one
organization, received over six months in batches of FRAMES_PER_BATCH frames, SESSION_BATCHES batches a
session (generated server-side with INSERT ... SELECT from ``numbers``), merged as a long-running table
is. The block asked about is the newest LOOKUP_BATCHES batches, as after an outage.

- target: what the flusher runs (``landed_batch_queries`` through ``select_values``, the native
  connection): the batch ids within the sort key prefix (org_hash, session_id) and the block's receive times;
- baseline: the check before issue 20, ``SELECT DISTINCT batch_id FROM pose_tracking_frames WHERE
  batch_id IN (...)`` through the HTTP reader (aiochclient), which reads the batch_id of every row.

Both must find every batch of the block; they are timed alternately, median of ROUNDS.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickhouse_driver import Client
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore
from telemetry.spool.flusher import landed_batch_queries
from telemetry.spool.record import SpoolRecord

from tools.databases import ClickHouseServer

ROWS = 20_000_000
FRAMES_PER_BATCH = 60
SESSION_BATCHES = 10
LOOKUP_BATCHES = 500
ROUNDS = 5
START = datetime(2026, 6, 1, tzinfo=UTC)
SPAN_SECONDS = 180 * 86_400
ORG = "org_bench_lookup"

_BATCHES = ROWS // FRAMES_PER_BATCH


def _uuid_sql(number: str, variant: str) -> str:
    """A UUID made of ``number`` (an SQL expression) as 12 decimal digits: 18.16 has no other way to build
    one from a number than its text form."""
    digits = f"substring(concat('000000000000', toString({number})), length(toString({number})) + 1, 12)"
    return f"toUUID(concat('00000000-0000-4000-{variant}-', {digits}))"


def _uuid(number: int, variant: str) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-{variant}-{number:012d}")


def _received(batch: int) -> datetime:
    return START + timedelta(seconds=batch * SPAN_SECONDS // _BATCHES)


_BATCH = f"intDiv(number, {FRAMES_PER_BATCH})"
_SESSION = f"intDiv(number, {FRAMES_PER_BATCH * SESSION_BATCHES})"
_FILL = f"""
INSERT INTO pose_tracking_frames (batch_id, org_hash, actor_hash, session_id, media_id, frame_number, received_at)
SELECT {_uuid_sql(_BATCH, "8000")}, '{ORG}', 'actor_bench', {_uuid_sql(_SESSION, "9000")}, 'video_bench',
       number % {FRAMES_PER_BATCH * SESSION_BATCHES},
       toDateTime('{START:%Y-%m-%d %H:%M:%S}', 'UTC') + intDiv({_BATCH} * {SPAN_SECONDS}, {_BATCHES})
FROM numbers({ROWS})
"""


def _block() -> list[SpoolRecord]:
    """The newest LOOKUP_BATCHES batches as the spool holds them (their key columns and receive time)."""
    records = []
    for batch in range(_BATCHES - LOOKUP_BATCHES, _BATCHES):
        batch_id = _uuid(batch, "8000")
        session = _uuid(batch // SESSION_BATCHES, "9000")
        records.append(
            SpoolRecord(
                endpoint="pose_frames",
                table="pose_tracking_frames",
                batch_id=batch_id,
                idempotent=False,
                received_at=_received(batch),
                columns={"org_hash": [ORG] * FRAMES_PER_BATCH, "session_id": [session] * FRAMES_PER_BATCH},
            )
        )
    return records


async def _measure(server: ClickHouseServer) -> list[str]:
    database = f"lookup_{uuid.uuid4().hex[:8]}"
    store = ServerStore(server.url, server.http_url, database, 600.0)
    try:
        await migrate(store)
        client = Client.from_url(f"{server.url}/{database}?send_receive_timeout=600")
        started = time.perf_counter()
        client.execute(_FILL)
        client.execute("OPTIMIZE TABLE pose_tracking_frames FINAL")
        filled = time.perf_counter() - started
        block = _block()
        expected = {record.batch_id for record in block}
        listed = ", ".join(f"toUUID('{batch_id}')" for batch_id in sorted(expected))
        unbounded = f"SELECT DISTINCT batch_id FROM pose_tracking_frames WHERE batch_id IN ({listed})"
        bounded = list(landed_batch_queries("pose_tracking_frames", block))

        async def target() -> set[uuid.UUID]:
            found: set[uuid.UUID] = set()
            for query in bounded:
                found |= {uuid.UUID(str(value)) for value in await store.select_values(query)}
            return found

        async def baseline() -> set[uuid.UUID]:
            return {uuid.UUID(str(row["batch_id"])) for row in await store.select(unbounded)}

        found_target, found_baseline = await target(), await baseline()
        target_times, baseline_times = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await target()
            target_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await baseline()
            baseline_times.append(time.perf_counter() - started)
        ours, theirs = statistics.median(target_times), statistics.median(baseline_times)
        return [
            f"uncertain-insert check, {LOOKUP_BATCHES} batch ids against {ROWS:,} pose rows over six months"
            f" (filled and merged in {filled:.0f} s)",
            f"  target   sort key prefix + receive times, native ({len(bounded)} query)  {ours * 1000:8.1f} ms"
            f" (median of {ROUNDS}; found {len(found_target & expected)} of {len(expected)})",
            f"  baseline batch_id IN (...) over the whole table, HTTP         {theirs * 1000:8.1f} ms"
            f" (median of {ROUNDS}; found {len(found_baseline & expected)} of {len(expected)})",
            f"  ratio    target takes {ours / theirs:.4f} of the baseline's time   goal: <= 1/50 (0.02)",
        ]
    finally:
        await store.execute(f"DROP DATABASE IF EXISTS {database}")
        await store.close()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as directory:
        server = ClickHouseServer(Path(directory) / "clickhouse")
        server.start()
        try:
            return "\n".join(asyncio.run(_measure(server)))
        finally:
            server.stop()


if __name__ == "__main__":
    print(run())
