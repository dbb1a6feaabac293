"""The telemetry routes as the tests see them: who may call each one, tokens for those callers, and the
routes found in an app's route table."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.telemetry.helpers.app import APP
from tests.telemetry.helpers.harness import Ingest
from tools.tokens import mint_telemetry_token

INGEST, READ, SERVICE = "ingest", "read", "service"

ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/media/events"): INGEST,
    ("POST", "/v1/pose/frames"): INGEST,
    ("POST", "/v1/analytics/track"): INGEST,
    ("POST", "/v1/errors/report"): INGEST,
    ("POST", "/v1/beacon"): INGEST,
    ("POST", "/v1/media/cmcd"): INGEST,
    ("GET", "/v1/media/bandwidth/stats"): READ,
    ("GET", "/v1/media/sessions/{session_id:uuid}/qoe"): READ,
    ("GET", "/v1/media/{media_id:str}/stats"): READ,
    ("GET", "/v1/media/ranking"): READ,
    ("GET", "/v1/pose/sessions/{session_id:uuid}/stats"): READ,
    ("GET", "/v1/pose/media/{media_id:str}/form-issues"): READ,
    ("DELETE", "/v1/actors/{actor_hash:str}"): SERVICE,
    ("POST", "/v1/session-evidence"): SERVICE,
}
"""Every route the app serves but the public ones, with who may call it: patient devices ingest, staff
read, core-api's service token erases and reads session evidence (``app/test_access_control.py`` fails when
a route is missing)."""

INGEST_ROUTES = sorted(
    route.path
    for route in APP.routes
    if isinstance(route, HTTPRoute)
    and any("POST" in handler.http_methods for handler in route.route_handlers)
    and ROUTES.get(("POST", route.path), INGEST) == INGEST
)
"""The paths of the ingest routes, as the app's route table has them (so a new POST route is covered until
ROUTES says it is not an ingest route)."""


def token(ingest: Ingest, **claims: Any) -> dict[str, str]:
    """A telemetry token of the test's actor and organization: consent 3 with biometric unless overridden."""
    fields: dict[str, Any] = {"consent_level": 3, "biometric": True} | claims
    minted = mint_telemetry_token(
        ingest.keys,
        actor_hash=fields.pop("actor_hash", ingest.actor_hash),
        org_hash=fields.pop("org_hash", ingest.org_hash),
        **fields,
    )
    return {"Authorization": f"Bearer {minted}"}


def routes_flagged(app: Litestar, flag: str) -> list[tuple[str, str]]:
    """The (method, path) of every route of ``app`` whose handler carries the ``opt`` flag ``flag``."""
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.opt.get(flag)
        for method in handler.http_methods
    )
