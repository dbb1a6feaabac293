"""core-api and telemetry as real processes for end-to-end tests: telemetry trusts the tokens core-api issues
and writes to the test ClickHouse server. The processes are started by the ``services`` fixture
(tests/core_api/conftest.py), which gives a :class:`TwoServices` to talk to them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from clickhouse_driver import Client as ClickHouseClient

from tests.conftest import ClickHouseServerInfo
from tests.core_api.seed import Org

# The issuer and audience of core-api's telemetry tokens.
TELEMETRY_ISSUER = "telerehab-core-api"
TELEMETRY_AUDIENCE = "telerehab-telemetry"


@dataclass
class TwoServices:
    core_url: str
    telemetry_url: str
    database: str
    """The ClickHouse database telemetry writes to."""
    clickhouse: ClickHouseServerInfo

    def set_consent(self, org: Org, **body: Any) -> None:
        """The org's patient changes their consent."""
        response = httpx.post(
            f"{self.core_url}/v1/patients/{org.patient}/consent", json=body, headers=org.headers("patient"), timeout=10
        )
        assert response.status_code == 200, response.text

    def token(self, org: Org, **consent: Any) -> dict[str, Any]:
        """A telemetry token of the org's patient, issued after setting their ``consent`` when one is given."""
        if consent:
            self.set_consent(org, **consent)
        response = httpx.post(f"{self.core_url}/v1/telemetry/token", headers=org.headers("patient"), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def send(self, telemetry_token: str, path: str, body: Any) -> httpx.Response:
        return httpx.post(
            f"{self.telemetry_url}{path}", json=body, headers={"Authorization": f"Bearer {telemetry_token}"}, timeout=10
        )

    def stored(self, table: str, actor_hash: str) -> int:
        """How many rows of ``table`` the actor has, once there are any (waiting up to 10 s for the spool)."""
        client = ClickHouseClient.from_url(self.clickhouse.url)
        deadline = time.monotonic() + 10
        count = 0
        while time.monotonic() < deadline:
            count = int(
                client.execute(
                    f"SELECT count() FROM {self.database}.{table} WHERE actor_hash = %(a)s", {"a": actor_hash}
                )[0][0]
            )
            if count:
                return count
            time.sleep(0.2)
        return count
