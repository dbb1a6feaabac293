"""Assembles the telemetry Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from service_common.app import service_app
from service_common.auth import TokenVerifier
from service_common.health import healthz, readiness_route

from telemetry.clickhouse.open import open_store
from telemetry.settings import Settings, load_settings

VERSION = "0.1.0"


@asynccontextmanager
async def _clickhouse(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.store = open_store(settings.clickhouse)
    try:
        yield
    finally:
        await app.state.store.close()


async def _clickhouse_ready(state: State) -> None:
    await state.store.server_version()


def create_app(settings: Settings | None = None) -> Litestar:
    """The telemetry app for ``settings`` (default: read from the environment)."""
    settings = settings or load_settings()
    return service_app(
        title="telemetry",
        version=VERSION,
        description="Telemetry ingestion of the telerehabilitation platform: media events, pose frames, "
        "analytics events and error reports, stored in ClickHouse under hashed actor ids.",
        route_handlers=[healthz, readiness_route({"clickhouse": _clickhouse_ready})],
        lifespan=[_clickhouse],
        state={"settings": settings},
        log_settings=settings.log,
        max_body_bytes=settings.http.max_body_bytes,
        verifier=TokenVerifier(settings.auth),
        cors_origins=settings.http.cors_origins,
    )
