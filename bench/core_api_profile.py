"""Where a core-api ``GET today's session`` request's time goes (issue #20, item 5), and whether the
verified-token cache holds the benchmark's 10,000 patients.

The app from ``create_app`` with the production log settings (JSON at info, to a file as a container's
stderr) runs in this process on the load benchmark's seeded database (``bench.core_api_load`` calls
:func:`profile_today` after its load phases) and is driven straight through its ASGI callable, 16 requests
at a time, each patient with their own path and token in the order wrk sends them. Two passes over the
patients with the default caches: the first fills the verified-token and user-check caches, the second is
steady state (its hit rates and CPU per request are printed). Then 2,000 of them on a second app whose
caches trust their entries longer (cProfile slows a pass past the default 60 s), once to fill the caches
and once under cProfile with a CPU-time clock. The hit rates come from counting the calls that miss:
``JwtVerifier._verify`` (a signature check) and ``UserCheckingVerifier._is_current`` (a PostgreSQL round
trip), wrapped here for the count only.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import logging
import pstats
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import structlog
from core_api.app import create_app
from core_api.settings import DatabaseSettings, HttpSettings, MigrationSettings, Settings, TelemetryTokenSettings
from core_api.user_check import UserCheckingVerifier
from service_common.auth.settings import AuthSettings
from service_common.auth.verifier import JwtVerifier
from service_common.logging import LogSettings

CONCURRENCY = 16
PROFILED_REQUESTS = 2_000
PROFILE_TRUST_SECONDS = 3_600

Message = MutableMapping[str, Any]
ASGI = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

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
_STEPS = (
    ("request log + request id (request_context_middleware)", "service_common/requests.py", "middleware"),
    ("bearer token: verifier + user check (UserCheckingVerifier.verify)", "core_api/user_check.py", "verify"),
    ("service: transaction + statement + rules (ExecutionService.today)", "core_api/execution/service.py", "today"),
    ("statement result decoded (fetch_json)", "core_api/db/rows.py", "fetch_json"),
    ("rules: the response built (today_sessions)", "core_api/execution/today.py", "today_sessions"),
    ("pool checkout + return (AsyncConnectionPool.connection)", "psycopg_pool/pool_async.py", "connection"),
    ("response encoded and sent (Response.to_asgi_response)", "litestar/response/base.py", "to_asgi_response"),
)


@dataclass(frozen=True)
class TodayRequest:
    path: str
    token: str


class _AsgiDriver:
    """Runs an ASGI app's lifespan and sends it GET requests directly."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None

    async def start(self) -> None:
        scope: Message = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.ensure_future(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan start-up failed: {message}")

    async def stop(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        if self._task is not None:
            await self._task

    async def get(self, request: TodayRequest) -> int:
        scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": request.path,
            "raw_path": request.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {request.token}".encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        status = 0

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


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
    signature_checks: int
    user_checks: int
    statuses: dict[int, int]

    def describe(self, label: str) -> str:
        hits = 1 - self.signature_checks / self.requests
        user_hits = 1 - self.user_checks / self.requests
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        cpu_ms = self.cpu_seconds * 1000 / self.requests
        return (
            f"  {label:<10} {self.requests:6,} requests in {self.seconds:5.1f} s, CPU {cpu_ms:.2f} "
            f"ms/request; verified-token cache hits {hits:6.1%} ({self.signature_checks:,} signature checks), "
            f"user-check cache hits {user_hits:6.1%} ({self.user_checks:,} user checks); answers {answers}"
        )


async def _pass(driver: _AsgiDriver, requests: Sequence[TodayRequest], profile: cProfile.Profile | None) -> Pass:
    counter = _MissCounter()
    statuses: dict[int, int] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    with counter.installed():
        if profile is not None:
            profile.enable()
        for start in range(0, len(requests), CONCURRENCY):
            for status in await asyncio.gather(*(driver.get(r) for r in requests[start : start + CONCURRENCY])):
                statuses[status] = statuses.get(status, 0) + 1
        if profile is not None:
            profile.disable()
    return Pass(
        requests=len(requests),
        seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        signature_checks=counter.signature_checks,
        user_checks=counter.user_checks,
        statuses=statuses,
    )


async def _passes(settings: Settings, requests: Sequence[TodayRequest]) -> tuple[Pass, Pass]:
    """A cold and a steady pass over every request, on one app with the default caches."""
    driver = _AsgiDriver(create_app(settings))  # type: ignore[arg-type]
    await driver.start()
    try:
        return await _pass(driver, requests, None), await _pass(driver, requests, None)
    finally:
        await driver.stop()


async def _profiled(settings: Settings, requests: Sequence[TodayRequest]) -> tuple[Pass, pstats.Stats]:
    """``requests`` once to fill the caches, then again under cProfile. cProfile slows the app about
    tenfold, so a pass outlasts the caches' 60 s: both are lengthened here to keep the profile in steady
    state (the hit rates above are with the defaults)."""
    lengthened = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, user_check_cache_seconds=PROFILE_TRUST_SECONDS)
    )
    saved = JwtVerifier.VERIFIED_CACHE_SECONDS
    JwtVerifier.VERIFIED_CACHE_SECONDS = PROFILE_TRUST_SECONDS
    driver = _AsgiDriver(create_app(lengthened))  # type: ignore[arg-type]
    await driver.start()
    try:
        await _pass(driver, requests, None)
        profile = cProfile.Profile(time.process_time)
        profiled = await _pass(driver, requests, profile)
    finally:
        await driver.stop()
        JwtVerifier.VERIFIED_CACHE_SECONDS = saved
    return profiled, pstats.Stats(profile, stream=io.StringIO())


@contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """Log lines go to a file, as a container's stderr would, instead of the benchmark's output; the
    logging set-up ``create_app`` makes is undone afterwards, since its handler writes to that file."""
    saved_stderr, saved_structlog = sys.stderr, structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with path.open("w") as target:
        sys.stderr = target
        try:
            yield
        finally:
            sys.stderr = saved_stderr
            structlog.configure(**saved_structlog)
            root.handlers[:], root.level = saved_handlers, saved_level


_Raw = dict[tuple[str, int, str], tuple[int, int, float, float, Any]]


def _areas(stats: pstats.Stats) -> dict[str, float]:
    totals: dict[str, float] = {}
    raw: _Raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, _) in raw.items():
        where = f"{filename} {function}"
        area = next((name for name, parts in _AREAS if any(part in where for part in parts)), "other")
        totals[area] = totals.get(area, 0.0) + own
    return totals


def _step(stats: pstats.Stats, filename: str, function: str) -> float:
    raw: _Raw = stats.stats  # type: ignore[attr-defined]
    return sum(
        cumulative
        for (file, _, name), (_, _, _, cumulative, _) in raw.items()
        if file.endswith(filename) and name == function
    )


def _top(stats: pstats.Stats, count: int, requests: int) -> list[str]:
    raw: _Raw = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:count]
    root = str(Path(__file__).resolve().parent.parent)
    lines = []
    for (filename, line, function), (_, calls, own, cumulative, _) in rows:
        where = filename.replace(root, "").split("site-packages/")[-1]
        lines.append(
            f"    {own * 1e6 / requests:6.1f} µs own {cumulative * 1e6 / requests:7.1f} µs cum "
            f"{calls / requests:5.1f}x/request  {function} ({where}:{line})"
        )
    return lines


def _report(profiled: Pass, stats: pstats.Stats) -> list[str]:
    requests = profiled.requests
    areas = _areas(stats)
    total = sum(areas.values())
    lines = [
        f"  profile of {requests:,} steady-state requests (cProfile, CPU clock; {total * 1000 / requests:.2f} ms "
        "profiled CPU per request, cProfile's own overhead included):",
        "   own CPU time by area:",
    ]
    for area, seconds in sorted(areas.items(), key=lambda item: item[1], reverse=True):
        lines.append(f"    {seconds / total * 100:5.1f} %  {seconds * 1e6 / requests:6.1f} µs/request  {area}")
    lines.append("   steps (cumulative CPU per request, % of the profiled total):")
    for name, filename, function in _STEPS:
        seconds = _step(stats, filename, function)
        if seconds:
            lines.append(f"    {seconds * 1e6 / requests:6.1f} µs  {seconds / total * 100:5.1f} %  {name}")
    lines.append("   top functions by own CPU time:")
    lines.extend(_top(stats, 15, requests))
    return lines


def profile_today(
    database_url: str,
    requests: Sequence[TodayRequest],
    jwks: Path,
    signing_key: Path,
    hash_key: Path,
    scratch: Path,
    dump: Path | None = None,
) -> list[str]:
    """The report lines: hit rates and CPU of a cold and a steady pass over ``requests``, and the profile
    (also written to ``dump`` for ``pstats`` when given)."""
    settings = Settings(
        database=DatabaseSettings(url=database_url, pool_max_size=CONCURRENCY),
        migrations=MigrationSettings(),
        http=HttpSettings(),
        log=LogSettings(level="info", format="json"),
        auth=AuthSettings(jwks_file=str(jwks)),
        telemetry_token=TelemetryTokenSettings(signing_key_file=str(signing_key), hash_key_file=str(hash_key)),
    )
    with _logs_to(scratch / "core-api-profile.log"):
        cold, steady = asyncio.run(_passes(settings, requests))
        profiled, stats = asyncio.run(_profiled(settings, requests[:PROFILED_REQUESTS]))
    if dump:
        stats.dump_stats(dump)
    return [
        f"core-api GET today's session in process (create_app, JSON request log at info, {CONCURRENCY} at a time, "
        f"one worker's caches at their defaults: {AuthSettings().verified_token_cache_size:,} verified tokens, "
        f"trusted {JwtVerifier.VERIFIED_CACHE_SECONDS:.0f} s):",
        cold.describe("cold pass"),
        steady.describe("steady"),
        profiled.describe("profiled"),
        *_report(profiled, stats),
    ]
