"""An open-loop HTTP/1.1 load generator: simulated devices posting prepared bodies at a fixed rate over
keep-alive connections, for the latency runs at half the maximum rate. The maximum rates are wrk's
(``bench/wrk.py``); no packaged tool holds a fixed rate (wrk2 is not in Debian), hence this one.

Requests are scheduled at a fixed ``rate`` whatever the server does, sent on the first idle connection of a
pool; a request's latency counts from its scheduled time, so a stalled server shows up in the tail instead
of slowing the load down (no coordinated omission). A run stops at ``duration_seconds`` or
``max_requests``, whichever comes first.

Run as its own process (``python -m bench.loadgen SPEC RESULT``) so its CPU time is not the benchmark
process's; the spec and the result are msgpack files (:class:`LoadSpec`, :class:`LoadResult`). Raw asyncio
streams on uvloop rather than an HTTP client library, so one client process costs the server's machine as
little as possible per request.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import msgspec
import uvloop


class LoadSpec(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    path: str
    tokens: list[str]
    """One bearer token per simulated device; requests take them in turn, so each device sends
    ``1 / len(tokens)`` of the load, whichever connection carries it (devices behind an edge proxy)."""
    bodies: list[bytes]
    """JSON bodies, posted in turn by every device."""
    connections: int
    duration_seconds: float
    max_requests: int
    rate: float
    """Requests per second."""


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    elapsed_seconds: float
    statuses: dict[str, int]
    """Answers by HTTP status (``error`` for a broken connection)."""
    latencies_ms: list[float]
    """Latency of every 202 answer, sorted."""

    @property
    def accepted(self) -> int:
        return self.statuses.get("202", 0)


def _head(spec: LoadSpec, token: str, length: int) -> bytes:
    return (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode("ascii")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, head: bytes, body: bytes) -> int:
        """Send one request; the status of its answer, whose body is read and dropped."""
        self.writer.writelines((head, body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


class _Run:
    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.statuses: dict[str, int] = {}
        self.latencies: list[float] = []
        self.issued = 0

    async def connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.spec.host, self.spec.port)
        return _Connection(reader, writer)

    async def send(self, connection: _Connection, started: float) -> bool:
        """The next device's next request; False when the connection broke (the caller opens a new one)."""
        token = self.spec.tokens[self.issued % len(self.spec.tokens)]
        content = self.spec.bodies[self.issued % len(self.spec.bodies)]
        self.issued += 1
        try:
            status = await connection.exchange(_head(self.spec, token, len(content)), content)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.statuses["error"] = self.statuses.get("error", 0) + 1
            connection.writer.close()
            return False
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if status == 202:
            self.latencies.append((time.perf_counter() - started) * 1000)
        return True

    async def open_loop(self) -> None:
        idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for _ in range(self.spec.connections):
            idle.put_nowait(await self.connect())
        total = min(self.spec.max_requests, int(self.spec.rate * self.spec.duration_seconds))
        start = time.perf_counter()
        in_flight: set[asyncio.Task[None]] = set()

        async def one(scheduled: float) -> None:
            connection = await idle.get()
            if not await self.send(connection, scheduled):
                connection = await self.connect()
            idle.put_nowait(connection)

        for index in range(total):
            scheduled = start + index / self.spec.rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        while not idle.empty():
            idle.get_nowait().writer.close()

    async def run(self) -> LoadResult:
        started = time.perf_counter()
        await self.open_loop()
        return LoadResult(
            elapsed_seconds=time.perf_counter() - started,
            statuses=self.statuses,
            latencies_ms=sorted(self.latencies),
        )


def main() -> None:
    spec_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    spec = msgspec.msgpack.decode(spec_path.read_bytes(), type=LoadSpec)
    result = uvloop.run(_Run(spec).run())
    result_path.write_bytes(msgspec.msgpack.encode(result))


if __name__ == "__main__":
    main()
