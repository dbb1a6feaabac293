"""How a service's server is run: worker processes, and the bound on request heads (on the real processes).

Found by review: a 16 MB ``Authorization`` header was read in full before the 401 (1.7-2.5 s), and a 5 MB
custom header on ``/healthz`` got 200; httptools buffers a header line of any length. Now a head over
``SERVER_MAX_HEADER_BYTES`` (16 KiB) gets 431 and a closed connection once the limit is passed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from urllib.parse import urlsplit

import pytest
from service_common.http_protocol import DEFAULT_MAX_HEAD_BYTES
from service_common.serve import ServerSettings, worker_count

# Each test asks for its service by name while it runs, so the markers of what the service needs are set here.
SERVICE_URLS = [
    pytest.param("core_api_url", marks=[pytest.mark.processes, pytest.mark.postgres]),
    pytest.param("telemetry_url", marks=[pytest.mark.processes, pytest.mark.clickhouse_server]),
]
AUTHENTICATED = {"core_api_url": "/v1/audit/verify", "telemetry_url": "/v1/media/bandwidth/stats"}


@pytest.fixture
def base_url(request: pytest.FixtureRequest, service: str) -> str:
    """The URL of the real process of ``service`` (a test's parameter from ``SERVICE_URLS``)."""
    url: str = request.getfixturevalue(service)
    return url


def test_zero_means_one_per_cpu() -> None:
    assert worker_count(ServerSettings(workers=0)) == (os.cpu_count() or 1)
    assert worker_count(ServerSettings(workers=3)) == 3


def test_a_one_process_service_takes_one_and_refuses_more() -> None:
    reason = "the spool folder belongs to one process"
    assert worker_count(ServerSettings(workers=0), one_process_only=reason) == 1
    assert worker_count(ServerSettings(workers=1), one_process_only=reason) == 1
    with pytest.raises(SystemExit, match="SERVER_WORKERS=4 is not possible: the spool folder"):
        worker_count(ServerSettings(workers=4), one_process_only=reason)


def connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def read_response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (with a Content-Length) read from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"the connection closed before a response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += conn.recv(65536)
    return int(status_line.split()[1]), headers, body


def request_head(path: str, **headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def refused(base_url: str, head: bytes) -> tuple[str, float]:
    """Send ``head`` and say how it was refused ("431", or "closed" when the connection closed before all
    of it was sent) and after how many seconds; a response of any other status fails."""
    started = time.monotonic()
    with connect(base_url) as conn:
        try:
            conn.sendall(head)
            status, _, body = read_response(conn)
        except (ConnectionResetError, BrokenPipeError):
            return "closed", time.monotonic() - started
        assert status == 431, body[:200]
        return "431", time.monotonic() - started


@pytest.mark.parametrize("service", SERVICE_URLS)
def test_a_head_over_the_limit_gets_a_431_problem_without_the_rest_being_read(base_url: str) -> None:
    with connect(base_url) as conn:
        # More than the limit, and no end of the head: the server must answer without waiting for one.
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 4 * DEFAULT_MAX_HEAD_BYTES)
        status, headers, body = read_response(conn)
        assert status == 431
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        assert json.loads(body)["status"] == 431
        assert conn.recv(65536) == b"", "the connection stays open"


@pytest.mark.parametrize("service", SERVICE_URLS)
def test_huge_headers_are_refused_quickly(base_url: str, service: str) -> None:
    authorization = request_head(AUTHENTICATED[service], Authorization="Bearer " + "a" * 16 * 2**20)
    how, seconds = refused(base_url, authorization)
    assert seconds < 1.5, f"{how} after {seconds:.2f} s"
    how, seconds = refused(base_url, request_head("/healthz", **{"X-Custom": "b" * 5 * 2**20}))
    assert seconds < 1.5, f"{how} after {seconds:.2f} s"


@pytest.mark.parametrize("service", SERVICE_URLS)
def test_heads_under_the_limit_pass_however_many_a_connection_carries(base_url: str) -> None:
    with connect(base_url) as conn:
        # Three requests of 10 KiB heads on one connection: each head is counted on its own.
        for _ in range(3):
            conn.sendall(request_head("/healthz", **{"X-Padding": "c" * 10_240}))
            status, _, _ = read_response(conn)
            assert status == 200
        # A body larger than the limit, sent with its head in one write, is the body's business (405 here).
        body = b"{}" + b" " * 4 * DEFAULT_MAX_HEAD_BYTES
        conn.sendall(
            b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, _, _ = read_response(conn)
        assert status == 405


def test_the_limit_is_a_setting_with_a_floor() -> None:
    assert ServerSettings().max_header_bytes == DEFAULT_MAX_HEAD_BYTES == 16_384
    assert ServerSettings(max_header_bytes=65_536).max_header_bytes == 65_536
