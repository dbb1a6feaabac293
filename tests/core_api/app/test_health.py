"""core-api's liveness and readiness against a real and an unreachable PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from core_api.app import create_app
from core_api.settings import DatabaseSettings, HttpSettings, MigrationSettings, Settings
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings

from tools.databases import PostgresUrls


def settings_for(database_url: str, pool_timeout_seconds: float = 2.0) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url, pool_min_size=1, pool_timeout_seconds=pool_timeout_seconds),
        migrations=MigrationSettings(),
        http=HttpSettings(),
        log=LogSettings(format="json"),
        auth=AuthSettings(),
    )


def test_ready_when_the_database_answers_as_a_role_subject_to_rls(postgres: PostgresUrls) -> None:
    with TestClient(create_app(settings_for(postgres.app))) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert len(response.headers["x-request-id"]) == 32


def test_not_ready_but_alive_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = f"postgresql://rehab_app@/rehab?host={tmp_path}&connect_timeout=1"
    # The check waits for a connection as long as the pool's timeout; half a second is plenty to fail.
    with TestClient(create_app(settings_for(unreachable, pool_timeout_seconds=0.5))) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}


def test_not_ready_when_connected_as_a_superuser(postgres: PostgresUrls) -> None:
    with TestClient(create_app(settings_for(postgres.superuser))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable"}


def test_a_caller_request_id_is_echoed(postgres: PostgresUrls) -> None:
    with TestClient(create_app(settings_for(postgres.app))) as client:
        kept = client.get("/healthz", headers={"x-request-id": "gateway-1234abcd"})
        replaced = client.get("/healthz", headers={"x-request-id": "bad id with spaces"})
    assert kept.headers["x-request-id"] == "gateway-1234abcd"
    assert replaced.headers["x-request-id"] != "bad id with spaces"
