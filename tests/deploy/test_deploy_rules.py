"""tools/deploy_rules.py: every overlay keeps the deployment rules, and each rule catches the defect the
outside review found (#22), shown on a copy of the rendered overlay with that defect put back."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.markers import needs
from tools import deploy_check, deploy_rules

Doc = dict[str, Any]
OVERLAYS = deploy_check.overlays()


@pytest.fixture(scope="module")
@needs("kubectl")
def rendered() -> dict[str, list[Doc]]:
    return {overlay.name: deploy_check.render(overlay) for overlay in OVERLAYS}


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    return next(doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name)


def without(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if not (d["kind"] == kind and (name is None or d["metadata"]["name"] == name))]


def test_every_overlay_keeps_every_rule(rendered: dict[str, list[Doc]]) -> None:
    for overlay, docs in rendered.items():
        assert deploy_rules.problems(docs, overlay) == [], overlay


def _pod(name: str, namespace: str, **labels: str) -> deploy_rules.Pod:
    return deploy_rules.Pod(name, namespace, labels)


def test_the_policy_evaluator_reads_selectors_namespaces_ports_and_ip_blocks() -> None:
    policies = [
        {"kind": "Namespace", "metadata": {"name": "app", "labels": {"team": "a"}}},
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "db", "namespace": "app"},
            "spec": {
                "podSelector": {"matchLabels": {"role": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    # Both selectors in one peer: pods of that label in namespaces of that label.
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}},
                                "podSelector": {"matchExpressions": [{"key": "tool", "operator": "Exists"}]},
                            },
                            {"podSelector": {"matchLabels": {"role": "client"}}},
                        ],
                        "ports": [{"protocol": "TCP", "port": 5000, "endPort": 5010}],
                    }
                ],
            },
        },
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "client-out", "namespace": "app"},
            "spec": {
                "podSelector": {"matchLabels": {"role": "client"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
            },
        },
    ]
    network = deploy_rules.Network(policies)
    db, client = _pod("db", "app", role="db"), _pod("client", "app", role="client")
    tool, stranger = _pod("tool", "ops", tool="x"), _pod("stranger", "ops", role="client")
    # The client's only egress is public addresses: pods (private addresses) are out of reach.
    assert not network.allows(client, db, 5005)
    assert network.allows(tool, db, 5005)
    assert not network.allows(tool, db, 5011)
    # A podSelector alone means the policy's own namespace.
    assert not network.allows(stranger, db, 5005)
    # Nothing selects the tool's side or ingress into the client: open.
    assert network.allows(db, tool, 1)


Mutation = Callable[[list[Doc]], list[Doc]]


def _edit(kind: str, name: str, change: Callable[[Doc], object]) -> Mutation:
    def mutate(docs: list[Doc]) -> list[Doc]:
        docs = copy.deepcopy(docs)
        change(named(docs, kind, name))
        return docs

    return mutate


def _flusher_only(doc: Doc) -> None:
    spec = doc["spec"]["template"]["spec"]
    spec["containers"] = [c for c in spec["containers"] if c["name"] != "flusher"]


# Each finding of the review, put back into the rendered prod overlay, and what the rules say about it.
FINDINGS: dict[str, tuple[Mutation, str]] = {
    "1 ClickHouse cut off": (
        lambda docs: without(docs, "NetworkPolicy", "clickhouse-server"),
        "network: telemetry cannot reach clickhouse telemetry shard 0 on 9000",
    ),
    "1 Keeper cut off": (
        lambda docs: without(docs, "NetworkPolicy", "clickhouse-keeper"),
        "network: clickhouse telemetry shard 0 cannot reach keeper telemetry-keeper on 2181",
    ),
    "1 PostgreSQL open": (
        lambda docs: without(docs, "NetworkPolicy", "postgres-server"),
        "network: a pod of another namespace reaches postgres rehab-postgres-1 on 5432 without needing it",
    ),
    "2 no ClickHouse alert": (
        lambda docs: without(docs, "PrometheusRule"),
        "telemetry_readiness: ClickHouseInstallation/telemetry: no alert when a server is down",
    ),
    "3 asynchronous": (
        _edit("Cluster", "rehab-postgres", lambda c: c["spec"]["postgresql"].pop("synchronous")),
        "postgres_replication: Cluster/rehab-postgres: replication is not synchronous with dataDurability required",
    ),
    "3 no PodMonitor": (
        lambda docs: without(docs, "PodMonitor"),
        "postgres_replication: Cluster/rehab-postgres: no PodMonitor scrapes its instances",
    ),
    "3 in-tree barman": (
        _edit("Cluster", "rehab-postgres", lambda c: c["spec"].update(backup={"barmanObjectStore": {}}, plugins=[])),
        "postgres_replication: Cluster/rehab-postgres: backup.barmanObjectStore (deprecated) instead of the "
        "Barman Cloud plugin",
    ),
    "4 out of memory": (
        _edit("Cluster", "rehab-postgres", lambda c: c["spec"]["resources"]["limits"].update(memory="512Mi")),
        "postgres_memory: Cluster/rehab-postgres: shared_buffers + max_connections x 4 MiB = 1512 MiB > memory "
        "limit 512 MiB",
    ),
    "4 single instance with a PDB": (
        _edit("Cluster", "rehab-postgres", lambda c: c["spec"].update(instances=1)),
        "postgres_memory: Cluster/rehab-postgres: one instance with a PodDisruptionBudget blocks node drains "
        "(enablePDB)",
    ),
    "5 volumes deleted": (
        _edit(
            "ClickHouseInstallation",
            "telemetry",
            lambda c: c["spec"]["templates"]["volumeClaimTemplates"][0].pop("reclaimPolicy"),
        ),
        "clickhouse_durability: ClickHouseInstallation/telemetry: volume claim template clickhouse-data is not "
        "reclaimPolicy Retain",
    ),
    "5 replicas on one node": (
        _edit(
            "ClickHouseInstallation",
            "telemetry",
            lambda c: c["spec"]["templates"]["podTemplates"][0].pop("podDistribution"),
        ),
        "clickhouse_durability: ClickHouseInstallation/telemetry: the replicas of a shard may share a node "
        "(no ShardAntiAffinity)",
    ),
    "5 no backup": (
        lambda docs: without(docs, "CronJob", "clickhouse-backup"),
        "clickhouse_durability: ClickHouseInstallation/telemetry: no CronJob backs it up (BACKUP ... ON CLUSTER "
        "telemetry)",
    ),
    "6 databases after the Jobs": (
        _edit("Cluster", "rehab-postgres", lambda c: c["metadata"]["annotations"].pop("argocd.argoproj.io/sync-wave")),
        "sync_waves: Job/core-api-migrate (wave -1) is not after Cluster/rehab-postgres and 0 more: the migration "
        "Jobs need the databases",
    ),
    "7 no flusher": (
        _edit("StatefulSet", "telemetry", _flusher_only),
        "spool_drain: StatefulSet/telemetry: no flusher container (python -m telemetry.flusher) beside the server",
    ),
    "7 grace too short": (
        _edit(
            "StatefulSet", "telemetry", lambda s: s["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=50)
        ),
        "spool_drain: StatefulSet/telemetry: terminationGracePeriodSeconds 50 < flusher preStop 25 s + "
        "SPOOL_DRAIN_SECONDS 25 + 5",
    ),
    "7 no orphan alert": (
        lambda docs: without(docs, "PrometheusRule"),
        "spool_drain: StatefulSet/telemetry: no alert on spool claims left by scaled-down pods",
    ),
    "8 floating ClickHouse tag": (
        _edit(
            "ClickHouseInstallation",
            "telemetry",
            lambda c: c["spec"]["templates"]["podTemplates"][0]["spec"]["containers"][0].update(
                image="clickhouse/clickhouse-server:24.8"
            ),
        ),
        "image_pins: ClickHouseInstallation/telemetry/clickhouse: clickhouse/clickhouse-server:24.8 is not at an "
        "exact version (4 numbers)",
    ),
    "8 prod by tag": (
        _edit(
            "Cluster", "rehab-postgres", lambda c: c["spec"].update(imageName="ghcr.io/cloudnative-pg/postgresql:17.5")
        ),
        "image_pins: Cluster/rehab-postgres: ghcr.io/cloudnative-pg/postgresql:17.5 is not pinned by digest",
    ),
}


@pytest.mark.parametrize("finding", FINDINGS)
def test_each_review_finding_fails_the_rules(rendered: dict[str, list[Doc]], finding: str) -> None:
    mutate, expected = FINDINGS[finding]
    assert expected in deploy_rules.problems(mutate(rendered["prod"]), "prod")


def test_release_refuses_the_placeholder_digest(rendered: dict[str, list[Doc]]) -> None:
    unreleased = deploy_rules.unreleased_images(rendered["prod"])
    assert "Cluster/rehab-postgres: ghcr.io/cloudnative-pg/postgresql:17.5@sha256:set-at-release" in unreleased
    released = copy.deepcopy(rendered["prod"])
    named(released, "Cluster", "rehab-postgres")["spec"]["imageName"] = (
        "ghcr.io/cloudnative-pg/postgresql:17.5@sha256:" + "a" * 64
    )
    assert deploy_rules.image_pins(released, "prod") == []
    assert not any(item.startswith("Cluster/") for item in deploy_rules.unreleased_images(released))
