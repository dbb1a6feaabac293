"""Stateful schemathesis over core-api: chains of calls that follow the OpenAPI links of the checked-in
document (a plan created, then read, changed, published, given sessions; a patient created, then read,
exported, erased...), against the real service, with every check on.

Each scenario runs as the admin of an organization of its own, seeded when the scenario starts: a
scenario never meets what an earlier one created, so the same generated calls get the same answers
whenever Hypothesis replays them (a shared organization turns a replayed create into a 409 and
Hypothesis into ``FlakyStrategyDefinition``). Links come only from the document: schemathesis's own link
inference is off (``schemathesis.toml``), so the figures below measure the links the code generates.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
import schemathesis
from core_api.db.migrate import migrate
from core_api.db.provision import APP_ROLE, OWNER_ROLE, provision
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import Bundle
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.stateful import _step_case_strategy, is_root_allowed, transition

from tests.conftest import core_api_env, start_service, stop_service
from tests.core_api.seed import seed_organization
from tests.markers import needs
from tools.databases import PostgresUrls, with_user_and_database

OPENAPI = Path(__file__).resolve().parents[2] / "contracts" / "openapi"
CONFIG = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))
schema = schemathesis.openapi.from_path(OPENAPI / "core-api.json", config=CONFIG)

# Bounded for the suite: about 80 scenarios of up to 10 calls. EXPLORE=1 searches with fresh random data.
SETTINGS = settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "80")),
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("EXPLORE") != "1",
    database=None,
    # A failure is reported as found: shrinking would replay calls against a database that has moved on.
    phases=[Phase.generate],
)

# Floors the run must reach, so that a document without links, or links the machine cannot follow
# (wrong expressions, a target that always answers 404), fails the test instead of passing vacuously.
STATEFUL_DATABASE = "rehab_stateful"
MIN_DOCUMENT_LINKS = 90
MIN_LINKED_CALLS = 30
MIN_LINKED_SUCCESSES = 15
MIN_LINKS_FOLLOWED = 5


# Not cached: each scenario has its own admin.
@schema.auth(refresh_interval=None)
class ScenarioAdminToken:
    """Schemathesis's auth provider: the admin of the organization the running scenario seeded."""

    authorization = ""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return self.authorization

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


Workflow = schema.as_state_machine()

# Schemathesis starts scenarios only at POSTs it judges likely to succeed, and guesses from the body's
# ``post_session_form_template_id`` that creating a plan needs a resource nothing produces; the plan
# chains (sessions, exercises, versions, publish) start there, so that root is added explicitly.
CREATE_PLAN = schema["/v1/treatment-plans"]["POST"]
CREATE_PLAN_ROOT = "RANDOM_CreateTreatmentPlan"


class CoreApiWorkflow(Workflow):  # type: ignore[misc,valid-type]
    """The state machine schemathesis builds from the links, on the real service, counting what it ran."""

    root_rules = Workflow.root_rules | {CREATE_PLAN_ROOT}
    _root_labels = Workflow._root_labels | {CREATE_PLAN.label}  # type: ignore[attr-defined]

    base_url: ClassVar[str] = ""
    superuser_url: ClassVar[str] = ""
    keys: ClassVar[Path] = Path()
    scenarios: ClassVar[int] = 0
    calls: ClassVar[Counter[str]] = Counter()
    # "<source> -> <status> -> <target>" → calls whose path parameters came from the source's response.
    linked_calls: ClassVar[Counter[str]] = Counter()
    linked_statuses: ClassVar[Counter[int]] = Counter()

    def setup(self) -> None:
        type(self).scenarios += 1
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            org = seed_organization(conn, self.keys, f"Stateful Clinic {self.scenarios}")
        ScenarioAdminToken.authorization = org.headers("admin")["Authorization"]

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"base_url": self.base_url}

    def step(self, input: StepInput) -> StepOutput:
        output: StepOutput = super().step(input)
        type(self).calls[input.case.operation.label] += 1
        if input.transition is not None and input.is_applied:
            type(self).linked_calls[input.transition.id] += 1
            type(self).linked_statuses[output.response.status_code] += 1
        return output


setattr(
    CoreApiWorkflow,
    CREATE_PLAN_ROOT,
    transition(
        name=CREATE_PLAN_ROOT,
        target=Bundle("catch_all"),
        precondition=is_root_allowed(CREATE_PLAN.label),
        input=_step_case_strategy(
            CREATE_PLAN,
            schema.config.generation_for(operation=CREATE_PLAN, phase="stateful").modes,
            feedback=NO_FEEDBACK,
        ).map(StepInput.initial),
    ),
)


def _document_links() -> int:
    document = json.loads((OPENAPI / "core-api.json").read_text())
    return sum(
        len(response.get("links", {}))
        for item in document["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
    )


@dataclass(frozen=True)
class OwnCoreApi:
    url: str
    database: PostgresUrls


@pytest.fixture(scope="module")
@needs("processes")
def own_core_api(postgres: PostgresUrls, dev_keys: Path) -> Iterator[OwnCoreApi]:
    """core-api on a database of its own. Generated requests name ids that exist or not depending on what
    the database holds, so on the suite's shared database the scenarios, and the links they follow,
    depended on the tests that ran before (from 26 to 79 linked calls); on an empty one they are the same
    in every run."""
    database = PostgresUrls(
        superuser=with_user_and_database(postgres.superuser, "postgres", STATEFUL_DATABASE),
        owner=with_user_and_database(postgres.superuser, OWNER_ROLE, STATEFUL_DATABASE),
        app=with_user_and_database(postgres.superuser, APP_ROLE, STATEFUL_DATABASE),
    )
    provision(postgres.superuser, STATEFUL_DATABASE)
    migrate(database.owner)
    url, process = start_service("core_api", core_api_env(database, dev_keys))
    yield OwnCoreApi(url, database)
    stop_service(process)


def test_core_api_stateful(own_core_api: OwnCoreApi, dev_keys: Path) -> None:
    links = _document_links()
    assert links >= MIN_DOCUMENT_LINKS, f"the document has {links} links"
    assert not schema.config.phases.stateful.inference.algorithms, "links must come from the document only"

    CoreApiWorkflow.base_url = own_core_api.url
    CoreApiWorkflow.superuser_url = own_core_api.database.superuser
    CoreApiWorkflow.keys = dev_keys
    started = time.monotonic()
    CoreApiWorkflow.run(settings=SETTINGS)
    elapsed = time.monotonic() - started

    linked = sum(CoreApiWorkflow.linked_calls.values())
    successes = sum(n for status, n in CoreApiWorkflow.linked_statuses.items() if 200 <= status < 300)
    print(
        f"stateful core-api: {links} links in the document; {CoreApiWorkflow.scenarios} scenarios, "
        f"{sum(CoreApiWorkflow.calls.values())} calls, {linked} along a link "
        f"({len(CoreApiWorkflow.linked_calls)} distinct links, {successes} answered 2xx); "
        f"statuses of linked calls {dict(sorted(CoreApiWorkflow.linked_statuses.items()))}; {elapsed:.1f} s"
    )
    for name, count in CoreApiWorkflow.linked_calls.most_common():
        print(f"  {count:3d}  {name}")
    assert linked >= MIN_LINKED_CALLS
    assert successes >= MIN_LINKED_SUCCESSES
    assert len(CoreApiWorkflow.linked_calls) >= MIN_LINKS_FOLLOWED


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    CoreApiWorkflow.scenarios = 0
    CoreApiWorkflow.calls = Counter()
    CoreApiWorkflow.linked_calls = Counter()
    CoreApiWorkflow.linked_statuses = Counter()
