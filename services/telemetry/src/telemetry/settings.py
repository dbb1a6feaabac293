"""telemetry settings, one Struct per concern, read from the environment once by :func:`load_settings`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from service_common.settings import from_env

_Days = Annotated[int, msgspec.Meta(ge=1, le=36_500)]


class ClickHouseSettings(msgspec.Struct, frozen=True):
    """ClickHouse connection (environment prefix ``CLICKHOUSE_``)."""

    url: str = ""
    """Native-protocol URL of a ClickHouse server, clickhouse://user:password@host:9000 (CLICKHOUSE_URL).
    Empty: the embedded engine (chdb) with data under CLICKHOUSE_DATA_DIR."""
    http_url: str = ""
    """HTTP URL of the same server for reads (CLICKHOUSE_HTTP_URL); empty: http://<host of URL>:8123."""
    database: str = "telemetry"
    """Database holding the telemetry tables; created by the migrations (CLICKHOUSE_DATABASE)."""
    data_dir: str = ".data/clickhouse"
    """Folder of the embedded engine's data when CLICKHOUSE_URL is empty (CLICKHOUSE_DATA_DIR)."""
    query_timeout_seconds: float = 30.0
    """Longest a read may take before it fails (CLICKHOUSE_QUERY_TIMEOUT_SECONDS)."""
    cluster: str = ""
    """Cluster (of the server's remote_servers) the migrations create tables on (CLICKHOUSE_CLUSTER): ON
    CLUSTER DDL, Replicated*MergeTree ``<table>_local`` tables and Distributed tables under the usual names,
    which the service reads and writes. Empty: one server, plain MergeTree tables."""


class HttpSettings(msgspec.Struct, frozen=True):
    """HTTP behaviour (environment prefix ``HTTP_``)."""

    max_body_bytes: int = 2_097_152
    """Largest request body accepted; larger ones get 413 (HTTP_MAX_BODY_BYTES)."""
    cors_origins: list[str] = msgspec.field(default_factory=list)
    """Frontend origins allowed by CORS, comma-separated (HTTP_CORS_ORIGINS)."""


class IngestSettings(msgspec.Struct, frozen=True):
    """Ingest behaviour (environment prefix ``TELEMETRY_``)."""

    country_header: str = "CF-IPCountry"
    """Request header in which the edge (CDN, load balancer) puts the client's ISO 3166-1 alpha-2 country
    code (TELEMETRY_COUNTRY_HEADER). Telemetry stores that code and never the client's IP address."""


class SpoolSettings(msgspec.Struct, frozen=True):
    """The write-ahead spool between the ingest routes and ClickHouse (environment prefix ``SPOOL_``)."""

    dir: str = ".data/spool"
    """Root of the spool: each request process appends to a numbered subfolder of its own (``0``, ``1``, ...
    with SERVER_WORKERS processes), and ``python -m telemetry.flusher`` empties every one (SPOOL_DIR)."""
    max_bytes: int = 1_073_741_824
    """Spool size (bytes not yet in ClickHouse) above which ingest answers 503 with Retry-After
    (SPOOL_MAX_BYTES)."""
    segment_bytes: int = 67_108_864
    """Size at which the spool starts a new segment file; finished segments are deleted (SPOOL_SEGMENT_BYTES)."""
    flush_rows: int = 10_000
    """Rows the flusher reads for one round of inserts: about the largest block per table (SPOOL_FLUSH_ROWS)."""
    flush_interval_seconds: float = 1.0
    """How often the flusher looks for committed rows: about the longest one waits (SPOOL_FLUSH_INTERVAL_SECONDS)."""
    flusher: Literal["inline", "process"] = "inline"
    """Where the flusher runs: ``inline``, a task in each request process (the only choice with the
    embedded engine, whose data folder one process owns), or ``process``, in ``python -m telemetry.flusher``
    beside the request processes, which then only append (production: one interpreter lock each)
    (SPOOL_FLUSHER)."""
    drain_seconds: float = 25.0
    """How long the flusher keeps inserting after SIGTERM, until the request process has let go of its
    folder and everything is in; what is left waits for the folder's next flusher. Keep it below the
    pod's termination grace period (SPOOL_DRAIN_SECONDS)."""
    retry_after_seconds: int = 5
    """Retry-After of the 503 sent while the spool is full (SPOOL_RETRY_AFTER_SECONDS)."""


class RateLimitSettings(msgspec.Struct, frozen=True):
    """Per-actor limits on the ingest routes (environment prefix ``RATE_LIMIT_``)."""

    requests_per_second: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    """Sustained ingest requests one actor (token ``sub``) may send per second; 0 turns limiting off
    (RATE_LIMIT_REQUESTS_PER_SECOND). A device sends pose batches every 1-2 s and a heartbeat every 10 s."""
    burst: Annotated[int, msgspec.Meta(ge=1)] = 30
    """Requests an actor may send at once above the sustained rate, e.g. a queue flushed after being
    offline or retries after a 503 (RATE_LIMIT_BURST)."""
    max_keys: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    """Actors whose buckets a process keeps; the least recently seen is forgotten first, which bounds
    memory to about 30 MB (RATE_LIMIT_MAX_KEYS)."""


class RetentionSettings(msgspec.Struct, frozen=True):
    """How long telemetry is kept where ClickHouse has no TTL (18.16), enforced by
    ``python -m telemetry.jobs.retention`` (environment prefix ``RETENTION_``). Engines with TTL use the
    migrations' TTLs instead."""

    media_days: _Days = 730
    """Video and audio watch events, media_events (RETENTION_MEDIA_DAYS)."""
    bandwidth_days: _Days = 90
    """Network samples of media_events (bandwidth, TTFB, RTT, CDN response time), reset to 0
    (RETENTION_BANDWIDTH_DAYS)."""
    pose_days: _Days = 183
    """Pose frames, pose_tracking_frames (RETENTION_POSE_DAYS)."""
    analytics_days: _Days = 730
    """Product analytics events, analytics_events (RETENTION_ANALYTICS_DAYS)."""
    errors_days: _Days = 90
    """Client error reports, error_reports (RETENTION_ERRORS_DAYS)."""
    ingest_batches_days: _Days = 7
    """The idempotency ledger, ingest_batches (RETENTION_INGEST_BATCHES_DAYS)."""


class TelemetryAuthSettings(AuthSettings, frozen=True):
    """:class:`AuthSettings` with telemetry's own lifetime bound: core-api issues telemetry tokens for at
    most 600 seconds (TELEMETRY_TOKEN_TTL_SECONDS), so a longer one did not come from it."""

    max_token_lifetime_seconds: Annotated[int, msgspec.Meta(ge=1)] = 600
    """Longest validity a telemetry token may claim, from its `iat` and from now
    (AUTH_MAX_TOKEN_LIFETIME_SECONDS)."""


class Settings(msgspec.Struct, frozen=True):
    clickhouse: ClickHouseSettings
    http: HttpSettings
    log: LogSettings
    auth: AuthSettings
    ingest: IngestSettings = msgspec.field(default_factory=IngestSettings)
    spool: SpoolSettings = msgspec.field(default_factory=SpoolSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)


SETTINGS_PREFIXES: dict[str, type[msgspec.Struct]] = {
    "CLICKHOUSE_": ClickHouseSettings,
    "HTTP_": HttpSettings,
    "LOG_": LogSettings,
    "AUTH_": TelemetryAuthSettings,
    "TELEMETRY_": IngestSettings,
    "SPOOL_": SpoolSettings,
    "RATE_LIMIT_": RateLimitSettings,
    "RETENTION_": RetentionSettings,
}


def load_settings() -> Settings:
    """Read every telemetry setting from the environment."""
    return Settings(
        clickhouse=from_env(ClickHouseSettings, "CLICKHOUSE_"),
        http=from_env(HttpSettings, "HTTP_"),
        log=from_env(LogSettings, "LOG_"),
        auth=from_env(TelemetryAuthSettings, "AUTH_"),
        ingest=from_env(IngestSettings, "TELEMETRY_"),
        spool=from_env(SpoolSettings, "SPOOL_"),
        rate_limit=from_env(RateLimitSettings, "RATE_LIMIT_"),
        retention=from_env(RetentionSettings, "RETENTION_"),
    )
