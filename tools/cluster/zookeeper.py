"""A throwaway ZooKeeper (Debian's ``zookeeper`` package) on a free loopback port, data under a folder of
its own: the coordination service of the ClickHouse 18.16 cluster (ClickHouse Keeper came with 21.8)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tools.databases import free_port, install_debian_package
from tools.processes import stop_process

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
ZOOKEEPER_CLI = "/usr/share/zookeeper/bin/zkCli.sh"

# tickTime 500 ms: sessions of dead clients expire in seconds; the server's other defaults are Debian's.
_CONFIG = """tickTime=500
dataDir={root}/data
clientPort={port}
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=0
4lw.commands.whitelist=srvr
"""


class ZooKeeperServer:
    """One standalone ZooKeeper server on 127.0.0.1 with its data and config under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_seconds: float = 60.0) -> None:
        install_debian_package("zookeeper", ZOOKEEPER_JAR)
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is missing (Debian's zookeeper package depends on a JRE)")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config = self.root / "zoo.cfg"
        config.write_text(_CONFIG.format(root=self.root, port=self.port))
        self._process = subprocess.Popen(
            [java, "-Xmx256m", "-cp", ZOOKEEPER_JAR, "org.apache.zookeeper.server.ZooKeeperServerMain", str(config)],
            stdout=(self.root / "zookeeper.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"zookeeper exited: {(self.root / 'zookeeper.log').read_text()[-800:]}")
            if self._answers():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"zookeeper did not answer in {timeout_seconds}s")

    def _answers(self) -> bool:
        """Whether the server serves sessions: ``srvr`` names its mode then ("imok" to ``ruok`` comes earlier,
        and ClickHouse 18.16's DDL worker crashed on a session refused in between)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"srvr")
                answer = b""
                while chunk := sock.recv(4096):
                    answer += chunk
        except OSError:
            return False
        return b"Mode: standalone" in answer

    def cli(self, commands: list[str]) -> str:
        """Run ``commands`` (``deleteall /path``, ``ls /path``) in one zkCli session; its output."""
        result = subprocess.run(
            [ZOOKEEPER_CLI, "-server", f"127.0.0.1:{self.port}"],
            input="\n".join([*commands, "quit"]) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process, 20)
        self._process = None
