"""uvicorn (httptools + uvloop, what ``python -m telemetry`` runs) against granian, serving the real
telemetry app, one worker each, side by side: ``GET /healthz`` (the server's own overhead) and
``POST /v1/media/events`` with a 10-event batch (the ingest path: token check, validation, one spool
append awaiting its group fsync), from 1,024 devices (one token each). The flusher is held back
during the run (an hour's flush interval) and inserts at shutdown: in production the inserts go to a
ClickHouse server over the network, while here they would run the embedded engine inside the server process
and stall it.

Each server is pinned to one CPU (the last), like a telemetry pod limited to one CPU, and the load
generator, wrk (``bench/wrk.py``, one thread, 32 keep-alive connections, a 1 s warm-up run and then the
measured run), to the others; other work on the machine still competes, so requests/s compare servers but
are not a capacity figure. The server's own CPU time per request is: read from /proc for the server's
process tree over the measured run, it gives the rate one server process sustains per core (the figure the
telemetry HPA is sized with). The servers run in the order uvicorn, granian, granian, uvicorn and each
figure is the mean of a server's two runs, so drift during the run hits both alike. Bounded to about a
minute.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.wrk import WrkRequest, run_wrk
from tools.tokens import ensure_dev_keys, mint_telemetry_token

CONNECTIONS = 32
DEVICES = 1024
WARM_UP_SECONDS = 1.0
MEASURE_SECONDS = 3.0
MAX_REQUESTS = 200_000
"""Safety bound on the requests of one run, whatever its duration."""
ORDER = ("uvicorn", "granian", "granian", "uvicorn")
SERVER_CPU = max(os.sched_getaffinity(0))
SESSION = "6f1c2a9e-3b7d-4e21-9a4c-1d2e3f4a5b6c"


@dataclass(frozen=True)
class Figures:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float


def _process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of process ``root`` and its descendants, all threads included."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _media_batch() -> bytes:
    base = {"session_id": SESSION, "timestamp": "2026-02-16T09:03:00Z", "media_id": "m1", "media_type": "video"}
    heartbeat = {
        **base,
        "event": "heartbeat",
        "data": {
            "position_seconds": 29.5,
            "watched_duration_seconds": 29.5,
            "completion_percent": 70.25,
            "buffering_count": 0,
            "buffering_duration_ms": 0,
            "current_bitrate": 2500000,
            "current_resolution": "720p",
        },
    }
    return json.dumps([heartbeat] * 10).encode()


@dataclass(frozen=True)
class Case:
    """One kind of request: a head per device and the bodies they send in turn."""

    requests: Sequence[WrkRequest]
    bodies: Sequence[bytes]


def _load(base_url: str, case: Case, server: int, scratch: Path) -> Figures:
    """A warm-up run, then the measured run with the server's CPU time read around it."""
    run_wrk(base_url, case.requests, case.bodies, scratch, connections=CONNECTIONS, seconds=WARM_UP_SECONDS)
    cpu_start = _process_tree_cpu_seconds(server)
    result = run_wrk(
        base_url,
        case.requests,
        case.bodies,
        scratch,
        connections=CONNECTIONS,
        seconds=MEASURE_SECONDS,
        max_requests=MAX_REQUESTS,
    )
    cpu_end = _process_tree_cpu_seconds(server)
    if not result.succeeded:
        raise RuntimeError(f"no 2xx answer within {MEASURE_SECONDS:.0f} s")
    broken = result.connect_errors + result.read_errors + result.write_errors + result.timeouts
    return Figures(
        requests_per_second=result.rate,
        p50_ms=result.p50_us / 1000,
        p99_ms=result.p99_us / 1000,
        errors=result.status_errors + broken,
        cpu_ms_per_request=(cpu_end - cpu_start) * 1000 / result.succeeded,
    )


def _mean(runs: list[dict[str, Figures]]) -> dict[str, Figures]:
    return {
        case: Figures(
            requests_per_second=statistics.fmean(run[case].requests_per_second for run in runs),
            p50_ms=statistics.fmean(run[case].p50_ms for run in runs),
            p99_ms=statistics.fmean(run[case].p99_ms for run in runs),
            errors=sum(run[case].errors for run in runs),
            cpu_ms_per_request=statistics.fmean(run[case].cpu_ms_per_request for run in runs),
        )
        for case in runs[0]
    }


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start in 30 s")


def _server_command(server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [sys.executable, "-m", "telemetry"]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "telemetry.app:create_app",
    ]


def _measure(server: str, env: dict[str, str], cases: dict[str, Case], port: int, scratch: Path) -> dict[str, Figures]:
    # A session of its own, so the whole process group (granian's worker process too) can be killed;
    # the server and its children run on SERVER_CPU only.
    with (scratch / f"{server}.log").open("ab") as log:
        process = subprocess.Popen(
            _server_command(server, port),
            env={**env, "SERVER_PORT": str(port)},
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),  # noqa: PLW1509 - no threads here yet
        )
    try:
        _wait_ready(port, process)
        figures = {}
        for name, case in cases.items():
            try:
                figures[name] = _load(f"http://127.0.0.1:{port}", case, process.pid, scratch)
            except RuntimeError as exc:
                raise RuntimeError(f"{server}, {name}: {exc}") from exc
        return figures
    finally:
        # Killed, not stopped: the spool is a throwaway folder, and its shutdown flush into the embedded
        # engine would only make the benchmark longer.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def run() -> str:
    own_cpus = os.sched_getaffinity(0)
    client_cpus = own_cpus - {SERVER_CPU} or own_cpus
    os.sched_setaffinity(0, client_cpus)
    try:
        return _run(len(client_cpus))
    finally:
        os.sched_setaffinity(0, own_cpus)


def _run(client_cpus: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as folder:
        root = Path(folder)
        keys = root / "keys"
        jwks = ensure_dev_keys(keys)
        env: dict[str, Any] = {
            **os.environ,
            "CLICKHOUSE_URL": "",
            "CLICKHOUSE_DATA_DIR": str(root / "clickhouse"),
            "AUTH_JWKS_FILE": str(jwks),
            "AUTH_JWKS_URL": "",
            # The device tokens are minted once and last the hour the whole run may take.
            "AUTH_MAX_TOKEN_LIFETIME_SECONDS": "3600",
            "SERVER_HOST": "127.0.0.1",
            "SERVER_WORKERS": "1",
            "LOG_LEVEL": "info",
            "LOG_FORMAT": "json",
            "SPOOL_FLUSH_INTERVAL_SECONDS": "3600",
            "SPOOL_FLUSH_ROWS": "100000000",
        }
        subprocess.run([sys.executable, "-m", "telemetry.clickhouse.migrate"], env=env, check=True)
        tokens = [
            mint_telemetry_token(
                keys, actor_hash=f"device_{n}", org_hash="bench_org", consent_level=3, ttl_seconds=3600
            )
            for n in range(DEVICES)
        ]
        cases = {
            "GET /healthz": Case([WrkRequest("GET", "/healthz", {})], []),
            "POST /v1/media/events (10 events)": Case(
                [
                    WrkRequest(
                        "POST",
                        "/v1/media/events",
                        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    )
                    for token in tokens
                ],
                [_media_batch()],
            ),
        }
        runs: dict[str, list[dict[str, Figures]]] = {}
        for n, server in enumerate(ORDER):
            port = _free_port()
            env["SPOOL_DIR"] = str(root / f"spool-{n}")
            runs.setdefault(server, []).append(_measure(server, env, cases, port, root))
    results = {server: _mean(measured) for server, measured in runs.items()}
    lines = [
        f"ASGI servers, telemetry app, 1 worker, wrk (1 thread) with {DEVICES} device tokens over {CONNECTIONS} "
        "keep-alive connections, "
        f"{MEASURE_SECONDS:.0f} s per case and run, mean of 2 runs (ABBA), server on CPU {SERVER_CPU}, "
        f"client on {client_cpus} other CPU(s)"
    ]
    for case in results["uvicorn"]:
        lines.append(f"  {case}")
        for server, figures in results.items():
            f = figures[case]
            lines.append(
                f"    {server:<8} {f.requests_per_second:8.0f} req/s   p50 {f.p50_ms:6.1f} ms   "
                f"p99 {f.p99_ms:6.1f} ms   server CPU {f.cpu_ms_per_request:5.2f} ms/request "
                f"(= {1000 / f.cpu_ms_per_request:5.0f} req/s per core)   non-2xx {f.errors}"
            )
    return "\n".join(lines)
