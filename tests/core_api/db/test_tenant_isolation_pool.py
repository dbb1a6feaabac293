"""One pooled connection serving two organizations in turn never carries one's tenant into the other's.

core-api's pool is cut to exactly one connection, so every request of organization A and of
organization B runs on the same PostgreSQL session; the tenant lives in transaction-local settings
(``core_api.db.tenancy``). 1,000 requests alternate between A's and B's staff and patients, up to
:data:`CONCURRENCY` at a time so they queue for the connection, and none may answer an id of the other
organization.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_api.app import create_app
from core_api.settings import Settings
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient
from service_common.auth.settings import AuthSettings

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.settings import app_settings
from tests.core_api.seed import Org, seed_organization
from tools.databases import PostgresUrls

REQUESTS = 1_000
CONCURRENCY = 16
TIME_LIMIT_SECONDS = 60.0


@dataclass
class Tenant:
    org: Org
    plan: str
    patients: set[int]
    enrollments: set[int]


def settings(postgres: PostgresUrls, auth: AuthSettings, keys: Path, connections: int) -> Settings:
    return app_settings(postgres, auth, pool_max_size=connections, telemetry_token=telemetry_token_settings(keys))


def _ids(conn: psycopg.Connection, query: str, org: int) -> set[int]:
    return {row[0] for row in conn.execute(query, (org,))}


@pytest.fixture(scope="module")
def tenants(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[tuple[Tenant, Tenant]]:
    """Two organizations, each with an enrollment of its first patient, made through a normal app."""
    with (
        psycopg.connect(postgres.superuser, autocommit=True) as conn,
        TestClient(create_app(settings(postgres, auth_settings, dev_keys, 4))) as client,
    ):
        made = []
        for name in ("Pool Clinic A", "Pool Clinic B"):
            org = seed_organization(conn, dev_keys, name)
            enrollment = enroll(client, conn, org)
            made.append(
                Tenant(
                    org,
                    enrollment["treatment_plan"]["id"],
                    _ids(conn, "SELECT id FROM patients WHERE organization_id = %s", org.id),
                    _ids(conn, "SELECT id FROM patient_treatment_plans WHERE organization_id = %s", org.id),
                )
            )
        yield made[0], made[1]


def requests_of(tenant: Tenant) -> list[tuple[str, dict[str, str]]]:
    """The reads one tenant's actors take turns with: lists and an object of their own."""
    org = tenant.org
    return [
        ("/v1/patients", org.headers("specialist")),
        ("/v1/patient-treatment-plans", org.headers("admin")),
        (f"/v1/treatment-plans/{tenant.plan}", org.headers("specialist")),
        (f"/v1/patients/{org.patient}/treatment-plans", org.headers("patient")),
    ]


def check(tenant: Tenant, other: Tenant, path: str, body: dict[str, Any]) -> str | None:
    """What is wrong with ``body`` as ``tenant``'s answer to ``path``, or None."""
    seen: set[Any]
    mine: set[Any]
    theirs: set[Any]
    if path == "/v1/patients":
        seen = {item["id"] for item in body["patients"]}
        mine, theirs = tenant.patients, other.patients
    elif path == "/v1/patient-treatment-plans" or path.endswith("/treatment-plans"):
        seen = {item["id"] for item in body["patient_treatment_plans"]}
        mine, theirs = tenant.enrollments, other.enrollments
    else:
        seen, mine, theirs = {body["id"]}, {tenant.plan}, {other.plan}
    if not seen or not seen <= mine or seen & theirs:
        return f"{path} for organization {tenant.org.id} answered {sorted(map(str, seen))}"
    return None


@pytest.mark.anyio
async def test_alternating_tenants_on_one_connection_see_only_their_own_rows(
    postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    turns = [(a, b, requests_of(a)), (b, a, requests_of(b))]
    plan = [
        (tenant, other, *calls[(number // 2) % len(calls)])
        for number in range(REQUESTS)
        for tenant, other, calls in [turns[number % 2]]
    ]
    app: Litestar = create_app(settings(postgres, auth_settings, dev_keys, 1))
    assert app.state.pool.max_size == 1
    wrong: list[str] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    started = time.monotonic()
    async with AsyncTestClient(app) as client:

        async def one(tenant: Tenant, other: Tenant, path: str, headers: dict[str, str]) -> None:
            async with limit:
                response = await client.get(path, headers=headers)
            if response.status_code != 200:
                wrong.append(f"{path}: {response.status_code} {response.text[:200]}")
                return
            problem = check(tenant, other, path, response.json())
            if problem:
                wrong.append(problem)

        await asyncio.gather(*(one(*call) for call in plan))
    elapsed = time.monotonic() - started
    summary = f"{REQUESTS} requests, {CONCURRENCY} in flight, one connection, {elapsed:.1f}s"
    print(summary)
    assert wrong == [], "\n".join([summary, *wrong[:20]])
    assert elapsed < TIME_LIMIT_SECONDS, summary
