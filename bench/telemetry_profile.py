"""Where a telemetry ingest request's time goes (issue #10): the real app, built by ``create_app`` with the
production log settings, on a real ClickHouse 18.16 server, driven in process under cProfile.

Requests go straight into the ASGI callable (no HTTP server, no client library), 16 at a time so the
spool's group commit works as it does under load, and the lifespan runs, so the flusher inserts into
ClickHouse meanwhile. cProfile sees the event-loop thread only; the worker threads (the spool's fsync,
clickhouse-driver's insert) are shown by the process's CPU time beyond that thread's.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from pathlib import Path
from typing import Any

from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.app import create_app
from telemetry.settings import ClickHouseSettings, HttpSettings, Settings, SpoolSettings

from bench.asgi_driver import ASGI, AsgiDriver
from bench.pose_decode import pose_batch_body
from bench.profiling import area_lines, heaviest, logs_to, own_time_by_area, step_lines
from bench.scratch_clickhouse import on_scratch_clickhouse
from bench.telemetry_ingest import media_event_body, migrate_database
from tools.databases import ClickHouseServer
from tools.tokens import ensure_dev_keys, mint_telemetry_token

POSE_REQUESTS = 320
MEDIA_REQUESTS = 1_024
CONCURRENCY = 16

# Own (not cumulative) time by where the code lives; the first matching fragment of "file function" wins.
_AREAS = (
    ("msgspec decode / encode (C)", ("msgspec",)),
    ("JWT: PyJWT + cryptography", ("/jwt/", "cryptography", "base64", "hmac", "json/")),
    ("structlog (request log line)", ("structlog", "logging/")),
    ("Litestar routing, params, responses", ("litestar",)),
    ("telemetry + service_common code", ("telemetry/", "service_common/", "contracts/")),
    ("asyncio event loop, futures, threads", ("asyncio", "threading", "concurrent", "selectors", "queue.py")),
    ("uuid / datetime / re (stdlib)", ("uuid.py", "datetime", "re/", "_strptime")),
    # Calls that release the GIL: in the event-loop thread their own time is mostly the wait to get it back
    # while a worker thread (clickhouse-driver serializing a block, the spool's reads) holds it.
    (
        "GIL-releasing calls (urandom, print, stat, crc32)",
        ("posix.urandom", "builtins.print", "posix.stat", "zlib.crc32", "posix.fsync"),
    ),
)
# The loop waiting for sockets: idle, not work.
_IDLE = ("select.epoll",)
# Entry points whose cumulative time answers "how much does this step cost".
_STEPS = (
    ("token verification (TelemetryVerifier.verify)", "service_common/auth/verifier.py", "claims"),
    ("body decode (contracts BodyDecoder.decode)", "contracts/decoding.py", "decode"),
    ("pose columns (pose_frame_columns)", "telemetry/pose/columns.py", "pose_frame_columns"),
    ("media columns (media_event_columns)", "telemetry/media/columns.py", "media_event_columns"),
    # Framing and crc32 run in the spool's commit thread, which cProfile does not see.
    ("spool append on the loop (msgpack encode)", "telemetry/spool/spool.py", "append"),
    ("flusher: read back + insert (drain)", "telemetry/spool/flusher.py", "drain"),
    ("request log line (request.completed)", "structlog/_native.py", "meth"),
)


async def _drive(settings: Settings, tokens: list[str], pose: list[bytes], media: list[bytes]) -> dict[str, Any]:
    app: ASGI = create_app(settings)  # type: ignore[assignment]
    driver = AsgiDriver(app)
    await driver.start()
    statuses: dict[int, int] = {}

    async def wave(path: str, bodies: list[bytes], start: int) -> None:
        answers = await asyncio.gather(
            *(
                driver.post(path, tokens[(start + i) % len(tokens)], bodies[(start + i) % len(bodies)])
                for i in range(CONCURRENCY)
            )
        )
        for status in answers:
            statuses[status] = statuses.get(status, 0) + 1

    # Warm-up, outside the profile: every device's token once, so they are verified and cached as in
    # steady state (a device sends the same token for its lifetime), and the first pose inserts.
    for start in range(0, len(tokens), CONCURRENCY):
        await wave("/v1/media/events", media, start)
    for start in range(0, 32, CONCURRENCY):
        await wave("/v1/pose/frames", pose, start)
    profile = cProfile.Profile()
    figures: dict[str, Any] = {}
    for label, path, bodies, count in (
        ("pose", "/v1/pose/frames", pose, POSE_REQUESTS),
        ("media", "/v1/media/events", media, MEDIA_REQUESTS),
    ):
        profile_one = cProfile.Profile()
        wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
        profile_one.enable()
        for start in range(0, count, CONCURRENCY):
            await wave(path, bodies, start)
        # Let the flusher insert what this part acknowledged, inside the profile.
        await asyncio.sleep(settings.spool.flush_interval_seconds * 1.5)
        profile_one.disable()
        figures[label] = {
            "requests": count,
            "wall": time.perf_counter() - wall,
            "process_cpu": time.process_time() - process,
            "loop_cpu": time.thread_time() - thread,
            "stats": pstats.Stats(profile_one, stream=io.StringIO()),
        }
    del profile
    await driver.stop()
    figures["statuses"] = statuses
    return figures


def _report(label: str, figures: dict[str, Any]) -> list[str]:
    stats: pstats.Stats = figures["stats"]
    requests = figures["requests"]
    loop_cpu, process_cpu = figures["loop_cpu"], figures["process_cpu"]

    def per_request(seconds: float) -> str:
        return f"{seconds * 1000 / requests:6.3f} ms"

    areas = own_time_by_area(stats, _AREAS, _IDLE)
    profiled = sum(areas.values())
    lines = [
        f"  {label}: {requests} requests in {figures['wall']:.1f} s under cProfile; "
        f"CPU {process_cpu * 1000 / requests:.2f} ms/request, of which event-loop thread "
        f"{loop_cpu * 1000 / requests:.2f} ms, worker threads (fsync, spool reads, ClickHouse insert) "
        f"{(process_cpu - loop_cpu) * 1000 / requests:.2f} ms",
        "   own wall time by area (event-loop thread, epoll waits left out; includes waits for the GIL):",
    ]
    lines.extend(area_lines(areas, per_request))
    lines.append("   steps (cumulative wall time per request, % of the above):")
    lines.extend(step_lines(stats, _STEPS, profiled, per_request))
    lines.append("   top functions by own wall time:")
    lines.extend(
        f"    {f.own * 1000:8.0f} ms own {f.cumulative * 1000:8.0f} ms cum {f.calls:8d}x  {f.name} ({f.place})"
        for f in heaviest(stats, 12)
    )
    return lines


def _measure(root: Path, server: ClickHouseServer) -> str:
    migrate_database(server, "bench_profile")
    keys = root / "keys"
    ensure_dev_keys(keys)
    tokens = [
        mint_telemetry_token(keys, actor_hash=f"device_{n}", org_hash="bench_org", consent_level=3, biometric=True)
        for n in range(1024)
    ]
    settings = Settings(
        clickhouse=ClickHouseSettings(url=server.url, http_url=server.http_url, database="bench_profile"),
        http=HttpSettings(),
        log=LogSettings(level="info", format="json"),
        auth=AuthSettings(jwks_file=str(keys / "jwks.json")),
        spool=SpoolSettings(dir=str(root / "spool")),
    )
    pose = [pose_batch_body(60, seed) for seed in range(8)]
    media = [media_event_body(seed) for seed in range(64)]
    with logs_to(root / "telemetry.log"):
        figures = asyncio.run(_drive(settings, tokens, pose, media))
    return "\n".join(
        [
            "telemetry hot path profile: the app in process (create_app, JSON request log at info), real ClickHouse "
            f"18.16, {CONCURRENCY} requests at a time; answers {figures['statuses']}",
            *_report("pose batches (60 frames)", figures["pose"]),
            *_report("media events (one per POST)", figures["media"]),
        ]
    )


def run() -> str:
    return on_scratch_clickhouse("telemetry hot path profile", lambda root, _, server: _measure(root, server))
