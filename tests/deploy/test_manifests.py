"""The rendered Kubernetes manifests of every overlay: they validate, and they have the properties the
deployment promises (probes on the real health routes, limits, non-root pods, a PDB per workload, the
two hosts routed right, traffic limited to what each service needs, secrets only by reference)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from core_api.settings import HttpSettings as CoreApiHttp
from telemetry.settings import HttpSettings as TelemetryHttp

from tests.markers import needs
from tools import deploy_check

Doc = dict[str, Any]
OVERLAYS = deploy_check.overlays()
WORKLOADS = ("Deployment", "StatefulSet")


@pytest.fixture(scope="module", params=OVERLAYS, ids=[path.name for path in OVERLAYS])
@needs("kubectl")
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    overlay: Path = request.param
    try:
        return deploy_check.render(overlay)
    except deploy_check.DeployCheckError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
@needs("kubectl")
def prod() -> list[Doc]:
    return deploy_check.render(deploy_check.OVERLAYS / "prod")


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    return next(doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name)


def pod_templates(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """Every (object, pod template) of the app's workloads, Jobs and CronJobs."""
    for doc in docs:
        if doc["kind"] in (*WORKLOADS, "Job"):
            yield doc, doc["spec"]["template"]
        elif doc["kind"] == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]


def config(docs: list[Doc], name: str) -> dict[str, str]:
    """The data of the generated ConfigMap ``name`` (kustomize appends a hash to the name)."""
    maps = [doc for doc in of_kind(docs, "ConfigMap") if doc["metadata"]["name"].startswith(f"{name}-")]
    assert len(maps) == 1
    data: dict[str, str] = maps[0]["data"]
    return data


def labels_match(selector: Doc, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the tests only read matchLabels selectors"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def test_a_missing_kubectl_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("KUBECTL", raising=False)
    with pytest.raises(deploy_check.DeployCheckError, match="kubectl not found"):
        deploy_check.kubectl()


def test_every_overlay_validates_offline(docs: list[Doc]) -> None:
    problems = [problem for doc in docs for problem in deploy_check.validate(doc)[0]]
    assert problems == []


def test_every_container_has_limits_and_runs_unprivileged_on_a_read_only_root(docs: list[Doc]) -> None:
    for doc, template in pod_templates(docs):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security.get("runAsNonRoot", pod["securityContext"]["runAsNonRoot"]) is True, where
            # A read-only root leaves /tmp writable only as a volume of the pod's own.
            tmp = next(m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp")  # noqa: S108
            assert any(v["name"] == tmp and "emptyDir" in v for v in pod["volumes"]), where


def test_long_running_containers_have_probes_on_the_real_health_routes(docs: list[Doc]) -> None:
    for doc in docs:
        if doc["kind"] not in WORKLOADS:
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            assert "livenessProbe" in container, doc["metadata"]["name"]
            if not container.get("ports"):
                continue
            # An HTTP service: alive is /healthz, ready is /readyz (core-api: its database reachable;
            # telemetry: the process and its spool, not ClickHouse), on its own port.
            port = container["ports"][0]["name"]
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
            assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
            assert container["lifecycle"]["preStop"]["sleep"]["seconds"] > 0


def test_the_dispatcher_is_alive_while_its_heartbeat_file_is_fresh(docs: list[Doc]) -> None:
    pod = named(docs, "Deployment", "outbox-dispatcher")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "core_api.automation.dispatcher"]
    heartbeat = next(e["value"] for e in container["env"] if e["name"] == "DISPATCHER_HEARTBEAT_FILE")
    probe = " ".join(container["livenessProbe"]["exec"]["command"])
    # `find` alone exits 0 for a stale file too; the probe must fail on empty output.
    assert f"find {heartbeat} -mmin" in probe
    assert "test -n" in probe
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")  # noqa: S108 - the pod's own emptyDir
    assert any(v["name"] == tmp["name"] and "emptyDir" in v for v in pod["volumes"])


def test_every_workload_has_a_pdb_and_spreads_over_nodes(docs: list[Doc]) -> None:
    budgets = of_kind(docs, "PodDisruptionBudget")
    for doc in docs:
        if doc["kind"] not in WORKLOADS:
            continue
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert any(labels_match(pdb["spec"]["selector"], labels) for pdb in budgets), doc["metadata"]["name"]
        spread = doc["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert "kubernetes.io/hostname" in {constraint["topologyKey"] for constraint in spread}


def test_services_autoscale_and_telemetry_on_cpu(docs: list[Doc]) -> None:
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in of_kind(docs, "HorizontalPodAutoscaler")}
    assert set(targets) == {"core-api", "telemetry"}
    assert targets["telemetry"]["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
    assert [m["resource"]["name"] for m in targets["telemetry"]["spec"]["metrics"]] == ["cpu"]
    for name in targets:
        workload = next(d for d in docs if d["kind"] in WORKLOADS and d["metadata"]["name"] == name)
        assert "replicas" not in workload["spec"], "the HPA owns the replica count"


def test_core_api_workers_follow_its_cpu_limit_and_telemetry_runs_one_process(docs: list[Doc]) -> None:
    core = named(docs, "Deployment", "core-api")["spec"]["template"]["spec"]["containers"][0]
    workers = next(e for e in core["env"] if e["name"] == "SERVER_WORKERS")
    assert workers["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    telemetry = named(docs, "StatefulSet", "telemetry")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "SERVER_WORKERS", "value": "1"} in telemetry["env"]


def test_the_telemetry_spool_is_a_persistent_claim_per_pod(docs: list[Doc]) -> None:
    telemetry = named(docs, "StatefulSet", "telemetry")
    spool_dir = config(docs, "telemetry-config")["SPOOL_DIR"]
    container = telemetry["spec"]["template"]["spec"]["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == spool_dir)
    claims = {claim["metadata"]["name"] for claim in telemetry["spec"]["volumeClaimTemplates"]}
    assert mount["name"] in claims
    assert telemetry["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    # The flusher container shares the claim (tools/deploy_rules.py checks its drain fits the grace period).
    flusher = next(c for c in telemetry["spec"]["template"]["spec"]["containers"] if c["name"] == "flusher")
    assert flusher["command"] == ["python", "-m", "telemetry.flusher"]
    assert next(m for m in flusher["volumeMounts"] if m["mountPath"] == spool_dir)["name"] == mount["name"]


def test_one_migration_job_per_database_runs_before_the_rollout(docs: list[Doc]) -> None:
    jobs = {job["metadata"]["name"]: job for job in of_kind(docs, "Job")}
    commands = {name: job["spec"]["template"]["spec"]["containers"][0]["command"] for name, job in jobs.items()}
    assert commands == {
        "core-api-migrate": ["python", "-m", "core_api.db.migrate"],
        "telemetry-migrate": ["python", "-m", "telemetry.clickhouse.migrate"],
    }

    def wave(doc: Doc) -> int:
        return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))

    for job in jobs.values():
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
        # After the settings and secrets the Job reads, before every workload.
        assert max(wave(d) for d in docs if d["kind"] in ("ConfigMap", "ExternalSecret")) < wave(job)
        assert wave(job) < min(wave(d) for d in docs if d["kind"] in (*WORKLOADS, "CronJob"))


def test_cronjobs_run_the_nightly_jobs(docs: list[Doc]) -> None:
    commands = {
        cron["metadata"]["name"]: " ".join(container.get("command", []) + container.get("args", []))
        for cron in of_kind(docs, "CronJob")
        for container in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    }
    assert {name: command.rsplit(" ", 1)[-1] for name, command in commands.items() if "python" in command} == {
        "adherence-rollforward": "core_api.jobs.adherence_rollforward",
        "enrollment-expiry": "core_api.jobs.expire_enrollments",
        "core-api-retention": "core_api.jobs.retention",
        "telemetry-retention": "telemetry.jobs.retention",
    }
    assert "BACKUP DATABASE telemetry ON CLUSTER telemetry TO S3(" in commands["clickhouse-backup"]
    for cron in of_kind(docs, "CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def _body_limit_bytes(annotation: str) -> int:
    return int(annotation[:-1]) * {"k": 1024, "m": 1024**2, "g": 1024**3}[annotation[-1]]


def test_two_hosts_route_to_their_services_with_tls_and_the_services_body_limits(docs: list[Doc]) -> None:
    routes: dict[str, tuple[str, str]] = {}
    for ingress in of_kind(docs, "Ingress"):
        tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in tls_hosts
            backend = rule["http"]["paths"][0]["backend"]["service"]
            routes[rule["host"].split(".")[0]] = (
                backend["name"],
                ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"],
            )
    assert {host: service for host, (service, _) in routes.items()} == {"api": "core-api", "telemetry": "telemetry"}
    limits = {
        "core-api": int(config(docs, "core-api-config").get("HTTP_MAX_BODY_BYTES", CoreApiHttp().max_body_bytes)),
        "telemetry": int(config(docs, "telemetry-config").get("HTTP_MAX_BODY_BYTES", TelemetryHttp().max_body_bytes)),
    }
    for service, body_size in routes.values():
        assert _body_limit_bytes(body_size) == limits[service]
    for name in ("core-api", "telemetry"):
        assert named(docs, "Service", name)["spec"]["ports"][0]["name"] == "http"


def test_cors_allows_the_frontends_over_https(docs: list[Doc]) -> None:
    for name in ("core-api-config", "telemetry-config"):
        origins = config(docs, name)["HTTP_CORS_ORIGINS"].split(",")
        assert all(o.startswith(("https://", "http://localhost:")) for o in origins)
        assert any(o.startswith("https://app.") for o in origins)


def _egress_peers(docs: list[Doc], labels: dict[str, str]) -> set[str]:
    """What pods with ``labels`` may reach: "pods:<label=value>", "dns", "cidr:<block>", per port."""
    peers: set[str] = set()
    for policy in of_kind(docs, "NetworkPolicy"):
        if "Egress" not in policy["spec"]["policyTypes"] or not labels_match(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            ports = ",".join(str(port["port"]) for port in rule.get("ports", []))
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    peers.add(f"cidr:{peer['ipBlock']['cidr']}:{ports}")
                elif peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns":
                    peers.add("dns")
                else:
                    assert "namespaceSelector" not in peer, "app egress stays in the namespace"
                    selector = ",".join(f"{k}={v}" for k, v in peer["podSelector"]["matchLabels"].items())
                    peers.add(f"pods:{selector}:{ports}")
    return peers


def test_network_policies_limit_each_service_to_its_database(docs: list[Doc]) -> None:
    postgres, clickhouse = (
        "pods:cnpg.io/cluster=rehab-postgres:5432",
        "pods:clickhouse.altinity.com/chi=telemetry:9000,8123",
    )
    deny_all = named(docs, "NetworkPolicy", "default-deny")["spec"]
    assert deny_all["policyTypes"] == ["Ingress", "Egress"]
    assert "egress" not in deny_all
    assert "ingress" not in deny_all
    expected = {
        "core-api": {"dns", postgres},
        "telemetry": {"dns", clickhouse, "pods:app.kubernetes.io/name=core-api:8000"},
        # Webhooks, and the evidence of completed sessions from telemetry (verified adherence).
        "outbox-dispatcher": {"dns", postgres, "cidr:0.0.0.0/0:443", "pods:app.kubernetes.io/name=telemetry:8001"},
        # GDPR erasure: the retention job has telemetry delete an erased patient's rows.
        "core-api-retention": {"dns", postgres, "pods:app.kubernetes.io/name=telemetry:8001"},
    }
    for doc, template in pod_templates(docs):
        labels = template["metadata"]["labels"]
        assert labels_match(deny_all["podSelector"], labels), f"{doc['metadata']['name']} escapes default-deny"
        name = doc["metadata"]["name"]
        database = postgres if labels["telerehab.io/database-client"] == "postgres" else clickhouse
        assert _egress_peers(docs, labels) == expected.get(name, {"dns", database}), name


def test_secrets_come_only_from_the_external_store(docs: list[Doc]) -> None:
    assert of_kind(docs, "Secret") == []
    produced = {es["spec"]["target"]["name"] for es in of_kind(docs, "ExternalSecret")}
    for es in of_kind(docs, "ExternalSecret"):
        assert es["spec"]["secretStoreRef"]["kind"] == "ClusterSecretStore"
    for _, template in pod_templates(docs):
        pod = template["spec"]
        referenced = {
            source["secretRef"]["name"]
            for c in pod["containers"]
            for source in c.get("envFrom", [])
            if "secretRef" in source
        } | {volume["secret"]["secretName"] for volume in pod.get("volumes", []) if "secret" in volume}
        assert referenced <= produced
    for name in ("core-api-config", "telemetry-config"):
        assert not any("://" in value and "@" in value for value in config(docs, name).values()), (
            "credentials in a ConfigMap"
        )


def test_postgres_is_a_three_instance_cnpg_cluster_with_backups_and_an_app_role_without_bypassrls(
    prod: list[Doc],
) -> None:
    cluster = named(prod, "Cluster", "rehab-postgres")["spec"]
    assert cluster["instances"] == 3
    assert cluster["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    plugin = next(p for p in cluster["plugins"] if p["name"] == "barman-cloud.cloudnative-pg.io")
    store = named(prod, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    assert of_kind(prod, "ScheduledBackup")[0]["spec"]["cluster"]["name"] == "rehab-postgres"
    app = next(role for role in cluster["managed"]["roles"] if role["name"] == "rehab_app")
    assert app["bypassrls"] is False
    assert app["superuser"] is False
    assert app["login"] is True
    assert "NOBYPASSRLS" in cluster["bootstrap"]["initdb"]["postInitSQL"][0]
    assert cluster["bootstrap"]["initdb"]["owner"] == "rehab_owner"


def test_clickhouse_is_two_shards_by_two_replicas_with_keeper_and_telemetry_migrates_in_cluster_mode(
    prod: list[Doc],
) -> None:
    chi = named(prod, "ClickHouseInstallation", "telemetry")["spec"]
    cluster = chi["configuration"]["clusters"][0]
    assert cluster["layout"] == {"shardsCount": 2, "replicasCount": 2}
    keeper = named(prod, "ClickHouseKeeperInstallation", "telemetry-keeper")
    assert keeper["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] == 3
    assert chi["configuration"]["zookeeper"]["nodes"][0]["host"] == f"keeper-{keeper['metadata']['name']}"
    telemetry = config(prod, "telemetry-config")
    assert telemetry["CLICKHOUSE_CLUSTER"] == cluster["name"]
    assert telemetry["CLICKHOUSE_HTTP_URL"].startswith("http://clickhouse-telemetry:8123")
    assert telemetry["AUTH_JWKS_URL"] == "http://core-api:8000/.well-known/jwks.json"


def test_telemetry_accepts_the_tokens_core_api_issues(docs: list[Doc]) -> None:
    core, telemetry = config(docs, "core-api-config"), config(docs, "telemetry-config")
    assert telemetry["AUTH_ISSUER"] == core["TELEMETRY_TOKEN_ISSUER"]
    assert telemetry["AUTH_AUDIENCE"] == core["TELEMETRY_TOKEN_AUDIENCE"]
    pod = named(docs, "Deployment", "core-api")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for variable in ("TELEMETRY_TOKEN_SIGNING_KEY_FILE", "TELEMETRY_TOKEN_HASH_KEY_FILE", "AUTH_JWKS_FILE"):
        folder, _, key = core[variable].rpartition("/")
        volume = next(name for name, path in mounts.items() if path == folder)
        external = named(docs, "ExternalSecret", secrets[volume])
        assert key in {item["secretKey"] for item in external["spec"]["data"]}, variable
