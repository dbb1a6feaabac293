"""Assembles the telemetry Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from service_common.app import service_app
from service_common.health import healthz, readiness_route
from service_common.openapi import add_msgspec_components

from telemetry.clickhouse.open import open_store
from telemetry.erasure import ActorErasureController
from telemetry.identity import TelemetryVerifier
from telemetry.ingest.controller import BODY_TYPES, IngestController
from telemetry.ingest.ratelimit import RateLimiter
from telemetry.ingest.spool import Spool, SpoolWriter
from telemetry.ingest.writer import IngestWriter
from telemetry.media.controller import MediaStatsController
from telemetry.pose.controller import PoseStatsController
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


@asynccontextmanager
async def _spool(app: Litestar) -> AsyncIterator[None]:
    """Open the spool (replaying what a previous process left), run its writer, and on shutdown (SIGTERM
    included) insert what it can before closing."""
    settings: Settings = app.state.settings
    spool = Spool(
        Path(settings.spool.dir),
        max_bytes=settings.spool.max_bytes,
        segment_bytes=settings.spool.segment_bytes,
        retry_after_seconds=settings.spool.retry_after_seconds,
        # The writer takes records from memory while it keeps up (two blocks' worth), else from disk.
        recent_rows=2 * settings.spool.flush_rows,
    )
    spool.open()
    writer = SpoolWriter(
        spool,
        app.state.store,
        flush_rows=settings.spool.flush_rows,
        flush_interval_seconds=settings.spool.flush_interval_seconds,
    )
    app.state.spool, app.state.spool_writer = spool, writer
    app.state.ingest_writer = IngestWriter(spool)
    writer.start()
    try:
        yield
    finally:
        await spool.stop_appends()
        await writer.stop()
        await spool.close()


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
        route_handlers=[
            healthz,
            readiness_route({"clickhouse": _clickhouse_ready}),
            IngestController,
            MediaStatsController,
            PoseStatsController,
            ActorErasureController,
        ],
        lifespan=[_clickhouse, _spool],
        state={
            "settings": settings,
            "rate_limiter": RateLimiter(
                settings.rate_limit.requests_per_second, settings.rate_limit.burst, settings.rate_limit.max_keys
            ),
        },
        log_settings=settings.log,
        max_body_bytes=settings.http.max_body_bytes,
        verifier=TelemetryVerifier(settings.auth),
        cors_origins=settings.http.cors_origins,
    )
    add_msgspec_components(app, *BODY_TYPES)
    return app
