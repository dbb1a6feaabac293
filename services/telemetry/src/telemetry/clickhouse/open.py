"""Choose the ClickHouse store the settings ask for."""

from __future__ import annotations

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.settings import ClickHouseSettings


def open_store(settings: ClickHouseSettings) -> ClickHouseStore:
    """A server store when CLICKHOUSE_URL is set, else the embedded engine under CLICKHOUSE_DATA_DIR."""
    if settings.url:
        from telemetry.clickhouse.server import ServerStore

        return ServerStore(settings.url, settings.http_url, settings.database, settings.query_timeout_seconds)
    from telemetry.clickhouse.embedded import EmbeddedStore

    return EmbeddedStore(settings.data_dir, settings.database)
