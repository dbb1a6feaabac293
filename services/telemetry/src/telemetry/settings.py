"""telemetry settings, one Struct per concern, read from the environment once by :func:`load_settings`."""

from __future__ import annotations

import msgspec
from service_common.auth import AuthSettings
from service_common.logging import LogSettings
from service_common.settings import from_env


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
    """Folder of the spool's segment files and checkpoint; one telemetry process per folder (SPOOL_DIR)."""
    max_bytes: int = 1_073_741_824
    """Spool size (bytes not yet in ClickHouse) above which ingest answers 503 with Retry-After
    (SPOOL_MAX_BYTES)."""
    segment_bytes: int = 67_108_864
    """Size at which the spool starts a new segment file; finished segments are deleted (SPOOL_SEGMENT_BYTES)."""
    flush_rows: int = 10_000
    """Rows that make the background writer insert a block before its interval is up (SPOOL_FLUSH_ROWS)."""
    flush_interval_seconds: float = 1.0
    """Longest a committed row waits before the background writer inserts it (SPOOL_FLUSH_INTERVAL_SECONDS)."""
    retry_after_seconds: int = 5
    """Retry-After of the 503 sent while the spool is full (SPOOL_RETRY_AFTER_SECONDS)."""


class Settings(msgspec.Struct, frozen=True):
    clickhouse: ClickHouseSettings
    http: HttpSettings
    log: LogSettings
    auth: AuthSettings
    ingest: IngestSettings = msgspec.field(default_factory=IngestSettings)
    spool: SpoolSettings = msgspec.field(default_factory=SpoolSettings)


SETTINGS_PREFIXES: dict[str, type[msgspec.Struct]] = {
    "CLICKHOUSE_": ClickHouseSettings,
    "HTTP_": HttpSettings,
    "LOG_": LogSettings,
    "AUTH_": AuthSettings,
    "TELEMETRY_": IngestSettings,
    "SPOOL_": SpoolSettings,
}


def load_settings() -> Settings:
    """Read every telemetry setting from the environment."""
    return Settings(
        clickhouse=from_env(ClickHouseSettings, "CLICKHOUSE_"),
        http=from_env(HttpSettings, "HTTP_"),
        log=from_env(LogSettings, "LOG_"),
        auth=from_env(AuthSettings, "AUTH_"),
        ingest=from_env(IngestSettings, "TELEMETRY_"),
        spool=from_env(SpoolSettings, "SPOOL_"),
    )
