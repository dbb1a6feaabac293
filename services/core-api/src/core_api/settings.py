"""core-api settings, one Struct per concern, read from the environment once by :func:`load_settings`."""

from __future__ import annotations

import msgspec
from service_common.auth import AuthSettings
from service_common.logging import LogSettings
from service_common.settings import from_env


class DatabaseSettings(msgspec.Struct, frozen=True):
    """PostgreSQL connection (environment prefix ``DATABASE_``)."""

    url: str = ""
    """libpq URL the service connects with, as the app role (DATABASE_URL). Empty: `make run` sets it."""
    pool_min_size: int = 2
    """Connections the pool keeps open (DATABASE_POOL_MIN_SIZE)."""
    pool_max_size: int = 16
    """Most connections the pool opens (DATABASE_POOL_MAX_SIZE)."""
    pool_timeout_seconds: float = 5.0
    """Wait for a free connection before failing with 503 (DATABASE_POOL_TIMEOUT_SECONDS)."""
    statement_timeout_ms: int = 10_000
    """Server-side limit on one statement (DATABASE_STATEMENT_TIMEOUT_MS)."""


class MigrationSettings(msgspec.Struct, frozen=True):
    """Schema migrations (environment prefix ``MIGRATIONS_``)."""

    database_url: str = ""
    """libpq URL of a role that may act as the owner role (MIGRATIONS_DATABASE_URL); empty: DATABASE_URL."""
    owner_role: str = "rehab_owner"
    """Role that owns every table; migrations run as it (MIGRATIONS_OWNER_ROLE)."""


class HttpSettings(msgspec.Struct, frozen=True):
    """HTTP behaviour (environment prefix ``HTTP_``)."""

    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger ones get 413 (HTTP_MAX_BODY_BYTES)."""
    cors_origins: list[str] = msgspec.field(default_factory=list)
    """Frontend origins allowed by CORS, comma-separated (HTTP_CORS_ORIGINS)."""


class Settings(msgspec.Struct, frozen=True):
    database: DatabaseSettings
    migrations: MigrationSettings
    http: HttpSettings
    log: LogSettings
    auth: AuthSettings


SETTINGS_PREFIXES: dict[str, type[msgspec.Struct]] = {
    "DATABASE_": DatabaseSettings,
    "MIGRATIONS_": MigrationSettings,
    "HTTP_": HttpSettings,
    "LOG_": LogSettings,
    "AUTH_": AuthSettings,
}


def load_settings() -> Settings:
    """Read every core-api setting from the environment."""
    return Settings(
        database=from_env(DatabaseSettings, "DATABASE_"),
        migrations=from_env(MigrationSettings, "MIGRATIONS_"),
        http=from_env(HttpSettings, "HTTP_"),
        log=from_env(LogSettings, "LOG_"),
        auth=from_env(AuthSettings, "AUTH_"),
    )
