"""uvicorn (httptools + uvloop, what ``python -m telemetry`` runs) against granian, serving the real
telemetry app, one worker each, side by side: ``GET /healthz`` (the server's own overhead) and
``POST /v1/media/events`` with a 10-event batch (the ingest path: token check, validation, one spool
append awaiting its group fsync). The spool's writer is held back during the run (an hour's flush
interval) and inserts at shutdown: in production the inserts go to a ClickHouse server over the network,
while here they would run the embedded engine inside the server process and stall it.

Each server is pinned to one CPU (the last), like a telemetry pod limited to one CPU, and the load
generator, a small keep-alive HTTP/1.1 client on asyncio sockets in this process, to the others; other
work on the machine still competes, so requests/s compare servers but are not a capacity figure. The server's
own CPU time per request is: read from /proc for the server's process tree over the measured window, it
gives the rate one server process sustains per core (the figure the telemetry HPA is sized with). The servers run in
the order uvicorn, granian, granian, uvicorn and each figure is the mean of a server's two runs, so drift
during the run hits both alike. Bounded to about a minute.
"""

from __future__ import annotations

import asyncio
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.tokens import ensure_dev_keys, mint_telemetry_token

CONNECTIONS = 32
WARM_UP_SECONDS = 0.75
MEASURE_SECONDS = 3.0
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


def _request(method: str, path: str, port: int, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(port: int, request: bytes, stop_at: float, record_from: float, latencies: list[float]) -> int:
    """Send ``request`` over one keep-alive connection until ``stop_at``; return the non-2xx answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while (started := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if started >= record_from:
                latencies.append(time.perf_counter() - started)
                errors += not 200 <= status < 300
    finally:
        writer.close()
    return errors


async def _cpu_at(moment: float, server: int) -> float:
    await asyncio.sleep(moment - time.perf_counter())
    return _process_tree_cpu_seconds(server)


async def _load(port: int, request: bytes, server: int) -> Figures:
    latencies: list[float] = []
    start = time.perf_counter()
    record_from, stop_at = start + WARM_UP_SECONDS, start + WARM_UP_SECONDS + MEASURE_SECONDS
    cpu_readings = asyncio.gather(_cpu_at(record_from, server), _cpu_at(stop_at, server))
    errors = await asyncio.gather(
        *(_connection(port, request, stop_at, record_from, latencies) for _ in range(CONNECTIONS))
    )
    cpu_start, cpu_end = await cpu_readings
    if not latencies:
        raise RuntimeError(f"no answer within {WARM_UP_SECONDS + MEASURE_SECONDS:.0f} s")
    latencies.sort()
    return Figures(
        requests_per_second=len(latencies) / MEASURE_SECONDS,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        errors=sum(errors),
        cpu_ms_per_request=(cpu_end - cpu_start) * 1000 / len(latencies),
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


def _measure(server: str, env: dict[str, str], requests: Mapping[str, bytes], port: int) -> dict[str, Figures]:
    # A session of its own, so the whole process group (granian's worker process too) can be killed;
    # the server and its children run on SERVER_CPU only.
    process = subprocess.Popen(
        _server_command(server, port),
        env={**env, "SERVER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),  # noqa: PLW1509 - no threads here yet
    )
    try:
        _wait_ready(port, process)
        figures = {}
        for name, request in requests.items():
            try:
                figures[name] = asyncio.run(_load(port, request, process.pid))
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
            "SERVER_HOST": "127.0.0.1",
            "SERVER_WORKERS": "1",
            "LOG_LEVEL": "error",
            "LOG_FORMAT": "json",
            # One actor sends every request here; the per-actor limit would turn most of them into 429s.
            "RATE_LIMIT_REQUESTS_PER_SECOND": "0",
            "SPOOL_FLUSH_INTERVAL_SECONDS": "3600",
            "SPOOL_FLUSH_ROWS": "100000000",
        }
        subprocess.run([sys.executable, "-m", "telemetry.clickhouse.migrate"], env=env, check=True)
        token = mint_telemetry_token(keys, actor_hash="bench_actor", org_hash="bench_org", consent_level=3)
        runs: dict[str, list[dict[str, Figures]]] = {}
        for n, server in enumerate(ORDER):
            port = _free_port()
            env["SPOOL_DIR"] = str(root / f"spool-{n}")
            requests = {
                "GET /healthz": _request("GET", "/healthz", port, {}),
                "POST /v1/media/events (10 events)": _request(
                    "POST",
                    "/v1/media/events",
                    port,
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    _media_batch(),
                ),
            }
            runs.setdefault(server, []).append(_measure(server, env, requests, port))
    results = {server: _mean(measured) for server, measured in runs.items()}
    lines = [
        f"ASGI servers, telemetry app, 1 worker, {CONNECTIONS} keep-alive connections, "
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
