"""Run a service's app under uvicorn with our logging, e.g. ``python -m core_api``.

uvicorn's own log configuration is switched off so its start-up and error lines go through structlog
like everything else; its access log is replaced by :mod:`service_common.requests`.
"""

from __future__ import annotations

import os

import msgspec
import uvicorn

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


def serve(factory: str) -> None:
    """Serve the app that ``factory`` ("package.module:function") builds, as the settings say."""
    settings = from_env(ServerSettings, "SERVER_")
    configure_logging(from_env(LogSettings, "LOG_"))
    workers = settings.workers or os.cpu_count() or 1
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )
