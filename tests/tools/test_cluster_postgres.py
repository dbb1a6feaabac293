"""``make cluster-check``'s PostgreSQL half takes its replication mode from the prod overlay, one source for
both, and writes ``synchronous_standby_names`` as CloudNativePG does."""

from __future__ import annotations

import pytest

from tools.cluster.postgres_cluster import Synchronous, prod_instances, prod_synchronous


def test_standby_names_list_the_other_instances_as_cloudnativepg_writes_them() -> None:
    names = Synchronous(method="any", number=1, data_durability="required").standby_names(["pg-2", "pg-3"])
    assert names == 'ANY 1 ("pg-2","pg-3")'
    assert Synchronous(method="first", number=2, data_durability="required").standby_names(["a", "b"]) == (
        'FIRST 2 ("a","b")'
    )


@pytest.mark.kubectl
def test_the_check_runs_the_replication_the_prod_overlay_renders() -> None:
    assert prod_synchronous() == Synchronous(method="any", number=1, data_durability="required")
    assert prod_instances() == 3
