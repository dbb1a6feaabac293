"""A body one byte over ``HTTP_MAX_BODY_BYTES`` is a 413 problem on every route that reads a body, against
the real service processes over raw sockets: once with ``Content-Length`` and once chunked, where the server
only learns the size while reading. A body of exactly the limit is read (and refused for its content)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from core_api.settings import HttpSettings as CoreApiHttpSettings
from telemetry.settings import HttpSettings as TelemetryHttpSettings

from tests.core_api.helpers.world import BODY_ROUTES, role_for
from tests.core_api.seed import seed_organization
from tests.telemetry.helpers.routes import INGEST_ROUTES
from tools.databases import PostgresUrls
from tools.tokens import mint_telemetry_token

CHUNK = 65_536


def limit(default: int) -> int:
    # The fixtures start the services with the test process's environment.
    return int(os.environ.get("HTTP_MAX_BODY_BYTES", default))


def filler(size: int) -> bytes:
    """``size`` bytes of a JSON object with one long string: well-formed if it were read whole."""
    return b'{"x": "' + b"x" * (size - 9) + b'"}'


def raw_request(base_url: str, method: str, path: str, token: str, body: bytes, *, chunked: bool) -> tuple[int, str]:
    """Send ``body`` over a fresh socket; the response's status and headers (lower-cased text)."""
    url = urlsplit(base_url)
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {url.netloc}",
        f"Authorization: {token}",
        "Content-Type: application/json",
        "Connection: close",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}",
    ]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            if chunked:
                for start in range(0, len(body), CHUNK):
                    piece = body[start : start + CHUNK]
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            else:
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything; the answer is still there
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65_536)
            if not data:
                break
            received += data
    status_line, _, headers = received.partition(b"\r\n\r\n")[0].decode("latin-1").partition("\r\n")
    return int(status_line.split()[1]), headers.lower()


def concrete(path: str) -> str:
    return path.replace("{plan_id:uuid}", "00000000-0000-4000-8000-000000000001").replace(
        "{exercise_id:uuid}", "00000000-0000-4000-8000-000000000001"
    )


@pytest.fixture(scope="module")
def staff_tokens(postgres: PostgresUrls, dev_keys: Path) -> dict[str, str]:
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        org = seed_organization(conn, dev_keys, "Body Limit Clinic")
    return {role: org.headers(role)["Authorization"] for role in ("admin", "specialist", "patient")}


def core_path(path: str) -> str:
    return re.sub(r"\{[a-z_]+:int\}", "987654321", concrete(path))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_core_api_refuses_one_byte_over_the_limit_with_413(
    core_api_url: str, staff_tokens: dict[str, str], chunked: bool
) -> None:
    size = limit(CoreApiHttpSettings().max_body_bytes)
    for method, path in BODY_ROUTES:
        token = staff_tokens[role_for((method, path))]
        status, headers = raw_request(core_api_url, method, core_path(path), token, filler(size + 1), chunked=chunked)
        assert status == 413, (method, path)
        assert "content-type: application/problem+json" in headers


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_telemetry_refuses_one_byte_over_the_limit_with_413(telemetry_url: str, dev_keys: Path, chunked: bool) -> None:
    size = limit(TelemetryHttpSettings().max_body_bytes)
    token = mint_telemetry_token(
        dev_keys, actor_hash="limit_actor", org_hash="limit_org", consent_level=3, biometric=True
    )
    for path in INGEST_ROUTES:
        status, headers = raw_request(telemetry_url, "POST", path, f"Bearer {token}", filler(size + 1), chunked=chunked)
        assert status == 413, path
        assert "content-type: application/problem+json" in headers


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read(
    core_api_url: str, telemetry_url: str, staff_tokens: dict[str, str], dev_keys: Path, chunked: bool
) -> None:
    # Read and refused for its content (an unknown field, or a missing one), not for its size.
    core = raw_request(
        core_api_url,
        "POST",
        "/v1/treatment-plans",
        staff_tokens["specialist"],
        filler(limit(CoreApiHttpSettings().max_body_bytes)),
        chunked=chunked,
    )
    token = mint_telemetry_token(dev_keys, actor_hash="limit_actor_2", org_hash="limit_org", consent_level=3)
    telemetry = raw_request(
        telemetry_url,
        "POST",
        "/v1/analytics/track",
        f"Bearer {token}",
        filler(limit(TelemetryHttpSettings().max_body_bytes)),
        chunked=chunked,
    )
    assert (core[0], telemetry[0]) == (422, 422)
