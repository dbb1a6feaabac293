"""Run a service's app under uvicorn with our logging, e.g. ``python -m core_api``.

uvicorn's own log configuration is switched off so its start-up and error lines go through structlog
like everything else; its access log is replaced by :mod:`service_common.requests`. The HTTP parser and
event loop are named (httptools, uvloop) rather than left to uvicorn's fallback to the pure-Python ones;
``bench/asgi_servers.py`` compares this with granian. The httptools protocol is uvicorn's with a bound on
the request head (:mod:`service_common.http_protocol`): a head over ``SERVER_MAX_HEADER_BYTES`` gets 431.
On SIGTERM uvicorn stops accepting, lets requests in flight finish (at most 20 s) and then runs the app's
shutdown, where telemetry flushes its spool.
"""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
import uvicorn

from service_common.http_protocol import DEFAULT_MAX_HEAD_BYTES, HeadBoundedHttpToolsProtocol
from service_common.logging import LogSettings, configure_logging
from service_common.settings import from_env


class ServerSettings(msgspec.Struct, frozen=True):
    """The ASGI server (environment prefix ``SERVER_``)."""

    host: str = "127.0.0.1"
    """Address to listen on; 0.0.0.0 in containers (SERVER_HOST)."""
    port: int = 8000
    """Port to listen on; `make run` gives core-api 8000 and telemetry 8001 (SERVER_PORT)."""
    workers: int = 1
    """Worker processes; 0 means one per CPU (SERVER_WORKERS)."""
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = DEFAULT_MAX_HEAD_BYTES
    """Largest request line and headers together; a larger head gets 431 (SERVER_MAX_HEADER_BYTES)."""


def worker_count(settings: ServerSettings, *, one_process_only: str = "") -> int:
    """How many worker processes to start. A service that must run as one process (``one_process_only``
    says why) gets 1 for "one per CPU" (0), and a clear error for an explicit larger number."""
    if one_process_only:
        if settings.workers > 1:
            raise SystemExit(f"SERVER_WORKERS={settings.workers} is not possible: {one_process_only}")
        return 1
    return settings.workers or os.cpu_count() or 1


def serve(factory: str, *, one_process_only: str = "") -> None:
    """Serve the app that ``factory`` ("package.module:function") builds, as the settings say."""
    settings = from_env(ServerSettings, "SERVER_")
    configure_logging(from_env(LogSettings, "LOG_"))
    workers = worker_count(settings, one_process_only=one_process_only)
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        http=HeadBoundedHttpToolsProtocol,
        # uvicorn's own name for the bound on a request head; the protocol above applies it to httptools.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        loop="uvloop",
        # Longer than the ingress controller's idle upstream keep-alive (60 s in ingress-nginx), so the
        # proxy never reuses a connection this server has just closed (a 502 for the client).
        timeout_keep_alive=75,
        timeout_graceful_shutdown=20,
    )
