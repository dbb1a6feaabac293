"""A small HTTP/1.1 load generator: simulated devices posting prepared bodies over keep-alive connections.

Run as its own process (``python -m bench.loadgen SPEC RESULT``) so its CPU time is not the benchmark
process's; the spec and the result are msgpack files (:class:`LoadSpec`, :class:`LoadResult`). Raw asyncio
streams on uvloop rather than an HTTP client library, so one client process costs the server's machine as
little as possible per request.

Two modes:

- ``closed``: ``connections`` devices, each posting its next body as soon as the last was answered; the
  rate this reaches is the server's maximum at that concurrency.
- ``open``: requests are scheduled at a fixed ``rate`` whatever the server does, sent on the first idle
  connection of a pool; a request's latency counts from its scheduled time, so a stalled server shows up
  in the tail instead of slowing the load down (no coordinated omission).

Both stop at ``duration_seconds`` or ``max_requests``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Literal

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
    mode: Literal["closed", "open"]
    connections: int
    duration_seconds: float
    max_requests: int
    rate: float = 0.0
    """Requests per second in ``open`` mode."""


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    elapsed_seconds: float
    statuses: dict[str, int]
    """Answers by HTTP status (``error`` for a broken connection)."""
    accepted_bodies: list[int]
    """How many times each body was acknowledged with 202, by index in :attr:`LoadSpec.bodies`."""
    latencies_ms: list[float]
    """Latency of every 202 answer, sorted."""

    @property
    def accepted(self) -> int:
        return self.statuses.get("202", 0)

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return self.latencies_ms[min(len(self.latencies_ms) - 1, int(fraction * len(self.latencies_ms)))]


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
        self.accepted_bodies = [0] * len(spec.bodies)
        self.latencies: list[float] = []
        self.issued = 0

    async def connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.spec.host, self.spec.port)
        return _Connection(reader, writer)

    async def send(self, connection: _Connection, started: float) -> bool:
        """The next device's next request; False when the connection broke (the caller opens a new one)."""
        body = self.issued % len(self.spec.bodies)
        token = self.spec.tokens[self.issued % len(self.spec.tokens)]
        self.issued += 1
        content = self.spec.bodies[body]
        try:
            status = await connection.exchange(_head(self.spec, token, len(content)), content)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.statuses["error"] = self.statuses.get("error", 0) + 1
            connection.writer.close()
            return False
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if status == 202:
            self.accepted_bodies[body] += 1
            self.latencies.append((time.perf_counter() - started) * 1000)
        return True

    async def closed_loop(self) -> None:
        deadline = time.perf_counter() + self.spec.duration_seconds

        async def client() -> None:
            connection = await self.connect()
            while time.perf_counter() < deadline and self.issued < self.spec.max_requests:
                if not await self.send(connection, time.perf_counter()):
                    connection = await self.connect()
            connection.writer.close()

        await asyncio.gather(*(client() for _ in range(self.spec.connections)))

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
        if self.spec.mode == "closed":
            await self.closed_loop()
        else:
            await self.open_loop()
        return LoadResult(
            elapsed_seconds=time.perf_counter() - started,
            statuses=self.statuses,
            accepted_bodies=self.accepted_bodies,
            latencies_ms=sorted(self.latencies),
        )


def main() -> None:
    spec_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    spec = msgspec.msgpack.decode(spec_path.read_bytes(), type=LoadSpec)
    result = uvloop.run(_Run(spec).run())
    result_path.write_bytes(msgspec.msgpack.encode(result))


if __name__ == "__main__":
    main()
