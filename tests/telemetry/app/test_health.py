"""telemetry's readiness follows its spool: ClickHouse away is what the spool is for, so the pod stays in
service and takes events; a full spool takes it out."""

from __future__ import annotations

import tempfile
from pathlib import Path

from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.app import create_app
from telemetry.settings import ClickHouseSettings, HttpSettings, Settings, SpoolSettings

from tests.conftest import ClickHouseServerInfo
from tools.databases import free_port


def settings_for(clickhouse: ClickHouseSettings, max_bytes: int = 1 << 30) -> Settings:
    return Settings(
        clickhouse=clickhouse,
        http=HttpSettings(),
        log=LogSettings(format="json"),
        auth=AuthSettings(),
        spool=SpoolSettings(dir=tempfile.mkdtemp(prefix="spool-"), max_bytes=max_bytes),
    )


def test_ready_on_a_clickhouse_server(clickhouse_server: ClickHouseServerInfo) -> None:
    settings = settings_for(ClickHouseSettings(url=clickhouse_server.url, http_url=clickhouse_server.http_url))
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"spool": "ok"}}


def test_ready_while_clickhouse_is_unreachable() -> None:
    port = free_port()
    settings = settings_for(ClickHouseSettings(url=f"clickhouse://default@127.0.0.1:{port}", query_timeout_seconds=2.0))
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"spool": "ok"}}


def test_not_ready_but_alive_when_the_spool_is_full(clickhouse_server: ClickHouseServerInfo) -> None:
    clickhouse = ClickHouseSettings(url=clickhouse_server.url, http_url=clickhouse_server.http_url)
    with TestClient(create_app(settings_for(clickhouse, max_bytes=0))) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"spool": "unavailable"}}
    assert alive.status_code == 200


def test_ready_on_the_embedded_engine(chdb_dir: Path) -> None:
    settings = settings_for(ClickHouseSettings(data_dir=str(chdb_dir), database="health_check"))
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
