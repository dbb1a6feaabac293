"""wrk, the HTTP benchmarking tool from Debian, for the closed-loop (maximum rate) runs of the benchmarks.

:func:`ensure_wrk` installs Debian's package when it is missing (as root, like the ClickHouse server of
``tools.databases``); :func:`run_wrk` drives a server with prepared requests and returns wrk's own figures.

The requests are prepared here, not in Lua: a data file holds one request head per simulated actor (request
line and headers, each with its own token and path) and the bodies; a small generated Lua script reads it
once per wrk thread and sends head ``i`` with body ``j`` in turn (or body ``i`` with head ``i`` when they
are paired, e.g. a patient's own session). Each thread starts at a different head, so with ``n`` heads an
actor sends ``1 / n`` of the load whichever connection carries it. wrk measures latency from the send of
each request on its connection (a closed loop); the open-loop runs at a fixed rate stay with
``bench.loadgen``, since no packaged tool holds a fixed rate (wrk2 is not in Debian).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from tools.databases import install_debian_package

WRK_BINARY = "/usr/bin/wrk"


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when missing and running as root."""
    return shutil.which("wrk") or install_debian_package("wrk", WRK_BINARY)


class WrkRequest(msgspec.Struct, frozen=True):
    """One actor's request head: method, path (with query) and headers (no Host or Content-Length)."""

    method: str
    path: str
    headers: Mapping[str, str]


class WrkResult(msgspec.Struct, frozen=True, kw_only=True):
    """wrk's summary: counts over the whole run, latencies in microseconds over every answered request."""

    requests: int
    duration_us: int
    status_errors: int
    """Answers that were not 2xx or 3xx."""
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int

    @property
    def seconds(self) -> float:
        return self.duration_us / 1e6

    @property
    def succeeded(self) -> int:
        """Requests answered 2xx or 3xx."""
        return self.requests - self.status_errors

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.succeeded / self.seconds if self.duration_us else 0.0


_SCRIPT = """
local data_path = "{data}"
local paired = {paired}
local per_thread_limit = {limit}
local heads, bodies = {{}}, {{}}
local next_head, next_body, answered = 1, 1, 0
local counter = 0

local function load()
  local file = assert(io.open(data_path, "rb"))
  local blob = file:read("*a")
  file:close()
  local position = 1
  local function field()
    local newline = string.find(blob, "\\n", position, true)
    local length = tonumber(string.sub(blob, position, newline - 1))
    local value = string.sub(blob, newline + 1, newline + length)
    position = newline + 1 + length
    return value
  end
  local head_count, body_count = tonumber(field()), tonumber(field())
  for i = 1, head_count do heads[i] = field() end
  for i = 1, body_count do bodies[i] = field() end
end

setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

init = function(args)
  load()
  next_head = (offset * 7919) % #heads + 1
  next_body = (offset * 104729) % math.max(#bodies, 1) + 1
end

request = function()
  local head = heads[next_head]
  local body = ""
  if paired then
    body = bodies[next_head] or ""
  elseif #bodies > 0 then
    body = bodies[next_body]
    next_body = next_body % #bodies + 1
  end
  next_head = next_head % #heads + 1
  if #body > 0 then
    return head .. "Content-Length: " .. #body .. "\\r\\n\\r\\n" .. body
  end
  return head .. "\\r\\n"
end

if per_thread_limit > 0 then
  response = function(status, headers, body)
    answered = answered + 1
    if answered >= per_thread_limit then wrk.thread:stop() end
  end
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def _field(value: bytes) -> bytes:
    return b"%d\n" % len(value) + value


def run_wrk(
    base_url: str,
    requests: Sequence[WrkRequest],
    bodies: Sequence[bytes],
    scratch: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    paired: bool = False,
    max_requests: int = 0,
) -> WrkResult:
    """Drive ``base_url`` (``http://host:port``) with wrk for ``seconds`` over ``connections`` keep-alive
    connections, sending ``requests`` in turn with ``bodies`` in turn (or ``bodies[i]`` with
    ``requests[i]`` when ``paired``). ``max_requests`` > 0 is a safety bound: each thread stops sending
    after its share of answers (wrk then parses every answer in Lua, which costs it some speed), but the run
    still lasts ``seconds`` and :attr:`WrkResult.rate` counts over all of it."""
    if not requests:
        raise ValueError("run_wrk needs at least one request")
    if paired and len(bodies) != len(requests):
        raise ValueError("paired bodies need one body per request")
    host = base_url.split("://", 1)[1].rstrip("/")
    heads = []
    for request in requests:
        lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        heads.append(("\r\n".join(lines) + "\r\n").encode())
    data = scratch / "wrk-requests.bin"
    data.write_bytes(
        _field(str(len(heads)).encode())
        + _field(str(len(bodies)).encode())
        + b"".join(_field(head) for head in heads)
        + b"".join(_field(body) for body in bodies)
    )
    script = scratch / "wrk-requests.lua"
    limit = -(-max_requests // threads) if max_requests > 0 else 0
    script.write_text(_SCRIPT.format(data=data, paired="true" if paired else "false", limit=limit))
    command = [
        ensure_wrk(),
        f"--threads={threads}",
        f"--connections={max(connections, threads)}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={script}",
        base_url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return msgspec.json.decode(line.removeprefix("WRK_JSON "), type=WrkResult)
    raise RuntimeError(f"wrk printed no summary (exit {result.returncode}): {result.stderr.strip()[-500:]}")
