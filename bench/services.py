"""Processes the telemetry benchmarks start: a service under test, its memory and CPU time, and load runs.

Everything started here is stopped by the context managers, also when a benchmark fails half-way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from bench.loadgen import LoadResult, LoadSpec
from tools.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers), as far as /proc shows them now."""
    found, index = [pid], 0
    while index < len(found):
        with suppress(OSError):
            for task in Path(f"/proc/{found[index]}/task").iterdir():
                found.extend(int(child) for child in (task / "children").read_text().split())
        index += 1
    return found


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` so far."""
    total = 0
    for pid in pids:
        with suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


@dataclass
class Service:
    """A server process started by :func:`start_service`, with the processes started beside it (telemetry's
    flusher); CPU time and RSS are theirs together, RSS sampled every 0.2 s while they run."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    companions: list[subprocess.Popen[bytes]] = field(default_factory=list)
    rss_samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def pids(self) -> list[int]:
        return [pid for process in (self.process, *self.companions) for pid in process_tree(process.pid)]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids)

    def rss(self) -> int:
        return rss_bytes(self.pids)

    def sample_rss(self) -> None:
        while not self._stop.wait(0.2):
            self.rss_samples.append(self.rss())


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_seconds: float) -> bool:
    """Whether ``url`` answered 200 before the process exited or the time was up."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@contextmanager
def start_service(
    name: str,
    module: str,
    env: Mapping[str, str],
    port: int,
    log: Path,
    timeout_seconds: float = 60.0,
    companions: Sequence[str] = (),
) -> Iterator[Service | None]:
    """``python -m module`` serving on ``port``, and ``python -m <companion>`` for each of ``companions``
    with the same environment and log; ``None`` when the server exits or never gets ready."""
    with log.open("ab") as stderr:
        process, *others = (
            subprocess.Popen(
                [sys.executable, "-m", each],
                env={**os.environ, **env, "SERVER_PORT": str(port)},
                cwd=ROOT,
                stdout=stderr,
                stderr=stderr,
            )
            for each in (module, *companions)
        )
    service = Service(name, f"http://127.0.0.1:{port}", process, others)
    sampler = threading.Thread(target=service.sample_rss, daemon=True)
    try:
        if not wait_ready(f"{service.url}/healthz", process, timeout_seconds):
            yield None
            return
        sampler.start()
        yield service
    finally:
        service._stop.set()
        if sampler.is_alive():
            sampler.join()
        # SIGKILL only past the services' graceful shutdown limit (20 s).
        for each in (process, *others):
            stop_process(each, 25)


def run_load(spec: LoadSpec, scratch: Path) -> LoadResult:
    """Run ``spec`` in a load-generator process of its own and return what it measured."""
    spec_path, result_path = scratch / "load-spec.msgpack", scratch / "load-result.msgpack"
    spec_path.write_bytes(msgspec.msgpack.encode(spec))
    result_path.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(spec_path), str(result_path)],
        cwd=ROOT,
        check=True,
        timeout=spec.duration_seconds + 60,
    )
    return msgspec.msgpack.decode(result_path.read_bytes(), type=LoadResult)
