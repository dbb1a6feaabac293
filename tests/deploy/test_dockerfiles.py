"""The service images, checked by parsing their Dockerfiles (there is no Docker engine to build them):
multi-stage on a slim base, dependencies in a layer of their own from the lock file, nothing but the
virtual environment in the final stage, a non-root user, and a server set up to drain on SIGTERM."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
SERVICES = {"core-api": ("core_api", "8000"), "telemetry": ("telemetry", "8001")}
WORKSPACE_PYPROJECTS = [
    "contracts/pyproject.toml",
    *(f"services/{d.name}/pyproject.toml" for d in (ROOT / "services").iterdir()),
]
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|cmake|rustc|cargo|uv|pip install)\b")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for arguments in self.all("ENV"):
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                values[name] = value
        return values


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """The Dockerfile's global ARG defaults and its stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), " ".join(arguments.split())
        if keyword == "FROM":
            parts = arguments.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], parts[0])
            stages.append(Stage(base, parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None))
        elif keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            args[name] = default
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return args, stages


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def stages_of(service: str) -> list[Stage]:
    return parse(DOCKER / f"{service}.Dockerfile")[1]


def test_multi_stage_on_a_slim_python_base(service: str) -> None:
    stages = stages_of(service)
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", stage.base), stage.base


def test_dependencies_are_a_layer_of_their_own_from_the_lock_file(service: str) -> None:
    build = stages_of(service)[0]
    package = service
    steps = [(i.keyword, i.arguments) for i in build.instructions if i.keyword in ("COPY", "RUN")]
    syncs = [n for n, (keyword, arguments) in enumerate(steps) if keyword == "RUN" and "uv sync" in arguments]
    assert len(syncs) == 2, "one sync for the dependencies, one for the workspace packages"
    dependencies, packages = (steps[n][1] for n in syncs)
    for command in (dependencies, packages):
        assert "--frozen" in command
        assert "--no-dev" in command
        assert f"--package {package}" in command
    assert "--no-install-workspace" in dependencies
    copied_before = " ".join(arguments for keyword, arguments in steps[: syncs[0]] if keyword == "COPY")
    assert "uv.lock" in copied_before
    for pyproject in WORKSPACE_PYPROJECTS:
        assert pyproject.rsplit("/", 1)[0] + "/" in copied_before, f"{pyproject} must be there for uv to read the lock"
    assert "src" not in copied_before, "source files before the dependency layer would invalidate it on every change"


def test_the_final_stage_holds_only_the_virtual_environment_and_no_build_tools(service: str) -> None:
    final = stages_of(service)[-1]
    assert final.all("COPY") == ["--from=build /app/.venv /app/.venv"]
    for command in final.all("RUN"):
        assert not BUILD_TOOLS.search(command), command
        assert "apt-get install" not in command


def test_runs_as_a_non_root_user(service: str) -> None:
    final = stages_of(service)[-1]
    users = final.all("USER")
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric uid, so runAsNonRoot can verify it"
    assert int(uid) >= 1000
    assert f"--uid {uid}" in " ".join(final.all("RUN"))


def test_the_server_listens_for_containers_and_drains_on_sigterm(service: str) -> None:
    final = stages_of(service)[-1]
    package, port = SERVICES[service]
    env = final.env()
    assert env["SERVER_HOST"] == "0.0.0.0"  # noqa: S104 - a container listens on its pod address
    assert env["SERVER_PORT"] == port
    assert final.all("EXPOSE") == [port]
    assert env["LOG_FORMAT"] == "json"
    assert final.all("STOPSIGNAL") == ["SIGTERM"]
    # Exec form: python is PID 1 and receives SIGTERM itself instead of a shell swallowing it.
    entrypoint = json.loads(final.all("ENTRYPOINT")[-1])
    assert entrypoint == ["python", "-m", package]


def test_worker_counts() -> None:
    # core-api: one worker per CPU. telemetry: one request process (the container's one CPU; more workers each
    # claim a spool folder of their own), beside the flusher container.
    assert stages_of("core-api")[-1].env()["SERVER_WORKERS"] == "0"
    telemetry = stages_of("telemetry")[-1]
    assert telemetry.env()["SERVER_WORKERS"] == "1"
    spool = telemetry.env()["SPOOL_DIR"]
    assert spool.startswith("/var/lib/")
    assert spool in " ".join(telemetry.all("RUN")), "the image creates the spool folder for the app user"


def test_telemetry_leaves_the_embedded_engine_out() -> None:
    build = stages_of("telemetry")[0]
    assert not any("--extra" in run or "--all-extras" in run for run in build.all("RUN"))
