"""Every telemetry route with control characters in each query and path parameter (and extreme dates in
any date parameter), generated from the app's route table (``tests.service_common.parameter_sweep``).

Each route is called with a token of the kind ``helpers/routes.py: ROUTES`` allows on it, so the values
reach the handler; every answer must be a 4xx problem naming the parameter, never a 500.
"""

from __future__ import annotations

import pytest

from tests.service_common.parameter_sweep import probes, routes, wrong_answers
from tests.telemetry.helpers.app import APP
from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.routes import INGEST, READ, ROUTES, SERVICE, token

CLAIMS = {INGEST: {}, READ: {"role": "staff"}, SERVICE: {"role": "service"}}


def test_the_sweep_covers_every_route() -> None:
    assert routes(APP) == sorted(ROUTES)
    assert sum(len(probes(APP, method, path)) for method, path in routes(APP)) > 20


@pytest.mark.parametrize(("method", "path"), routes(APP))
def test_hostile_parameter_values_get_a_4xx_problem(ingest: Ingest, method: str, path: str) -> None:
    headers = token(ingest, **CLAIMS[ROUTES[(method, path)]])
    assert wrong_answers(ingest.client, method, path, {}, headers) == []
    assert ingest.stored_count() == 0
