"""Every core-api route refuses every kind of broken bearer token with a 401 problem.

The routes are ``ROUTES`` of tests/core_api/helpers/routes.py (test_route_matrix fails when the app serves
a route it does not list); the tokens are ``tests.service_common.auth.crafted_tokens``: expired, not yet
valid (``nbf`` an hour ahead, beyond the 30 s leeway), valid for a century, with ``exp`` as a string,
``alg: none``, signed by another key under the real ``kid``, for another audience or issuer, and with a
claim changed after signing, each made from a seeded admin's token. One request per (route, case).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.core_api.helpers.routes import ROUTES, call
from tests.core_api.seed import Org
from tests.service_common.auth.crafted_tokens import bad_tokens
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


def admin_token(org: Org, dev_keys: Path, **overrides: Any) -> str:
    return mint_token(dev_keys, user_id=org.admin_user, role="admin", organization_id=org.id, **overrides)


@pytest.fixture(scope="module")
def tokens(module_org: Org, dev_keys: Path) -> dict[str, str]:
    """The broken tokens, from the seeded admin's token (the tampered one claims the next organization)."""

    def mint(**overrides: Any) -> str:
        return admin_token(module_org, dev_keys, **overrides)

    made = bad_tokens(mint, "org_id", module_org.id + 1)
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
    client: TestClient[Litestar], module_org: Org, dev_keys: Path
) -> None:
    """Control: the 401s above come from what each case breaks, not from the token they start from."""
    token = admin_token(module_org, dev_keys)
    response = client.get("/v1/automation/rules", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
