"""Fixtures shared by the core-api test folders."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ClickHouseServerInfo, start_service, stop_service
from tests.core_api.helpers.two_services import TELEMETRY_AUDIENCE, TELEMETRY_ISSUER, TwoServices
from tests.markers import needs
from tools.databases import PostgresUrls
from tools.tokens import TELEMETRY_HASH_KEY_FILE, TELEMETRY_SIGNING_KEY_FILE


@pytest.fixture(scope="module")
@needs("processes")
def services(
    postgres: PostgresUrls,
    dev_keys: Path,
    clickhouse_server: ClickHouseServerInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TwoServices]:
    """core-api issuing 3-second tokens, and telemetry trusting core-api's keys (no clock leeway)."""
    core_env = {
        "DATABASE_URL": postgres.app,
        "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
        "TELEMETRY_TOKEN_SIGNING_KEY_FILE": str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
        "TELEMETRY_TOKEN_HASH_KEY_FILE": str(dev_keys / TELEMETRY_HASH_KEY_FILE),
        "TELEMETRY_TOKEN_TTL_SECONDS": "3",
    }
    core_url, core = start_service("core_api", core_env)
    database = f"consent_{uuid.uuid4().hex[:8]}"
    telemetry_env = {
        "SPOOL_DIR": str(tmp_path_factory.mktemp("consent-spool")),
        "SPOOL_FLUSH_INTERVAL_SECONDS": "0.2",
        "AUTH_JWKS_URL": f"{core_url}/.well-known/jwks.json",
        "AUTH_ISSUER": TELEMETRY_ISSUER,
        "AUTH_AUDIENCE": TELEMETRY_AUDIENCE,
        "AUTH_LEEWAY_SECONDS": "0",
        "CLICKHOUSE_URL": clickhouse_server.url,
        "CLICKHOUSE_HTTP_URL": clickhouse_server.http_url,
        "CLICKHOUSE_DATABASE": database,
    }
    try:
        subprocess.run(
            [sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **telemetry_env}, check=True
        )
        telemetry_url, telemetry = start_service("telemetry", telemetry_env)
    except BaseException:
        stop_service(core)
        raise
    yield TwoServices(core_url, telemetry_url, database, clickhouse_server)
    stop_service(telemetry)
    stop_service(core)
