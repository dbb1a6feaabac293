"""The reference web client (web-client/) in headless Chromium from a third origin, against core-api and
telemetry running as real processes: a whole session, a telemetry outage mid-session, the beacon on
pagehide, CORS for listed and unlisted origins, and a clean console."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from clickhouse_driver import Client as ClickHouseClient
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import ClickHouseServerInfo, start_service, stop_service, wait_ready
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org
from tests.markers import needs
from tools.databases import PostgresUrls, free_port, install_debian_package
from tools.tokens import TELEMETRY_HASH_KEY_FILE, TELEMETRY_SIGNING_KEY_FILE

TELEMETRY_ISSUER = "telerehab-core-api"
TELEMETRY_AUDIENCE = "telerehab-telemetry"
WEB_CLIENT = Path(__file__).resolve().parents[2] / "web-client"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_page() -> tuple[str, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(WEB_CLIENT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture
def page_origins() -> Iterator[tuple[str, str]]:
    """The page's origin (listed in HTTP_CORS_ORIGINS) and another one nobody listed."""
    listed, first = serve_page()
    unlisted, second = serve_page()
    yield listed, unlisted
    first.shutdown()
    second.shutdown()


class Telemetry:
    """The telemetry process, restartable on its port and spool folder."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "telemetry"],
            env={
                **os.environ,
                **self.env,
                "SERVER_PORT": str(self.port),
                "SERVER_WORKERS": "1",
                "LOG_LEVEL": "warning",
            },
        )
        wait_ready(f"{self.url}/readyz", self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_service(self.process)
            self.process = None


@pytest.fixture
@needs("processes")
def services(
    postgres: PostgresUrls,
    dev_keys: Path,
    clickhouse_server: ClickHouseServerInfo,
    tmp_path: Path,
    page_origins: tuple[str, str],
) -> Iterator[tuple[str, Telemetry, str]]:
    """core-api issuing 8-second telemetry tokens (renewed during the session) and telemetry trusting its keys
    and limiting each actor to one request a second, both allowing the page's origin."""
    origin = page_origins[0]
    core_url, core = start_service(
        "core_api",
        {
            "DATABASE_URL": postgres.app,
            "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
            "TELEMETRY_TOKEN_SIGNING_KEY_FILE": str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
            "TELEMETRY_TOKEN_HASH_KEY_FILE": str(dev_keys / TELEMETRY_HASH_KEY_FILE),
            "TELEMETRY_TOKEN_TTL_SECONDS": "8",
            "HTTP_CORS_ORIGINS": origin,
        },
    )
    database = f"browser_{uuid.uuid4().hex[:8]}"
    telemetry = Telemetry(
        {
            "SPOOL_DIR": str(tmp_path / "spool"),
            "SPOOL_FLUSH_INTERVAL_SECONDS": "0.2",
            "AUTH_JWKS_URL": f"{core_url}/.well-known/jwks.json",
            "AUTH_ISSUER": TELEMETRY_ISSUER,
            "AUTH_AUDIENCE": TELEMETRY_AUDIENCE,
            "CLICKHOUSE_URL": clickhouse_server.url,
            "CLICKHOUSE_HTTP_URL": clickhouse_server.http_url,
            "CLICKHOUSE_DATABASE": database,
            "HTTP_CORS_ORIGINS": origin,
            # One request a second, no burst: pose batches every 1.5 s, media events and the retries after
            # the outage meet real 429s with Retry-After.
            "RATE_LIMIT_REQUESTS_PER_SECOND": "1",
            "RATE_LIMIT_BURST": "1",
        }
    )
    try:
        subprocess.run(
            [sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **telemetry.env}, check=True
        )
        telemetry.start()
    except BaseException:
        stop_service(core)
        raise
    yield core_url, telemetry, database
    telemetry.stop()
    stop_service(core)


@pytest.fixture
@needs("browser")
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium and chromedriver (installed with apt when missing), headless, on a fresh profile."""
    try:
        binary = install_debian_package("chromium", "/usr/bin/chromium")
        driver_binary = install_debian_package("chromium-driver", "/usr/bin/chromedriver")
    except RuntimeError as exc:
        pytest.fail(f"Chromium is needed for the browser test: {exc}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_binary))
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def client_state(driver: webdriver.Chrome) -> dict[str, Any]:
    state: dict[str, Any] = driver.execute_script(
        "const c = window.referenceClient; return c && JSON.parse(JSON.stringify("
        "{state: c.state, acknowledged: c.acknowledged, retries: c.sender.retries}));"
    )
    return state or {"state": {"phase": "loading"}, "acknowledged": [], "retries": 0}


def wait_for(driver: webdriver.Chrome, condition: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client_state(driver)
        assert state["state"]["phase"] != "failed", driver.find_element("id", "status").text
        if condition(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {state}")


def telemetry_log(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Every attempt the page's TelemetrySender made: path, key, sentAt/answeredAt (ms), status, retryAfter."""
    log: list[dict[str, Any]] = driver.execute_script("return JSON.parse(JSON.stringify(window.__telemetryLog));")
    return log


def rows(clickhouse: ClickHouseClient, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in clickhouse.execute(query, params)]


def test_a_whole_session_from_a_browser_on_another_origin(
    chromium: webdriver.Chrome,
    services: tuple[str, Telemetry, str],
    page_origins: tuple[str, str],
    core_api: Client,
    superuser: psycopg.Connection,
    org: Org,
    clickhouse_server: ClickHouseServerInfo,
    tmp_path: Path,
) -> None:
    core_url, telemetry, database = services
    origin, unlisted = page_origins
    superuser.execute(
        "UPDATE exercises SET video_url = %s, instructions = %s", (f"{origin}/clip.webm", "1. Sit\n2. Lift")
    )
    enroll(core_api, superuser, org, sessions=1)
    consent = httpx.post(
        f"{core_url}/v1/patients/{org.patient}/consent",
        json={"analytics_level": 2, "biometric": True},
        headers=org.headers("patient"),
    )
    assert consent.status_code == 200, consent.text
    bearer = org.headers("patient")["Authorization"].removeprefix("Bearer ")
    fragment = urlencode(
        {"core": core_url, "telemetry": telemetry.url, "token": bearer, "patient": org.patient, "heartbeat_ms": 1000}
    )

    chromium.get(f"{origin}/index.html#{fragment}")
    # Telemetry goes away mid-session, after the first pose batch is acknowledged, for three seconds.
    wait_for(chromium, lambda s: any(a["path"] == "/v1/pose/frames" for a in s["acknowledged"]), 30, "a pose ack")
    telemetry.stop()
    time.sleep(3)
    telemetry.start()
    final = wait_for(chromium, lambda s: s["state"]["phase"] == "done", 60, "the session's end")
    assert final["retries"] > 0, "the page never retried during the outage"
    # 429s: the page read Retry-After across origins and waited at least that long before resending the same
    # key, and every refused batch was acknowledged in the end.
    attempts = telemetry_log(chromium)
    refused_429 = [(i, a) for i, a in enumerate(attempts) if a["status"] == 429]
    assert refused_429, "the page never met the rate limit"
    acknowledged_keys = {a["key"] for a in final["acknowledged"]}
    for index, attempt in refused_429:
        assert (attempt["retryAfter"] or 0) >= 1, attempt  # Retry-After was readable across origins
        retry = next(a for a in attempts[index + 1 :] if a["key"] == attempt["key"])
        assert retry["path"] == attempt["path"]
        assert retry["sentAt"] - attempt["answeredAt"] >= attempt["retryAfter"] * 1000 - 1, (attempt, retry)
        assert attempt["key"] in acknowledged_keys
    assert chromium.find_element("id", "instructions").text.splitlines() == ["Sit", "Lift"]
    chromium.save_screenshot(str(tmp_path / "session-done.png"))
    # A beacon refused with 429 is lost (nobody reads its answer): let the actor's bucket refill first.
    time.sleep(1.2)
    chromium.get("about:blank")  # pagehide: the beacon carries the last view's session_end
    # Chromium logs each request refused during the outage; anything else is the page's own error.
    entries: list[dict[str, Any]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
    console = [e["message"] for e in entries if e["level"] == "SEVERE"]
    refused = [m for m in console if m.startswith(telemetry.url) and m.endswith("net::ERR_CONNECTION_REFUSED")]
    limited = [m for m in console if m.startswith(telemetry.url) and "status of 429" in m]
    assert refused
    assert limited
    assert [message for message in console if message not in refused + limited] == []

    completion_id = final["state"]["completion"]
    done = httpx.get(f"{core_url}/v1/patient-session-completions/{completion_id}", headers=org.headers("patient"))
    assert done.json()["status"] == "completed"
    logs = httpx.get(
        f"{core_url}/v1/patient-session-completions/{completion_id}/exercise-logs", headers=org.headers("specialist")
    ).json()["exercise_logs"]
    assert [log["id"] for log in logs] == final["state"]["exerciseLogs"]
    assert all(log["video_watched"] and log["pose_data_captured"] for log in logs)

    clickhouse = ClickHouseClient.from_url(clickhouse_server.url)
    pose_acks = [a["ack"] for a in final["acknowledged"] if a["path"] == "/v1/pose/frames"]
    expected = {ack["batch_id"]: ack["accepted"] for ack in pose_acks}
    assert len(expected) == len(pose_acks)
    assert sum(expected.values()) == final["state"]["poseFramesAcknowledged"]
    stored: dict[str, int] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        media = rows(
            clickhouse,
            f"SELECT toString(event), reason FROM {database}.media_events WHERE event = 'session_end'",
            {},
        )
        stored = {
            str(batch): int(count)
            for batch, count in rows(
                clickhouse,
                f"SELECT toString(batch_id), count() FROM {database}.pose_tracking_frames GROUP BY batch_id",
                {},
            )
        }
        if stored == expected and len(media) == 2:
            break
        time.sleep(0.3)
    assert stored == expected  # every acknowledged batch, each exactly once, nothing else
    assert sorted(reason for _, reason in media) == ["ended", "navigated_away"]
    media_types = {
        event for (event,) in rows(clickhouse, f"SELECT DISTINCT toString(event) FROM {database}.media_events", {})
    }
    assert {"play_intent", "session_start", "heartbeat", "milestone", "session_end"} <= media_types
    intents = f"SELECT DISTINCT platform FROM {database}.media_events WHERE event = 'play_intent'"
    assert rows(clickhouse, intents, {}) == [("web",)]
    # Every acknowledged media batch exactly once despite the retries, plus the beacon's batch.
    media_acks = {a["ack"]["batch_id"]: a["ack"]["accepted"] for a in final["acknowledged"] if "media" in a["path"]}
    media_batches = {
        str(batch): int(count)
        for batch, count in rows(
            clickhouse, f"SELECT toString(batch_id), count() FROM {database}.media_events GROUP BY batch_id", {}
        )
    }
    assert {batch: media_batches.get(batch) for batch in media_acks} == media_acks
    assert len(media_batches.keys() - media_acks.keys()) == 1  # the beacon's
    analytics = sorted(name for (name,) in rows(clickhouse, f"SELECT event_name FROM {database}.analytics_events", {}))
    assert analytics == ["treatment_plan.page_left", "treatment_plan.session_completed"]

    # What staff see through telemetry's own read routes, with a staff telemetry token of the organization.
    # These aggregate (frames per session, one QoE row per view), so they cannot show a batch stored twice or
    # a lost one that a duplicate made up for: the exactly-once checks above stay on ClickHouse itself.
    actor_hash = httpx.get(f"{core_url}/v1/patients/{org.patient}", headers=org.headers("specialist")).json()[
        "telemetry_actor_hash"
    ]
    staff_token = httpx.post(f"{core_url}/v1/telemetry/token", headers=org.headers("specialist")).json()["token"]
    staff = {"Authorization": f"Bearer {staff_token}"}
    assert [s["framesAcknowledged"] for s in final["state"]["poseSessions"]] != []
    for session in final["state"]["poseSessions"]:
        stats = httpx.get(
            f"{telemetry.url}/v1/pose/sessions/{session['sessionId']}/stats",
            params={"actor_hash": actor_hash},
            headers=staff,
        )
        assert stats.status_code == 200, stats.text
        assert stats.json()["frames"] == session["framesAcknowledged"]
    views = final["state"]["views"]
    assert len(views) == 2
    # Each exercise's events and frames went under its log's telemetry session id (verified adherence).
    logged = superuser.execute(
        "SELECT telemetry_session_id::text FROM patient_exercise_logs WHERE patient_id = %s ORDER BY sort_order",
        (org.patient,),
    ).fetchall()
    assert views == [session_id for (session_id,) in logged]
    assert {s["sessionId"] for s in final["state"]["poseSessions"]} <= set(views)
    media_ids = set()
    for view in views:
        qoe = httpx.get(
            f"{telemetry.url}/v1/media/sessions/{view}/qoe", params={"actor_hash": actor_hash}, headers=staff
        )
        assert qoe.status_code == 200, qoe.text
        body = qoe.json()
        assert (body["started"], body["playback_failed"], body["exited_before_start"]) == (True, False, False)
        assert body["watched_seconds"] > 0
        media_ids.add(body["media_id"])
    # Completed views are counted from session_end (the last view's came by beacon).
    completed = 0
    for media_id in media_ids:
        summary = httpx.get(f"{telemetry.url}/v1/media/{media_id}/stats", headers=staff)
        assert summary.status_code == 200, summary.text
        completed += summary.json()["completed_views"]
    assert completed == len(views)

    # The same page on an origin nobody listed: the browser refuses to hand it core-api's answer.
    chromium.get(f"{unlisted}/index.html")
    cross_origin = chromium.execute_async_script(
        "const done = arguments[0];"
        f"fetch({json.dumps(core_url + '/v1/telemetry/token')}, "
        "{method: 'POST', headers: {Authorization: 'Bearer x'}})"
        ".then(() => done('allowed'), (error) => done(error.name));"
    )
    assert cross_origin == "TypeError"


PREFLIGHTS = [
    ("core", "/v1/telemetry/token", "POST"),
    ("core", "/v1/patient-exercise-logs/1", "PUT"),
    ("telemetry", "/v1/pose/frames", "POST"),
    ("telemetry", "/v1/media/events", "POST"),
    ("telemetry", "/v1/analytics/track", "POST"),
]


def test_preflights_allow_every_header_the_client_sends(
    services: tuple[str, Telemetry, str], page_origins: tuple[str, str]
) -> None:
    """Every route the page calls with headers a browser does not send on its own; one test, so the services
    start once."""
    core_url, telemetry, _ = services
    for service, path, method in PREFLIGHTS:
        base = core_url if service == "core" else telemetry.url
        response = httpx.options(
            f"{base}{path}",
            headers={
                "Origin": page_origins[0],
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
            },
        )
        assert response.status_code == 204, (path, response.text)
        assert response.headers["access-control-allow-origin"] == page_origins[0]
        allowed = {h.strip() for h in response.headers["access-control-allow-headers"].lower().split(",")}
        assert {"authorization", "content-type", "idempotency-key"} <= allowed, path
