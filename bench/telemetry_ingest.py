"""Telemetry ingest end to end (issues #6 and #10), measured side by side in one run:

- the telemetry service as real processes, laid out as the production pod runs them: ``python -m telemetry``
  (the image's server settings: no reload, JSON logs at info, SPOOL_FLUSHER=process; spool in a temporary
  folder) beside ``python -m telemetry.flusher``, on a real ClickHouse 18.16 server on loopback, started by
  ``tools.databases.ClickHouseServer``; once with one request process and once with two (SERVER_WORKERS=2);
- the FastAPI + pydantic twin (``bench/fastapi_twin.py``) on the same spool and flusher process, same settings;
- a direct clickhouse-driver columnar insert of the same rows from one process (the storage ceiling).

1,024 simulated devices (one bearer token each, minted like the test suite's ``telemetry_url`` fixture does)
post 60-frame pose batches and single media events over 32 keep-alive connections. Maximum rates come from
wrk (``bench/wrk.py``: Debian's wrk, one thread, so it takes at most one core; one request head per device,
bodies in turn), alternating target and twin; latencies from open-loop runs of ``bench/loadgen.py`` at half
the maximum rate (no packaged tool holds a fixed rate: wrk2 is not in Debian). Every run is bounded in time
and request count. Telemetry's RSS is sampled throughout; afterwards every batch telemetry acknowledged
must be in ClickHouse exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import msgspec
from clickhouse_driver import Client
from contracts.pose import pose_batch_decoder
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.open import open_store
from telemetry.identity import TelemetryActor
from telemetry.ingest.batch import Batch, Columns
from telemetry.pose.columns import pose_frame_columns
from telemetry.settings import ClickHouseSettings

from bench.loadgen import LoadSpec
from bench.pose_decode import pose_batch_body
from bench.scratch_clickhouse import on_scratch_clickhouse
from bench.services import Service, run_load, start_service
from bench.wrk import WrkRequest, run_wrk
from tools.databases import ClickHouseServer, free_port
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
MAX_REQUESTS = 100_000
"""Safety bound on the requests of one run, whatever its duration."""
FLUSH_ROWS = 10_000
"""The flusher's default block size (SPOOL_FLUSH_ROWS); the direct insert uses blocks of this size."""
WORKERS = {"telemetry": 1, "telemetry x2": 2, "twin": 1}
"""SERVER_WORKERS of each service measured; each request process has a spool folder of its own, and the
flusher process beside them one flusher per folder."""
POSE_PATH = "/v1/pose/frames"
MEDIA_PATH = "/v1/media/events"


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
    accepted: int
    """Requests answered 2xx (202)."""
    failed: int
    """Requests answered otherwise, or broken off (socket errors, timeouts)."""
    seconds: float
    cpu_seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    """Latency of every 202, sorted (open-loop runs only; wrk reports percentiles)."""
    percentiles_ms: tuple[float, float] = (float("nan"), float("nan"))
    """p50 and p99 as wrk measured them (closed-loop runs)."""

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(self.accepted, 1)


@dataclass
class Bench:
    scratch: Path
    tokens: list[str]
    pose_bodies: list[bytes]
    media_bodies: list[bytes]
    phases: list[Phase] = field(default_factory=list)

    def bodies(self, path: str) -> list[bytes]:
        return self.pose_bodies if path == POSE_PATH else self.media_bodies

    def max_rate(self, service: Service, path: str, seconds: float, connections: int = CONNECTIONS) -> Phase:
        """A closed-loop run with wrk: ``connections`` connections, each sending as soon as it is answered."""
        heads = [
            WrkRequest("POST", path, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            for token in self.tokens
        ]
        before = service.cpu_seconds()
        result = run_wrk(
            service.url,
            heads,
            self.bodies(path),
            self.scratch,
            connections=connections,
            seconds=seconds,
            threads=1,
            max_requests=MAX_REQUESTS,
        )
        broken = result.connect_errors + result.read_errors + result.write_errors + result.timeouts
        phase = Phase(
            service.name,
            path,
            accepted=result.succeeded,
            failed=result.status_errors + broken,
            seconds=result.seconds,
            cpu_seconds=service.cpu_seconds() - before,
            percentiles_ms=(result.p50_us / 1000, result.p99_us / 1000),
        )
        self.phases.append(phase)
        return phase

    def fixed_rate(self, service: Service, path: str, rate: float, seconds: float) -> Phase:
        """An open-loop run of ``bench.loadgen`` at ``rate`` requests/s, latency from the scheduled send."""
        spec = LoadSpec(
            host="127.0.0.1",
            port=int(service.url.rsplit(":", 1)[1]),
            path=path,
            tokens=self.tokens,
            bodies=self.bodies(path),
            connections=64,
            duration_seconds=seconds,
            max_requests=MAX_REQUESTS,
            rate=rate,
        )
        before = service.cpu_seconds()
        result = run_load(spec, self.scratch)
        phase = Phase(
            service.name,
            path,
            accepted=result.accepted,
            failed=sum(count for status, count in result.statuses.items() if status != "202"),
            seconds=result.elapsed_seconds,
            cpu_seconds=service.cpu_seconds() - before,
            latencies_ms=result.latencies_ms,
        )
        self.phases.append(phase)
        return phase


def migrate_database(server: ClickHouseServer, database: str) -> None:
    async def apply() -> None:
        store = open_store(ClickHouseSettings(url=server.url, http_url=server.http_url, database=database))
        try:
            await migrate(store)
        finally:
            await store.close()

    asyncio.run(apply())


def native_client(server: ClickHouseServer, database: str) -> Client:
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
    client = native_client(server, "bench_direct")
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


@dataclass(frozen=True)
class Stored:
    """What ClickHouse holds of the pose batches: frames, distinct batch ids, and batches whose frame
    count is not exactly one batch's (stored twice, or in part)."""

    frames: int
    batches: int
    odd_batches: int


def stored_pose(server: ClickHouseServer, database: str) -> Stored:
    client = native_client(server, database)
    try:
        frames, batches = client.execute("SELECT count(), uniqExact(batch_id) FROM pose_tracking_frames")[0]
        odd = client.execute(
            "SELECT count() FROM (SELECT batch_id, count() AS frames FROM pose_tracking_frames GROUP BY batch_id "
            f"HAVING frames != {FRAMES_PER_BATCH})"
        )[0][0]
    finally:
        client.disconnect()
    return Stored(int(frames), int(batches), int(odd))


def await_stored(server: ClickHouseServer, database: str, batches: int, timeout_seconds: float) -> float | None:
    """Seconds until ``batches`` pose batches are in ClickHouse, or None when they were not in time."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if stored_pose(server, database).batches >= batches:
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def acknowledged_batches(log: Path) -> int:
    """Pose batches the server answered 202, from its ``request.completed`` events. wrk counts only the
    answers it read before its time was up; the server's own count also has those still in flight then.
    Counted as the event's route-and-status text, not line by line: two worker processes write to one log
    file, and now and then one's line runs into the other's, so such a line is no JSON object (seen: 6 to 8
    of about 1,200 events with SERVER_WORKERS=2)."""
    return log.read_bytes().count(b'"route": "%s", "status": 202' % POSE_PATH.encode())


def service_env(server: ClickHouseServer, keys: Path, spool: Path, database: str, workers: int) -> dict[str, str]:
    # As tests/conftest.py's telemetry_url fixture, with the production image's server and log settings.
    return {
        "SPOOL_FLUSHER": "process",
        "SPOOL_DIR": str(spool),
        "AUTH_JWKS_FILE": str(keys / "jwks.json"),
        # The device tokens are minted once and last the hour the whole run may take.
        "AUTH_MAX_TOKEN_LIFETIME_SECONDS": "3600",
        "CLICKHOUSE_URL": server.url,
        "CLICKHOUSE_HTTP_URL": server.http_url,
        "CLICKHOUSE_DATABASE": database,
        "SERVER_WORKERS": str(workers),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
    }


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def _ratio_line(label: str, target: float, baseline: float, unit: str, goal: str) -> str:
    return (
        f"  target   {label:<44} {target:10.1f} {unit}\n"
        f"  baseline {'':<44} {baseline:10.1f} {unit}\n"
        f"  ratio    {target / baseline:.2f}x   goal: {goal}"
    )


@dataclass(frozen=True)
class Delivery:
    """Whether every pose batch a service acknowledged reached ClickHouse exactly once."""

    client_acknowledged: int
    server_acknowledged: int
    only_spooled_batches: int
    drained_after_seconds: float | None
    stored: Stored


@dataclass
class Results:
    pose_body_bytes: int
    pose_max: dict[str, list[Phase]]
    half: dict[str, list[Phase]]
    media_max: dict[str, list[Phase]]
    settle_seconds: float
    direct_frames_per_second: float
    block_rows: int
    rss: tuple[int, int, int]
    rss_samples: list[int]
    delivery: dict[str, Delivery]
    load: tuple[float, float]

    def max_rate(self, name: str) -> float:
        return statistics.mean(phase.rate for phase in self.pose_max[name])


def database_of(name: str) -> str:
    return "bench_" + name.replace(" ", "_")


def log_of(root: Path, name: str) -> Path:
    return root / f"{name.replace(' ', '_')}.log"


def _start_services(server: ClickHouseServer, keys: Path, root: Path, stack: ExitStack) -> list[Service]:
    services = []
    for name, workers in WORKERS.items():
        module = "bench.fastapi_twin" if name == "twin" else "telemetry"
        env = service_env(server, keys, root / f"spool-{database_of(name)}", database_of(name), workers)
        log = log_of(root, name)
        service = stack.enter_context(
            start_service(name, module, env, free_port(), log, companions=("telemetry.flusher",))
        )
        if service is None:
            raise RuntimeError(f"{name} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        services.append(service)
    return services


def _measure(root: Path, stack: ExitStack, server: ClickHouseServer) -> Results:
    for database in (*map(database_of, WORKERS), "bench_direct"):
        migrate_database(server, database)
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
    telemetry, telemetry_x2, twin = _start_services(server, keys, root, stack)
    rss_start = telemetry.rss()

    for service in (telemetry, telemetry_x2, twin):  # warm-up: connections, imports, first inserts, token cache
        bench.max_rate(service, POSE_PATH, 1.0, connections=4)
        bench.max_rate(service, MEDIA_PATH, 1.0, connections=4)

    # Targets and twin alternate, twice each, so drifting machine load hits them alike.
    pose_max: dict[str, list[Phase]] = {"telemetry": [], "telemetry x2": [], "twin": []}
    for service in (telemetry, twin, telemetry_x2, telemetry_x2, twin, telemetry):
        pose_max[service.name].append(bench.max_rate(service, POSE_PATH, MAX_RATE_SECONDS))
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
        half[name].append(bench.fixed_rate(service, POSE_PATH, rate, HALF_RATE_SECONDS))
    # The flushers still inserting pose batches would share the cores with the media runs and count in their
    # CPU: the faster service would carry the larger backlog.
    settle_seconds = _flushed(server, [database_of(name) for name in WORKERS])
    media_max: dict[str, list[Phase]] = {"telemetry": [], "twin": []}
    for service in (telemetry, twin, twin, telemetry):
        media_max[service.name].append(bench.max_rate(service, MEDIA_PATH, MEDIA_SECONDS))
    load_end = time.monotonic()

    # Every pose batch telemetry acknowledged, warm-up included, must reach ClickHouse, and only once. The
    # requests still queued when wrk stopped are answered (and logged) within a second or two.
    time.sleep(3.0)
    delivery = {name: pose_delivery(bench, server, root, name, load_end) for name in ("telemetry", "telemetry x2")}
    time.sleep(1.0)  # anything stored beyond the acknowledged batches would show up by now
    delivery = {name: replace(found, stored=stored_pose(server, database_of(name))) for name, found in delivery.items()}
    return Results(
        pose_body_bytes=len(pose_bodies[0]),
        pose_max=pose_max,
        half=half,
        media_max=media_max,
        settle_seconds=settle_seconds,
        direct_frames_per_second=direct_frames_per_second,
        block_rows=block_rows,
        rss=(rss_start, max([rss_start, *telemetry.rss_samples]), telemetry.rss()),
        rss_samples=list(telemetry.rss_samples),
        delivery=delivery,
        load=(load_before, os.getloadavg()[0]),
    )


def _flushed(server: ClickHouseServer, databases: list[str], limit_seconds: float = 60.0) -> float:
    """Seconds until the pose batches stored in ``databases`` stop growing (the spools are empty)."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < limit_seconds:
        counts = [stored_pose(server, database).batches for database in databases]
        if counts == last:
            break
        last = counts
        time.sleep(1.0)
    return time.monotonic() - started


def pose_delivery(bench: Bench, server: ClickHouseServer, root: Path, name: str, load_end: float) -> Delivery:
    client_acknowledged = sum(
        phase.accepted for phase in bench.phases if phase.service == name and phase.path == POSE_PATH
    )
    server_acknowledged = acknowledged_batches(log_of(root, name))
    only_spooled = server_acknowledged - stored_pose(server, database_of(name)).batches
    drained = await_stored(server, database_of(name), server_acknowledged, timeout_seconds=30.0)
    return Delivery(
        client_acknowledged=client_acknowledged,
        server_acknowledged=server_acknowledged,
        only_spooled_batches=only_spooled,
        drained_after_seconds=None if drained is None else time.monotonic() - load_end,
        stored=stored_pose(server, database_of(name)),
    )


def pooled_percentile(phases: list[Phase], fraction: float) -> float:
    """The latency percentile of every acknowledged request of ``phases`` together."""
    latencies = sorted(latency for phase in phases for latency in phase.latencies_ms)
    return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] if latencies else float("nan")


def _latency(label: str, phases: list[Phase]) -> str:
    rate = statistics.mean(phase.rate for phase in phases)
    return (
        f"  {label:<36} {rate:6.1f} req/s, {len(phases)} run(s): "
        f"p50 {pooled_percentile(phases, 0.5):7.1f} ms  p99 {pooled_percentile(phases, 0.99):7.1f} ms"
    )


def _closed_loop_latency(phases: dict[str, list[Phase]]) -> str:
    return "  wrk latency at the maximum (mean of runs): " + "; ".join(
        f"{name} p50 {statistics.mean(p.percentiles_ms[0] for p in runs):.1f} ms, "
        f"p99 {statistics.mean(p.percentiles_ms[1] for p in runs):.1f} ms"
        for name, runs in phases.items()
    )


def exactly_once(name: str, results: Delivery) -> str:
    stored, acknowledged = results.stored, results.server_acknowledged
    drain = (
        f"all in ClickHouse {results.drained_after_seconds:.1f} s after it"
        if results.drained_after_seconds is not None
        else "not all in ClickHouse 30 s after it"
    )
    verdict = (
        "exactly once"
        if stored.batches == acknowledged
        and stored.odd_batches == 0
        and stored.frames == acknowledged * FRAMES_PER_BATCH
        and results.client_acknowledged <= acknowledged
        else "NOT exactly once"
    )
    return (
        f"{name}: pose batches acknowledged: {results.client_acknowledged:,} read by the clients, "
        f"{acknowledged:,} answered 202 by the server (its log; the difference was in flight when wrk stopped); "
        f"{results.only_spooled_batches:,} only in the spool when the load ended, {drain}\n"
        f"  in ClickHouse: {stored.batches:,} batches, {stored.frames:,} frames "
        f"({acknowledged * FRAMES_PER_BATCH:,} expected), {stored.odd_batches} batch(es) not of "
        f"{FRAMES_PER_BATCH} frames: {verdict}"
    )


def _report(results: Results) -> str:
    pose, media = results.pose_max, results.media_max
    cpu = {name: statistics.mean(phase.cpu_ms_per_request for phase in pose[name]) for name in pose}
    media_rate = {name: statistics.mean(phase.rate for phase in media[name]) for name in media}
    media_cpu = {name: statistics.mean(phase.cpu_ms_per_request for phase in media[name]) for name in media}
    phases = [phase for runs in (*pose.values(), *media.values(), *results.half.values()) for phase in runs]
    failed = sum(phase.failed for phase in phases)
    same_rate, twin_half = results.half["telemetry at the twin's rate"], results.half["twin"]
    rss_start, rss_peak, rss_end = results.rss
    runs = ", ".join(f"{phase.rate * FRAMES_PER_BATCH:,.0f}" for phase in pose["telemetry"])
    return "\n".join(
        [
            f"telemetry ingest end to end: {DEVICES} devices over {CONNECTIONS} connections, {FRAMES_PER_BATCH}-frame "
            f"pose batches ({results.pose_body_bytes:,} bytes) and single media events, request processes beside "
            "a flusher process (SPOOL_FLUSHER=process), ClickHouse 18.16 on loopback, maxima with wrk (1 thread); "
            f"load average {results.load[0]:.2f} before, {results.load[1]:.2f} after",
            "pose ingest, max frames/s (wrk) vs a direct clickhouse-driver insert from one process",
            _ratio_line(
                "telemetry, acknowledged (202) frames/s",
                results.max_rate("telemetry") * FRAMES_PER_BATCH,
                results.direct_frames_per_second,
                "frames/s",
                ">= 0.5x",
            ),
            _ratio_line(
                "telemetry x2 (SERVER_WORKERS=2), frames/s",
                results.max_rate("telemetry x2") * FRAMES_PER_BATCH,
                results.direct_frames_per_second,
                "frames/s",
                ">= 0.8x",
            ),
            f"  (baseline: {results.block_rows:,}-row columnar blocks, insert time only, "
            f"{results.block_rows / results.direct_frames_per_second * 1000:.0f} ms a block; telemetry runs: {runs} "
            "frames/s)",
            "pose ingest, max batches/s (wrk) vs the FastAPI + pydantic twin (same spool, flusher, verifier, workers)",
            _ratio_line("telemetry", results.max_rate("telemetry"), results.max_rate("twin"), "req/s", ">= 2x"),
            f"  CPU per batch in the server and flusher processes: telemetry {cpu['telemetry']:.2f} ms, "
            f"twin {cpu['twin']:.2f} ms: "
            f"{cpu['twin'] / cpu['telemetry']:.2f}x the batches per CPU-second (the capacity ratio, robust to load)",
            _closed_loop_latency(pose),
            f"pose latency of acknowledged batches, open loop (bench/loadgen) at half the max rate, "
            f"{HALF_RATE_SECONDS:.0f} s each",
            _latency("telemetry at half its max", results.half["telemetry"]),
            _latency("twin at half its max", twin_half),
            _latency("telemetry at the twin's rate", same_rate),
            f"  ratio    p99 telemetry / twin at the same rate "
            f"{pooled_percentile(same_rate, 0.99) / pooled_percentile(twin_half, 0.99):.2f}x   goal: <= 0.5x",
            f"media events, one event per POST, max req/s (wrk), once the flushers had emptied the spools "
            f"({results.settle_seconds:.0f} s)",
            _ratio_line("telemetry", media_rate["telemetry"], media_rate["twin"], "req/s", ">= 2x"),
            f"  CPU per request in the server and flusher processes: telemetry {media_cpu['telemetry']:.2f} ms, "
            f"twin {media_cpu['twin']:.2f} ms: {media_cpu['twin'] / media_cpu['telemetry']:.2f}x the requests per "
            "CPU-second",
            _closed_loop_latency(media),
            f"telemetry RSS: start {_mib(rss_start)}, peak {_mib(rss_peak)}, end {_mib(rss_end)}   goal: flat",
            "  through the run (each tenth of it): "
            + ", ".join(
                _mib(samples[len(samples) * tenth // 10]) for tenth in range(10) if (samples := results.rss_samples)
            ),
            *(exactly_once(name, delivery) for name, delivery in results.delivery.items()),
            f"answers other than 202 or broken off: {failed or 'none'}",
        ]
    )


def run() -> str:
    return on_scratch_clickhouse(
        "telemetry ingest end to end", lambda root, stack, server: _report(_measure(root, stack, server))
    )
