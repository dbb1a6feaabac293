"""Four ClickHouse 18.16 servers as two shards of two replicas on loopback, coordinated by ZooKeeper.

Each server is a :class:`tools.databases.ClickHouseServer` with a config of its own: the cluster
``telemetry`` in ``remote_servers`` (``internal_replication``: a Distributed table writes one replica per
shard and replication copies it), the ``{shard}`` and ``{replica}`` macros the replicated tables' ZooKeeper
paths use, its interserver port (replicas fetch parts from each other over it) and the ``ON CLUSTER``
DDL queue. The user's profile is the ``telemetry`` profile of the prod overlay's ClickHouseInstallation
(:func:`prod_profile`), so the settings tested are the ones deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools.cluster.zookeeper import ZooKeeperServer
from tools.databases import ClickHouseServer, free_port
from tools.deploy_check import OVERLAYS, render

CLUSTER = "telemetry"

# Settings the deployment's ClickHouse (24.8) knows under a newer name than 18.16 does.
_NAMES_ON_18_16 = {"distributed_foreground_insert": "insert_distributed_sync"}
_PROFILE = "telemetry/"

_REPLICA = "<replica><host>127.0.0.1</host><port>{port}</port></replica>"
_SHARD = "<shard><internal_replication>true</internal_replication>{replicas}</shard>"
_MEMBER = """
  <remote_servers><{cluster}>{shards}</{cluster}></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node></zookeeper>
  <macros><shard>{shard}</shard><replica>{replica}</replica></macros>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>{interserver_port}</interserver_http_port>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
"""


def prod_profile() -> dict[str, str]:
    """The settings of the ``telemetry`` profile of the prod overlay's ClickHouseInstallation, named as
    ClickHouse 18.16 names them."""
    (installation,) = [doc for doc in render(OVERLAYS / "prod") if doc["kind"] == "ClickHouseInstallation"]
    profiles = installation["spec"]["configuration"]["profiles"]
    return {
        _NAMES_ON_18_16.get(name, name): str(value)
        for key, value in profiles.items()
        if key.startswith(_PROFILE) and (name := key.removeprefix(_PROFILE))
    }


@dataclass(frozen=True)
class Replica:
    """One server of the cluster: its shard (1-based), its replica name and the server."""

    shard: int
    name: str
    server: ClickHouseServer
    interserver_port: int = field(default_factory=free_port)


class ClickHouseCluster:
    """ZooKeeper and ``shards`` x ``replicas`` ClickHouse servers under ``root``, all on 127.0.0.1, their
    user's profile ``profile``."""

    def __init__(self, root: Path, profile: dict[str, str], shards: int = 2, replicas: int = 2) -> None:
        self.root = root
        self.profile = profile
        self.replicas_per_shard = replicas
        self.zookeeper = ZooKeeperServer(root / "zookeeper")
        self.replicas = [replica for shard in range(1, shards + 1) for replica in self._new_shard(shard)]

    def _new_shard(self, shard: int) -> list[Replica]:
        return [
            Replica(shard, f"s{shard}r{number}", ClickHouseServer(self.root / f"clickhouse-s{shard}r{number}"))
            for number in range(1, self.replicas_per_shard + 1)
        ]

    @property
    def entry(self) -> ClickHouseServer:
        """The server telemetry and the migrations talk to (the first replica of the first shard)."""
        return self.replicas[0].server

    def replica(self, name: str) -> ClickHouseServer:
        return next(replica.server for replica in self.replicas if replica.name == name)

    def start(self) -> None:
        self.zookeeper.start()
        self._configure()
        for replica in self.replicas:
            replica.server.start()

    def add_shard(self) -> list[Replica]:
        """Start the replicas of one more shard and add it to every server's ``remote_servers`` (the
        running servers reread their config); the new replicas, which hold no tables yet."""
        added = self._new_shard(max(replica.shard for replica in self.replicas) + 1)
        self.replicas += added
        self._configure()
        for replica in added:
            replica.server.start()
        return added

    def _configure(self) -> None:
        """Write every server's config for the cluster as it is now."""
        shards = "".join(
            _SHARD.format(
                replicas="".join(
                    _REPLICA.format(port=replica.server.tcp_port) for replica in self.replicas if replica.shard == shard
                )
            )
            for shard in sorted({replica.shard for replica in self.replicas})
        )
        for replica in self.replicas:
            replica.server.extra_config = _MEMBER.format(
                cluster=CLUSTER,
                shards=shards,
                zookeeper_port=self.zookeeper.port,
                shard=replica.shard,
                replica=replica.name,
                interserver_port=replica.interserver_port,
            )
            replica.server.profile_settings = self.profile
            replica.server.write_config()

    def stop(self) -> None:
        for replica in self.replicas:
            replica.server.stop()
        self.zookeeper.stop()
