"""An in-process telemetry app on each ClickHouse backend, with tokens and a way to read what it stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.app import create_app
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.open import open_store
from telemetry.settings import (
    ClickHouseSettings,
    HttpSettings,
    IngestSettings,
    RateLimitSettings,
    Settings,
    SpoolSettings,
)

from tests.conftest import ClickHouseServerInfo
from tools.tokens import mint_telemetry_token

MAX_BODY_BYTES = 524_288
COUNTRY_HEADER = "X-Edge-Country"
TABLES = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports")


def clickhouse_settings(request: pytest.FixtureRequest, backend: str, chdb_dir: Path) -> ClickHouseSettings:
    database = f"ingest_{uuid.uuid4().hex[:12]}"
    if backend == "server":
        info: ClickHouseServerInfo = request.getfixturevalue("clickhouse_server")
        return ClickHouseSettings(url=info.url, http_url=info.http_url, database=database)
    return ClickHouseSettings(data_dir=str(chdb_dir), database=database)


async def migrate_database(settings: ClickHouseSettings) -> None:
    """Apply the ClickHouse migrations to the database ``settings`` name."""
    store = open_store(settings)
    try:
        await migrate(store)
    finally:
        await store.close()


@dataclass
class Ingest:
    """The app under test; each test makes its own actor so tests sharing the database stay apart."""

    client: TestClient  # type: ignore[type-arg]
    backend: str
    keys: Path
    org_hash: str = "org_h4sh"
    actor_hash: str = field(default_factory=lambda: f"actor_{uuid.uuid4().hex}")

    def new_actor(self) -> None:
        self.actor_hash = f"actor_{uuid.uuid4().hex}"

    def headers(self, consent_level: int = 3, biometric: bool = True, **claims: Any) -> dict[str, str]:
        token = mint_telemetry_token(
            self.keys,
            actor_hash=self.actor_hash,
            org_hash=self.org_hash,
            consent_level=consent_level,
            biometric=biometric,
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    def own_organization(self) -> None:
        """Send and read under an organization of this test's own, so reads see only its rows."""
        self.org_hash = f"org_{uuid.uuid4().hex}"

    def store(self, path: str, body: Any, **headers: str) -> None:
        """Send ``body`` as JSON to the ingest route ``path`` (with ``headers`` too), which must accept it."""
        response = self.client.post(
            path,
            content=msgspec.json.encode(body),
            headers={**self.headers(), "Content-Type": "application/json", **headers},
        )
        assert response.status_code == 202, response.text

    def flush(self) -> int:
        """Insert everything the spool holds; the rows inserted."""
        inserted: int = self.client.blocking_portal.call(self.client.app.state.flusher.drain)
        return inserted

    def rows(self, query: str) -> list[dict[str, Any]]:
        """``query``'s rows once every acknowledged row is in ClickHouse."""
        self.flush()
        store = self.client.app.state.store
        result: list[dict[str, Any]] = self.client.blocking_portal.call(store.select, query)
        return result

    def mine(self, table: str, columns: str = "*", order_by: str = "received_at") -> list[dict[str, Any]]:
        """This test's actor's rows of ``table``."""
        return self.rows(f"SELECT {columns} FROM {table} WHERE actor_hash = '{self.actor_hash}' ORDER BY {order_by}")

    def stored_count(self) -> int:
        """How many rows this test's actor has in all ingest tables together."""
        return sum(len(self.mine(table, "actor_hash")) for table in TABLES)


def ingest_app(
    request: pytest.FixtureRequest,
    backend: str,
    chdb_dir: Path,
    dev_keys: Path,
    rate_limit: RateLimitSettings | None = None,
) -> Iterator[Ingest]:
    clickhouse = clickhouse_settings(request, backend, chdb_dir)
    asyncio.run(migrate_database(clickhouse))
    settings = Settings(
        clickhouse=clickhouse,
        http=HttpSettings(max_body_bytes=MAX_BODY_BYTES),
        log=LogSettings(format="json", level="warning"),
        auth=AuthSettings(jwks_file=str(dev_keys / "jwks.json")),
        ingest=IngestSettings(country_header=COUNTRY_HEADER),
        spool=SpoolSettings(dir=str(request.getfixturevalue("tmp_path_factory").mktemp("spool"))),
        rate_limit=rate_limit or RateLimitSettings(),
    )
    with TestClient(create_app(settings)) as client:
        yield Ingest(client, backend, dev_keys)
