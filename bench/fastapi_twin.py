"""The baseline of the ingest benchmarks (issue #10): the pose and media ingest routes written the usual
FastAPI + pydantic v2 way, on telemetry's own spool, flusher, column building and token verifier.

Only the web layer differs from the service: FastAPI routing, dependencies and body parameters (FastAPI
parses a JSON body with the standard library's ``json.loads`` and validates it with pydantic), pydantic
models with the contracts' constraints (``bench/pydantic_models``) and a pydantic response model. What a
request costs beyond that is telemetry's code: ``TelemetryVerifier`` for the token, ``Batch`` and
``pose_frame_columns`` for the rows, ``SpoolAppender`` and ``Spool`` for the durable append, and the
``Flusher`` inserting into ClickHouse in the background. Requests are logged by the same
``request.completed`` middleware and limited by the same per-actor ``RateLimiter``.

``python -m bench.fastapi_twin`` serves it under uvicorn with telemetry's settings from the environment
(``SERVER_*``, ``CLICKHOUSE_*``, ``SPOOL_*``, ``AUTH_*``, ``LOG_*``), the way ``python -m telemetry`` does.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Annotated, Any, cast

from contracts.pose import PoseFrameBatch
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from litestar import Litestar
from litestar.types import ASGIApp
from service_common.auth.errors import AuthenticationError
from service_common.requests import request_context_middleware
from service_common.serve import serve
from telemetry.app import _clickhouse, _spool
from telemetry.identity import ANALYTICS, TelemetryActor, TelemetryVerifier
from telemetry.ingest.batch import Batch, Columns, edge_country
from telemetry.ingest.ratelimit import RateLimiter
from telemetry.media.columns import _MEDIA_DEFAULTS
from telemetry.pose.columns import pose_frame_columns
from telemetry.settings import Settings, load_settings
from telemetry.spool.appender import SpoolAppender
from telemetry.spool.spool import SpoolFullError

from bench.pydantic_models import IngestAckModel, MediaEventBatchModel, PoseFrameBatchModel

# Where each media event type's ``data`` fields go in ``media_events`` (the service's ``_media_values``).
_MEDIA_COLUMNS: dict[str, dict[str, str]] = {
    "play_intent": {
        "total_duration_seconds": "total_duration_seconds",
        "connection_type": "connection_type",
        "cdn": "cdn",
        "effective_bandwidth_mbps": "effective_bandwidth",
        "rtt_ms": "rtt_ms",
    },
    "session_start": {
        "total_duration_seconds": "total_duration_seconds",
        "ttfb_ms": "ttfb_ms",
        "video_load_time_ms": "video_load_time_ms",
        "cdn_response_time_ms": "cdn_response_time_ms",
        "connection_type": "connection_type",
        "cdn": "cdn",
        "effective_bandwidth_mbps": "effective_bandwidth",
        "rtt_ms": "rtt_ms",
    },
    "heartbeat": {
        "position_seconds": "position_seconds",
        "watched_duration_seconds": "watched_duration_seconds",
        "completion_percent": "completion_percent",
        "buffering_count": "buffering_count",
        "buffering_duration_ms": "buffering_duration_ms",
        "bitrate": "current_bitrate",
        "resolution": "current_resolution",
        "dropped_frames": "dropped_frames",
        "total_frames": "total_frames",
    },
    "buffering_start": {"position_seconds": "position_seconds", "reason": "cause"},
    "buffering_end": {
        "position_seconds": "position_seconds",
        "buffering_duration_ms": "duration_ms",
        "reason": "cause",
    },
    "quality_change": {
        "bitrate": "to_bitrate",
        "resolution": "to_resolution",
        "previous_bitrate": "from_bitrate",
        "previous_resolution": "from_resolution",
        "reason": "reason",
    },
    "milestone": {"milestone_percent": "percent", "position_seconds": "position_seconds"},
    "session_end": {
        "watched_duration_seconds": "watched_duration_seconds",
        "completion_percent": "completion_percent",
        "buffering_count": "buffering_count",
        "buffering_duration_ms": "buffering_duration_ms",
        "completed": "completed",
        "reason": "exit_reason",
    },
    "error": {"error_code": "code", "fatal": "fatal", "position_seconds": "position_seconds"},
}


def media_columns(events: Sequence[Any], batch: Batch) -> Columns:
    """``media_events`` columns for validated pydantic media events, as the service builds them."""
    columns = batch.common(len(events))
    columns["country_code"] = [batch.country_code] * len(events)
    for name in ("session_id", "media_id", "media_type", "event", "event_time"):
        columns[name] = []
    for name in _MEDIA_DEFAULTS:
        columns[name] = []
    for event in events:
        columns["session_id"].append(event.session_id)
        columns["media_id"].append(event.media_id or "")
        columns["media_type"].append(event.media_type)
        columns["event"].append(event.event)
        columns["event_time"].append(event.timestamp.astimezone(UTC))
        mapping = _MEDIA_COLUMNS[event.event]
        for name, default in _MEDIA_DEFAULTS.items():
            field = mapping.get(name)
            value = getattr(event.data, field) if field else None
            columns[name].append(default if value is None else int(value) if isinstance(value, bool) else value)
    return columns


def _country(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return edge_country(request.headers.get(settings.ingest.country_header, ""))


async def actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> TelemetryActor:
    """The verified caller, within its rate limit (401 and 429 as the service answers them)."""
    if authorization is None or not authorization.startswith("Bearer "):
        raise HTTPException(401, "A bearer token is required.", {"WWW-Authenticate": "Bearer"})
    verifier: TelemetryVerifier = request.app.state.verifier
    try:
        caller = await verifier.verify(authorization[len("Bearer ") :])
    except AuthenticationError as exc:
        raise HTTPException(401, exc.detail, {"WWW-Authenticate": exc.challenge}) from exc
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(caller.actor_hash)
    if wait > 0:
        raise HTTPException(429, "Too many requests.", {"Retry-After": str(max(1, math.ceil(wait)))})
    return caller


async def analytics_actor(caller: Annotated[TelemetryActor, Depends(actor)]) -> TelemetryActor:
    if caller.consent_level < ANALYTICS:
        raise HTTPException(403, "This data needs consent level 2.")
    return caller


async def biometric_actor(caller: Annotated[TelemetryActor, Depends(analytics_actor)]) -> TelemetryActor:
    if not caller.biometric:
        raise HTTPException(403, "Pose frames need the patient's biometric consent.")
    return caller


IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]

router = APIRouter()


async def _appended(request: Request, endpoint: str, table: str, columns: Columns, batch: Batch) -> IngestAckModel:
    """The acknowledgement of ``columns`` appended to the spool for ``table``, as the service's ingest route
    appends them."""
    appender: SpoolAppender = request.app.state.spool_appender
    ack = await appender.append(endpoint, table, columns, batch)
    return IngestAckModel(accepted=ack.accepted, batch_id=ack.batch_id, duplicate=ack.duplicate)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/v1/pose/frames", status_code=202)
async def ingest_pose_frames(
    payload: PoseFrameBatchModel,
    request: Request,
    caller: Annotated[TelemetryActor, Depends(biometric_actor)],
    idempotency_key: IdempotencyKey = None,
) -> IngestAckModel:
    batch = Batch.start(caller, "pose_frames", idempotency_key, _country(request))
    # pose_frame_columns only reads the attributes the pydantic model shares with the contract Struct.
    columns = pose_frame_columns(cast(PoseFrameBatch, payload), batch)
    return await _appended(request, "pose_frames", "pose_tracking_frames", columns, batch)


@router.post("/v1/media/events", status_code=202)
async def ingest_media_events(
    payload: MediaEventBatchModel,
    request: Request,
    caller: Annotated[TelemetryActor, Depends(analytics_actor)],
    idempotency_key: IdempotencyKey = None,
) -> IngestAckModel:
    events = payload if isinstance(payload, list) else [payload]
    batch = Batch.start(caller, "media_events", idempotency_key, _country(request))
    return await _appended(request, "media_events", "media_events", media_columns(events, batch), batch)


async def spool_full(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpoolFullError)
    return JSONResponse(
        {"title": exc.title, "status": 503, "detail": exc.detail},
        status_code=503,
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The twin for ``settings`` (default: telemetry's settings from the environment)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # telemetry's own lifespans: its ClickHouse store, spool, flusher and SpoolAppender, set up and
        # shut down exactly as in the service. They only touch ``app.state``, which FastAPI has too.
        service_view = cast(Litestar, app)
        async with _clickhouse(service_view), _spool(service_view):
            yield

    app = FastAPI(title="telemetry FastAPI twin", lifespan=lifespan)
    app.state.settings = settings
    app.state.verifier = TelemetryVerifier(settings.auth)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit.requests_per_second, settings.rate_limit.burst, settings.rate_limit.max_keys
    )
    app.include_router(router)
    app.add_exception_handler(SpoolFullError, spool_full)
    # The service's request log middleware; the ASGI signatures differ only in their typing.
    return request_context_middleware(cast(ASGIApp, app))


if __name__ == "__main__":
    serve("bench.fastapi_twin:create_app")
