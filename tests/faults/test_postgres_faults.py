"""core-api when PostgreSQL fails under it: backends terminated mid-transaction, the server stopped and
started again. The long variants run in ``make soak`` (tools/soak.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scenarios import backends_terminated_mid_transaction, postgres_stopped_under_load
from tools.databases import PostgresUrls

pytestmark = pytest.mark.processes  # both scenarios run core-api as a process


def test_backends_terminated_mid_transaction_leave_no_half_written_completion(
    postgres: PostgresUrls, dev_keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = backends_terminated_mid_transaction(postgres, dev_keys, completions=100, time_limit_seconds=30.0)
    with capsys.disabled():
        print(f"\n{report}")


@pytest.mark.postgres  # a PostgreSQL of its own, which it stops and starts
def test_postgres_stopped_answers_503_quickly_and_recovers_without_a_restart(
    tmp_path: Path, dev_keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = postgres_stopped_under_load(tmp_path / "postgres", dev_keys, down_seconds=5.0)
    with capsys.disabled():
        print(f"\n{report}")
