"""The uncertain-insert check on 20 million pose rows over six months: bounded lookup vs the unbounded one.

After an insert whose answer was lost, the flusher asks the target table which of the block's batch ids
landed. A throwaway ClickHouse server (Debian's 18.16, as the tests start it) gets ROWS pose frames of one
organization, received over six months in batches of FRAMES_PER_BATCH frames, SESSION_BATCHES batches a
session (generated server-side with INSERT ... SELECT from ``numbers``), merged as a long-running table
is. The block asked about is the newest LOOKUP_BATCHES batches, as after an outage.

- target: what the flusher runs (``landed_batch_ids``: its queries rendered from the block's records, sent
  through ``select_values`` over the native connection, the answers read back): the batch ids within the
  sort key prefix (org_hash, session_id) and the block's receive times;
- baseline: the check before issue 20, ``SELECT DISTINCT batch_id FROM pose_tracking_frames WHERE
  batch_id IN (...)`` through the HTTP reader (aiochclient), which reads the batch_id of every row.

Both must find every batch of the block; they are timed alternately, ROUNDS rounds of TARGET_REPEAT
targets and one baseline (the target is cheap, so its median is of more samples). Then the target's
profile (``_profile``): where its time goes on the client and, from the server's debug log and
``system.query_log``, on the server.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickhouse_driver import Client
from telemetry.spool.flusher import landed_batch_ids, landed_batch_queries
from telemetry.spool.record import SpoolRecord

from bench.scratch_clickhouse import throwaway_database
from tools.databases import ClickHouseServer

ROWS = 20_000_000
FRAMES_PER_BATCH = 60
SESSION_BATCHES = 10
LOOKUP_BATCHES = 500
ROUNDS = 5
TARGET_REPEAT = 5
PROFILE_ROUNDS = 9
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


# The server keeps a query log, and its own log at debug level: each step of a query with microseconds.
_QUERY_LOG_CONFIG = (
    "<query_log><database>system</database><table>query_log</table>"
    "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>"
)
_DEBUG_LOGGER = '<?xml version="1.0"?><yandex><logger><level>debug</level></logger></yandex>'
_QUERY_LOG_ROW = (
    "SELECT query_duration_ms, read_rows, read_bytes, ProfileEvents.Names, ProfileEvents.Values"
    " FROM system.query_log WHERE query_id = '{query_id}' AND type = 2"
)
# 2026.12.07 21:38:19.155572 [ 28 ] {query id} <Debug> executeQuery: (from 127.0.0.1:57508) SELECT ...
_LOG_LINE = re.compile(r"^(\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\.\d{6}) \[ *\d+ \] \{([^}]*)\} <\w+> (.*)$")
# The steps of a query in the server's log, each logged as it ends: parsed, marks chosen by the primary key
# (the IN sets built), pipeline built, rows read and the answer sent.
_STEPS = {
    "parsed": "executeQuery: (from ",
    "marks": "(SelectExecutor): Selected ",
    "pipeline": "executeQuery: Query pipeline:",
    "read": "executeQuery: Read ",
}


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


def _quartiles(seconds: list[float]) -> str:
    first, _, third = statistics.quantiles(seconds, n=4)
    return f"{first * 1000:.1f} to {third * 1000:.1f} ms"


def _profile(client: Client, server_log: Path, block: list[SpoolRecord]) -> list[str]:
    """Where the target's time goes, median of PROFILE_ROUNDS runs of its first query over the native
    connection. Client: rendering the query, and clickhouse-driver's CPU for the call (sending the query,
    decoding the answer's UUIDs). Server, from the timestamps of its debug log (one clock with the client's):
    the query's way in and parsing, analysis up to the marks chosen by the primary key (the IN sets are
    built here), the rest of the analysis, reading and filtering the rows, and the answer's way back. Then
    ``system.query_log``'s totals: duration, rows and bytes read, the server's CPU and its wait for a core."""
    runs: list[tuple[str, float, float, float]] = []
    renders: list[float] = []
    for _ in range(PROFILE_ROUNDS):
        started = time.perf_counter()
        query = next(iter(landed_batch_queries("pose_tracking_frames", block)))
        renders.append(time.perf_counter() - started)
        query_id = str(uuid.uuid4())
        wall_started, cpu_started = time.time(), time.thread_time()
        client.execute(query, query_id=query_id, settings={"log_queries": 1})
        runs.append((query_id, wall_started, time.time(), time.thread_time() - cpu_started))
    client.execute("SYSTEM FLUSH LOGS")
    steps: dict[str, dict[str, float]] = {query_id: {} for query_id, *_ in runs}
    for line in server_log.read_text(errors="replace").splitlines():
        match = _LOG_LINE.match(line)
        if match and match[2] in steps:
            moment = datetime.strptime(match[1], "%Y.%m.%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
            for step, text in _STEPS.items():
                if text in match[3][:120]:
                    steps[match[2]].setdefault(step, moment)
    phases: dict[str, list[float]] = {}
    totals: list[tuple[int, int, int]] = []
    events: list[dict[str, int]] = []
    for query_id, wall_started, wall_ended, cpu in runs:
        at = steps[query_id]
        for name, seconds in (
            ("wall", wall_ended - wall_started),
            ("driver", cpu),
            ("in", at["parsed"] - wall_started),
            ("marks", at["marks"] - at["parsed"]),
            ("pipeline", at["pipeline"] - at["marks"]),
            ("read", at["read"] - at["pipeline"]),
            ("out", wall_ended - at["read"]),
        ):
            phases.setdefault(name, []).append(seconds * 1000)
        duration, rows, size, names, values = client.execute(_QUERY_LOG_ROW.format(query_id=query_id))[0]
        totals.append((duration, rows, size))
        events.append(dict(zip(names, values, strict=True)))
    ms = {name: statistics.median(values) for name, values in phases.items()}
    duration, rows, size = (statistics.median(column) for column in zip(*totals, strict=True))
    marks, cpu, wait = (
        statistics.median(each.get(name, 0) for each in events)
        for name in ("SelectedMarks", "OSCPUVirtualTimeMicroseconds", "OSCPUWaitMicroseconds")
    )
    return [
        f"  profile  the target's query ({len(query):,} characters), median of {PROFILE_ROUNDS} runs, native:"
        f" {ms['wall']:.1f} ms",
        f"    client  render the query {statistics.median(renders) * 1000:.2f} ms; clickhouse-driver CPU"
        f" {ms['driver']:.2f} ms (send the query, decode the answer)",
        f"    server  way in + parse {ms['in']:.2f} | analysis to the primary key's marks {ms['marks']:.2f}"
        f" | rest of analysis {ms['pipeline']:.2f} | read, filter, distinct {ms['read']:.2f}"
        f" | answer back {ms['out']:.2f} ms",
        f"    query_log  {duration:.0f} ms, {rows:,.0f} rows, {size:,.0f} bytes, {marks:.0f} marks;"
        f" server CPU {cpu / 1000:.2f} ms, waiting for a core {wait / 1000:.2f} ms",
    ]


async def _measure(server: ClickHouseServer) -> list[str]:
    async with throwaway_database(server, "lookup", 600.0) as (database, store):
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
            return await landed_batch_ids(store, "pose_tracking_frames", block)

        async def baseline() -> set[uuid.UUID]:
            return {uuid.UUID(str(row["batch_id"])) for row in await store.select(unbounded)}

        found_target, found_baseline = await target(), await baseline()
        target_times, baseline_times = [], []
        for _ in range(ROUNDS):
            for _ in range(TARGET_REPEAT):
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
            f" (median of {ROUNDS * TARGET_REPEAT}, quartiles {_quartiles(target_times)};"
            f" found {len(found_target & expected)} of {len(expected)})",
            f"  baseline batch_id IN (...) over the whole table, HTTP         {theirs * 1000:8.1f} ms"
            f" (median of {ROUNDS}, quartiles {_quartiles(baseline_times)};"
            f" found {len(found_baseline & expected)} of {len(expected)})",
            f"  ratio    target takes {ours / theirs:.4f} of the baseline's time   goal: <= 1/50 (0.02)",
            *_profile(client, server.root / "server.log", block),
        ]


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as directory:
        server = ClickHouseServer(Path(directory) / "clickhouse")
        server.extra_config = _QUERY_LOG_CONFIG
        (server.root / "config.d").mkdir(parents=True)
        (server.root / "config.d" / "logger.xml").write_text(_DEBUG_LOGGER)
        server.start()
        try:
            return "\n".join(asyncio.run(_measure(server)))
        finally:
            server.stop()


if __name__ == "__main__":
    print(run())
