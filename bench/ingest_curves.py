"""How telemetry's cost grows with work (issue #20): pose throughput against batch size, and memory against
the number of active devices.

Telemetry runs as production runs it (``bench/telemetry_ingest.py``'s settings: ``python -m telemetry``
with one request process beside ``python -m telemetry.flusher``, CPU time and RSS of both together) on a
ClickHouse 18.16 server on loopback.

- **Batch size.** For pose batches of 1, 10, 60 and 300 frames (300 is the contract's largest,
  ``POSE_BATCH_MAX_FRAMES``), the maximum acknowledged frames/s with wrk (two 5-second runs, from
  :data:`CURVE_DEVICES` devices, each token verified in a warm-up run first) and the service's CPU time
  per frame, each beside a direct clickhouse-driver columnar insert of the same rows in 10,000-row blocks
  (``telemetry_ingest.direct_insert``, run between the two) as its baseline.
- **Active devices.** RSS of a fresh service at start, peak and end while 1,000 and then 10,000 distinct
  device tokens send 10-frame batches at a fixed :data:`RSS_RATE` (``bench/loadgen.py``, open loop), long
  enough for every device to send. What grows with devices is measured apart with tracemalloc: the
  verified-token cache and the rate limiter's buckets holding 10,000 devices (the appender's recent batch
  ids grow only with idempotent batches, which this load does not send).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from contracts.pose import POSE_BATCH_MAX_FRAMES
from telemetry.identity import TelemetryVerifier
from telemetry.ingest.ratelimit import RateLimiter
from telemetry.settings import HttpSettings, RateLimitSettings, TelemetryAuthSettings

from bench.pose_decode import pose_batch_body
from bench.scratch_clickhouse import on_scratch_clickhouse
from bench.services import start_service
from bench.telemetry_ingest import (
    DEVICES,
    POSE_PATH,
    Bench,
    Phase,
    database_of,
    direct_insert,
    log_of,
    migrate_database,
    service_env,
)
from tools.databases import ClickHouseServer, free_port
from tools.tokens import ensure_dev_keys, mint_telemetry_token

BATCH_SIZES = (1, 10, 60, 300)
CURVE_DEVICES = DEVICES
"""Devices of the batch-size runs, as in ``telemetry_ingest``: even at 1-frame batches, a few thousand
requests a second for the runs' 25 seconds stay within each device's burst of the production rate limit
(RATE_LIMIT_*: 2 a second, bursts of 30)."""
CURVE_SECONDS = 5.0
DIRECT_SECONDS = 3.0
WARM_UP_SECONDS = 5.0
"""A first wrk run of 1-frame batches, so every device's token is verified and cached before measuring
(a device keeps its token: in steady state its checks are cache hits, re-verified once a minute)."""
POSE_BODIES = 8
RSS_DEVICES = (1_000, 10_000)
RSS_FRAMES = 10
RSS_RATE = 400.0
"""Requests per second of the memory runs: a modest load (a tenth to a fifth of the maximum for 10-frame
batches here) that still reaches each of 10,000 devices within :data:`RSS_SECONDS`."""
RSS_SECONDS = 30.0
RSS_SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Point:
    """One batch size's figures: telemetry's maximum runs and the direct insert's frames/s."""

    frames: int
    body_bytes: int
    runs: list[Phase]
    direct_frames_per_second: float

    @property
    def frames_per_second(self) -> float:
        return statistics.mean(run.rate for run in self.runs) * self.frames

    @property
    def cpu_us_per_frame(self) -> float:
        accepted = sum(run.accepted for run in self.runs)
        return sum(run.cpu_seconds for run in self.runs) * 1e6 / max(accepted * self.frames, 1)


@dataclass(frozen=True)
class Memory:
    """RSS of a fresh service (server and flusher) under the memory run's load from ``devices`` devices."""

    devices: int
    start: int
    peak: int
    end: int
    accepted: int
    failed: int


@dataclass(frozen=True)
class EntrySizes:
    """Bytes per device of what grows with devices, from tracemalloc with :data:`RSS_DEVICES`'s largest."""

    verified_token: float
    rate_limit_bucket: float


def batch_sizes(sizes: tuple[int, ...], body_bytes: Callable[[int], int], max_body_bytes: int) -> list[tuple[int, str]]:
    """Each of ``sizes`` as measured: itself when the contract and the body limit allow it, else the largest
    size allowed, with the reason."""
    measured = []
    for size in sizes:
        allowed = min(size, POSE_BATCH_MAX_FRAMES)
        while allowed > 1 and body_bytes(allowed) > max_body_bytes:
            allowed -= 1
        if allowed == size:
            measured.append((size, ""))
        elif allowed < min(size, POSE_BATCH_MAX_FRAMES):
            measured.append((allowed, f"{size} frames exceed HTTP_MAX_BODY_BYTES ({max_body_bytes:,} bytes)"))
        else:
            measured.append((allowed, f"{size} frames exceed the contract's {POSE_BATCH_MAX_FRAMES} a batch"))
    return measured


def _tokens(keys: Path, count: int) -> list[str]:
    return [
        mint_telemetry_token(
            keys, actor_hash=f"device_{number}", org_hash="bench_org", consent_level=3, biometric=True, ttl_seconds=3600
        )
        for number in range(count)
    ]


def _curve(
    root: Path, stack: ExitStack, server: ClickHouseServer, keys: Path, tokens: list[str], sizes: list[int]
) -> list[Point]:
    name = "curves"
    migrate_database(server, database_of(name))
    migrate_database(server, "bench_direct")
    env = service_env(server, keys, root / f"spool-{database_of(name)}", database_of(name), 1)
    service = stack.enter_context(
        start_service(name, "telemetry", env, free_port(), log_of(root, name), companions=("telemetry.flusher",))
    )
    if service is None:
        raise RuntimeError(f"telemetry did not start:\n{log_of(root, name).read_text(errors='replace')[-2000:]}")
    Bench(root, tokens, [pose_batch_body(1, seed) for seed in range(POSE_BODIES)], []).max_rate(
        service, POSE_PATH, WARM_UP_SECONDS
    )
    points = []
    for frames in sizes:
        bodies = [pose_batch_body(frames, seed) for seed in range(POSE_BODIES)]
        bench = Bench(root, tokens, bodies, [])
        first = bench.max_rate(service, POSE_PATH, CURVE_SECONDS)
        direct, _ = direct_insert(server, bodies, DIRECT_SECONDS)
        second = bench.max_rate(service, POSE_PATH, CURVE_SECONDS)
        points.append(Point(frames, len(bodies[0]), [first, second], direct))
    return points


def _memory(root: Path, server: ClickHouseServer, keys: Path, tokens: list[str], devices: int) -> Memory:
    name = f"rss {devices}"
    migrate_database(server, database_of(name))
    env = service_env(server, keys, root / f"spool-{database_of(name)}", database_of(name), 1)
    bench = Bench(root, tokens[:devices], [pose_batch_body(RSS_FRAMES, seed) for seed in range(POSE_BODIES)], [])
    with start_service(
        name, "telemetry", env, free_port(), log_of(root, name), companions=("telemetry.flusher",)
    ) as service:
        if service is None:
            raise RuntimeError(f"telemetry did not start:\n{log_of(root, name).read_text(errors='replace')[-2000:]}")
        start = service.rss()
        phase = bench.fixed_rate(service, POSE_PATH, RSS_RATE, RSS_SECONDS)
        # The spool and flusher settle; what the caches hold stays.
        time.sleep(RSS_SETTLE_SECONDS)
        end = service.rss()
        return Memory(devices, start, max([start, *service.rss_samples]), end, phase.accepted, phase.failed)


def entry_sizes(keys: Path, tokens: list[str]) -> EntrySizes:
    """Bytes per device the verified-token cache and the rate limiter hold, traced while they fill."""
    verifier = TelemetryVerifier(
        TelemetryAuthSettings(jwks_file=str(keys / "jwks.json"), max_token_lifetime_seconds=3600)
    )
    limits = RateLimitSettings()
    limiter = RateLimiter(limits.requests_per_second, limits.burst, limits.max_keys)

    async def verify_all() -> list[str]:
        return [(await verifier.verify(token)).actor_hash for token in tokens]

    asyncio.run(verifier.verify(tokens[0]))  # the key is loaded once, outside the trace
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        actors = asyncio.run(verify_all())
        verified = tracemalloc.get_traced_memory()[0]
        for actor in actors:
            limiter.acquire(actor)
        limited = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # ``actors`` (a list of strings the cache holds too) is counted with the verifier, as the app's limiter
    # keys are the cached claims' strings.
    return EntrySizes((verified - before) / len(tokens), (limited - verified) / len(tokens))


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _report(points: list[Point], notes: list[str], memory: list[Memory], sizes: EntrySizes, loads: list[float]) -> str:
    lines = [
        "telemetry cost against work: request process + flusher process (SPOOL_FLUSHER=process), ClickHouse 18.16 "
        f"on loopback; load average {', '.join(f'{load:.2f}' for load in loads)} (start, after the curve, end)",
        f"pose ingest vs batch size: max acknowledged frames/s (wrk, {CURVE_DEVICES} devices, 2 x "
        f"{CURVE_SECONDS:.0f} s) vs a direct clickhouse-driver columnar insert of the same rows (10,000-row blocks)",
        f"  all sizes within the contract's {POSE_BATCH_MAX_FRAMES} frames a batch and HTTP_MAX_BODY_BYTES "
        f"({HttpSettings().max_body_bytes:,} bytes)"
        if not notes
        else "  " + "; ".join(notes),
        f"  {'frames/batch':>12} {'body bytes':>10} {'batches/s':>10} {'frames/s':>10} {'direct':>10} {'ratio':>6} "
        f"{'CPU µs/frame':>12} {'CPU ms/batch':>12}",
    ]
    lines += [
        f"  {point.frames:>12} {point.body_bytes:>10,} {point.frames_per_second / point.frames:>10,.0f} "
        f"{point.frames_per_second:>10,.0f} {point.direct_frames_per_second:>10,.0f} "
        f"{point.frames_per_second / point.direct_frames_per_second:>5.2f}x {point.cpu_us_per_frame:>12.1f} "
        f"{point.cpu_us_per_frame * point.frames / 1000:>12.2f}"
        for point in points
    ]
    failed = sum(run.failed for point in points for run in point.runs)
    lines.append(f"  answers other than 202 or broken off: {failed or 'none'}")
    lines.append(
        f"RSS (server + flusher) vs active devices: {RSS_FRAMES}-frame batches at {RSS_RATE:.0f}/s for "
        f"{RSS_SECONDS:.0f} s (loadgen, open loop), a fresh service each"
    )
    lines += [
        f"  {each.devices:>6,} devices: start {_mib(each.start)}, peak {_mib(each.peak)}, end {_mib(each.end)} "
        f"({each.accepted:,} batches acknowledged, {each.failed or 'none'} otherwise)"
        for each in memory
    ]
    if len(memory) == 2:
        small, large = memory
        devices = large.devices - small.devices
        lines.append(
            f"  per added device: peak {(large.peak - small.peak) / devices:,.0f} bytes, end "
            f"{(large.end - small.end) / devices:,.0f} bytes"
        )
    lines.append(
        f"  tracemalloc, {RSS_DEVICES[-1]:,} devices: verified-token cache {sizes.verified_token:,.0f} bytes a device "
        f"(AUTH_VERIFIED_TOKEN_CACHE_SIZE bounds it), rate limiter {sizes.rate_limit_bucket:,.0f} bytes a device "
        "(RATE_LIMIT_MAX_KEYS); the appender's recent batch ids hold idempotent batches only (none here)"
    )
    return "\n".join(lines)


def _measure(root: Path, server: ClickHouseServer) -> str:
    loads = [os.getloadavg()[0]]
    keys = root / "keys"
    ensure_dev_keys(keys)
    tokens = _tokens(keys, max(CURVE_DEVICES, *RSS_DEVICES))
    measured = batch_sizes(BATCH_SIZES, lambda frames: len(pose_batch_body(frames)), HttpSettings().max_body_bytes)
    with ExitStack() as curve_stack:
        points = _curve(root, curve_stack, server, keys, tokens[:CURVE_DEVICES], [size for size, _ in measured])
    loads.append(os.getloadavg()[0])
    memory = [_memory(root, server, keys, tokens, devices) for devices in RSS_DEVICES]
    sizes = entry_sizes(keys, tokens[: RSS_DEVICES[-1]])
    loads.append(os.getloadavg()[0])
    return _report(points, [note for _, note in measured if note], memory, sizes, loads)


def run() -> str:
    return on_scratch_clickhouse("telemetry cost curves", lambda root, _, server: _measure(root, server))
