"""The stateful schemathesis workflow over core-api, run by ``tests/contract/test_stateful.py`` as a
process of its own: ``python -m tests.contract.stateful_workflow BASE_URL SUPERUSER_URL KEYS_DIR``
prints one JSON line with what it ran.

In the test process, the scenarios Hypothesis generated (derandomized) depended on the tests that had run
before in that process: 26 linked calls after the suite's first tests, 62 alone, identical run after run
in each order. A fresh interpreter makes the run the same whatever else the suite does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

import psycopg
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import Bundle
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.stateful import _step_case_strategy, is_root_allowed, transition

from tests.core_api.seed import seed_organization

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


def main(argv: list[str]) -> None:
    base_url, superuser_url, keys = argv
    CoreApiWorkflow.base_url = base_url
    CoreApiWorkflow.superuser_url = superuser_url
    CoreApiWorkflow.keys = Path(keys)
    started = time.monotonic()
    CoreApiWorkflow.run(settings=SETTINGS)
    summary = {
        "link_inference": bool(schema.config.phases.stateful.inference.algorithms),
        "scenarios": CoreApiWorkflow.scenarios,
        "calls": sum(CoreApiWorkflow.calls.values()),
        "linked_calls": dict(CoreApiWorkflow.linked_calls.most_common()),
        "linked_statuses": {str(status): n for status, n in sorted(CoreApiWorkflow.linked_statuses.items())},
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
