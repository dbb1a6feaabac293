"""Schemathesis over every operation of both checked-in OpenAPI documents, against the real services.

Positive and negative data, all of schemathesis's checks (status codes documented, response bodies
conforming to the schema, content types, server errors). The services run as real processes on the test
PostgreSQL and ClickHouse server.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tests.core_api.helpers.routes import ROUTES
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


# Statuses each operation answered to its own method (schemathesis also sends other methods and OPTIONS),
# by service; each token fixture checks its service's figures when the module's tests end.
ANSWERS: dict[str, defaultdict[str, Counter[int]]] = {
    "core-api": defaultdict(Counter),
    "telemetry": defaultdict(Counter),
}
# Shares of operations that must have answered 2xx at least once. Measured: core-api 72-73 of 84 (the rest
# are writes whose rules random data does not meet: an IANA time zone, references to existing objects, a
# plan in draft; and reads of a random plan id), telemetry 16 of 16 (the CMCD route with the generated reports below).
CORE_API_MIN_REACHED = 0.8
TELEMETRY_MIN_REACHED = 1.0


def record(service: str, case: schemathesis.Case, response: Any) -> None:
    if response.request.method == case.method.upper():
        ANSWERS[service][case.operation.label][response.status_code] += 1


def check_answers(service: str, minimum_share: float) -> None:
    """Fail when too few operations ever answered 2xx: requests that never pass authentication or the
    rate limit (a token the provider does not set, one actor for every ingest call) would test only the
    refusals and still pass."""
    answers = ANSWERS[service]
    if not answers:
        return  # none of this service's operations ran (deselected)
    reached = {label for label, statuses in answers.items() if any(200 <= code < 300 for code in statuses)}
    share = len(reached) / len(answers)
    print(f"{service}: {len(reached)} of {len(answers)} operations answered 2xx at least once ({share:.0%})")
    assert share >= minimum_share, f"never 2xx: {sorted(set(answers) - reached)}"


def _route(path: str) -> str:
    """A Litestar route path without its parameter types: ``/v1/x/{id:int}`` → ``/v1/x/{id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


# The first role the route matrix allows for each operation, admin first: every call is made by someone
# who may make it, so it reaches the handler (the matrix tests cover the refusals).
CORE_API_ROLES = {
    (method, _route(path)): next(role for role in ("admin", "specialist", "patient") if role in roles)
    for (method, path), roles in ROUTES.items()
}


class CoreApiToken:
    """Schemathesis's auth provider: a user of a seeded organization in a role the operation allows.

    Registered with schemathesis (rather than passed as headers) so that it knows which requests are
    authenticated and can check that leaving the token out is refused.
    """

    by_role: ClassVar[dict[str, str]] = {}

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        role = CORE_API_ROLES.get((case.method.upper(), case.operation.path), "admin")
        return self.by_role.get(role, "")  # empty while schemathesis collects, before the fixture ran

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


# refresh_interval=None: asked for every case, since the token depends on the operation.
core_api_schema.auth(refresh_interval=None)(CoreApiToken)


@pytest.fixture(scope="module")
def core_api_tokens(postgres: PostgresUrls, dev_keys: Path) -> Iterator[None]:
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        org = seed_organization(conn, dev_keys, "Schemathesis Clinic")
    CoreApiToken.by_role = {role: org.headers(role)["Authorization"] for role in ("admin", "specialist", "patient")}
    yield
    check_answers("core-api", CORE_API_MIN_REACHED)


@core_api_schema.parametrize()
@SETTINGS
def test_core_api(case: schemathesis.Case, core_api_url: str, core_api_tokens: None) -> None:
    record("core-api", case, case.call_and_validate(base_url=core_api_url))


class TelemetryToken:
    """Schemathesis's auth provider for telemetry, by what the operation takes: ingest a patient's token
    with full consent (level 3 and biometric), a new actor every 20 calls so the per-actor rate limit
    (bursts of 30) does not answer in the handler's place; reads a staff token of the same organization;
    erasure and session evidence core-api's service token."""

    tokens: ClassVar[dict[str, str]] = {}
    calls = 0

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        if not self.tokens:
            return ""  # schemathesis collecting, before the fixture ran
        if case.method.upper() == "GET":
            return self.tokens["staff"]
        if case.method.upper() == "DELETE" or case.operation.path == "/v1/session-evidence":
            return self.tokens["service"]
        TelemetryToken.calls += 1
        actor = f"schemathesis_actor_{TelemetryToken.calls // 20}"
        return f"Bearer {mint(actor_hash=actor, consent_level=3, biometric=True)}"

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data
        # The beacon takes its token in the body: a generated token string gives way to the real one, while
        # a negative case that broke the token itself (not a string, empty, too long) stays broken.
        body = case.body
        if case.operation.path == "/v1/beacon" and isinstance(body, dict):
            token = body.get("token")
            if isinstance(token, str) and 1 <= len(token) <= 4096:
                case.body = {**body, "token": data.removeprefix("Bearer ")}


telemetry_schema.auth(refresh_interval=None)(TelemetryToken)


def _cmcd_report(sid: str, cid: str, state: str, at: int, startup_ms: int | None) -> str:
    members = [f'cid="{cid}"', "e=ps", f'sid="{sid}"', f"sta={state}", f"ts={at}", "v=2"]
    return ",".join([*members, f"msd={startup_ms}"] if startup_ms is not None else members)


# POST /v1/media/cmcd takes CMCD's own line format, which schemathesis cannot generate from a JSON Schema:
# player reports of one view as a CMCD event target sends them (play-state reports), in any order.
_CMCD_LINES = st.builds(
    lambda sid, cid, reports: "".join(_cmcd_report(sid, cid, *report) + "\n" for report in reports).encode(),
    st.uuids().map(str),
    st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z"),
    st.lists(
        st.tuples(
            st.sampled_from("spkrawefqd"),
            st.integers(1_771_232_400_000, 1_771_232_400_000 + 3_600_000),
            st.none() | st.integers(0, 60_000),
        ),
        min_size=1,
        max_size=20,
    ),
)
schemathesis.openapi.media_type("application/cmcd", _CMCD_LINES)
schemathesis.openapi.media_type("text/cmcd", _CMCD_LINES)
KEYS: list[Path] = []


def mint(**claims: Any) -> str:
    return mint_telemetry_token(KEYS[0], org_hash="schemathesis_org", **claims)


@pytest.fixture(scope="module")
def telemetry_tokens(dev_keys: Path) -> Iterator[None]:
    KEYS[:] = [dev_keys]
    TelemetryToken.tokens = {
        "staff": f"Bearer {mint(actor_hash='schemathesis_staff', consent_level=0, role='staff')}",
        "service": f"Bearer {mint(actor_hash='core-api', consent_level=0, role='service')}",
    }
    yield
    check_answers("telemetry", TELEMETRY_MIN_REACHED)


@telemetry_schema.parametrize()
@SETTINGS
def test_telemetry(case: schemathesis.Case, telemetry_url: str, telemetry_tokens: None) -> None:
    record("telemetry", case, case.call_and_validate(base_url=telemetry_url))


def test_every_operation_is_exercised() -> None:
    # A document with no operations would make the two tests above vacuous.
    for schema in (core_api_schema, telemetry_schema):
        assert sum(1 for _ in schema.get_all_operations()) >= 2
