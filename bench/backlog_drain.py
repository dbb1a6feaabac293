"""Backlog drain after a ClickHouse outage under steady load (issue #20, item 4).

Telemetry runs as production runs it (``bench/telemetry_ingest.py``'s settings: ``python -m telemetry``
with one request process beside ``python -m telemetry.flusher``) on a ClickHouse 18.16 server on loopback.

1. Its maximum pose rate is measured with wrk on a service of its own (two 5-second runs, 60-frame batches
   from 1,024 devices), and the steady load is set to :data:`LOAD_FRACTION` of it.
2. A fresh service gets that load from ``bench/loadgen.py`` (open loop, in back-to-back runs of
   :data:`CHUNK_SECONDS`) for the whole benchmark, with ``SPOOL_MAX_BYTES`` computed to hold the outage's
   backlog twice over (the spool answers 503 once full).
3. After :data:`STEADY_SECONDS` the ClickHouse server is stopped for ``outage_seconds`` (default 600: the
   issue's 10 minutes) and started again on the same data and ports; the load goes on throughout.
4. Every second the benchmark counts the rows in ``pose_tracking_frames`` and reads the spool folder's
   unflushed bytes (its segment files after the flusher's checkpoint). The backlog is drained when every
   batch acknowledged before the restart is in ClickHouse; the drain rate is the rows inserted per second
   from the first insert after the restart to then, against the rows acknowledged per second meanwhile.
   The spool is back to normal when it holds no more than it did under the same load before the outage
   (the batches spooled during the drain are in too).
5. The load stops a little after that, and every acknowledged batch must then be in ClickHouse exactly
   once (``telemetry_ingest``'s check).

``python -m bench.backlog_drain --outage-seconds 60`` runs a short outage for a quick try.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from clickhouse_driver import errors as clickhouse_errors
from contracts.pose import pose_batch_decoder
from telemetry.identity import TelemetryActor
from telemetry.ingest.batch import Batch
from telemetry.pose.columns import pose_frame_columns
from telemetry.spool.files import read_checkpoint, unflushed_bytes
from telemetry.spool.record import SpoolRecord, encode_record

from bench.pose_decode import pose_batch_body
from bench.scratch_clickhouse import on_scratch_clickhouse
from bench.services import Service, start_service
from bench.telemetry_ingest import (
    FRAMES_PER_BATCH,
    POSE_PATH,
    Bench,
    Phase,
    acknowledged_batches,
    database_of,
    exactly_once,
    log_of,
    migrate_database,
    native_client,
    pose_delivery,
    service_env,
    stored_pose,
)
from tools.databases import ClickHouseServer, free_port
from tools.tokens import ensure_dev_keys, mint_telemetry_token

OUTAGE_SECONDS = 600.0
"""How long ClickHouse is away: the issue's 10 minutes."""
LOAD_FRACTION = 0.25
"""Steady load as a fraction of the measured maximum: a pod running at a quarter of what it can take."""
DEVICES = 1024
POSE_BODIES = 8
MAX_RATE_SECONDS = 5.0
STEADY_SECONDS = 30.0
"""Load before the outage, so the flusher is in its steady state when ClickHouse goes."""
AFTER_DRAIN_SECONDS = 10.0
CHUNK_SECONDS = 30.0
"""Length of one loadgen run; the runs follow each other (a fraction of a second apart, a process start)."""
SAMPLE_SECONDS = 1.0
BACKLOG_HEADROOM = 2.0
"""SPOOL_MAX_BYTES is this many times the bytes the outage is expected to leave in the spool."""
MAX_NAME, DRAIN_NAME = "drain max", "drain"


@dataclass(frozen=True)
class Sample:
    """What one look at the service found: seconds since the load began, rows in ClickHouse (None while
    it was away) and the spool's unflushed bytes."""

    at: float
    stored_rows: int | None
    spool_bytes: int


@dataclass(frozen=True)
class Chunk:
    """One loadgen run of the steady load: its time span (seconds since the load began) and its requests."""

    start: float
    end: float
    phase: Phase


@dataclass(frozen=True)
class Drain:
    """How the backlog left the spool: seconds after the restart of the first insert and of the moment
    every batch acknowledged before the restart was in ClickHouse, and the rows inserted from just before
    the first insert until then."""

    first_insert_after: float
    drained_after: float
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        """Rows per second leaving the spool while it drained."""
        return self.rows / self.seconds


def drain_of(samples: Sequence[Sample], restarted_at: float, stored_before: int, target_rows: int) -> Drain | None:
    """The drain the samples show after ClickHouse came back at ``restarted_at`` holding ``stored_before``
    rows: from the last sample that still held only those to the first one holding ``target_rows``; None
    when the samples never get there."""
    start = restarted_at
    for sample in samples:
        if sample.at < restarted_at or sample.stored_rows is None:
            continue
        if sample.stored_rows <= stored_before:
            start = sample.at
        elif sample.stored_rows >= target_rows:
            return Drain(
                first_insert_after=start - restarted_at,
                drained_after=sample.at - restarted_at,
                rows=sample.stored_rows - stored_before,
                seconds=sample.at - start,
            )
    return None


def emptied_after(samples: Sequence[Sample], restarted_at: float, steady_bytes: int) -> float | None:
    """Seconds after ``restarted_at`` until the spool held no more than ``steady_bytes`` again (what it held
    under the same load before the outage): by then what was spooled during the drain is in too. None
    when the samples never get there."""
    return next(
        (
            sample.at - restarted_at
            for sample in samples
            if sample.at >= restarted_at and sample.spool_bytes <= steady_bytes
        ),
        None,
    )


def ingest_rate(chunks: Sequence[Chunk], start: float, end: float) -> float:
    """Requests acknowledged per second between ``start`` and ``end``, each chunk's spread evenly over its
    span (the load is open loop at a fixed rate)."""
    accepted = 0.0
    for chunk in chunks:
        overlap = min(chunk.end, end) - max(chunk.start, start)
        if overlap > 0 and chunk.end > chunk.start:
            accepted += chunk.phase.accepted * overlap / (chunk.end - chunk.start)
    return accepted / (end - start)


def pose_record(body: bytes) -> SpoolRecord:
    """The spool record the appender writes for one pose batch ``body``."""
    actor = TelemetryActor(actor_hash="bench_drain", org_hash="bench_org", consent_level=3, biometric=True)
    batch = Batch.start(actor, POSE_PATH, None, "")
    columns = pose_frame_columns(pose_batch_decoder.decode(body), batch)
    return SpoolRecord(
        endpoint=POSE_PATH,
        table="pose_tracking_frames",
        batch_id=batch.batch_id,
        idempotent=False,
        received_at=batch.received_at,
        columns=columns,
        uuid_columns=[name for name, values in columns.items() if isinstance(values[0], uuid.UUID)],
    )


def spooled_batch_bytes(body: bytes) -> int:
    """Bytes one pose batch takes in a spool segment: its record, framed."""
    return len(encode_record(pose_record(body)))


def _stored_rows(server: ClickHouseServer, database: str) -> int | None:
    try:
        client = native_client(server, database)
        try:
            return int(client.execute("SELECT count() FROM pose_tracking_frames")[0][0])
        finally:
            client.disconnect()
    except (clickhouse_errors.Error, OSError, EOFError):
        return None


class SteadyLoad:
    """Back-to-back open-loop runs at ``rate`` in a thread, until :meth:`stop`."""

    def __init__(self, bench: Bench, service: Service, rate: float, origin: float) -> None:
        self.chunks: list[Chunk] = []
        self._bench, self._service, self._rate, self._origin = bench, service, rate, origin
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic() - self._origin
            phase = self._bench.fixed_rate(self._service, POSE_PATH, self._rate, CHUNK_SECONDS)
            self.chunks.append(Chunk(start, time.monotonic() - self._origin, phase))


@dataclass
class Results:
    max_rate: float
    rate: float
    batch_bytes: int
    spool_max_bytes: int
    outage_seconds: float
    restarted_at: float
    backlog_batches: int
    backlog_bytes: int
    drain: Drain | None
    emptied_after: float | None
    steady_bytes: int
    ingest_during_drain: float
    samples: list[Sample]
    chunks: list[Chunk]
    exactly_once: str
    loads: dict[str, float]


class Watch:
    """Samples of the drain service's rows in ClickHouse and spool bytes, every :data:`SAMPLE_SECONDS`."""

    def __init__(self, server: ClickHouseServer, folder: Path, origin: float) -> None:
        self.samples: list[Sample] = []
        self.clickhouse_up = True
        """False while the benchmark holds ClickHouse stopped: no rows are asked for then."""
        self._server, self._folder, self._origin = server, folder, origin

    def sample(self) -> None:
        self.samples.append(
            Sample(
                at=time.monotonic() - self._origin,
                stored_rows=_stored_rows(self._server, database_of(DRAIN_NAME)) if self.clickhouse_up else None,
                spool_bytes=unflushed_bytes(self._folder, read_checkpoint(self._folder)),
            )
        )

    def sample_for(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.sample()
            time.sleep(SAMPLE_SECONDS)


def _bench(root: Path, keys: Path) -> Bench:
    """:data:`DEVICES` devices' tokens and the 60-frame pose bodies they send."""
    ensure_dev_keys(keys)
    tokens = [
        mint_telemetry_token(
            keys, actor_hash=f"device_{number}", org_hash="bench_org", consent_level=3, biometric=True, ttl_seconds=3600
        )
        for number in range(DEVICES)
    ]
    return Bench(root, tokens, [pose_batch_body(FRAMES_PER_BATCH, seed) for seed in range(POSE_BODIES)], [])


def _max_rate(bench: Bench, root: Path, env: dict[str, str]) -> float:
    """Pose batches per second a service of its own takes at most (wrk, mean of two runs)."""
    log = log_of(root, MAX_NAME)
    with start_service(MAX_NAME, "telemetry", env, free_port(), log, companions=("telemetry.flusher",)) as probe:
        if probe is None:
            raise RuntimeError(f"telemetry did not start:\n{log.read_text(errors='replace')[-2000:]}")
        return statistics.mean(bench.max_rate(probe, POSE_PATH, MAX_RATE_SECONDS).rate for _ in range(2))


def _measure(root: Path, stack: ExitStack, server: ClickHouseServer, outage_seconds: float) -> Results:
    loads = {"start": os.getloadavg()[0]}
    for name in (MAX_NAME, DRAIN_NAME):
        migrate_database(server, database_of(name))
    keys = root / "keys"
    bench = _bench(root, keys)

    def env(name: str) -> dict[str, str]:
        return service_env(server, keys, root / f"spool-{database_of(name)}", database_of(name), 1)

    max_rate = _max_rate(bench, root, env(MAX_NAME))
    rate = LOAD_FRACTION * max_rate
    batch_bytes = statistics.mean(spooled_batch_bytes(body) for body in bench.pose_bodies)
    spool_max_bytes = int(BACKLOG_HEADROOM * rate * batch_bytes * (outage_seconds + STEADY_SECONDS))
    spool = root / f"spool-{database_of(DRAIN_NAME)}"
    service = stack.enter_context(
        start_service(
            DRAIN_NAME,
            "telemetry",
            {**env(DRAIN_NAME), "SPOOL_MAX_BYTES": str(spool_max_bytes)},
            free_port(),
            log_of(root, DRAIN_NAME),
            companions=("telemetry.flusher",),
        )
    )
    if service is None:
        raise RuntimeError(f"telemetry did not start:\n{log_of(root, DRAIN_NAME).read_text(errors='replace')[-2000:]}")
    folder = spool / "0"
    origin = time.monotonic()
    watch = Watch(server, folder, origin)
    load = SteadyLoad(bench, service, rate, origin)
    load.start()
    watch.sample_for(STEADY_SECONDS)
    loads["outage"] = os.getloadavg()[0]
    server.stop()
    watch.clickhouse_up = False
    watch.sample_for(outage_seconds)
    server.start()
    watch.clickhouse_up = True
    restarted_at = time.monotonic() - origin
    loads["restart"] = os.getloadavg()[0]
    acknowledged = acknowledged_batches(log_of(root, DRAIN_NAME))
    backlog_bytes = unflushed_bytes(folder, read_checkpoint(folder))
    # Nothing is inserted while ClickHouse is away, and the flusher's next try comes after its back-off:
    # the rows now are those stored before the outage.
    stored_at_restart = _stored_rows(server, database_of(DRAIN_NAME)) or 0
    # Drained within the outage's length again (what a 2x drain takes at most) and the flusher's back-off.
    deadline = restarted_at + outage_seconds + 60.0
    drain = None
    steady_bytes = max(sample.spool_bytes for sample in watch.samples if sample.at < STEADY_SECONDS)
    emptied = None
    while emptied is None and time.monotonic() - origin < deadline:
        watch.sample()
        drain = drain_of(watch.samples, restarted_at, stored_at_restart, acknowledged * FRAMES_PER_BATCH)
        if drain is not None:
            emptied = emptied_after(watch.samples, restarted_at, steady_bytes)
        time.sleep(SAMPLE_SECONDS)
    watch.sample_for(AFTER_DRAIN_SECONDS)
    load.stop()
    load_end = time.monotonic()
    loads["end"] = os.getloadavg()[0]
    ingest = (
        ingest_rate(load.chunks, restarted_at + drain.drained_after - drain.seconds, restarted_at + drain.drained_after)
        if drain is not None
        else float("nan")
    )
    delivery = pose_delivery(bench, server, root, DRAIN_NAME, load_end)
    time.sleep(1.0)  # anything stored beyond the acknowledged batches would show up by now
    delivery = replace(delivery, stored=stored_pose(server, database_of(DRAIN_NAME)))
    return Results(
        max_rate=max_rate,
        rate=rate,
        batch_bytes=int(batch_bytes),
        spool_max_bytes=spool_max_bytes,
        outage_seconds=outage_seconds,
        restarted_at=restarted_at,
        backlog_batches=acknowledged - stored_at_restart // FRAMES_PER_BATCH,
        backlog_bytes=backlog_bytes,
        drain=drain,
        emptied_after=emptied,
        steady_bytes=steady_bytes,
        ingest_during_drain=ingest,
        samples=watch.samples,
        chunks=load.chunks,
        exactly_once=exactly_once("telemetry", delivery),
        loads=loads,
    )


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _report(results: Results) -> str:
    frames = FRAMES_PER_BATCH
    loads = ", ".join(f"{name} {value:.2f}" for name, value in results.loads.items())
    failed = sum(chunk.phase.failed for chunk in results.chunks)
    accepted = sum(chunk.phase.accepted for chunk in results.chunks)
    lines = [
        f"backlog drain after a {results.outage_seconds:.0f}-second ClickHouse outage under steady pose load: "
        f"telemetry (1 request process + flusher process), ClickHouse 18.16 on loopback; load average {loads}",
        f"  steady load: {LOAD_FRACTION:.0%} of the measured maximum ({results.max_rate:,.0f} batches/s with wrk): "
        f"{results.rate:,.1f} batches/s = {results.rate * frames:,.0f} frames/s of {frames}-frame batches from "
        f"{DEVICES} devices (loadgen, open loop, {len(results.chunks)} runs of {CHUNK_SECONDS:.0f} s)",
        f"  spool: {results.batch_bytes:,} bytes a batch; SPOOL_MAX_BYTES {_mib(results.spool_max_bytes)} "
        f"({BACKLOG_HEADROOM:.0f} x rate x bytes x (outage + {STEADY_SECONDS:.0f} s))",
        f"  backlog at the restart: {results.backlog_batches:,} batches = {results.backlog_batches * frames:,} frames, "
        f"{_mib(results.backlog_bytes)} of spool segments",
    ]
    drain = results.drain
    if drain is None:
        lines.append("  NOT drained while the load went on (within the outage's length again plus 60 s)")
    else:
        ingest = results.ingest_during_drain * frames
        lines += [
            f"  first insert {drain.first_insert_after:.0f}-{drain.first_insert_after + SAMPLE_SECONDS:.0f} s after "
            f"the restart (the flusher's retry back-off, at most 30 s); every batch acknowledged before the restart "
            f"in ClickHouse {drain.drained_after:.1f} s after it",
            f"  drain rate {drain.rate:,.0f} frames/s ({drain.rows:,} frames in {drain.seconds:.1f} s) vs ingest "
            f"{ingest:,.0f} frames/s meanwhile: ratio {drain.rate / ingest:.2f}x   goal: >= 2x",
            "  spool back to its size before the outage (at most "
            f"{_mib(results.steady_bytes)}) "
            + (
                f"{results.emptied_after:.1f} s after the restart"
                if results.emptied_after is not None
                else "NOT within the outage's length again plus 60 s"
            ),
        ]
    lines += [
        "  spool unflushed bytes every tenth of the run: "
        + ", ".join(
            f"{sample.at:.0f} s {_mib(sample.spool_bytes)}"
            for sample in results.samples[:: max(1, len(results.samples) // 10)]
        ),
        f"  load: {accepted:,} batches acknowledged by the clients, {failed or 'none'} answered otherwise or "
        "broken off",
        "  " + results.exactly_once.replace("\n", "\n  "),
    ]
    return "\n".join(lines)


def run(outage_seconds: float = OUTAGE_SECONDS) -> str:
    return on_scratch_clickhouse(
        "backlog drain", lambda root, stack, server: _report(_measure(root, stack, server, outage_seconds))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--outage-seconds", type=float, default=OUTAGE_SECONDS)
    print(run(parser.parse_args().outage_seconds), flush=True)


if __name__ == "__main__":
    main()
