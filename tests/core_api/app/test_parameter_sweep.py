"""Every core-api route with control characters in each query and path parameter and extreme dates in each
date parameter, generated from the app's route table (``tests.service_common.parameter_sweep``).

Found by review: ``q=%00`` reached PostgreSQL (``DataError``: text cannot hold NUL) and
``date=9999-12-31`` overflowed the weekly report's date arithmetic, both 500s. Each route is called by a
role ``ROUTES`` (tests/core_api/helpers/routes.py) allows on it, with the organization's real objects in
the path where it has them (an active enrollment, so the adherence reports compute), so the values reach the handler.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_api.app import create_app
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.strict_requests import EARLIEST, LATEST

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.app import APP
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.responses import Client
from tests.core_api.helpers.routes import ROUTES
from tests.core_api.helpers.settings import app_settings
from tests.core_api.seed import Org, seed_organization
from tests.service_common.parameter_sweep import date_parameters, probes, routes, wrong_answers
from tools.databases import PostgresUrls

ROLE_PREFERENCE = ("admin", "specialist", "patient")


@dataclass
class World:
    client: Client
    org: Org
    values: dict[str, Any]
    """A real object of the organization for each path parameter it has one for."""


@pytest.fixture(scope="module")
def world(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[World]:
    settings = app_settings(postgres, auth_settings, telemetry_token=telemetry_token_settings(dev_keys))
    with (
        psycopg.connect(postgres.superuser, autocommit=True) as conn,
        TestClient(create_app(settings)) as client,
    ):
        org = seed_organization(conn, dev_keys, "Sweep Clinic")
        enrollment = enroll(client, conn, org)
        values = {
            "patient_id": org.patient,
            "user_id": org.patient_user,
            "specialist_id": org.specialist,
            "exercise_id": org.exercises[0],
            "plan_id": enrollment["treatment_plan"]["id"],
            "enrollment_id": enrollment["id"],
        }
        yield World(client, org, values)


def test_the_sweep_covers_every_route_and_the_date_parameters() -> None:
    assert routes(APP) == sorted(ROUTES)
    assert sum(len(probes(APP, method, path)) for method, path in routes(APP)) > 300
    assert {("GET", "/v1/patient-treatment-plans/{enrollment_id:int}/adherence/weekly", "date"),
            ("GET", "/v1/adherence/weekly", "week"),
            ("GET", "/v1/dashboards/organization", "from")} <= date_parameters(APP)  # fmt: skip


@pytest.mark.parametrize(("method", "path"), routes(APP))
def test_hostile_parameter_values_get_a_4xx_problem(world: World, method: str, path: str) -> None:
    role = next(role for role in ROLE_PREFERENCE if role in ROUTES[(method, path)])
    assert wrong_answers(world.client, method, path, world.values, world.org.headers(role)) == []


@pytest.mark.parametrize("day", [EARLIEST.isoformat(), LATEST.isoformat()])
def test_dates_at_the_bounds_are_answered(world: World, day: str) -> None:
    enrollment = world.values["enrollment_id"]
    admin = world.org.headers("admin")
    for target in (
        f"/v1/patient-treatment-plans/{enrollment}/adherence/weekly?date={day}",
        f"/v1/adherence/weekly?week={day}",
        f"/v1/dashboards/organization?from={day}&to={day}",
    ):
        response = world.client.get(target, headers=admin)
        assert response.status_code == 200, (target, response.text)


@pytest.mark.parametrize("day", ["9999-12-31", "2201-01-01", "1899-12-31"])
def test_a_body_date_out_of_range_is_a_422_naming_the_field(world: World, day: str) -> None:
    # Found with the sweep: a self-assignment starting 9999-12-31 overflowed computing its end date (500).
    response = world.client.post(
        f"/v1/treatment-plans/{world.values['plan_id']}/self-assign",
        json={"start_date": day},
        headers=world.org.headers("patient"),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["start_date"]


@pytest.mark.parametrize(
    "target", ["/v1/adherence/weekly?max_percent=null", "/v1/adherence/weekly?week=null", "/v1/patients?page=null"]
)
def test_null_is_no_value_of_a_number_or_date_parameter(world: World, target: str) -> None:
    # Found by schemathesis once the documents typed these parameters without null: Litestar read the
    # literal `null` as "not given" and answered 200 to a request the document calls invalid.
    response = world.client.get(target, headers=world.org.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [
        f"query:{target.split('?')[1].split('=', maxsplit=1)[0]}"
    ]


def test_null_is_a_text_parameters_value(world: World) -> None:
    response = world.client.get("/v1/patients?q=null", headers=world.org.headers("admin"))
    assert response.status_code == 200, response.text
