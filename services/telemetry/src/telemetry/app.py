"""Assembles the telemetry Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from contracts.analytics import AnalyticsEvent
from contracts.beacons import Beacon
from contracts.error_reports import ErrorReport
from contracts.media_events import MediaEventBatch
from contracts.pose import PoseFrameBatch
from litestar import Litestar
from litestar.datastructures import State
from service_common.app import service_app
from service_common.health import healthz, readiness_route
from service_common.openapi.components import add_msgspec_components

from telemetry.analytics.ingest import track_analytics_event
from telemetry.bandwidth.read_routes import get_bandwidth_stats
from telemetry.beacon.controller import BeaconController
from telemetry.clickhouse.open import open_store
from telemetry.dependencies import DEPENDENCIES
from telemetry.erasure import ActorErasureController
from telemetry.error_reports.ingest import report_client_error
from telemetry.evidence.read_route import SessionEvidenceController
from telemetry.identity import TelemetryVerifier
from telemetry.ingest.ratelimit import RateLimiter
from telemetry.media.cmcd_ingest import ingest_cmcd_reports
from telemetry.media.ingest import ingest_media_events
from telemetry.media.read_routes import get_media_ranking, get_media_stats, get_view_qoe
from telemetry.pose.ingest import ingest_pose_frames
from telemetry.pose.read_routes import get_exercise_form_issues, get_pose_session_stats
from telemetry.settings import Settings, load_settings
from telemetry.spool.appender import SpoolAppender
from telemetry.spool.flusher import Flusher
from telemetry.spool.reader import SpoolReader
from telemetry.spool.spool import Spool, SpoolFullError, claim_folder

VERSION = "0.1.0"

BEARER_DESCRIPTION = (
    "The short-lived telemetry token core-api issues, not the identity provider's token: a JWT signed "
    "with EdDSA by core-api (keys at its `/.well-known/jwks.json`), valid at most 10 minutes, carrying "
    "keyed hashes of the caller and the organization and the patient's consent.\n\n"
    "1. Sign in with the identity provider.\n"
    "2. Call core-api with the identity provider's token as `Authorization: Bearer`.\n"
    "3. `POST /v1/telemetry/token` on core-api answers `token` and `expires_at`.\n"
    "4. Send `token` here as `Authorization: Bearer` (`POST /v1/beacon` takes it in its body instead), and "
    "get a new one from core-api before `expires_at`: a token carries the consent in force when it was "
    "issued, and an expired one is refused with 401."
)
"""The bearer scheme's description in the OpenAPI document: which token, and how a client gets it."""


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
    """Claim a spool folder of this process's own and append to it. The records reach ClickHouse through
    ``python -m telemetry.flusher`` (SPOOL_FLUSHER=process) or a flusher task here (``inline``), which on
    shutdown (SIGTERM included) inserts what it can in SPOOL_DRAIN_SECONDS after the last append."""
    settings: Settings = app.state.settings
    folder, held_lock = claim_folder(Path(settings.spool.dir))
    spool = Spool(
        folder,
        max_bytes=settings.spool.max_bytes,
        segment_bytes=settings.spool.segment_bytes,
        retry_after_seconds=settings.spool.retry_after_seconds,
    )
    spool.open(held_lock)
    app.state.spool = spool
    app.state.spool_appender = SpoolAppender(spool)
    if settings.spool.flusher == "process":
        try:
            yield
        finally:
            await spool.close()
        return
    reader = SpoolReader(folder)
    reader.open()
    flusher = Flusher(
        reader,
        app.state.store,
        flush_rows=settings.spool.flush_rows,
        flush_interval_seconds=settings.spool.flush_interval_seconds,
    )
    app.state.flusher = flusher
    flusher.start()
    try:
        yield
    finally:
        await spool.close()
        await flusher.stop(settings.spool.drain_seconds)
        reader.close()


# Every tag the routes use, with what a client finds under it.
TAGS = {
    "ingest": "Events from patients' devices (media playback, pose frames, analytics, client errors), admitted "
    "by the consent the telemetry token carries.",
    "media": "Video playback statistics for staff: per exercise video, per view, bandwidth.",
    "pose": "Pose-tracking statistics of a session for staff.",
    "privacy": "Erasure of an actor's telemetry, called by core-api's retention job.",
    "evidence": "What telemetry measured for exercise sessions (media watched, pose frames and reps), read by "
    "core-api's evidence collection.",
}


async def _spool_ready(state: State) -> None:
    """Ready while the spool takes appends. ClickHouse being away is what the spool is there for, not a
    reason to stop taking traffic: the flusher logs it (``spool.insert_failed`` with its backlog), and
    that is what to alert on."""
    if not state.spool.accepting:
        raise SpoolFullError("The spool is full or closed.", state.spool.retry_after_seconds)


def create_app(settings: Settings | None = None) -> Litestar:
    """The telemetry app for ``settings`` (default: read from the environment)."""
    settings = settings or load_settings()
    if settings.spool.flusher == "process" and not settings.clickhouse.url:
        raise SystemExit(
            "SPOOL_FLUSHER=process needs a ClickHouse server (CLICKHOUSE_URL): the embedded engine's "
            "data folder belongs to one process"
        )
    # One verifier for the bearer middleware and the beacon route, which finds its token in the body.
    verifier = TelemetryVerifier(settings.auth)
    app = service_app(
        title="telemetry",
        version=VERSION,
        description="Telemetry ingestion of the telerehabilitation platform: media events, pose frames, "
        "analytics events and error reports, stored in ClickHouse under hashed actor ids.",
        route_handlers=[
            healthz,
            readiness_route({"spool": _spool_ready}),
            ingest_media_events,
            ingest_cmcd_reports,
            ingest_pose_frames,
            track_analytics_event,
            report_client_error,
            BeaconController,
            get_view_qoe,
            get_media_stats,
            get_media_ranking,
            get_bandwidth_stats,
            get_pose_session_stats,
            get_exercise_form_issues,
            ActorErasureController,
            SessionEvidenceController,
        ],
        lifespan=[_clickhouse, _spool],
        dependencies=DEPENDENCIES,
        state={
            "settings": settings,
            "rate_limiter": RateLimiter(
                settings.rate_limit.requests_per_second, settings.rate_limit.burst, settings.rate_limit.max_keys
            ),
            "token_verifier": verifier,
        },
        log_settings=settings.log,
        max_body_bytes=settings.http.max_body_bytes,
        verifier=verifier,
        bearer_description=BEARER_DESCRIPTION,
        cors_origins=settings.http.cors_origins,
        tags=TAGS,
        roles=("patient", "staff", "service"),
        origin="http://localhost:8001",
    )
    # The contracts the ingest routes document their raw bodies with (``ingest/route.py: raw_json_body``).
    add_msgspec_components(app, MediaEventBatch, PoseFrameBatch, AnalyticsEvent, ErrorReport, Beacon)
    return app
