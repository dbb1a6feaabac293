"""The markers of what each test needs (tests/markers.py): ``pytest -m unit`` selects no test that uses a
database, a browser, Node, kubectl or a process of its own, and a ``unit`` test that starts one fails."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

ROOT = Path(__file__).resolve().parent.parent

# Fixtures that start or open something outside the pytest process (docs and prod: kubectl, in
# tests/deploy/test_manifests.py), and the fixtures parametrized over the ClickHouse engines; pytest's own
# --fixtures-per-test report must show none of them for a unit test.
OUTSIDE = {
    "postgres",
    "superuser",
    "core_api",
    "clickhouse_server",
    "own_clickhouse",
    "chdb_dir",
    "store",
    "ingest_module",
    "limited",
    "chromium",
    "node_tools",
    "docs",
    "prod",
    "core_api_url",
    "telemetry_url",
    "services",
}

GUARD_PROBE = """
import subprocess
import sys

import pytest


def test_starts_a_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.mark.processes
def test_marked_starts_a_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_needs_nothing():
    assert sum(range(4)) == 6
"""


def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def module_path(name: str) -> str:
    """The path of the test module ``name``, wherever the tree puts it."""
    (path,) = (ROOT / "tests").rglob(name)
    return str(path.relative_to(ROOT))


@pytest.mark.processes
def test_unit_tests_use_no_fixture_that_starts_anything() -> None:
    result = pytest_run("--fixtures-per-test", "-q", "-m", "unit", "-p", "tests.list_markers", "tests")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    used = set(re.findall(r"^(\w+) -- ", result.stdout, flags=re.MULTILINE))
    assert "tmp_path" in used  # the report lists fixtures: the pattern reads it
    assert used & OUTSIDE == set()
    # The contract suites' unit tests are selected; their schemathesis tests are not even built.
    assert "needs tests/contract/test_schemathesis.py::test_every_operation_is_exercised unit\n" in result.stdout


def carries(expression: Expression, markers: set[str]) -> bool:
    """Whether a test with ``markers`` passes ``pytest -m`` with ``expression``."""
    return expression.evaluate(lambda name, /, **_: name in markers)


SAMPLES = (
    "test_clickhouse_store.py",
    "test_ratelimit.py",
    "test_local_jobs.py",
    "test_serve.py",
    "test_row_level_security.py",
)


@pytest.mark.processes
def test_each_test_is_unit_or_marked_with_what_it_needs() -> None:
    store, ratelimit, jobs, serve, rls_module = (module_path(name) for name in SAMPLES)
    # One collection; its lines are read with the marker expressions `pytest -m` takes.
    result = pytest_run("--collect-only", "-q", "-p", "tests.list_markers", store, ratelimit, jobs, serve, rls_module)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line.split(" ") for line in result.stdout.splitlines() if line.startswith("needs ")]
    needs = {node: set(names) for _, node, *names in lines}

    def collected(expression: str) -> set[str]:
        compiled = Expression.compile(expression)
        return {node for node, names in needs.items() if carries(compiled, names)}

    everything = set(needs)
    assert everything == {line for line in result.stdout.splitlines() if line.startswith("tests/")}
    unit = collected("unit")
    needing = collected("postgres or clickhouse_server or chdb or browser or node or kubectl or processes")
    assert (unit & needing, unit | needing) == (set(), everything)
    assert not [node for node in unit if re.search(r"\[(server|embedded)\b", node)]

    server = collected("clickhouse_server and not chdb")
    embedded = collected("chdb and not clickhouse_server")
    assert f"{store}::test_version_reports_the_engine[server]" in server
    assert f"{store}::test_version_reports_the_engine[embedded]" in embedded
    ingest = f"{ratelimit}::test_another_actor_is_unaffected"
    assert (f"{ingest}[server]" in server, f"{ingest}[embedded]" in embedded) == (True, True)
    assert f"{ratelimit}::test_a_bucket_refills_at_the_rate" in unit
    # Started by the test itself or asked for by name while it runs: marked by hand.
    processes = collected("processes")
    assert f"{jobs}::test_the_scheduler_runs_both_jobs_at_start_and_stops_on_sigterm" in processes
    assert f"{serve}::test_huge_headers_are_refused_quickly[core_api_url]" in processes
    assert f"{serve}::test_zero_means_one_per_cpu" in unit
    # Every test of a module on PostgreSQL alone.
    rls = {node for node in everything if node.startswith(f"{rls_module}::")}
    assert rls
    assert rls <= collected("postgres and not unit")


@pytest.mark.processes
def test_a_unit_test_that_starts_a_process_fails(tmp_path: Path) -> None:
    probe = tmp_path / "probe" / "test_probe.py"
    probe.parent.mkdir()
    probe.write_text(GUARD_PROBE)
    # The harness's hooks as a plugin: the probe lies outside tests/, where no other test collects it.
    result = pytest_run(
        "-c",
        "pyproject.toml",
        "--rootdir",
        ".",
        "-p",
        "tests.conftest",
        "-q",
        f"--basetemp={tmp_path / 'run'}",
        str(probe),
    )
    assert result.returncode == 1, result.stdout
    assert "1 failed, 2 passed" in result.stdout
    assert "::test_starts_a_process is marked unit but starts a process or opens chdb" in result.stdout
