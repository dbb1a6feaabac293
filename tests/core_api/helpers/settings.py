"""core-api's settings for an app run in process on the test PostgreSQL."""

from __future__ import annotations

from typing import Any

from core_api.settings import AutomationSettings, DatabaseSettings, HttpSettings, MigrationSettings, Settings
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings

from tools.databases import PostgresUrls

# Tests receive webhooks on loopback, without TLS.
LOOPBACK_WEBHOOKS = AutomationSettings(allow_http_webhooks=True, webhook_allowed_cidrs=["127.0.0.0/8"])


def app_settings(postgres: PostgresUrls, auth: AuthSettings, *, pool_max_size: int = 4, **fields: Any) -> Settings:
    """Settings on the app role's URL with a small pool and JSON warnings; ``fields`` sets the rest
    (``http``, ``automation``, ``telemetry_token``, ...), each left at its default otherwise."""
    return Settings(
        database=DatabaseSettings(url=postgres.app, pool_min_size=1, pool_max_size=pool_max_size),
        migrations=MigrationSettings(),
        log=LogSettings(format="json", level="warning"),
        auth=auth,
        **({"http": HttpSettings()} | fields),
    )
