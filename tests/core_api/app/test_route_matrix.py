"""Every core-api route against every role, generated from the app's own route table.

``ROUTES`` says which roles may call each route; the first test fails when the app has a route the table
does not list (or the table lists one the app no longer has), so a new route cannot slip past the checks:
no token is a 401 on every route, and a role the table leaves out is a 403 before anything is read.
Ownership (a patient's own rows, another organization's objects) is checked by each area's tests and by
row-level security; this matrix is about authentication and roles.
"""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.core_api.helpers.app import APP
from tests.core_api.helpers.routes import EVERYONE, ROUTES, app_routes, call
from tests.core_api.seed import Org


def test_the_matrix_lists_exactly_the_apps_routes() -> None:
    served = app_routes(APP)
    assert sorted(served - ROUTES.keys()) == [], "routes missing from the matrix"
    assert sorted(ROUTES.keys() - served) == [], "the matrix lists routes the app does not serve"


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_no_token_is_401(client: TestClient[Litestar], method: str, path: str) -> None:
    response = call(client, method, path, {})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_a_token_signed_by_another_key_is_401(client: TestClient[Litestar], method: str, path: str) -> None:
    forged = "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert call(client, method, path, {"Authorization": forged}).status_code == 401


FORBIDDEN = sorted((method, path, role) for (method, path), roles in ROUTES.items() for role in EVERYONE - roles)


@pytest.mark.parametrize(("method", "path", "role"), FORBIDDEN)
def test_roles_the_matrix_leaves_out_get_403(
    client: TestClient[Litestar], module_org: Org, method: str, path: str, role: str
) -> None:
    response = call(client, method, path, module_org.headers(role))
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "https://problems.telerehab.example/forbidden"
