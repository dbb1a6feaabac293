"""How many worker processes a service starts."""

from __future__ import annotations

import os

import pytest
from service_common.serve import ServerSettings, worker_count


def test_zero_means_one_per_cpu() -> None:
    assert worker_count(ServerSettings(workers=0)) == (os.cpu_count() or 1)
    assert worker_count(ServerSettings(workers=3)) == 3


def test_a_one_process_service_takes_one_and_refuses_more() -> None:
    reason = "the spool folder belongs to one process"
    assert worker_count(ServerSettings(workers=0), one_process_only=reason) == 1
    assert worker_count(ServerSettings(workers=1), one_process_only=reason) == 1
    with pytest.raises(SystemExit, match="SERVER_WORKERS=4 is not possible: the spool folder"):
        worker_count(ServerSettings(workers=4), one_process_only=reason)
