from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telemetry.helpers.harness import Ingest, ingest_app


@pytest.fixture(scope="module", params=["server", "embedded"])
def ingest_module(request: pytest.FixtureRequest, chdb_dir: Path, dev_keys: Path) -> Iterator[Ingest]:
    """The telemetry app on a freshly migrated database of each backend, shared by a module's tests."""
    yield from ingest_app(request, request.param, chdb_dir, dev_keys)


@pytest.fixture
def ingest(ingest_module: Ingest) -> Ingest:
    """The module's app with a new actor for this test."""
    ingest_module.new_actor()
    return ingest_module
