"""Bad input on every core-api write and list route, derived from the route matrix so no route escapes.

- **Mass assignment.** Every body type refuses unknown fields, down to its nested objects; a valid body
  that also carries ``organization_id``, ``role``, ``deleted_at``, ``status``, ``id`` or ``created_at`` is
  a 422 naming the field, and nothing is written. Routes that take no body never read one.
- **Hostile bodies.** NUL characters, a 1 MB string, NaN and Infinity, 10,000-deep nesting, text and form
  content types, an empty body and invalid UTF-8 are each a 4xx problem, never a 500, and write nothing.
- **Paging abuse.** Out-of-range and non-integer ``page`` and ``limit`` on every list route are a 422.

"Nothing is written" is checked on PostgreSQL itself: a request that writes anything, to any table,
commits a transaction and so moves the server's next transaction id; a refused request must not.
"""

from __future__ import annotations

import re
import typing
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from service_common.strict_requests import _body_type

from tests.core_api.helpers.app import APP
from tests.core_api.helpers.responses import Json
from tests.core_api.helpers.routes import ROUTES
from tests.core_api.helpers.world import (
    BODY_ROUTES,
    HANDLERS,
    MINIMAL_BODIES,
    WRITE_ROUTES,
    World,
    body_type_name,
    minimal_body,
)
from tests.service_common.json_paths import is_string, paths, with_nul_at

MASS_ASSIGNED = ("organization_id", "role", "deleted_at", "status", "id", "created_at")


def query_names(app: Litestar) -> dict[tuple[str, str], set[str]]:
    """The query parameters Litestar reads for each (method, path) of ``app``."""
    return {
        (method, route.path): {parameter.field_alias for parameter in model.expected_query_params}
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method, (_, model) in route.route_handler_map.items()
    }


QUERY_NAMES = query_names(APP)
BODYLESS_ROUTES = [route for route in WRITE_ROUTES if _body_type(HANDLERS[route]) is None]
LIST_ROUTES = sorted(route for route in ROUTES if route[0] == "GET" and {"page", "limit"} & QUERY_NAMES[route])


def problem(response: Any) -> Json:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: Json = response.json()
    return body


def names(response: Any, field: str) -> bool:
    """Whether a problem names ``field``: as the field at fault, or in a message about an unknown field."""
    body = problem(response)
    texts = [body.get("detail") or ""] + [f"{e['field']} {e['message']}" for e in body.get("errors") or []]
    return any(f"`{field}`" in text or text.startswith(f"{field} ") for text in texts)


# Mass assignment --------------------------------------------------------------------------------------------


def structs_within(type_: Any, seen: set[Any] | None = None) -> Iterator[Any]:
    """Every msgspec Struct type reachable from ``type_`` (fields, unions, containers, Annotated)."""
    seen = set() if seen is None else seen
    if type_ in seen:
        return
    seen.add(type_)
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        yield type_
        for hint in typing.get_type_hints(type_, include_extras=True).values():
            yield from structs_within(hint, seen)
        return
    for argument in typing.get_args(type_):
        yield from structs_within(argument, seen)


def test_every_write_route_has_a_minimal_body() -> None:
    assert len(WRITE_ROUTES) == len(BODY_ROUTES) + len(BODYLESS_ROUTES) >= 38
    missing = sorted({body_type_name(route) for route in BODY_ROUTES} - MINIMAL_BODIES.keys())
    assert missing == [], "add a minimal body for these types"


@pytest.mark.parametrize("route", BODY_ROUTES, ids=" ".join)
def test_every_body_type_refuses_unknown_fields_at_every_depth(route: tuple[str, str]) -> None:
    body_type = _body_type(HANDLERS[route])
    lax = [
        struct.__name__ for struct in structs_within(body_type) if not struct.__struct_config__.forbid_unknown_fields
    ]
    assert lax == []
    minimal = msgspec.convert(minimal_body(route), body_type, strict=True)
    assert minimal is not None


@pytest.mark.parametrize("route", BODY_ROUTES, ids=" ".join)
def test_a_valid_body_with_a_server_owned_field_is_422_naming_it(world: World, route: tuple[str, str]) -> None:
    for field in MASS_ASSIGNED:
        body = minimal_body(route) | {field: 1 if field.endswith("id") else "x"}
        response = world.send(route, json=body, headers=world.headers(route))
        assert response.status_code == 422, response.text
        assert names(response, field), response.text


# Fields with a transition of their own (its rules, its guard, its audit row) and the only bodies that may
# carry them: a generic create or edit that also took one would bypass that route, as PUT with
# ``visibility`` once bypassed the admin-only promote (issue 15, item 5). ``visibility`` and
# ``created_for_patient_id`` may be given when a plan is made; after that only promote changes them.
TRANSITION_FIELDS: dict[str, set[str]] = {
    "visibility": {"TreatmentPlanCreate", "PlanPromote"},
    "created_for_patient_id": {"PlanClone"},
    "status": {"EnrollmentStatusChange"},
    "published": {"ExerciseCreate", "ExerciseUpdate"},  # exercises have no publish route; plans do
    "version": set(),
}


def test_fields_with_a_transition_of_their_own_are_in_no_other_body() -> None:
    carriers = {
        (field, struct.__name__)
        for route in BODY_ROUTES
        for struct in structs_within(_body_type(HANDLERS[route]))
        for field in (f.encode_name for f in msgspec.structs.fields(struct))
        if field in TRANSITION_FIELDS
    }
    assert sorted(name for name in carriers if name[1] not in TRANSITION_FIELDS[name[0]]) == []


@pytest.mark.parametrize("route", BODYLESS_ROUTES, ids=" ".join)
def test_routes_without_a_body_never_read_one(world: World, route: tuple[str, str]) -> None:
    # These handlers declare no ``data``: a body is never decoded, so its fields cannot reach a row. The
    # answer with server-owned fields in the body is the answer without a body.
    assert "data" not in typing.get_type_hints(HANDLERS[route].fn)
    headers = world.headers(route)
    path = world.path(route[1]).replace(world.params.get("plan_id", ""), str(uuid.uuid4()))
    path = re.sub(r"/\d+(/|$)", r"/987654321\1", path)
    plain = world.client.request(route[0], path, headers=headers)
    loaded = world.client.request(
        route[0], path, headers=headers, json=dict.fromkeys(MASS_ASSIGNED, world.org.id + 1000)
    )
    assert loaded.status_code == plain.status_code < 500, loaded.text


def test_a_created_plan_keeps_the_callers_organization(world: World) -> None:
    # The control for the refusals above: the same body without the extra field is stored, in the
    # caller's organization.
    route = ("POST", "/v1/treatment-plans")
    created = world.client.post(route[1], json=minimal_body(route), headers=world.headers(route))
    assert created.status_code == 201, created.text
    with psycopg.connect(world.postgres.superuser) as conn:
        row = conn.execute("SELECT organization_id FROM treatment_plans WHERE id = %s", (created.json()["id"],))
        assert row.fetchone() == (world.org.id,)


# Hostile bodies ---------------------------------------------------------------------------------------------


def hostile_bodies(route: tuple[str, str]) -> dict[str, tuple[bytes, str]]:
    """Each hostile case as (body bytes, content type); one NUL case per string of the body."""
    body = minimal_body(route) if route in BODY_ROUTES else {"name": "x"}
    valid = msgspec.json.encode(body)
    first_key = next(iter(body), "name")
    more = b"," if body else b""
    nul_cases = {
        f"nul-in-{'.'.join(map(str, path))}": (msgspec.json.encode(with_nul_at(body, path)), "application/json")
        for path in paths(body, is_string)
    } or {"nul-in-key": (valid[:-1] + more + b'"a\\u0000": "b\\u0000"}', "application/json")}
    return {
        **nul_cases,
        "1mb-string": (msgspec.json.encode(body | {first_key: "x" * 1_048_576}), "application/json"),
        "nan": (valid[:-1] + more + b'"pain_level_before": NaN}', "application/json"),
        "infinity": (valid[:-1] + more + b'"x": -Infinity}', "application/json"),
        "nested-10000": (b'{"x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "application/json"),
        "text-plain": (valid, "text/plain"),
        "form-encoded": (b"name=x&organization_id=1", "application/x-www-form-urlencoded"),
        "empty": (b"", "application/json"),
        "invalid-utf8": (valid[:-1] + more + b'"name": "\xff\xfe\xc3"}', "application/json"),
    }


@pytest.mark.parametrize("route", BODY_ROUTES, ids=" ".join)
def test_hostile_bodies_are_4xx_problems_and_write_nothing(world: World, route: tuple[str, str]) -> None:
    for case, (content, content_type) in hostile_bodies(route).items():
        response = world.send(route, content=content, headers={**world.headers(route), "Content-Type": content_type})
        assert 400 <= response.status_code < 500, f"{case}: {response.status_code} {response.text}"
        problem(response)
        if case in {"text-plain", "form-encoded"}:
            assert response.status_code == 415, response.text


@pytest.mark.parametrize("route", BODYLESS_ROUTES, ids=" ".join)
def test_hostile_bodies_on_routes_without_a_body_are_never_read(world: World, route: tuple[str, str]) -> None:
    # Path ids point at no object, so the answer is a refusal that writes nothing (the telemetry token,
    # which has no path id, writes nothing either); a hostile body must not change that answer.
    path = re.sub(r"/\d+(/|$)", r"/987654321\1", world.path(route[1])).replace(
        world.params["plan_id"], str(uuid.uuid4())
    )
    headers = world.headers(route)
    plain = world.client.request(route[0], path, headers=headers)
    for case, (content, content_type) in hostile_bodies(route).items():
        before = world.next_xid()
        response = world.client.request(
            route[0], path, content=content, headers={**headers, "Content-Type": content_type}
        )
        assert world.committed_since(before) == [], case
        assert response.status_code == plain.status_code < 500, f"{case}: {response.status_code} {response.text}"


# Paging abuse -----------------------------------------------------------------------------------------------

BAD_PAGING = [
    {"limit": "0"},
    {"limit": "101"},
    {"limit": str(10**12)},
    {"limit": "-1"},
    {"limit": "ten"},
    {"limit": "1.5"},
    {"page": "0"},
    {"page": "-1"},
    {"page": str(10**12)},
    {"page": str(10**30)},
    {"page": "x"},
    {"page": ""},
]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=" ".join)
def test_bad_page_and_limit_are_422(world: World, route: tuple[str, str]) -> None:
    declared = QUERY_NAMES[route]
    for params in BAD_PAGING:
        if not params.keys() <= declared:
            continue
        response = world.client.get(world.path(route[1]), params=params, headers=world.headers(route))
        assert response.status_code == 422, f"{params}: {response.status_code} {response.text}"
        problem(response)
