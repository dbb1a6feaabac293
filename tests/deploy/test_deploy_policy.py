"""tools/deploy_policy.py: checkov over the rendered overlays fails only the accepted checks, each with why."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.markers import needs
from tools import deploy_check, deploy_policy


def test_accepted_findings_say_why_and_expand_per_overlay_namespace() -> None:
    entries = yaml.safe_load(deploy_policy.ACCEPTED.read_text())
    assert all(entry["why"].strip() and entry["resources"] for entry in entries)
    accepted = deploy_policy.accepted(["telerehab", "telerehab-dev"])
    assert ("CKV_K8S_35", "Deployment.telerehab.core-api") in accepted
    assert ("CKV_K8S_35", "Deployment.telerehab-dev.core-api") in accepted
    # Only dev runs a third-party image by tag; prod's every image is by digest.
    assert ("CKV_K8S_43", "CronJob.telerehab-dev.clickhouse-backup") in accepted
    assert not any(check == "CKV_K8S_43" and ".telerehab." in resource for check, resource in accepted)


@pytest.fixture(scope="module")
@needs("kubectl", "processes")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay.name: deploy_check.render(overlay) for overlay in deploy_check.overlays()}


def test_checkov_fails_nothing_but_the_accepted_checks(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert deploy_policy.problems(rendered) == []


def test_an_image_by_tag_is_a_checkov_finding(rendered: dict[str, list[dict[str, Any]]]) -> None:
    prod = [dict(doc) for doc in rendered["prod"]]
    by_tag = yaml.safe_load(
        yaml.safe_dump(next(d for d in prod if d["metadata"]["name"] == "core-api" and d["kind"] == "Deployment"))
    )
    by_tag["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.telerehab.example/telerehab/core-api:0.1.0"
    prod = [by_tag if d["kind"] == "Deployment" and d["metadata"]["name"] == "core-api" else d for d in prod]
    assert ("CKV_K8S_43", "Deployment.telerehab.core-api") in deploy_policy.findings({"prod": prod})
