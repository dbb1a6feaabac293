"""Every core-api route refuses every kind of broken bearer token with a 401 problem.

The routes are ``test_route_matrix.ROUTES`` (which fails when the app serves a route it does not list);
the tokens are ``tests.service_common.crafted_tokens``: expired, not yet valid (``nbf`` an hour ahead,
beyond the 30 s leeway), valid for a century, with ``exp`` as a string, ``alg: none``, signed by another
key under the real ``kid``, for another audience or issuer, and with a claim changed after signing, each
made from a seeded admin's token. One request per (route, case).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_api.app import create_app
from core_api.settings import DatabaseSettings, HttpSettings, MigrationSettings, Settings
from litestar import Litestar
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings

from tests.core_api.seed import Org, seed_organization
from tests.core_api.test_route_matrix import ROUTES, call
from tests.service_common.crafted_tokens import bad_tokens
from tools.databases import PostgresUrls
from tools.tokens import mint_token

CASES = (
    "expired",
    "not yet valid",
    "exp a century ahead",
    "exp as a numeric string",
    "alg none",
    "wrong key",
    "wrong audience",
    "wrong issuer",
    "tampered claims",
)


@pytest.fixture(scope="module")
def client(postgres: PostgresUrls, auth_settings: AuthSettings) -> Iterator[TestClient[Litestar]]:
    settings = Settings(
        database=DatabaseSettings(url=postgres.app, pool_min_size=1, pool_max_size=4),
        migrations=MigrationSettings(),
        http=HttpSettings(),
        log=LogSettings(format="json", level="warning"),
        auth=auth_settings,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin_org(postgres: PostgresUrls, dev_keys: Path) -> Org:
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        return seed_organization(conn, dev_keys, "Bad Token Clinic")


def admin_token(org: Org, dev_keys: Path, **overrides: Any) -> str:
    return mint_token(dev_keys, user_id=org.admin_user, role="admin", organization_id=org.id, **overrides)


@pytest.fixture(scope="module")
def tokens(admin_org: Org, dev_keys: Path) -> dict[str, str]:
    """The broken tokens, from the seeded admin's token (the tampered one claims the next organization)."""

    def mint(**overrides: Any) -> str:
        return admin_token(admin_org, dev_keys, **overrides)

    made = bad_tokens(mint, "org_id", admin_org.id + 1)
    assert sorted(made) == sorted(CASES)
    return made


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_a_broken_token_is_401_on_every_route(
    client: TestClient[Litestar], tokens: dict[str, str], method: str, path: str, case: str
) -> None:
    response = call(client, method, path, {"Authorization": f"Bearer {tokens[case]}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["type"] == "https://problems.telerehab.example/unauthenticated"


def test_the_token_they_are_broken_from_is_accepted(
    client: TestClient[Litestar], admin_org: Org, dev_keys: Path
) -> None:
    """Control: the 401s above come from what each case breaks, not from the token they start from."""
    token = admin_token(admin_org, dev_keys)
    response = client.get("/v1/automation/rules", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
