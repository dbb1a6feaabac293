"""Schemathesis over every operation of both checked-in OpenAPI documents, against the real services.

Positive and negative data, all of schemathesis's checks (status codes documented, response bodies
conforming to the schema, content types, server errors). The services run as real processes on the test
PostgreSQL and ClickHouse server.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

OPENAPI = Path(__file__).resolve().parents[2] / "contracts" / "openapi"

core_api_schema = schemathesis.openapi.from_path(OPENAPI / "core-api.json")
telemetry_schema = schemathesis.openapi.from_path(OPENAPI / "telemetry.json")

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


@core_api_schema.parametrize()
@SETTINGS
def test_core_api(case: schemathesis.Case, core_api_url: str) -> None:
    case.call_and_validate(base_url=core_api_url)


@telemetry_schema.parametrize()
@SETTINGS
def test_telemetry(case: schemathesis.Case, telemetry_url: str) -> None:
    case.call_and_validate(base_url=telemetry_url)


def test_every_operation_is_exercised() -> None:
    # A document with no operations would make the two tests above vacuous.
    for schema in (core_api_schema, telemetry_schema):
        assert sum(1 for _ in schema.get_all_operations()) >= 2
