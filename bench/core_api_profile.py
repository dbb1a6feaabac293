"""Where a core-api request's time goes (issue #20, item 5): ``GET today's session`` and ``POST complete``,
and whether the verified-token cache holds the benchmark's 10,000 patients.

The app from ``create_app`` with the production log settings (JSON at info, to a file as a container's
stderr) runs in this process on the load benchmark's seeded database (``bench.core_api_load`` calls
:func:`profile` after its load phases) and is driven straight through its ASGI callable
(``bench.asgi_driver``), 16 requests at a time, each patient with their own path and token in the order
wrk sends them.

- Today's session: two passes over the patients with the default caches: the first fills the
  verified-token and user-check caches, the second is steady state if a pass takes less than the caches'
  60 s trust (its hit rates and CPU per request are printed; on a busy machine it takes longer and
  misses). Then 2,000 of them on a second app whose caches trust their entries longer (cProfile slows a
  pass past the default 60 s), once to fill the caches and once under cProfile with a CPU-time clock.
- Complete: a session is completed once, so each request goes to a different session in progress (the
  load benchmark starts one for every enrollment just before). On one app with the longer trust, 4,000
  patients' ``GET today's session`` fills the caches (as the load benchmark's warm-up does), then 2,000 of
  them complete their session (steady state, not profiled) and the other 2,000 under cProfile.

Each pass also gives its wall time per request against this process's CPU: the rest is the event loop
waiting: for PostgreSQL's answers and its locks, for the slowest request of each wave of 16, or for a free
core on a busy machine; PostgreSQL's own CPU per request is beside it. The hit rates come from counting
the calls that miss: ``JwtVerifier._verify`` (a signature check) and ``UserCheckingVerifier._is_current``
(a PostgreSQL round trip), wrapped here for the count only.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from core_api.app import create_app
from core_api.settings import DatabaseSettings, HttpSettings, MigrationSettings, Settings, TelemetryTokenSettings
from core_api.user_check import UserCheckingVerifier
from service_common.auth.settings import AuthSettings
from service_common.auth.verifier import JwtVerifier
from service_common.logging import LogSettings

from bench.asgi_driver import AsgiDriver
from bench.profiling import area_lines, heaviest, logs_to, own_time_by_area, step_lines

CONCURRENCY = 16
PROFILED_REQUESTS = 2_000
PROFILE_TRUST_SECONDS = 3_600

# Own CPU time by where the code lives; the first matching fragment of "file function" wins.
_AREAS = (
    ("psycopg + psycopg_pool", ("psycopg",)),
    ("JWT: PyJWT + cryptography", ("/jwt/", "cryptography", "base64", "hmac", "json/")),
    ("structlog (request log line)", ("structlog", "logging/")),
    ("Litestar routing, params, DI, responses", ("litestar",)),
    ("msgspec decode / encode (C)", ("msgspec",)),
    ("core_api + service_common + contracts", ("core_api/", "service_common/", "contracts/")),
    ("asyncio event loop, selectors", ("asyncio", "selectors", "select.epoll")),
    ("zoneinfo / datetime / uuid (stdlib)", ("zoneinfo", "datetime", "uuid.py")),
)
# Entry points whose cumulative CPU time answers "how much does this step cost"; coroutine frames are
# counted at each resumption, so a step's figure is its own code's time, not the waits it awaits.
_REQUEST_LOG = ("request log + request id (request_context_middleware)", "service_common/requests.py", "middleware")
_BEARER = ("bearer token: verifier + user check (UserCheckingVerifier.verify)", "core_api/user_check.py", "verify")
_POOL = ("pool checkout + return (AsyncConnectionPool.connection)", "psycopg_pool/pool_async.py", "connection")
_RESPONSE = ("response encoded and sent (Response.to_asgi_response)", "litestar/response/base.py", "to_asgi_response")
_TODAY_STEPS = (
    _REQUEST_LOG,
    _BEARER,
    ("service: transaction + statement + rules (ExecutionService.today)", "core_api/execution/service.py", "today"),
    ("statement result decoded (fetch_json)", "core_api/db/rows.py", "fetch_json"),
    ("rules: the response built (today_sessions)", "core_api/execution/today.py", "today_sessions"),
    _POOL,
    _RESPONSE,
)
_COMPLETE_STEPS = (
    _REQUEST_LOG,
    _BEARER,
    ("service: three transactions (ExecutionService.complete)", "core_api/execution/service.py", "complete"),
    (
        "  1+2: enrollment looked up, expiry recorded (_record_expiry_first)",
        "execution/service.py",
        "_record_expiry_first",
    ),
    ("  3: enrollment id again, expiry again, locks (_lock_in_progress)", "execution/service.py", "_lock_in_progress"),
    ("  3: completion finished (finish_completion)", "core_api/execution/repository.py", "finish_completion"),
    ("  3: evidence states + collection queued (queue_evidence)", "core_api/evidence/queue.py", "queue_evidence"),
    ("  3: enrollment counted (count_completed_session)", "execution/repository.py", "count_completed_session"),
    ("  3: form instance (insert_form_instance)", "core_api/execution/repository.py", "insert_form_instance"),
    ("  3: completion read back (_completion)", "core_api/execution/service.py", "_completion"),
    ("  3: adherence engine + weekly upsert (recompute_weekly)", "core_api/adherence/history.py", "recompute_weekly"),
    ("  3: pain rule (check_pain)", "core_api/adherence/alerts.py", "check_pain"),
    ("  3: outbox events (_fire_completion_events)", "core_api/execution/service.py", "_fire_completion_events"),
    ("  3: audit row (trail.record)", "core_api/audit/trail.py", "record"),
    _POOL,
    _RESPONSE,
)


@dataclass(frozen=True)
class PatientRequest:
    """One patient's request: its path and the patient's token."""

    path: str
    token: str


class _MissCounter:
    """Counts the calls of the two cache-miss paths while installed."""

    def __init__(self) -> None:
        self.signature_checks = 0
        self.user_checks = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        verify, is_current = JwtVerifier._verify, UserCheckingVerifier._is_current
        counter = self

        async def counted_verify(self: JwtVerifier, token: str) -> dict[str, Any]:
            counter.signature_checks += 1
            return await verify(self, token)

        async def counted_is_current(self: UserCheckingVerifier, actor: Any) -> bool:
            counter.user_checks += 1
            return await is_current(self, actor)

        JwtVerifier._verify = counted_verify  # type: ignore[method-assign]
        UserCheckingVerifier._is_current = counted_is_current  # type: ignore[method-assign]
        try:
            yield
        finally:
            JwtVerifier._verify = verify  # type: ignore[method-assign]
            UserCheckingVerifier._is_current = is_current  # type: ignore[method-assign]


@dataclass(frozen=True)
class Pass:
    requests: int
    seconds: float
    cpu_seconds: float
    postgres_cpu_seconds: float
    signature_checks: int
    user_checks: int
    statuses: dict[int, int]

    def describe(self, label: str) -> list[str]:
        hits = 1 - self.signature_checks / self.requests
        user_hits = 1 - self.user_checks / self.requests
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        wall_ms, cpu_ms = self.seconds * 1000 / self.requests, self.cpu_seconds * 1000 / self.requests
        waiting_ms = max(wall_ms - cpu_ms, 0.0)
        return [
            f"  {label:<10} {self.requests:6,} requests in {self.seconds:5.1f} s: {wall_ms:.2f} ms of wall time "
            f"per request = CPU {cpu_ms:.2f} ms + PostgreSQL wait {waiting_ms:.2f} ms ({waiting_ms / wall_ms:.0%}, "
            f"the loop idle); PostgreSQL CPU {self.postgres_cpu_seconds * 1000 / self.requests:.2f} ms/request",
            f"  {'':<10} verified-token cache hits {hits:6.1%} ({self.signature_checks:,} signature checks), "
            f"user-check cache hits {user_hits:6.1%} ({self.user_checks:,} user checks); answers {answers}",
        ]


async def _pass(
    driver: AsgiDriver,
    requests: Sequence[PatientRequest],
    body: bytes | None,
    postgres_cpu: Callable[[], float],
    profile: cProfile.Profile | None = None,
) -> Pass:
    """``requests`` in waves of :data:`CONCURRENCY`: GETs, or POSTs of ``body`` when given."""
    counter = _MissCounter()
    statuses: dict[int, int] = {}

    def send(request: PatientRequest) -> Any:
        if body is None:
            return driver.get(request.path, request.token)
        return driver.post(request.path, request.token, body)

    wall, cpu, postgres = time.perf_counter(), time.process_time(), postgres_cpu()
    with counter.installed():
        if profile is not None:
            profile.enable()
        for start in range(0, len(requests), CONCURRENCY):
            for status in await asyncio.gather(*(send(r) for r in requests[start : start + CONCURRENCY])):
                statuses[status] = statuses.get(status, 0) + 1
        if profile is not None:
            profile.disable()
    return Pass(
        requests=len(requests),
        seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        postgres_cpu_seconds=postgres_cpu() - postgres,
        signature_checks=counter.signature_checks,
        user_checks=counter.user_checks,
        statuses=statuses,
    )


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[AsgiDriver]:
    driver = AsgiDriver(create_app(settings))  # type: ignore[arg-type]
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()


@asynccontextmanager
async def _trusting_longer(settings: Settings) -> AsyncIterator[AsgiDriver]:
    """The app with both caches trusting their entries for :data:`PROFILE_TRUST_SECONDS`. cProfile slows
    the app several times over, so a profiled pass outlasts the caches' default 60 s: both are lengthened to
    keep the profile in steady state (the today section's hit rates are with the defaults)."""
    lengthened = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, user_check_cache_seconds=PROFILE_TRUST_SECONDS)
    )
    saved = JwtVerifier.VERIFIED_CACHE_SECONDS
    JwtVerifier.VERIFIED_CACHE_SECONDS = PROFILE_TRUST_SECONDS
    try:
        async with _running(lengthened) as driver:
            yield driver
    finally:
        JwtVerifier.VERIFIED_CACHE_SECONDS = saved


async def _today_passes(
    settings: Settings, requests: Sequence[PatientRequest], postgres_cpu: Callable[[], float]
) -> tuple[Pass, Pass, Pass, pstats.Stats]:
    """A cold and a steady pass over every request on one app with the default caches; then the first
    :data:`PROFILED_REQUESTS` once to fill the caches and again under cProfile, trusting longer."""
    async with _running(settings) as driver:
        cold = await _pass(driver, requests, None, postgres_cpu)
        steady = await _pass(driver, requests, None, postgres_cpu)
    profile = cProfile.Profile(time.process_time)
    async with _trusting_longer(settings) as driver:
        await _pass(driver, requests[:PROFILED_REQUESTS], None, postgres_cpu)
        profiled = await _pass(driver, requests[:PROFILED_REQUESTS], None, postgres_cpu, profile)
    return cold, steady, profiled, pstats.Stats(profile, stream=io.StringIO())


async def _complete_passes(
    settings: Settings,
    today: Sequence[PatientRequest],
    complete: Sequence[PatientRequest],
    body: bytes,
    postgres_cpu: Callable[[], float],
) -> tuple[Pass, Pass, Pass, pstats.Stats]:
    """Today's session of the first twice :data:`PROFILED_REQUESTS` patients (filling the caches), then the
    first half of them completes its session and the second half under cProfile, trusting longer."""
    half = PROFILED_REQUESTS
    profile = cProfile.Profile(time.process_time)
    async with _trusting_longer(settings) as driver:
        warm = await _pass(driver, today[: 2 * half], None, postgres_cpu)
        steady = await _pass(driver, complete[:half], body, postgres_cpu)
        profiled = await _pass(driver, complete[half : 2 * half], body, postgres_cpu, profile)
    return warm, steady, profiled, pstats.Stats(profile, stream=io.StringIO())


def _report(profiled: Pass, stats: pstats.Stats, steady: Pass, steps: Sequence[tuple[str, str, str]]) -> list[str]:
    requests = profiled.requests

    def per_request(seconds: float) -> str:
        return f"{seconds * 1e6 / requests:6.1f} µs"

    areas = own_time_by_area(stats, _AREAS)
    total = sum(areas.values())
    steady_wall = steady.seconds * 1000 / steady.requests
    steady_waiting = max(steady_wall - steady.cpu_seconds * 1000 / steady.requests, 0.0)
    lines = [
        f"  profile of {requests:,} steady-state requests (cProfile, CPU clock; {total * 1000 / requests:.2f} ms "
        "profiled CPU per request, cProfile's own overhead included):",
        "   own CPU time by area (and, without cProfile, the steady pass's PostgreSQL wait):",
    ]
    lines.extend(area_lines(areas, per_request))
    lines.append(
        f"    PostgreSQL wait {steady_waiting * 1000:6.1f} µs/request, {steady_waiting / steady_wall:.0%} of the "
        "steady pass's wall time: the loop idle, waiting for PostgreSQL's answers and locks, the slowest "
        f"request of each wave of {CONCURRENCY}, or a free core (PostgreSQL's own CPU "
        f"{steady.postgres_cpu_seconds * 1e6 / steady.requests:.1f} µs/request)"
    )
    lines.append("   steps (cumulative CPU per request, % of the profiled total):")
    lines.extend(step_lines(stats, steps, total, per_request))
    lines.append("   top functions by own CPU time:")
    lines.extend(
        f"    {f.own * 1e6 / requests:6.1f} µs own {f.cumulative * 1e6 / requests:7.1f} µs cum "
        f"{f.calls / requests:5.1f}x/request  {f.name} ({f.place})"
        for f in heaviest(stats, 15)
    )
    return lines


def _settings(database_url: str, jwks: Path, signing_key: Path, hash_key: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url, pool_max_size=CONCURRENCY),
        migrations=MigrationSettings(),
        http=HttpSettings(),
        log=LogSettings(level="info", format="json"),
        auth=AuthSettings(jwks_file=str(jwks)),
        telemetry_token=TelemetryTokenSettings(signing_key_file=str(signing_key), hash_key_file=str(hash_key)),
    )


def profile(
    database_url: str,
    today: Sequence[PatientRequest],
    complete: Sequence[PatientRequest],
    body: bytes,
    postgres_cpu: Callable[[], float],
    jwks: Path,
    signing_key: Path,
    hash_key: Path,
    scratch: Path,
) -> list[str]:
    """The report lines of both endpoints. ``today`` is one GET today's session per patient; ``complete``
    one ``POST complete`` of ``body`` per session in progress, for the same patients in the same order (at
    least twice :data:`PROFILED_REQUESTS`; each session is completed at most once). ``postgres_cpu`` reads
    the PostgreSQL server's CPU seconds so far. One log file for both apps: structlog's loggers keep the
    stream they first wrote to."""
    if len(complete) < 2 * PROFILED_REQUESTS or [r.token for r in today] != [r.token for r in complete]:
        raise ValueError(f"the profile needs {2 * PROFILED_REQUESTS:,} sessions and today's of the same patients")
    settings = _settings(database_url, jwks, signing_key, hash_key)
    with logs_to(scratch / "core-api-profile.log"):
        cold, steady, profiled, stats = asyncio.run(_today_passes(settings, today, postgres_cpu))
        warm, steady_complete, profiled_complete, stats_complete = asyncio.run(
            _complete_passes(settings, today, complete, body, postgres_cpu)
        )
    return [
        f"core-api GET today's session in process (create_app, JSON request log at info, {CONCURRENCY} at a time, "
        f"one worker's caches at their defaults: {AuthSettings().verified_token_cache_size:,} verified tokens, "
        f"trusted {JwtVerifier.VERIFIED_CACHE_SECONDS:.0f} s):",
        *cold.describe("cold pass"),
        *steady.describe("steady"),
        *profiled.describe("profiled"),
        *_report(profiled, stats, steady, _TODAY_STEPS),
        f"core-api POST complete in process (the same, caches trusting {PROFILE_TRUST_SECONDS:,} s, filled by GET "
        "today's session of the same patients; each request completes another patient's session in progress):",
        *warm.describe("warm-up"),
        *steady_complete.describe("steady"),
        *profiled_complete.describe("profiled"),
        *_report(profiled_complete, stats_complete, steady_complete, _COMPLETE_STEPS),
    ]
