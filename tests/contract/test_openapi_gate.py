"""The OpenAPI gate: the checked-in documents pass the linters and generators a frontend team uses.

Node and npm come from Debian's packages (installed with apt-get when missing, as for ClickHouse); the
tools' versions are pinned in ``tools/openapi-gate/package-lock.json`` and installed once with ``npm ci``
into that folder. Each check fails the build on any finding:

- Spectral with ``spectral:oas``: no warning;
- Redocly CLI with ``recommended``: no error;
- ``frontend.ts`` (create a plan, list with filters, today's session, start, log, complete, pose frames,
  a media event) compiles with ``tsc --strict`` against the ``openapi-typescript`` (default settings) and
  ``openapi-fetch`` client generated from the documents;
- ``openapi-python-client`` generates both clients without a warning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markers import needs
from tools.databases import install_debian_package

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "tools" / "openapi-gate"
DOCUMENTS = sorted((ROOT / "contracts" / "openapi").glob("*.json"))
BIN = GATE / "node_modules" / ".bin"


def _run(command: list[str], cwd: Path = GATE, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
@needs("node")
def node_tools() -> Path:
    """The gate's npm tools, installed from the lockfile when missing or older than it."""
    if shutil.which("npm") is None:
        install_debian_package("nodejs", "/usr/bin/node")
        install_debian_package("npm", "/usr/bin/npm")
    marker = GATE / "node_modules" / ".package-lock.json"
    lock = GATE / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"])
    return BIN


def test_spectral_finds_no_warning(node_tools: Path) -> None:
    _run(
        [
            str(node_tools / "spectral"),
            "lint",
            "--ruleset",
            ".spectral.yaml",
            "--fail-severity=warn",
            *map(str, DOCUMENTS),
        ]
    )


def test_redocly_finds_no_error(node_tools: Path) -> None:
    _run([str(node_tools / "redocly"), "lint", "--config", "redocly.yaml", *map(str, DOCUMENTS)])


def test_frontend_code_compiles_against_the_generated_typescript_client(node_tools: Path) -> None:
    generated = GATE / "generated"
    generated.mkdir(exist_ok=True)
    for document in DOCUMENTS:
        _run([str(node_tools / "openapi-typescript"), str(document), "-o", str(generated / f"{document.stem}.ts")])
    _run([str(node_tools / "tsc"), "-p", "tsconfig.json", "--strict", "--noEmit"])


@pytest.mark.processes
def test_openapi_python_client_generates_both_clients_without_warnings(tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    # Its post-generation hooks run ruff, from the venv.
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    for document in DOCUMENTS:
        output = _run(
            [
                str(venv_bin / "openapi-python-client"),
                "generate",
                "--path",
                str(document),
                "--meta",
                "none",
                "--config",
                str(GATE / "openapi-python-client.yaml"),
                "--output-path",
                str(tmp_path / document.stem),
            ],
            cwd=tmp_path,
            env=env,
        )
        assert "Warning" not in output, output
