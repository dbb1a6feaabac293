"""The vendored upstream CRDs: unmodified (their git blob ids are the ones the README records from
upstream), and applied strictly by tools/deploy_check.py (unknown fields and values upstream refuses fail)."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import pytest

from tests.markers import needs
from tools import deploy_check

README = deploy_check.CRD_SCHEMAS / "README.md"


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_every_vendored_crd_is_byte_for_byte_the_upstream_file_the_readme_names() -> None:
    recorded = dict(re.findall(r"^\| `([^`]+\.yaml)` \| `([0-9a-f]{40})` \|$", README.read_text(), re.MULTILINE))
    files = {str(path.relative_to(deploy_check.CRD_SCHEMAS)) for path in deploy_check.CRD_SCHEMAS.glob("*/*.yaml")}
    assert set(recorded) == files
    for name, blob in recorded.items():
        assert _blob_id((deploy_check.CRD_SCHEMAS / name).read_bytes()) == blob, name


@pytest.fixture(scope="module")
@needs("kubectl")
def prod() -> list[dict[str, Any]]:
    return deploy_check.render(deploy_check.OVERLAYS / "prod")


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(doc for doc in docs if doc["kind"] == kind))


def test_fields_and_values_upstream_refuses_fail(prod: list[dict[str, Any]]) -> None:
    cluster = _one(prod, "Cluster")
    assert deploy_check.validate(cluster) == ([], True)
    cluster["spec"]["postgresql"]["synchronous"]["dataDurabilty"] = "required"
    cluster["spec"]["postgresql"]["synchronous"]["method"] = "some"
    errors = deploy_check.validate(cluster)[0]
    assert any("'dataDurabilty' was unexpected" in error for error in errors)
    assert any("'some' is not one of ['any', 'first']" in error for error in errors)
    chi = _one(prod, "ClickHouseInstallation")
    chi["spec"]["templates"]["volumeClaimTemplates"][0]["reclaimPolicy"] = "Keep"
    assert any("'Keep' is not one of" in error for error in deploy_check.validate(chi)[0])
    # The Kubernetes types Altinity leaves open are checked against the Kubernetes schemas.
    chi = _one(prod, "ClickHouseInstallation")
    chi["spec"]["templates"]["podTemplates"][0]["spec"]["containers"][0]["imagePolicy"] = "Always"
    assert deploy_check.validate(chi)[0] != []
