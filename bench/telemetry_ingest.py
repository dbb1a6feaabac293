"""Telemetry ingest end to end (issues #6 and #10), measured side by side in one run:

- the telemetry service as a real process (``python -m telemetry``, production server settings, spool in a
  temporary folder) on a real ClickHouse 18.16 server started by ``tools.databases.ClickHouseServer``;
- the FastAPI + pydantic twin (``bench/fastapi_twin.py``) on the same spool and writer code, same workers;
- a direct clickhouse-driver columnar insert of the same rows from one process (the storage ceiling).

Simulated devices (``bench/loadgen.py``, one bearer token each, minted like the test suite's
``telemetry_url`` fixture does) post 60-frame pose batches and single media events over keep-alive HTTP.
Maximum rates come from closed-loop runs alternating target and twin; latencies from open-loop runs at
half the maximum rate. Telemetry's RSS is sampled throughout; acknowledged frames are then awaited in
ClickHouse, so a run also shows whether the background writer kept up.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from clickhouse_driver import Client
from contracts.telemetry import pose_batch_decoder
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.open import open_store
from telemetry.identity import TelemetryActor
from telemetry.ingest.writer import Batch, Columns, pose_frame_columns
from telemetry.settings import ClickHouseSettings

from bench.loadgen import LoadResult, LoadSpec
from bench.pose_decode import pose_batch_body
from bench.services import Service, run_load, start_service, start_up_failure
from tools.databases import ClickHouseServer, ClickHouseUnavailable, free_port
from tools.tokens import ensure_dev_keys, mint_telemetry_token

DEVICES = 1024
"""Simulated devices, one token each; requests take them in turn, so at 2 000 requests/s each device sends
about 2 a second, within telemetry's production per-actor rate limit (RATE_LIMIT_*: 2/s, bursts of 30)."""
CONNECTIONS = 32
"""Keep-alive connections carrying the devices' requests (as from an edge proxy)."""
FRAMES_PER_BATCH = 60
POSE_BODIES = 8
MAX_RATE_SECONDS = 5.0
HALF_RATE_SECONDS = 6.0
MEDIA_SECONDS = 4.0
DIRECT_INSERT_SECONDS = 4.0
FLUSH_ROWS = 10_000
"""The spool writer's default block size (SPOOL_FLUSH_ROWS); the direct insert uses blocks of this size."""
PRODUCTION_WORKERS = "0"
"""SERVER_WORKERS of deploy/docker/telemetry.Dockerfile: one worker per CPU."""


def media_event_body(seed: int) -> bytes:
    """One heartbeat, the most frequent media event, as a device sends it alone."""
    rng = random.Random(seed)
    return msgspec.json.encode(
        {
            "event": "heartbeat",
            "session_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "media_id": "3f9a1c0b7d2e",
            "media_type": "video",
            "timestamp": "2026-11-22T10:15:30.250+01:00",
            "data": {
                "position_seconds": round(rng.uniform(0, 600), 2),
                "watched_duration_seconds": round(rng.uniform(0, 600), 2),
                "completion_percent": round(rng.uniform(0, 100), 1),
                "buffering_count": rng.randint(0, 3),
                "buffering_duration_ms": rng.randint(0, 4000),
                "current_bitrate": 2_500_000,
                "current_resolution": "720p",
                "dropped_frames": rng.randint(0, 20),
                "total_frames": rng.randint(1000, 20000),
            },
        }
    )


@dataclass(frozen=True)
class Phase:
    """One load run against one service, with the service's CPU time during it."""

    service: str
    path: str
    result: LoadResult
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.result.accepted / self.result.elapsed_seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(self.result.accepted, 1)

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.result.statuses.items() if status != "202")


@dataclass
class Bench:
    scratch: Path
    tokens: list[str]
    pose_bodies: list[bytes]
    media_bodies: list[bytes]
    phases: list[Phase] = field(default_factory=list)

    def load(self, service: Service, path: str, bodies: list[bytes], **options: float | str) -> Phase:
        spec = LoadSpec(
            host="127.0.0.1",
            port=int(service.url.rsplit(":", 1)[1]),
            path=path,
            tokens=self.tokens,
            bodies=bodies,
            mode=str(options.get("mode", "closed")),  # type: ignore[arg-type]
            connections=int(options.get("connections", CONNECTIONS)),
            duration_seconds=float(options["seconds"]),
            max_requests=int(options.get("max_requests", 200_000)),
            rate=float(options.get("rate", 0.0)),
        )
        before = service.cpu_seconds()
        result = run_load(spec, self.scratch)
        phase = Phase(service.name, path, result, service.cpu_seconds() - before)
        self.phases.append(phase)
        return phase


def _migrate(server: ClickHouseServer, database: str) -> None:
    async def apply() -> None:
        store = open_store(ClickHouseSettings(url=server.url, http_url=server.http_url, database=database))
        try:
            await migrate(store)
        finally:
            await store.close()

    asyncio.run(apply())


def _native(server: ClickHouseServer, database: str) -> Client:
    return Client(host="127.0.0.1", port=server.tcp_port, database=database, settings={"use_numpy": False})


def direct_insert(server: ClickHouseServer, bodies: list[bytes], seconds: float) -> tuple[float, int]:
    """Frames per second of one process inserting the batches' rows as 10 000-row columnar blocks."""
    actor = TelemetryActor(actor_hash="bench_direct", org_hash="bench_org", consent_level=3, biometric=True)
    block: Columns = {}
    while not block or len(block["frame_number"]) < FLUSH_ROWS:
        for body in bodies:
            columns = pose_frame_columns(pose_batch_decoder.decode(body), Batch.start(actor, "pose_frames", None, ""))
            for name, values in columns.items():
                block.setdefault(name, []).extend(values)
    rows = len(block["frame_number"])
    statement = f"INSERT INTO pose_tracking_frames ({', '.join(block)}) VALUES"
    client = _native(server, "bench_direct")
    try:
        client.execute(statement, list(block.values()), columnar=True)  # connection and warm-up
        spent, inserted, deadline = 0.0, 0, time.monotonic() + seconds
        while time.monotonic() < deadline and inserted < 40 * rows:
            started = time.perf_counter()
            client.execute(statement, list(block.values()), columnar=True)
            spent += time.perf_counter() - started
            inserted += rows
    finally:
        client.disconnect()
    return inserted / spent, rows


def stored_frames(server: ClickHouseServer, database: str) -> int:
    client = _native(server, database)
    try:
        return int(client.execute("SELECT count() FROM pose_tracking_frames")[0][0])
    finally:
        client.disconnect()


def await_stored(server: ClickHouseServer, database: str, expected: int, timeout_seconds: float) -> float | None:
    """Seconds until ``expected`` frames are in ClickHouse, or None when they were not in time."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if stored_frames(server, database) >= expected:
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def _env(server: ClickHouseServer, keys: Path, spool: Path, database: str, workers: str) -> dict[str, str]:
    # As tests/conftest.py's telemetry_url fixture, with the production image's server and log settings.
    return {
        "SPOOL_DIR": str(spool),
        "AUTH_JWKS_FILE": str(keys / "jwks.json"),
        "CLICKHOUSE_URL": server.url,
        "CLICKHOUSE_HTTP_URL": server.http_url,
        "CLICKHOUSE_DATABASE": database,
        "SERVER_WORKERS": workers,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
    }


@contextmanager
def _scratch() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bench-telemetry-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def _ratio_line(label: str, target: float, baseline: float, unit: str, goal: str) -> str:
    return (
        f"  target   {label:<44} {target:10.1f} {unit}\n"
        f"  baseline {'':<44} {baseline:10.1f} {unit}\n"
        f"  ratio    {target / baseline:.2f}x   goal: {goal}"
    )


@dataclass
class Results:
    workers: str
    notes: list[str]
    pose_body_bytes: int
    pose_max: dict[str, list[Phase]]
    half: dict[str, list[Phase]]
    media_max: dict[str, list[Phase]]
    direct_frames_per_second: float
    block_rows: int
    rss: tuple[int, int, int]
    rss_samples: list[int]
    acknowledged_frames: int
    only_spooled_frames: int
    drained_after_seconds: float | None
    missing_frames: int
    load: tuple[float, float]

    def max_rate(self, name: str) -> float:
        return statistics.mean(phase.rate for phase in self.pose_max[name])


def _start_services(
    server: ClickHouseServer, keys: Path, root: Path, stack: ExitStack
) -> tuple[Service, Service, str, list[str]]:
    # The production image runs SERVER_WORKERS=0; fall back to one worker when that cannot start.
    workers, notes = PRODUCTION_WORKERS, []
    env = _env(server, keys, root / "spool-probe", "bench_telemetry", workers)
    failure = start_up_failure("telemetry", env, free_port(), root / "probe.log", os.cpu_count() or 1)
    if failure is not None:
        workers = "1"
        notes.append(
            f"SERVER_WORKERS={PRODUCTION_WORKERS} (the Dockerfile's; {os.cpu_count()} workers here) does not "
            f"start: {failure}; measured with SERVER_WORKERS=1, the twin too"
        )
    services = []
    for name, module in (("telemetry", "telemetry"), ("twin", "bench.fastapi_twin")):
        env = _env(server, keys, root / f"spool-{name}", f"bench_{name}", workers)
        service = stack.enter_context(start_service(name, module, env, free_port(), root / f"{name}.log"))
        if service is None:
            log = (root / f"{name}.log").read_text(errors="replace")
            raise RuntimeError(f"{name} did not start:\n{log[-2000:]}")
        services.append(service)
    return services[0], services[1], workers, notes


def _measure(root: Path, stack: ExitStack, server: ClickHouseServer) -> Results:
    for database in ("bench_telemetry", "bench_twin", "bench_direct"):
        _migrate(server, database)
    keys = root / "keys"
    ensure_dev_keys(keys)
    tokens = [
        mint_telemetry_token(
            keys, actor_hash=f"device_{number}", org_hash="bench_org", consent_level=3, biometric=True, ttl_seconds=3600
        )
        for number in range(DEVICES)
    ]
    pose_bodies = [pose_batch_body(FRAMES_PER_BATCH, seed) for seed in range(POSE_BODIES)]
    bench = Bench(root, tokens, pose_bodies, [media_event_body(seed) for seed in range(64)])
    load_before = os.getloadavg()[0]
    telemetry, twin, workers, notes = _start_services(server, keys, root, stack)
    rss_start = telemetry.rss()

    for service in (telemetry, twin):  # warm-up: connections, imports, first inserts
        bench.load(service, "/v1/pose/frames", pose_bodies, seconds=1.0, connections=4)
        bench.load(service, "/v1/media/events", bench.media_bodies, seconds=0.5, connections=4)

    # Target and twin alternate, twice each, so drifting machine load hits both alike.
    pose_max: dict[str, list[Phase]] = {"telemetry": [], "twin": []}
    for service in (telemetry, twin, twin, telemetry):
        pose_max[service.name].append(bench.load(service, "/v1/pose/frames", pose_bodies, seconds=MAX_RATE_SECONDS))
    direct_frames_per_second, block_rows = direct_insert(server, pose_bodies, DIRECT_INSERT_SECONDS)
    telemetry_half = statistics.mean(phase.rate for phase in pose_max["telemetry"]) / 2
    twin_half = statistics.mean(phase.rate for phase in pose_max["twin"]) / 2
    # The two runs at the same rate alternate and are pooled, like the maximum-rate runs.
    half: dict[str, list[Phase]] = {"telemetry": [], "twin": [], "telemetry at the twin's rate": []}
    for name, service, rate in (
        ("telemetry", telemetry, telemetry_half),
        ("twin", twin, twin_half),
        ("telemetry at the twin's rate", telemetry, twin_half),
        ("telemetry at the twin's rate", telemetry, twin_half),
        ("twin", twin, twin_half),
    ):
        half[name].append(
            bench.load(
                service,
                "/v1/pose/frames",
                pose_bodies,
                mode="open",
                connections=64,
                rate=rate,
                seconds=HALF_RATE_SECONDS,
            )
        )
    media_max: dict[str, list[Phase]] = {"telemetry": [], "twin": []}
    for service in (telemetry, twin, twin, telemetry):
        media_max[service.name].append(
            bench.load(service, "/v1/media/events", bench.media_bodies, seconds=MEDIA_SECONDS)
        )
    load_end = time.monotonic()

    # Everything telemetry acknowledged, warm-up included, must reach ClickHouse.
    acknowledged = FRAMES_PER_BATCH * sum(
        phase.result.accepted for phase in bench.phases if phase.service == "telemetry" and "pose" in phase.path
    )
    only_spooled = acknowledged - stored_frames(server, "bench_telemetry")
    drained = await_stored(server, "bench_telemetry", acknowledged, timeout_seconds=30.0)
    missing = acknowledged - stored_frames(server, "bench_telemetry")
    time.sleep(1.0)
    return Results(
        workers=workers,
        notes=notes,
        pose_body_bytes=len(pose_bodies[0]),
        pose_max=pose_max,
        half=half,
        media_max=media_max,
        direct_frames_per_second=direct_frames_per_second,
        block_rows=block_rows,
        rss=(rss_start, max([rss_start, *telemetry.rss_samples]), telemetry.rss()),
        rss_samples=list(telemetry.rss_samples),
        acknowledged_frames=acknowledged,
        only_spooled_frames=only_spooled,
        drained_after_seconds=None if drained is None else time.monotonic() - load_end,
        missing_frames=missing,
        load=(load_before, os.getloadavg()[0]),
    )


def pooled_percentile(phases: list[Phase], fraction: float) -> float:
    """The latency percentile of every acknowledged request of ``phases`` together."""
    latencies = sorted(latency for phase in phases for latency in phase.result.latencies_ms)
    return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] if latencies else float("nan")


def _latency(label: str, phases: list[Phase]) -> str:
    rate = statistics.mean(phase.rate for phase in phases)
    return (
        f"  {label:<36} {rate:6.1f} req/s, {len(phases)} run(s): "
        f"p50 {pooled_percentile(phases, 0.5):7.1f} ms  p99 {pooled_percentile(phases, 0.99):7.1f} ms"
    )


def _report(results: Results) -> str:
    pose, media = results.pose_max, results.media_max
    cpu = {name: statistics.mean(phase.cpu_ms_per_request for phase in pose[name]) for name in pose}
    media_rate = {name: statistics.mean(phase.rate for phase in media[name]) for name in media}
    media_cpu = {name: statistics.mean(phase.cpu_ms_per_request for phase in media[name]) for name in media}
    phases = [phase for runs in (*pose.values(), *media.values(), *results.half.values()) for phase in runs]
    statuses: dict[str, int] = {}
    for phase in phases:
        for status, count in phase.result.statuses.items():
            if status != "202":
                statuses[status] = statuses.get(status, 0) + count
    same_rate, twin_half = results.half["telemetry at the twin's rate"], results.half["twin"]
    rss_start, rss_peak, rss_end = results.rss
    drain = (
        f"all in ClickHouse {results.drained_after_seconds:.1f} s after it"
        if results.drained_after_seconds is not None
        else f"{results.missing_frames:,} still missing 30 s on"
    )
    runs = ", ".join(f"{phase.rate * FRAMES_PER_BATCH:,.0f}" for phase in pose["telemetry"])
    return "\n".join(
        [
            f"telemetry ingest end to end: {DEVICES} devices over {CONNECTIONS} connections, {FRAMES_PER_BATCH}-frame "
            f"pose batches ({results.pose_body_bytes:,} bytes) and single media events, "
            f"SERVER_WORKERS={results.workers}, ClickHouse 18.16 on loopback; "
            f"load average {results.load[0]:.2f} before, {results.load[1]:.2f} after",
            *[f"  note: {note}" for note in results.notes],
            "pose ingest, max frames/s (closed loop) vs a direct clickhouse-driver insert from one process",
            _ratio_line(
                "telemetry, acknowledged (202) frames/s",
                results.max_rate("telemetry") * FRAMES_PER_BATCH,
                results.direct_frames_per_second,
                "frames/s",
                ">= 0.5x",
            ),
            f"  (baseline: {results.block_rows:,}-row columnar blocks, insert time only, "
            f"{results.block_rows / results.direct_frames_per_second * 1000:.0f} ms a block; telemetry runs: {runs} "
            "frames/s)",
            "pose ingest, max batches/s vs the FastAPI + pydantic twin (same spool, writer, verifier, workers)",
            _ratio_line("telemetry", results.max_rate("telemetry"), results.max_rate("twin"), "req/s", ">= 2x"),
            f"  CPU per batch in the server process: telemetry {cpu['telemetry']:.2f} ms, twin {cpu['twin']:.2f} ms: "
            f"{cpu['twin'] / cpu['telemetry']:.2f}x the batches per CPU-second (the capacity ratio, robust to load)",
            f"pose latency of acknowledged batches, open loop at half the max rate, {HALF_RATE_SECONDS:.0f} s each",
            _latency("telemetry at half its max", results.half["telemetry"]),
            _latency("twin at half its max", twin_half),
            _latency("telemetry at the twin's rate", same_rate),
            f"  ratio    p99 telemetry / twin at the same rate "
            f"{pooled_percentile(same_rate, 0.99) / pooled_percentile(twin_half, 0.99):.2f}x   goal: <= 0.5x",
            "media events, one event per POST, max req/s (closed loop)",
            _ratio_line("telemetry", media_rate["telemetry"], media_rate["twin"], "req/s", ">= 2x"),
            f"  CPU per request in the server process: telemetry {media_cpu['telemetry']:.2f} ms, "
            f"twin {media_cpu['twin']:.2f} ms: {media_cpu['twin'] / media_cpu['telemetry']:.2f}x the requests per "
            "CPU-second",
            f"telemetry RSS: start {_mib(rss_start)}, peak {_mib(rss_peak)}, end {_mib(rss_end)}   goal: flat",
            "  through the run (each tenth of it): "
            + ", ".join(
                _mib(samples[len(samples) * tenth // 10]) for tenth in range(10) if (samples := results.rss_samples)
            ),
            f"spool drain: {results.acknowledged_frames:,} frames acknowledged; {results.only_spooled_frames:,} "
            f"only in the spool when the load ended, {drain}",
            f"answers other than 202: {statuses or 'none'}",
        ]
    )


def run() -> str:
    with _scratch() as root, ExitStack() as stack:
        server = ClickHouseServer(root / "clickhouse")
        try:
            server.start()
        except ClickHouseUnavailable as exc:
            return f"telemetry ingest end to end: skipped, no ClickHouse server ({exc})"
        stack.callback(server.stop)
        results = _measure(root, stack, server)
    return _report(results)
