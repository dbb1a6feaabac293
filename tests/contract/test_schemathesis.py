"""Schemathesis over every operation of both checked-in OpenAPI documents, against the real services.

Positive and negative data, all of schemathesis's checks (status codes documented, response bodies
conforming to the schema, content types, server errors). The services run as real processes on the test
PostgreSQL and ClickHouse server.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.core_api.seed import seed_organization
from tools.databases import PostgresUrls
from tools.tokens import mint_telemetry_token

OPENAPI = Path(__file__).resolve().parents[2] / "contracts" / "openapi"

CONFIG = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))
core_api_schema = schemathesis.openapi.from_path(OPENAPI / "core-api.json", config=CONFIG)
telemetry_schema = schemathesis.openapi.from_path(OPENAPI / "telemetry.json", config=CONFIG)

# Derandomized so CI sees the same examples every run; EXPLORE=1 searches with fresh random examples.
SETTINGS = settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("EXPLORE") != "1",
)


class AdminToken:
    """Schemathesis's auth provider: an admin of a seeded organization, so calls reach the handlers.

    Registered with schemathesis (rather than passed as headers) so that it knows which requests are
    authenticated and can check that leaving the token out is refused.
    """

    authorization = ""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return self.authorization

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


core_api_schema.auth(AdminToken)


@pytest.fixture(scope="module")
def admin_token(postgres: PostgresUrls, dev_keys: Path) -> None:
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        org = seed_organization(conn, dev_keys, "Schemathesis Clinic")
    AdminToken.authorization = org.headers("admin")["Authorization"]


@core_api_schema.parametrize()
@SETTINGS
def test_core_api(case: schemathesis.Case, core_api_url: str, admin_token: None) -> None:
    case.call_and_validate(base_url=core_api_url)


class TelemetryToken:
    """Schemathesis's auth provider for telemetry: a patient's telemetry token with full consent (level 3
    and biometric), so every ingest route reaches its handler."""

    authorization = ""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return self.authorization

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


telemetry_schema.auth(TelemetryToken)


@pytest.fixture(scope="module")
def telemetry_token(dev_keys: Path) -> None:
    token = mint_telemetry_token(
        dev_keys, actor_hash="schemathesis_actor", org_hash="schemathesis_org", consent_level=3, biometric=True
    )
    TelemetryToken.authorization = f"Bearer {token}"


@telemetry_schema.parametrize()
@SETTINGS
def test_telemetry(case: schemathesis.Case, telemetry_url: str, telemetry_token: None) -> None:
    case.call_and_validate(base_url=telemetry_url)


def test_every_operation_is_exercised() -> None:
    # A document with no operations would make the two tests above vacuous.
    for schema in (core_api_schema, telemetry_schema):
        assert sum(1 for _ in schema.get_all_operations()) >= 2
