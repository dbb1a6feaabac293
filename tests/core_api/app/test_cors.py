"""CORS for browser frontends on other origins: preflights for the headers clients send, and the response
headers a cross-origin page may read (tests/browser runs the same through a real browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from core_api.app import create_app
from core_api.settings import HttpSettings
from litestar import Litestar
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.settings import app_settings
from tools.databases import PostgresUrls

PAGE = "http://127.0.0.1:5173"


@pytest.fixture
def cors_client(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[TestClient[Litestar]]:
    settings = app_settings(
        postgres,
        auth_settings,
        pool_max_size=2,
        http=HttpSettings(cors_origins=[PAGE]),
        telemetry_token=telemetry_token_settings(dev_keys),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_preflight_allows_every_header_the_reference_client_sends(cors_client: TestClient[Litestar]) -> None:
    response = cors_client.options(
        "/v1/patient-exercise-logs/1",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == PAGE
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


def test_a_cross_origin_page_may_read_retry_after_location_and_www_authenticate(
    cors_client: TestClient[Litestar],
) -> None:
    response = cors_client.get("/v1/patients/1/treatment-plans/today", headers={"Origin": PAGE})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == PAGE
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "location", "www-authenticate"} <= exposed


def test_an_unlisted_origin_gets_no_cors_grant(cors_client: TestClient[Litestar]) -> None:
    response = cors_client.options(
        "/v1/telemetry/token",
        headers={"Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers
