"""Verified adherence with every part a real process: core-api, its dispatcher, and telemetry on the real
ClickHouse server. The test plays the patient's app over HTTP: it logs exercises through core-api and
sends media events and pose frames to telemetry under each log's ``telemetry_session_id``.

Sessions where telemetry agrees, contradicts, is partial, and is absent without consent; telemetry is down
when the evidence falls due, so the dispatcher retries until it is back; then the stored states and figures
equal the hand-computed ones, nothing is stored twice, and the specialist's views show them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from clickhouse_driver import Client as ClickHouseClient

from tests.conftest import ClickHouseServerInfo, core_api_env, stop_service, wait_ready
from tests.core_api.helpers.evidence import DONE, FORM, WATCHED, counted_pose, evidence_states, watched_media
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.two_services import TELEMETRY_AUDIENCE, TELEMETRY_ISSUER
from tests.core_api.seed import Org
from tools.databases import PostgresUrls, free_port

pytestmark = pytest.mark.processes


def launch(module: str, env: dict[str, str], port: int | None = None) -> subprocess.Popen[bytes]:
    extra = {"SERVER_PORT": str(port), "SERVER_WORKERS": "1"} if port else {}
    process = subprocess.Popen(
        [sys.executable, "-m", module], env={**os.environ, **env, **extra, "LOG_LEVEL": "warning"}
    )
    if port:
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        except RuntimeError:
            process.kill()
            raise
    return process


def eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


class App:
    """The patient's app and the specialist's browser, over HTTP."""

    def __init__(self, core_url: str, telemetry_url: str, org: Org) -> None:
        self.core = httpx.Client(base_url=core_url, timeout=10)
        self.telemetry_url = telemetry_url
        self.org = org

    def call(self, method: str, path: str, role: str = "patient", status: int = 200, **kwargs: Any) -> Any:
        response = self.core.request(method, path, headers=self.org.headers(role), **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def consent(self, **body: Any) -> None:
        self.call("POST", f"/v1/patients/{self.org.patient}/consent", json=body)

    def token(self) -> tuple[str, str]:
        body = self.call("POST", "/v1/telemetry/token")
        return body["token"], body["actor_hash"]

    def log(self, log: dict[str, Any], **body: Any) -> None:
        self.call("PUT", f"/v1/patient-exercise-logs/{log['id']}", json=body)

    def send(self, token: str, path: str, body: Any) -> None:
        response = httpx.post(
            f"{self.telemetry_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 202, response.text

    def perform(self, token: str, log: dict[str, Any], reps: int) -> None:
        """The exercise ``log`` reported done, with its video watched and its pose tracked counting ``reps``."""
        self.log(log, **DONE)
        self.send(token, "/v1/media/events", watched_media(log["telemetry_session_id"]))
        self.send(token, "/v1/pose/frames", counted_pose(log["telemetry_session_id"], reps))


@pytest.fixture
def processes(
    postgres: PostgresUrls, dev_keys: Path, clickhouse_server: ClickHouseServerInfo, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """core-api (evidence due 1 s after a completion) and telemetry running; the dispatcher is started by
    the test. Everything started is stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    core_port, telemetry_port = free_port(), free_port()
    core_env = core_api_env(postgres, dev_keys) | {"EVIDENCE_SETTLE_SECONDS": "1"}
    database = f"evidence_{uuid.uuid4().hex[:8]}"
    telemetry_env = {
        "SPOOL_DIR": str(tmp_path / "spool"),
        "SPOOL_FLUSH_INTERVAL_SECONDS": "0.2",
        "AUTH_JWKS_URL": f"http://127.0.0.1:{core_port}/.well-known/jwks.json",
        "AUTH_ISSUER": TELEMETRY_ISSUER,
        "AUTH_AUDIENCE": TELEMETRY_AUDIENCE,
        "CLICKHOUSE_URL": clickhouse_server.url,
        "CLICKHOUSE_HTTP_URL": clickhouse_server.http_url,
        "CLICKHOUSE_DATABASE": database,
    }
    dispatcher_env = core_env | {
        "PRIVACY_TELEMETRY_URL": f"http://127.0.0.1:{telemetry_port}",
        "DISPATCHER_POLL_INTERVAL_SECONDS": "0.2",
        "EVIDENCE_BACKOFF_BASE_SECONDS": "0.5",
        "EVIDENCE_BACKOFF_MAX_SECONDS": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **telemetry_env}, check=True
    )

    def start(name: str) -> subprocess.Popen[bytes]:
        if name == "core_api":
            process = launch("core_api", core_env, core_port)
        elif name == "telemetry":
            process = launch("telemetry", telemetry_env, telemetry_port)
        else:
            process = launch("core_api.automation.dispatcher", dispatcher_env)
        started.append(process)
        return process

    try:
        start("core_api")
        yield {
            "core_url": f"http://127.0.0.1:{core_port}",
            "telemetry_url": f"http://127.0.0.1:{telemetry_port}",
            "telemetry": start("telemetry"),
            "start": start,
            "clickhouse_url": clickhouse_server.url,
            "clickhouse_database": database,
        }
    finally:
        for process in reversed(started):
            stop_service(process)


def test_the_patients_sessions_are_verified_by_what_telemetry_measured_across_an_outage(
    processes: dict[str, Any], superuser: psycopg.Connection, org: Org
) -> None:
    app = App(processes["core_url"], processes["telemetry_url"], org)
    app.consent(analytics_level=2, biometric=True)
    token, actor = app.token()
    enrollment = enroll(app.core, superuser, org, sessions=4)  # type: ignore[arg-type]

    def run(number: int) -> dict[str, Any]:
        started: dict[str, Any] = app.call(
            "POST", f"/v1/patient-treatment-plans/{enrollment['id']}/sessions/{number}/start", status=201, json={}
        )
        return started

    def complete(completion: dict[str, Any]) -> None:
        app.call("POST", f"/v1/patient-session-completions/{completion['id']}/complete", json={})

    # 1: telemetry agrees on both exercises.
    agrees = run(1)
    for log in agrees["exercise_logs"]:
        app.perform(token, log, reps=30)
    complete(agrees)
    # 2: the tracker counted 12 of the 30 repetitions reported; the second exercise skipped.
    contradicts = run(2)
    counted_12, skipped = contradicts["exercise_logs"]
    app.perform(token, counted_12, reps=12)
    app.log(skipped, skipped=True)
    complete(contradicts)
    # 3: media and pose for the first exercise, nothing at all for the second.
    partial = run(3)
    sent, silent = partial["exercise_logs"]
    app.perform(token, sent, reps=30)
    app.log(silent, **DONE)
    complete(partial)
    # 4: analytics withdrawn (level 0): no evidence may exist, so none is asked for.
    app.consent(analytics_level=0)
    without_consent = run(4)
    for log in without_consent["exercise_logs"]:
        app.log(log, **DONE)
    complete(without_consent)

    clickhouse = ClickHouseClient.from_url(processes["clickhouse_url"])
    database = processes["clickhouse_database"]

    def stored(table: str) -> int:
        query = f"SELECT count() FROM {database}.{table} WHERE actor_hash = %(actor)s"
        return int(clickhouse.execute(query, {"actor": actor})[0][0])

    eventually(lambda: (stored("media_events"), stored("pose_tracking_frames")) == (7 * 4, 10 * 4), "rows stored")

    # Telemetry goes down before the evidence falls due; the dispatcher tries, fails and backs off.
    stop_service(processes["telemetry"])
    processes["start"]("dispatcher")
    collections = "SELECT attempts, last_error FROM evidence_collections WHERE organization_id = %s ORDER BY id"
    eventually(
        lambda: [row[0] >= 1 for row in superuser.execute(collections, (org.id,)).fetchall()] == [True] * 3,
        "every collection tried while telemetry is down",
    )
    assert {row[1] for row in superuser.execute(collections, (org.id,)).fetchall()} == {"telemetry unreachable"}
    assert evidence_states(superuser, agrees["id"])[0] == "pending"

    # Back up: the retries collect everything, once.
    processes["start"]("telemetry")
    pending = (
        "SELECT count(*) FROM patient_session_completions WHERE organization_id = %s AND evidence_state = 'pending'"
    )
    eventually(lambda: superuser.execute(pending, (org.id,)).fetchone() == (0,), "every completion collected")
    verified = ("verified", WATCHED, 30, FORM, True)
    nothing = (None, None, None)
    assert {
        completion["id"]: evidence_states(superuser, completion["id"])
        for completion in (agrees, contradicts, partial, without_consent)
    } == {
        agrees["id"]: ("verified", [verified, verified]),
        contradicts["id"]: (
            "contradicted",
            [("contradicted", WATCHED, 12, FORM, True), ("not_collected", *nothing, False)],
        ),
        partial["id"]: ("partial", [verified, ("partial", *nothing, True)]),
        without_consent["id"]: ("not_collected", [("not_collected", *nothing, False)] * 2),
    }
    kept = "SELECT collections_done, count(*) FROM evidence_collections WHERE organization_id = %s GROUP BY 1"
    assert superuser.execute(kept, (org.id,)).fetchall() == [(1, 3)]
    logs = "SELECT count(*), count(DISTINCT telemetry_session_id) FROM patient_exercise_logs WHERE organization_id = %s"
    assert superuser.execute(logs, (org.id,)).fetchone() == (8, 8)
    alerts = (
        "SELECT count(*) FROM automation_events WHERE organization_id = %s "
        "AND event_type = 'adherence.evidence_contradicted'"
    )
    assert superuser.execute(alerts, (org.id,)).fetchone() == (1,)

    # What the specialist sees. Analytics: reported averages beside measured ones (over the logs with
    # evidence only: every measured log saw 97.5 % watched and a form of 85), and the sessions.
    plan = f"/v1/patient-treatment-plans/{enrollment['id']}"
    engagement = app.call("GET", f"{plan}/analytics", role="specialist")["engagement"]
    assert engagement == engagement | {
        "avg_video_watch_percentage": 100.0,
        "avg_measured_watch_percentage": WATCHED,
        "avg_mean_form_score": FORM,
        "sessions_completed": 4,
        "sessions_verified": 1,
        "sessions_contradicted": 1,
    }
    # The weekly report counts the completed slots of the week by their deciding session's evidence.
    states = {agrees["id"]: "verified", contradicts["id"]: "contradicted", partial["id"]: "partial"}
    weekly = app.call("GET", f"{plan}/adherence/weekly", role="specialist")
    decided = [
        states.get(slot["completion_id"])
        for day in weekly["days"]
        for slot in day["slots"]
        if slot["state"] == "completed"
    ]
    assert "contradicted" in decided or "verified" in decided, decided
    counts = (decided.count("verified"), decided.count("contradicted"))
    assert (weekly["sessions_verified"], weekly["sessions_contradicted"]) == counts

    # The organization page of that week (named: the page's default is the organization's today, which an
    # hour before midnight UTC is a day before the patient's in Madrid) shows the same counts, and its filter
    # finds the enrollment by them.
    def page(**query: str) -> dict[int, tuple[int, int]]:
        params = query | {"week": weekly["week_start"]}
        rows = app.call("GET", "/v1/adherence/weekly", role="admin", params=params)["rows"]
        return {
            row["patient_treatment_plan_id"]: (row["sessions_verified"], row["sessions_contradicted"]) for row in rows
        }

    assert page()[enrollment["id"]] == counts
    assert (enrollment["id"] in page(has_contradicted="true")) == (counts[1] > 0)
    assert (enrollment["id"] in page(has_contradicted="false")) == (counts[1] == 0)
    # The completion itself says its state.
    shown = app.call("GET", f"/v1/patient-session-completions/{contradicts['id']}", role="specialist")
    assert shown["evidence_state"] == "contradicted"
