"""Every core-api route that answers 201, from the app's route table: the OpenAPI document declares
``Location`` on it, its answer carries that header, and a GET of that path reads what was created (same
``id``). Every created resource has a read route of its own for ``Location`` to point at."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import pytest
from service_common.strict_requests import _body_type

from tests.core_api.helpers.app import APP
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.plans import published_plan
from tests.core_api.helpers.world import HANDLERS, World, minimal_body, role_for


def _created_routes() -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) → the document's 201 response, for every route whose operation declares one."""
    document = APP.openapi_schema.to_schema()
    responses = {
        operation["operationId"]: operation["responses"]["201"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "201" in operation.get("responses", {})
    }
    return {
        route: responses[handler.operation_id]
        for route, handler in HANDLERS.items()
        if handler.operation_id in responses
    }


CREATED = _created_routes()


def test_the_route_table_has_the_201_routes() -> None:
    assert {route for route, handler in HANDLERS.items() if handler.status_code == 201} <= CREATED.keys()
    assert ("POST", "/v1/patient-treatment-plans/{enrollment_id:int}/sessions/{session_number:int}/start") in CREATED
    unlocated = sorted(route for route, response in CREATED.items() if "Location" not in response.get("headers", {}))
    assert unlocated == [], "201 routes whose created resource has no read route for Location to point at"
    assert len(CREATED) >= 16


def _prepare(world: World, route: tuple[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The path parameters and body that make ``route`` create something in ``world``'s organization."""
    org, client = world.org, world.client
    params, body = dict(world.params), minimal_body(route) if _body_type(HANDLERS[route]) is not None else {}
    with psycopg.connect(world.postgres.superuser, autocommit=True) as conn:
        if route[1].endswith("/self-assign"):
            params["plan_id"] = str(published_plan(client, conn, org, visibility="library")["id"])
        elif route[1] == "/v1/patient-treatment-plans":
            plan = published_plan(client, conn, org)
            body |= {"patient_id": org.patient, "treatment_plan_id": plan["id"], "start_date": date.today().isoformat()}
        elif route[1].endswith("/start"):
            params |= {"enrollment_id": str(enroll(client, conn, org)["id"]), "session_number": "1"}
    if route[1].startswith("/v1/treatment-plan-sessions/"):
        body["exercise_id"] = str(org.exercises[0])
    elif route[1] == "/v1/specialists":
        body["specialty_id"] = org.specialty
    elif route[1].endswith("/service-plans") and route[1] != "/v1/service-plans":
        body["service_plan_id"] = org.service_plan
    return params, body


@pytest.mark.parametrize("route", sorted(CREATED), ids=lambda route: f"{route[0]} {route[1]}")
def test_a_201_sends_the_location_its_document_declares(world: World, route: tuple[str, str]) -> None:
    params, body = _prepare(world, route)
    path = World(world.client, world.org, world.postgres, params).path(route[1])
    headers = world.org.headers(role_for(route))
    response = world.client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert "Location" in CREATED[route].get("headers", {})
    assert "No `Location`" not in CREATED[route]["description"]
    location = response.headers["location"]
    read = world.client.get(location, headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == response.json()["id"]
