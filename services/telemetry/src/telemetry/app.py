"""Assembles the telemetry Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from service_common.app import service_app
from service_common.health import healthz, readiness_route
from service_common.openapi import add_msgspec_components

from telemetry.clickhouse.open import open_store
from telemetry.identity import TelemetryVerifier
from telemetry.ingest.controller import BODY_TYPES, IngestController
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
    app = service_app(
        title="telemetry",
        version=VERSION,
        description="Telemetry ingestion of the telerehabilitation platform: media events, pose frames, "
        "analytics events and error reports, stored in ClickHouse under hashed actor ids.",
        route_handlers=[healthz, readiness_route({"clickhouse": _clickhouse_ready}), IngestController],
        lifespan=[_clickhouse],
        state={"settings": settings},
        log_settings=settings.log,
        max_body_bytes=settings.http.max_body_bytes,
        verifier=TelemetryVerifier(settings.auth),
        cors_origins=settings.http.cors_origins,
    )
    add_msgspec_components(app, *BODY_TYPES)
    return app
