"""What no schema catches in the rendered overlays: the properties the deployment depends on, each computed
from the objects ``kubectl kustomize`` renders (run by ``make deploy-check`` through tools/deploy_check.py).

- network: every pod reaches the databases and services it is configured with (the addresses in its
  settings and secrets), the databases reach each other and their operators reach them, and no other pod
  reaches PostgreSQL's 5432: computed from the NetworkPolicies and the labels each pod will carry,
  including the pods the operators create (Altinity copies a resource's labels onto its pods and adds
  its own; CloudNativePG labels its pods ``cnpg.io/cluster=<name>`` and passes no resource label on).
- telemetry stays ready without ClickHouse, and an alert says when ClickHouse is down.
- PostgreSQL replicates synchronously, is scraped, and backs up through the Barman Cloud plugin.
- a PostgreSQL instance fits its memory limit, and a single instance has no PodDisruptionBudget.
- ClickHouse keeps its volumes, is backed up, and a shard's replicas never share a node or a zone.
- Argo CD sync waves: settings and secrets, then the databases, then the migration Jobs, then the rest.
- telemetry's spool: a flusher that drains within the grace period, and an alert on orphaned claims.
- images at exact versions, by digest where the release pins them (every image in prod).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]

# A pod's address, for ipBlock peers: pods live on the cluster's private network.
POD_ADDRESS = ipaddress.ip_address("10.0.0.10")
# What the manifests assume about the rest of the cluster (the network-policies component names them).
EXTERNAL_PODS = (
    ("ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
    ("cloudnative-pg operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
    ("clickhouse-operator", "kube-system", {"app": "clickhouse-operator"}),
    ("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
    ("a pod of another namespace", "elsewhere", {"app.kubernetes.io/name": "other"}),
)
CLICKHOUSE_NATIVE, CLICKHOUSE_HTTP, CLICKHOUSE_INTERSERVER = 9000, 8123, 9009
KEEPER_CLIENT, KEEPER_RAFT = 2181, 9444
POSTGRES, CNPG_STATUS, CNPG_METRICS = 5432, 8000, 9187
# uvicorn's drain on SIGTERM (service_common.serve, timeout_graceful_shutdown).
SERVER_DRAIN_SECONDS = 20
# Memory a PostgreSQL connection may take besides shared_buffers: work_mem's default (4 MB) for one sort,
# the backend's own memory around it counted in the same allowance.
CONNECTION_MEMORY_BYTES = 4 * 1024**2
IMAGE_PLACEHOLDER_DIGEST = "sha256:set-at-release"
APP_REGISTRY = "registry.telerehab.example/"
# Numbers in an exact version's tag: ClickHouse 24.8.14.39 (24.8 is a release line), PostgreSQL 17.5.
VERSION_PARTS = {"clickhouse/": 4, "ghcr.io/cloudnative-pg/postgresql": 2}
DATABASE_KINDS = ("Cluster", "ObjectStore", "ScheduledBackup", "ClickHouseInstallation", "ClickHouseKeeperInstallation")
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str]
    # The text of its settings: commands, env values, the ConfigMaps and secret templates it reads.
    settings: str = ""
    containers: tuple[Doc, ...] = field(default=())


def of_kind(docs: list[Doc], *kinds: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] in kinds]


def _name(doc: Doc) -> str:
    return str(doc["metadata"]["name"])


def _labels(doc: Doc) -> dict[str, str]:
    return dict(doc["metadata"].get("labels") or {})


def _wave(doc: Doc) -> int:
    return int((doc["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0"))


def pod_template(doc: Doc) -> Doc:
    if doc["kind"] == "CronJob":
        return dict(doc["spec"]["jobTemplate"]["spec"]["template"])
    return dict(doc["spec"]["template"])


def _settings_text(docs: list[Doc], containers: list[Doc], serves: bool) -> str:
    """Every setting a pod's containers are given (commands, env, the ConfigMaps and secret templates they
    read), one per line, to find addresses in. AUTH_JWKS_URL only where a server verifies bearer tokens:
    the Jobs read the same ConfigMap and never use it."""
    maps = {_name(doc): doc for doc in of_kind(docs, "ConfigMap")}
    secrets = {doc["spec"]["target"]["name"]: doc for doc in of_kind(docs, "ExternalSecret")}
    lines: list[str] = []
    for container in containers:
        lines += container.get("command", []) + container.get("args", [])
        lines += [f"{env['name']}={env.get('value', '')}" for env in container.get("env", [])]
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                # kustomize appends a hash to generated ConfigMaps and rewrites the references with it.
                lines += [f"{k}={v}" for k, v in maps[source["configMapRef"]["name"]].get("data", {}).items()]
            if "secretRef" in source:
                template = secrets[source["secretRef"]["name"]]["spec"]["target"].get("template", {})
                lines += [f"{k}={v}" for k, v in template.get("data", {}).items()]
    return "\n".join(line for line in lines if serves or not line.startswith("AUTH_JWKS_URL="))


def pods(docs: list[Doc]) -> list[Pod]:
    """The pods the overlay runs: its workloads' and the operators' (with the labels the operators set)."""
    found: list[Pod] = []
    for doc in of_kind(docs, *WORKLOADS):
        template = pod_template(doc)
        containers = template["spec"].get("initContainers", []) + template["spec"]["containers"]
        namespace = doc["metadata"]["namespace"]
        found.append(
            Pod(
                _name(doc),
                namespace,
                template["metadata"].get("labels", {}),
                _settings_text(docs, containers, doc["kind"] in ("Deployment", "StatefulSet")),
                tuple(containers),
            )
        )
    for chi in of_kind(docs, "ClickHouseInstallation"):
        cluster = chi["spec"]["configuration"]["clusters"][0]["name"]
        for shard in ("0", "1"):
            labels = _labels(chi) | {
                "clickhouse.altinity.com/app": "chop",
                "clickhouse.altinity.com/chi": _name(chi),
                "clickhouse.altinity.com/cluster": cluster,
                "clickhouse.altinity.com/shard": shard,
                "clickhouse.altinity.com/replica": "0",
            }
            found.append(Pod(f"clickhouse {_name(chi)} shard {shard}", chi["metadata"]["namespace"], labels))
    for chk in of_kind(docs, "ClickHouseKeeperInstallation"):
        labels = _labels(chk) | {
            "clickhouse-keeper.altinity.com/app": "chop",
            "clickhouse-keeper.altinity.com/chk": _name(chk),
        }
        found.append(Pod(f"keeper {_name(chk)}", chk["metadata"]["namespace"], labels))
    for cluster in of_kind(docs, "Cluster"):
        inherited = (cluster["spec"].get("inheritedMetadata") or {}).get("labels", {})
        for index in (1, 2):
            labels = inherited | {
                "cnpg.io/cluster": _name(cluster),
                "cnpg.io/instanceName": f"{_name(cluster)}-{index}",
                "cnpg.io/podRole": "instance",
            }
            found.append(Pod(f"postgres {_name(cluster)}-{index}", cluster["metadata"]["namespace"], labels))
    return found


def _selects(selector: Doc | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches ``labels`` (matchLabels and matchExpressions)."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if not {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


class Network:
    """The NetworkPolicies of one overlay, evaluated as a CNI that enforces them would."""

    def __init__(self, docs: list[Doc]) -> None:
        self.policies = of_kind(docs, "NetworkPolicy")
        self.namespace_labels = {_name(ns): _labels(ns) for ns in of_kind(docs, "Namespace")}

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {}) | {"kubernetes.io/metadata.name": namespace}

    def _peer(self, peer: Doc, policy_namespace: str, pod: Pod) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            inside = POD_ADDRESS in ipaddress.ip_network(block["cidr"])
            return inside and not any(POD_ADDRESS in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
        if "namespaceSelector" in peer:
            namespace_ok = _selects(peer["namespaceSelector"], self._namespace_labels(pod.namespace))
        else:
            namespace_ok = pod.namespace == policy_namespace
        return namespace_ok and _selects(peer.get("podSelector"), pod.labels)

    @staticmethod
    def _port(rule: Doc, port: int) -> bool:
        ports = rule.get("ports")
        if not ports:
            return True
        return any(
            item.get("protocol", "TCP") == "TCP"
            and ("port" not in item or item["port"] <= port <= item.get("endPort", item["port"]))
            for item in ports
        )

    def _side(self, direction: str, subject: Pod, other: Pod, port: int) -> bool:
        """Whether the policies selecting ``subject`` let it send (Egress) or take (Ingress) this traffic."""
        key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        selecting = [
            policy
            for policy in self.policies
            if policy["metadata"]["namespace"] == subject.namespace
            and direction in policy["spec"].get("policyTypes", ["Ingress"])
            and _selects(policy["spec"]["podSelector"], subject.labels)
        ]
        if not selecting:
            return True
        return any(
            self._port(rule, port)
            and (peers not in rule or any(self._peer(peer, p["metadata"]["namespace"], other) for peer in rule[peers]))
            for p in selecting
            for rule in p["spec"].get(key) or []
        )

    def allows(self, source: Pod, target: Pod, port: int) -> bool:
        return self._side("Egress", source, target, port) and self._side("Ingress", target, source, port)


def _services(docs: list[Doc], all_pods: list[Pod]) -> dict[str, list[Pod]]:
    """Pods behind each host name the settings use: the overlay's Services and the operators' ones."""
    behind: dict[str, list[Pod]] = {}
    for service in of_kind(docs, "Service"):
        selector = {"matchLabels": service["spec"].get("selector", {})}
        behind[_name(service)] = [p for p in all_pods if _selects(selector, p.labels)]
    for chi in of_kind(docs, "ClickHouseInstallation"):
        behind[f"clickhouse-{_name(chi)}"] = [
            p for p in all_pods if p.labels.get("clickhouse.altinity.com/chi") == _name(chi)
        ]
    for chk in of_kind(docs, "ClickHouseKeeperInstallation"):
        behind[f"keeper-{_name(chk)}"] = [
            p for p in all_pods if p.labels.get("clickhouse-keeper.altinity.com/chk") == _name(chk)
        ]
    for cluster in of_kind(docs, "Cluster"):
        instances = [p for p in all_pods if p.labels.get("cnpg.io/cluster") == _name(cluster)]
        for suffix in ("rw", "ro", "r"):
            behind[f"{_name(cluster)}-{suffix}"] = instances
    return behind


_ADDRESS = re.compile(r"(?:@|//|--host )([a-z0-9][a-z0-9-]*)(?::| --port )(\d+)")


def network(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 1: the policies let every pod reach what it is configured to talk to, and nothing else
    reaches PostgreSQL (so an overlay without the network-policies component fails)."""
    net = Network(docs)
    app_pods = pods(docs)
    outside = [Pod(name, namespace, labels) for name, namespace, labels in EXTERNAL_PODS]
    external = {pod.name: pod for pod in outside}
    behind = _services(docs, app_pods)
    required: list[tuple[Pod, Pod, int]] = []
    # Every Service here exposes its pods' own port numbers, so a setting's port is the pods' port.
    for pod in app_pods:
        for host, port in _ADDRESS.findall(pod.settings):
            required += [(pod, target, int(port)) for target in behind.get(host, [])]
    for kind, prefix, label in (
        ("ClickHouseInstallation", "clickhouse", "clickhouse.altinity.com/chi"),
        ("ClickHouseKeeperInstallation", "keeper", "clickhouse-keeper.altinity.com/chk"),
        ("Cluster", "postgres", "cnpg.io/cluster"),
    ):
        for resource in of_kind(docs, kind):
            members = [p for p in app_pods if p.labels.get(label) == _name(resource)]
            first, last = members[0], members[-1]
            if prefix == "clickhouse":
                # Distributed queries and replica fetches between servers; the operator's queries.
                required += [(first, last, CLICKHOUSE_NATIVE), (last, first, CLICKHOUSE_INTERSERVER)]
                required += [(external["clickhouse-operator"], first, CLICKHOUSE_HTTP)]
                zookeeper = resource["spec"]["configuration"].get("zookeeper", {}).get("nodes", [])
                required += [
                    (first, target, int(node["port"])) for node in zookeeper for target in behind[node["host"]]
                ]
            elif prefix == "keeper":
                required += [(first, last, KEEPER_RAFT)]
            else:
                required += [(first, last, POSTGRES), (external["cloudnative-pg operator"], first, CNPG_STATUS)]
                required += [(external["prometheus"], first, CNPG_METRICS)]
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            backend = rule["http"]["paths"][0]["backend"]["service"]
            service = next(s for s in of_kind(docs, "Service") if _name(s) == backend["name"])
            port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"])
            required += [(external["ingress-controller"], target, port) for target in behind[backend["name"]]]
    problems = [
        f"{source.name} cannot reach {target.name} on {port}"
        for source, target, port in required
        if not net.allows(source, target, port)
    ]
    postgres_clients = {source.name for source, target, port in required if port == POSTGRES}
    for target in [p for p in app_pods if "cnpg.io/cluster" in p.labels]:
        problems += [
            f"{source.name} reaches {target.name} on {POSTGRES} without needing it"
            for source in app_pods + outside
            if source.name not in postgres_clients
            and source.labels.get("cnpg.io/cluster") != target.labels["cnpg.io/cluster"]
            and net.allows(source, target, POSTGRES)
        ]
    return problems


def _container(template: Doc, name: str) -> Doc | None:
    return next((c for c in template["spec"]["containers"] if c["name"] == name), None)


def _alerts(docs: list[Doc]) -> list[Doc]:
    return [
        rule
        for doc in of_kind(docs, "PrometheusRule")
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def telemetry_readiness(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 2: readiness is the process and its spool (/readyz), and ClickHouse health is an alert."""
    problems: list[str] = []
    for statefulset in of_kind(docs, "StatefulSet"):
        server = _container(pod_template(statefulset), _name(statefulset))
        if server and server.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            problems.append(f"{_name(statefulset)}: readiness is not /readyz")
    for chi in of_kind(docs, "ClickHouseInstallation"):
        if not any("chi_clickhouse_metric_fetch_errors" in str(a["expr"]) for a in _alerts(docs)):
            problems.append(f"ClickHouseInstallation/{_name(chi)}: no alert when a server is down")
    return problems


def postgres_replication(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 3: synchronous replication, a PodMonitor, backups through the Barman Cloud plugin."""
    problems: list[str] = []
    stores = {_name(doc) for doc in of_kind(docs, "ObjectStore")}
    for cluster in of_kind(docs, "Cluster"):
        spec, where = cluster["spec"], f"Cluster/{_name(cluster)}"
        synchronous = spec.get("postgresql", {}).get("synchronous")
        if spec.get("instances", 1) > 1 and (
            not synchronous or synchronous.get("number", 0) < 1 or synchronous.get("dataDurability") != "required"
        ):
            problems.append(f"{where}: replication is not synchronous with dataDurability required")
        if "barmanObjectStore" in spec.get("backup", {}):
            problems.append(f"{where}: backup.barmanObjectStore (deprecated) instead of the Barman Cloud plugin")
        archivers = [p for p in spec.get("plugins", []) if p.get("isWALArchiver")]
        if not any(p.get("parameters", {}).get("barmanObjectName") in stores for p in archivers):
            problems.append(f"{where}: no Barman Cloud plugin archiving WAL to an ObjectStore of the overlay")
        if not any(
            _selects(monitor["spec"]["selector"], {"cnpg.io/cluster": _name(cluster), "cnpg.io/podRole": "instance"})
            for monitor in of_kind(docs, "PodMonitor")
        ):
            problems.append(f"{where}: no PodMonitor scrapes its instances")
    for backup in of_kind(docs, "ScheduledBackup"):
        if backup["spec"].get("method") != "plugin":
            problems.append(f"ScheduledBackup/{_name(backup)}: method is not plugin")
    return problems


def _bytes(quantity: str) -> int:
    """A Kubernetes quantity (512Mi, 2Gi) or a PostgreSQL size (512MB, 128kB) in bytes."""
    match = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", quantity)
    if not match:
        raise ValueError(quantity)
    units = {"": 1, "kB": 1024, "Ki": 1024, "MB": 1024**2, "Mi": 1024**2, "GB": 1024**3, "Gi": 1024**3}
    return int(match[1]) * units[match[2]]


def postgres_memory(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 4: shared_buffers plus every allowed connection fit the memory limit; one instance has no
    PodDisruptionBudget (it would block every node drain)."""
    problems: list[str] = []
    for cluster in of_kind(docs, "Cluster"):
        spec, where = cluster["spec"], f"Cluster/{_name(cluster)}"
        parameters = spec.get("postgresql", {}).get("parameters", {})
        limit = _bytes(spec["resources"]["limits"]["memory"])
        shared = _bytes(parameters.get("shared_buffers", "128MB"))
        connections = int(parameters.get("max_connections", "100"))
        needed = shared + connections * CONNECTION_MEMORY_BYTES
        if needed > limit:
            problems.append(
                f"{where}: shared_buffers + max_connections x 4 MiB = {needed // 1024**2} MiB "
                f"> memory limit {limit // 1024**2} MiB"
            )
        if spec.get("instances", 1) == 1 and spec.get("enablePDB", True):
            problems.append(f"{where}: one instance with a PodDisruptionBudget blocks node drains (enablePDB)")
    return problems


def clickhouse_durability(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 5: volumes retained, a backup, a shard's replicas on different nodes and zones."""
    problems: list[str] = []
    for resource in of_kind(docs, "ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        where = f"{resource['kind']}/{_name(resource)}"
        templates = resource["spec"].get("templates", {})
        for claim in templates.get("volumeClaimTemplates", []):
            if claim.get("reclaimPolicy") != "Retain":
                problems.append(f"{where}: volume claim template {claim['name']} is not reclaimPolicy Retain")
        for template in templates.get("podTemplates", []):
            spread = template["spec"].get("topologySpreadConstraints", [])
            zones = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
            if not zones or any(c["whenUnsatisfiable"] != "DoNotSchedule" for c in zones):
                problems.append(f"{where}: pod template {template['name']} is not spread over zones")
            if resource["kind"] != "ClickHouseInstallation":
                continue
            if not any("clickhouse.altinity.com/shard" in c.get("matchLabelKeys", []) for c in zones):
                problems.append(f"{where}: the replicas of a shard may share a zone")
            if not any(
                d["type"] == "ShardAntiAffinity"
                and d.get("topologyKey", "kubernetes.io/hostname") == "kubernetes.io/hostname"
                for d in template.get("podDistribution", [])
            ):
                problems.append(f"{where}: the replicas of a shard may share a node (no ShardAntiAffinity)")
        if resource["kind"] == "ClickHouseInstallation":
            cluster = resource["spec"]["configuration"]["clusters"][0]["name"]
            backup = re.compile(rf"BACKUP DATABASE \w+ ON CLUSTER {cluster}\b")
            if not any(backup.search(pod.settings) for pod in pods(docs) if pod.containers):
                problems.append(f"{where}: no CronJob backs it up (BACKUP ... ON CLUSTER {cluster})")
    return problems


def sync_waves(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 6: under Argo CD each wave waits for the one before; the migration Jobs need the databases,
    which need the secrets."""
    problems: list[str] = []
    settings = of_kind(docs, "ConfigMap", "ExternalSecret", "NetworkPolicy")
    databases = of_kind(docs, *DATABASE_KINDS)
    jobs = [doc for doc in of_kind(docs, "Job") if "argocd.argoproj.io/hook" in doc["metadata"].get("annotations", {})]
    workloads = of_kind(docs, "Deployment", "StatefulSet", "CronJob")
    for earlier, later, why in (
        (settings, databases, "the databases read the secrets"),
        (databases, jobs, "the migration Jobs need the databases"),
        (settings, jobs, "the migration Jobs read the settings"),
        (jobs, workloads, "the workloads need the migrated schema"),
    ):
        for after in later:
            blocking = sorted(f"{b['kind']}/{_name(b)}" for b in earlier if _wave(b) >= _wave(after))
            if blocking:
                problems.append(
                    f"{after['kind']}/{_name(after)} (wave {_wave(after)}) is not after {blocking[0]} and "
                    f"{len(blocking) - 1} more: {why}"
                )
    return problems


def _env(container: Doc) -> dict[str, str]:
    return {env["name"]: env["value"] for env in container.get("env", []) if "value" in env}


def _config(docs: list[Doc], container: Doc) -> dict[str, str]:
    data: dict[str, str] = {}
    maps = {_name(doc): doc for doc in of_kind(docs, "ConfigMap")}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data |= maps[source["configMapRef"]["name"]].get("data", {})
    return data | _env(container)


def _pre_stop(container: Doc) -> int:
    return int(container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0))


def spool_drain(docs: list[Doc], _overlay: str) -> list[str]:
    """Finding 7: a flusher container drains the spool after the server stops appending and within the
    grace period; claims are retained on scale-down and an alert names the orphaned ones."""
    problems: list[str] = []
    for statefulset in of_kind(docs, "StatefulSet"):
        where, template = f"StatefulSet/{_name(statefulset)}", pod_template(statefulset)
        server = _container(template, _name(statefulset))
        flusher = next(
            (c for c in template["spec"]["containers"] if c.get("command", [])[-1:] == ["telemetry.flusher"]), None
        )
        if server is None or flusher is None:
            problems.append(f"{where}: no flusher container (python -m telemetry.flusher) beside the server")
            continue
        config = _config(docs, flusher)
        spool = config.get("SPOOL_DIR", "")
        mounts = {c["name"]: {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])} for c in (server, flusher)}
        claims = {claim["metadata"]["name"] for claim in statefulset["spec"].get("volumeClaimTemplates", [])}
        if not (
            mounts[server["name"]].get(spool) == mounts[flusher["name"]].get(spool)
            and spool
            and mounts[flusher["name"]].get(spool) in claims
        ):
            problems.append(f"{where}: server and flusher do not share the spool claim at SPOOL_DIR")
        if _config(docs, server).get("SPOOL_FLUSHER") != "process":
            problems.append(f"{where}: the server flushes too (SPOOL_FLUSHER is not process)")
        drain = int(config.get("SPOOL_DRAIN_SECONDS", "0"))
        grace = int(template["spec"].get("terminationGracePeriodSeconds", 30))
        if not drain:
            problems.append(f"{where}: SPOOL_DRAIN_SECONDS unset: the flusher's drain is unbounded")
        if _pre_stop(flusher) < _pre_stop(server) + SERVER_DRAIN_SECONDS:
            problems.append(f"{where}: the flusher stops before the server has finished appending")
        if grace < _pre_stop(flusher) + drain + 5:
            problems.append(
                f"{where}: terminationGracePeriodSeconds {grace} < flusher preStop {_pre_stop(flusher)} s "
                f"+ SPOOL_DRAIN_SECONDS {drain} + 5"
            )
        if statefulset["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenScaled") != "Retain":
            problems.append(f"{where}: spool claims are deleted on scale-down")
        claim_names = [f"{claim}-{_name(statefulset)}-" for claim in claims]
        if not any(any(name in str(a["expr"]) for name in claim_names) for a in _alerts(docs)):
            problems.append(f"{where}: no alert on spool claims left by scaled-down pods")
    return problems


def _images(docs: list[Doc]) -> Iterator[tuple[str, str]]:
    """(where, image) of every container the overlay runs, the operators' included."""
    for doc in of_kind(docs, *WORKLOADS):
        spec = pod_template(doc)["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{doc['kind']}/{_name(doc)}/{container['name']}", container["image"]
    for doc in of_kind(docs, "ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        for template in doc["spec"].get("templates", {}).get("podTemplates", []):
            for container in template["spec"]["containers"]:
                yield f"{doc['kind']}/{_name(doc)}/{container['name']}", container["image"]
    for doc in of_kind(docs, "Cluster"):
        yield f"Cluster/{_name(doc)}", doc["spec"]["imageName"]


def image_pins(docs: list[Doc], overlay: str) -> list[str]:
    """Finding 8: every image at an exact version; the app's by digest everywhere, every image by digest
    in prod (the placeholder until the release step sets it)."""
    problems: list[str] = []
    for where, image in _images(docs):
        reference, _, digest = image.partition("@")
        name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
        parts = next((n for prefix, n in VERSION_PARTS.items() if name.startswith(prefix)), 3)
        if not re.fullmatch(rf"\d+(\.\d+){{{parts - 1}}}", tag):
            problems.append(f"{where}: {image} is not at an exact version ({parts} numbers)")
        needs_digest = overlay == "prod" or name.startswith(APP_REGISTRY)
        if needs_digest and not (re.fullmatch(r"sha256:[0-9a-f]{64}", digest) or digest == IMAGE_PLACEHOLDER_DIGEST):
            problems.append(f"{where}: {image} is not pinned by digest")
    return problems


def unreleased_images(docs: list[Doc]) -> list[str]:
    """Images still carrying the placeholder digest (``deploy_check --release`` refuses them)."""
    return [f"{where}: {image}" for where, image in _images(docs) if image.endswith(IMAGE_PLACEHOLDER_DIGEST)]


RULES: tuple[Callable[[list[Doc], str], list[str]], ...] = (
    network,
    telemetry_readiness,
    postgres_replication,
    postgres_memory,
    clickhouse_durability,
    sync_waves,
    spool_drain,
    image_pins,
)


def problems(docs: list[Doc], overlay: str) -> list[str]:
    """Every rule's problems with the objects ``overlay`` renders."""
    return [f"{rule.__name__}: {problem}" for rule in RULES for problem in rule(docs, overlay)]
