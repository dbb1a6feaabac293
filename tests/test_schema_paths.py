"""Every API documentation path both services serve, fetched from the running service.

Found by review: ``/schema`` and every page under it answered 500 on both services (the strict-request
hook could not read the signatures of Litestar's own schema handlers), while the README promised them and
the snapshot test only compared the checked-in document with the generating code. The paths come from
each app's route table (every fixed path under ``/schema``) and the README; each must answer 200 from the
real process, and the served document must be the checked-in one.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.core_api.helpers.app import APP as CORE_API_APP
from tests.telemetry.helpers.app import APP as TELEMETRY_APP
from tools.openapi import OPENAPI_DIR

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SERVICES: dict[str, tuple[str, Litestar]] = {
    "core-api": ("core_api_url", CORE_API_APP),
    "telemetry": ("telemetry_url", TELEMETRY_APP),
}


def schema_paths(app: Litestar) -> list[str]:
    """Every fixed path under ``/schema`` the app routes (not the catch-all ``/schema/{path:str}``)."""
    return sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/schema") and "{" not in route.path
    )


# The test asks for its service's fixture by name while it runs, so what the service needs is marked here.
SERVICE_NEEDS = {"core-api": pytest.mark.postgres, "telemetry": pytest.mark.clickhouse_server}
CASES = [
    pytest.param(service, path, marks=[pytest.mark.processes, SERVICE_NEEDS[service]])
    for service, (_, app) in SERVICES.items()
    for path in schema_paths(app)
]


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.headers["content-type"], response.read()


def test_every_schema_path_the_readme_names_is_served() -> None:
    named = set(re.findall(r"`(/schema[^`\s]*)`", README))
    assert "/schema/openapi.json" in named
    for service, (_, app) in SERVICES.items():
        assert named <= set(schema_paths(app)), f"{service} does not serve every path the README names"


@pytest.mark.parametrize(("service", "path"), CASES)
def test_each_schema_path_answers_from_the_running_service(
    request: pytest.FixtureRequest, service: str, path: str
) -> None:
    base_url: str = request.getfixturevalue(SERVICES[service][0])
    checked_in: Any = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    status, content_type, body = fetch(base_url + path)
    assert status == 200
    if path.endswith(".json"):
        assert json.loads(body) == checked_in, f"/schema/openapi.json differs from contracts/openapi/{service}.json"
    else:
        assert content_type.startswith("text/html")
        if path != "/schema/oauth2-redirect.html":  # Swagger UI's sign-in helper, not a page of the API
            assert f"<title>{checked_in['info']['title']}</title>".encode() in body
