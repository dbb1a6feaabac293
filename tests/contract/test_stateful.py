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
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from core_api.db.migrate import migrate
from core_api.db.provision import APP_ROLE, OWNER_ROLE, provision

from tests.conftest import ROOT, core_api_env, start_service, stop_service
from tests.markers import needs
from tools.databases import PostgresUrls, with_user_and_database

OPENAPI = ROOT / "contracts" / "openapi"
STATEFUL_DATABASE = "rehab_stateful"
# Floors the run must reach, so that a document without links, or links the machine cannot follow
# (wrong expressions, a target that always answers 404), fails the test instead of passing vacuously.
MIN_DOCUMENT_LINKS = 90
MIN_LINKED_CALLS = 30
MIN_LINKED_SUCCESSES = 15
MIN_LINKS_FOLLOWED = 5


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
    """core-api on a database of its own: generated requests name ids that exist or not depending on what
    the database holds, so on the suite's shared database the answers depended on the tests before."""
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

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.contract.stateful_workflow",
            own_core_api.url,
            own_core_api.database.superuser,
            str(dev_keys),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert not summary["link_inference"], "links must come from the document only"

    linked_calls: dict[str, int] = summary["linked_calls"]
    statuses = {int(status): n for status, n in summary["linked_statuses"].items()}
    linked = sum(linked_calls.values())
    successes = sum(n for status, n in statuses.items() if 200 <= status < 300)
    print(
        f"stateful core-api: {links} links in the document; {summary['scenarios']} scenarios, "
        f"{summary['calls']} calls, {linked} along a link ({len(linked_calls)} distinct links, {successes} "
        f"answered 2xx); statuses of linked calls {statuses}; {summary['seconds']} s"
    )
    for name, count in linked_calls.items():
        print(f"  {count:3d}  {name}")
    assert linked >= MIN_LINKED_CALLS
    assert successes >= MIN_LINKED_SUCCESSES
    assert len(linked_calls) >= MIN_LINKS_FOLLOWED
