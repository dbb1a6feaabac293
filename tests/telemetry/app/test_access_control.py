"""Who may call each telemetry route, on both ClickHouse engines.

``helpers/routes.py: ROUTES`` lists every route the app serves (a test fails when a new one is missing) with who may
call it: patient devices ingest under their consent, staff read their organization's aggregates, and
core-api's service token only erases and reads session evidence. Every route refuses a missing or broken
token with a 401 problem (``tests.service_common.auth.crafted_tokens``); ingest refuses staff and service
tokens and too little consent with 403, reads refuse patient and service tokens with 403, and the service
routes patient and staff tokens. Reads are scoped by the token's organization
hash: staff of organization B asking for A's views, media and pose sessions by id get 404 or an empty
result, never A's figures, and B's service token erasing A's actor hash leaves A's rows alone.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from litestar.routes import HTTPRoute
from telemetry.erasure import erasure_statements

from tests.core_api.helpers.responses import problem
from tests.service_common.auth.crafted_tokens import bad_tokens
from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import ANALYTICS_EVENT, ERROR_REPORT, media_events, pose_frame
from tests.telemetry.helpers.routes import INGEST, READ, ROUTES, SERVICE, token
from tools.tokens import mint_telemetry_token

PUBLIC = re.compile(r"^/(healthz|readyz)$|^/schema|^/\.well-known/")
PARAMETER = re.compile(r"\{([a-z_]+):(uuid|str)\}")

VIEW = str(uuid.uuid4())
POSE_SESSION = str(uuid.uuid4())
MEDIA = "exercise-access-control"


def ingest_body(path: str, session: str = VIEW) -> Any:
    """A valid body for an ingest route."""
    if path == "/v1/media/events":
        return [{**event, "session_id": session, "media_id": MEDIA} if "media_id" in event else
                {**event, "session_id": session} for event in media_events()]  # fmt: skip
    if path == "/v1/pose/frames":
        return {"session_id": POSE_SESSION, "media_id": MEDIA, "frames": [pose_frame(n) for n in range(1, 4)]}
    if path == "/v1/media/cmcd":
        # A player's CMCD v2 event target: the play request and the first frame of the view, as text lines.
        return (
            f'cid="{MEDIA}",e=ps,sid="{session}",sn=0,sta=s,ts=1771232400000,v=2\n'
            f'cid="{MEDIA}",e=ps,msd=1200,sid="{session}",sn=1,sta=p,ts=1771232401200,v=2\n'
        )
    if path == "/v1/beacon":
        return {"media_events": ingest_body("/v1/media/events", session), "analytics_events": [ANALYTICS_EVENT]}
    return ANALYTICS_EVENT if path == "/v1/analytics/track" else ERROR_REPORT


def concrete(path: str) -> str:
    values = {"session_id": VIEW, "media_id": MEDIA, "actor_hash": "actor_nobody"}
    return PARAMETER.sub(lambda match: values[match.group(1)], path)


def request(ingest: Ingest, method: str, path: str, headers: dict[str, str], target: str | None = None) -> Any:
    if path == "/v1/beacon":
        # A beacon carries the token in its text/plain body, never in a header.
        credentials = {"token": headers["Authorization"].removeprefix("Bearer ")} if headers else {}
        beacon = {**credentials, **ingest_body(path)}
        return ingest.client.post(
            target or path, content=msgspec.json.encode(beacon), headers={"Content-Type": "text/plain"}
        )
    if path == "/v1/media/cmcd":
        content_type = {"Content-Type": "application/cmcd"}
        return ingest.client.post(target or path, content=ingest_body(path).encode(), headers=headers | content_type)
    body = ingest_body(path) if method == "POST" else None
    return ingest.client.request(
        method,
        target or concrete(path),
        content=None if body is None else msgspec.json.encode(body),
        headers={**headers, "Content-Type": "application/json"} if body is not None else headers,
    )


def test_the_table_lists_exactly_the_apps_routes(ingest: Ingest) -> None:
    served = {
        (method, route.path)
        for route in ingest.client.app.routes
        if isinstance(route, HTTPRoute) and not PUBLIC.match(route.path)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"
    }
    assert sorted(served - ROUTES.keys()) == [], "telemetry routes missing from ROUTES"
    assert sorted(ROUTES.keys() - served) == [], "ROUTES lists routes the app does not serve"


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_no_token_and_every_broken_token_are_401(ingest: Ingest, method: str, path: str) -> None:
    def mint(**overrides: Any) -> str:
        return mint_telemetry_token(ingest.keys, actor_hash=ingest.actor_hash, org_hash=ingest.org_hash,
                                    consent_level=3, biometric=True, **overrides)  # fmt: skip

    cases: dict[str, dict[str, str]] = {"no token": {}} | {
        case: {"Authorization": f"Bearer {broken}"} for case, broken in bad_tokens(mint, "org", "org_other").items()
    }
    wrong = []
    for case, headers in cases.items():
        response = request(ingest, method, path, headers)
        if response.status_code != 401 or response.headers.get("content-type") != "application/problem+json":
            wrong.append(f"{case}: {response.status_code} {response.text[:200]}")
    assert wrong == []


# Each refused caller of each kind of route, as token claims.
REFUSED: dict[str, dict[str, dict[str, Any]]] = {
    INGEST: {
        "staff": {"role": "staff"},
        "service": {"role": "service"},
        "consent 0": {"consent_level": 0},
    },
    READ: {"patient": {"role": "patient"}, "service": {"role": "service"}},
    SERVICE: {"patient": {"role": "patient"}, "staff": {"role": "staff"}},
}


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_callers_of_the_wrong_kind_are_403(ingest: Ingest, method: str, path: str) -> None:
    for claims in REFUSED[ROUTES[(method, path)]].values():
        problem(request(ingest, method, path, token(ingest, **claims)), 403)
    assert ingest.stored_count() == 0


@pytest.mark.parametrize(
    ("path", "claims"),
    [
        ("/v1/media/events", {"consent_level": 1}),
        ("/v1/analytics/track", {"consent_level": 1}),
        ("/v1/pose/frames", {"consent_level": 1}),
        ("/v1/pose/frames", {"biometric": False}),
        ("/v1/beacon", {"consent_level": 1}),
        ("/v1/media/cmcd", {"consent_level": 1}),
    ],
)
def test_too_little_consent_is_403(ingest: Ingest, path: str, claims: dict[str, Any]) -> None:
    problem(request(ingest, "POST", path, token(ingest, **claims)), 403)
    assert ingest.stored_count() == 0


def test_another_organizations_staff_never_read_its_figures(ingest: Ingest) -> None:
    org_a, org_b = f"org_a_{uuid.uuid4().hex}", f"org_b_{uuid.uuid4().hex}"
    ingest.org_hash = org_a
    for path in ("/v1/media/events", "/v1/pose/frames"):
        assert request(ingest, "POST", path, token(ingest)).status_code == 202
    ingest.flush()
    a_staff, b_staff = token(ingest, role="staff"), token(ingest, role="staff", org_hash=org_b)
    reads = {
        "qoe": f"/v1/media/sessions/{VIEW}/qoe?actor_hash={ingest.actor_hash}",
        "media": f"/v1/media/{MEDIA}/stats?period=7d",
        "pose": f"/v1/pose/sessions/{POSE_SESSION}/stats?actor_hash={ingest.actor_hash}",
        "bandwidth": "/v1/media/bandwidth/stats?period=7d",
        "ranking": "/v1/media/ranking?period=7d",
        "form issues": f"/v1/pose/media/{MEDIA}/form-issues?period=7d",
    }
    # Control: A's staff see A's figures.
    mine = {name: ingest.client.get(path, headers=a_staff) for name, path in reads.items()}
    assert {name: response.status_code for name, response in mine.items()} == dict.fromkeys(reads, 200)
    assert mine["media"].json()["views"] == 1
    assert mine["pose"].json()["frames"] == 3
    assert len(mine["bandwidth"].json()["groups"]) == 1
    assert [entry["media_id"] for entry in mine["ranking"].json()["media"]] == [MEDIA]
    assert (mine["form issues"].json()["sessions"], mine["form issues"].json()["frames"]) == (1, 3)

    theirs = {name: ingest.client.get(path, headers=b_staff) for name, path in reads.items()}
    problem(theirs["qoe"], 404)
    problem(theirs["pose"], 404)
    media = theirs["media"].json()
    assert (theirs["media"].status_code, media["views"], media["completed_views"]) == (200, 0, 0)
    assert (theirs["bandwidth"].status_code, theirs["bandwidth"].json()["groups"]) == (200, [])
    assert (theirs["ranking"].status_code, theirs["ranking"].json()["media"]) == (200, [])
    form_issues = theirs["form issues"].json()
    assert (theirs["form issues"].status_code, form_issues["sessions"], form_issues["issues"]) == (200, 0, [])

    # B's service token erasing A's actor hash touches only B's rows.
    erased = ingest.client.delete(f"/v1/actors/{ingest.actor_hash}", headers=token(ingest, role="service",
                                                                                  org_hash=org_b))  # fmt: skip
    assert erased.status_code == 202, erased.text
    assert ingest.client.get(reads["pose"], headers=a_staff).json()["frames"] == 3
    assert ingest.client.get(reads["media"], headers=a_staff).json()["views"] == 1


@pytest.mark.parametrize(
    "actor_hash",
    ["x' OR 1=1 OR 'a'='a", "x'; DROP TABLE media_events; --", "é", "a" * 129, "a b"],
)
def test_erasure_refuses_anything_but_a_hashed_id(ingest: Ingest, actor_hash: str) -> None:
    # Found by schemathesis: the path parameter went unchecked into the DELETE mutation's quoted string,
    # so a quote could widen it to every row of every organization.
    assert request(ingest, "POST", "/v1/pose/frames", token(ingest)).status_code == 202
    ingest.flush()
    before = ingest.stored_count()
    erased = ingest.client.delete(f"/v1/actors/{quote(actor_hash, safe='')}", headers=token(ingest, role="service"))
    problem(erased, 422)
    assert ingest.stored_count() == before > 0


def test_erasure_statements_keep_a_hostile_hash_inside_its_string() -> None:
    assert erasure_statements("", "org' OR '1'='1", "x' OR '1'='1")[0] == (
        "ALTER TABLE media_events DELETE WHERE org_hash = 'org\\' OR \\'1\\'=\\'1' "
        "AND actor_hash = 'x\\' OR \\'1\\'=\\'1'"
    )
