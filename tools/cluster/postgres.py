"""The PostgreSQL half of ``make cluster-check``: core-api, the automation dispatcher and the nightly jobs on
a primary and its streaming standbys while the primary is lost.

The instances start on loopback (tools/cluster/postgres_cluster.py) as many and with the replication mode
the prod overlay's CloudNativePG ``Cluster`` renders (``spec.instances``, ``spec.postgresql.synchronous``).
core-api and the dispatcher run as processes with a multi-host ``DATABASE_URL``
(``host=a,b,c target_session_attrs=read-write``), so libpq finds whichever instance takes writes. A
specialist per organization creates treatment plans and a patient starts and completes sessions, each
retrying a 503 as its ``Retry-After`` says, and a prober creates plans retrying every 50 ms, until the end.

Failover, as CloudNativePG does it: the primary's WAL senders stall (SIGSTOP) for a moment, as a network
fault would, then every process of the primary is killed (the machine is lost); the standby that received
the most WAL is promoted and the others are pointed at it. Then, checked and printed:

- core-api answers 503 problem details with ``Retry-After`` (nothing else) for a short time and serves
  writes again without a restart; every write it acknowledged (201/200 with an id) is on the new primary,
  and none begun while the WAL was stalled was acknowledged;
- the dispatcher, running through the failover, delivers the webhook of every acknowledged completion;
  the nightly jobs (the CronJobs' modules, tools/jobs.py) run against the multi-host URLs and write what
  they should;
- then the same failover once more with the new primary switched to asynchronous streaming: the writes it
  acknowledged while its WAL was stalled are lost. That is what synchronous replication prevents;
- last, the one instance left switched back to the overlay's synchronous replication, with no standby to
  confirm a commit: no write is acknowledged, errors are 503 problems (a request whose COMMIT waits for a
  standby gets no answer until its client gives up).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
from core_api.db.migrate import migrate

from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org, seed_organization
from tests.faults.scenarios import Report, core_api_env, is_problem, running
from tools.cluster.postgres_cluster import (
    Instance,
    ReplicatedPostgres,
    Synchronous,
    prod_instances,
    prod_synchronous,
    resume,
)
from tools.jobs import LOCAL_JOBS
from tools.processes import stop_process
from tools.tokens import ensure_dev_keys, ensure_telemetry_token_keys

ORGANIZATIONS = 2
LOAD_BEFORE_SECONDS = 3.0
STALL_SECONDS = 1.5
LOAD_AFTER_SECONDS = 3.0
PROBE_INTERVAL_SECONDS = 0.05
SERVE_AGAIN_LIMIT_SECONDS = 30.0
DELIVERY_LIMIT_SECONDS = 30.0
JOB_LIMIT_SECONDS = 60.0
NO_STANDBY_SECONDS = 12.0
REQUEST_TIMEOUT_SECONDS = 20.0
# core-api's default (DatabaseSettings.pool_timeout_seconds): a request waits this long for a connection
# before its 503.
POOL_TIMEOUT_SECONDS = 5.0
AUTOMATION_ENV = {
    "AUTOMATION_ALLOW_HTTP_WEBHOOKS": "true",
    "AUTOMATION_WEBHOOK_ALLOWED_CIDRS": "127.0.0.0/8",
    "DISPATCHER_POLL_INTERVAL_SECONDS": "0.2",
}

PLANS_PRESENT = "SELECT id::text FROM treatment_plans WHERE id::text = ANY(%s)"
COMPLETIONS_PRESENT = (
    "SELECT id::text FROM patient_session_completions WHERE id::text = ANY(%s) AND status = 'completed'"
)
WEEKS_WRITTEN = (
    "SELECT count(*) FROM weekly_adherence_reports WHERE patient_treatment_plan_id = ANY(%s) AND computed_at >= %s"
)


@dataclass(frozen=True)
class Answer:
    """One request of the load: what it was, when it began and ended (monotonic), what came back."""

    what: str
    began: float
    ended: float
    status: int
    """0: no HTTP answer at all."""
    retry_after: str | None
    is_problem: bool
    acknowledged: str | None
    """The id of the plan created or the session completed when the write was answered 2xx."""


class Writes:
    """Writes to core-api until stopped: per organization a specialist creating treatment plans and a patient
    starting and completing sessions of their enrollment, each retrying a 503 after its ``Retry-After``; and
    a prober creating plans that retries every PROBE_INTERVAL_SECONDS, so the moment core-api serves again
    is seen whatever ``Retry-After`` says."""

    def __init__(self, base_url: str, enrollments: list[tuple[Org, int]]) -> None:
        self.base_url = base_url
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            *(threading.Thread(target=self._plans, args=(org, True)) for org, _ in enrollments),
            *(threading.Thread(target=self._sessions, args=(org, enrollment)) for org, enrollment in enrollments),
            threading.Thread(target=self._plans, args=(enrollments[0][0], False)),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _call(
        self,
        http: httpx.Client,
        what: str,
        url: str,
        body: dict[str, Any],
        org: Org,
        role: str,
        obey_retry_after: bool = True,
    ) -> Answer:
        began = time.monotonic()
        try:
            response = http.post(url, json=body, headers=org.headers(role))
        except httpx.HTTPError:
            answer = Answer(what, began, time.monotonic(), 0, None, False, None)
        else:
            acknowledged = None
            if response.status_code in (200, 201):
                acknowledged = str(response.json()["id"])
            answer = Answer(
                what,
                began,
                time.monotonic(),
                response.status_code,
                response.headers.get("Retry-After"),
                is_problem(response, response.status_code),
                acknowledged,
            )
        with self._lock:
            self.answers.append(answer)
        if answer.status == 503 and answer.retry_after:
            self._stop.wait(float(answer.retry_after) if obey_retry_after else PROBE_INTERVAL_SECONDS)
        return answer

    def _plans(self, org: Org, obey_retry_after: bool) -> None:
        body = {
            "name": "Failover plan",
            "type": "telerehab",
            "frequency_per_week": 3,
            "duration_weeks": 4,
            "specialist_id": org.specialist,
            "specialty_id": org.specialty,
        }
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            while not self._stop.is_set():
                self._call(http, "plan", "/v1/treatment-plans", body, org, "specialist", obey_retry_after)

    def _sessions(self, org: Org, enrollment: int) -> None:
        completion: str | None = None
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            while not self._stop.is_set():
                if completion is None:
                    started = self._call(
                        http, "start", f"/v1/patient-treatment-plans/{enrollment}/sessions/1/start", {}, org, "patient"
                    )
                    completion = started.acknowledged
                else:
                    completed = self._call(
                        http,
                        "complete",
                        f"/v1/patient-session-completions/{completion}/complete",
                        {"pain_level_after": 3},
                        org,
                        "patient",
                    )
                    # 409: completed by an attempt answered 503; 404: its start was lost in a failover.
                    if completed.status in (200, 404, 409):
                        completion = None

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def acknowledged(self, what: str, before: float = float("inf"), since: float = 0.0) -> set[str]:
        """Ids of the writes of kind ``what`` answered 2xx between ``since`` and ``before``."""
        return {
            a.acknowledged for a in self.snapshot() if a.what == what and a.acknowledged and since <= a.ended < before
        }

    def served_after(self, moment: float) -> float | None:
        """When the first write begun after ``moment`` was acknowledged."""
        done = [a.ended for a in self.snapshot() if a.began >= moment and a.acknowledged and a.what != "start"]
        return min(done, default=None)


class WebhookReceiver:
    """An HTTP server on loopback that records the ``entity_id`` of every webhook delivered to it."""

    def __init__(self) -> None:
        self.entities: Counter[str] = Counter()
        entities = self.entities
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    entities[str(body["data"]["entity_id"])] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


@dataclass
class Failover:
    """The figures of one failover under the write load."""

    mode: str
    old_primary: str
    crashed_at: float = 0.0
    new_primary: str = ""
    figures: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def _waiting_for_standby(primary: Instance) -> int:
    """Backends of ``primary`` whose commit waits for a standby's acknowledgement."""
    row = primary.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
    return int(row[0][0])


def fail_over(cluster: ReplicatedPostgres, primary: Instance, writes: Writes, mode: str) -> Failover:
    """Stall ``primary``'s WAL senders for STALL_SECONDS, kill it, promote the standby that received the most
    WAL, point the others at it, and wait until core-api acknowledges writes again."""
    standbys = [each for each in cluster.instances if each is not primary and each.is_running()]
    outcome = Failover(mode=mode, old_primary=primary.name)
    stalled = primary.stall_sending()
    stalled_at = time.monotonic()
    time.sleep(STALL_SECONDS)
    waiting = _waiting_for_standby(primary)
    crashed_at = outcome.crashed_at = time.monotonic()
    primary.crash()
    resume(stalled)
    chosen = max(standbys, key=lambda standby: standby.received_lsn())
    chosen.promote()
    promoted_at = time.monotonic()
    others = [each for each in standbys if each is not chosen]
    for other in others:
        other.follow(chosen)
    cluster.wait_streaming(chosen, [other.name for other in others])
    streaming_at = time.monotonic()
    deadline = crashed_at + SERVE_AGAIN_LIMIT_SECONDS
    while writes.served_after(crashed_at) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    served_at = writes.served_after(crashed_at)
    time.sleep(LOAD_AFTER_SECONDS)
    outcome.new_primary = chosen.name
    window = [a for a in writes.snapshot() if a.ended >= stalled_at]
    unavailable = [a.ended for a in window if a.status == 503]
    during_stall = [a for a in window if a.began >= stalled_at and a.ended < crashed_at and a.what != "start"]
    outcome.figures = {
        "writes_begun_and_acknowledged_while_wal_stalled": sum(1 for a in during_stall if a.acknowledged),
        "commits_waiting_for_a_standby_at_the_crash": waiting,
        "promotion_s": round(promoted_at - crashed_at, 2),
        "standbys_following_s": round(streaming_at - crashed_at, 2),
        "503_window_s": round(max(unavailable) - min(unavailable), 2) if unavailable else 0.0,
        "answers_503": len(unavailable),
        "serving_again_after_crash_s": round(served_at - crashed_at, 2) if served_at else None,
        "serving_again_after_promotion_s": round(max(0.0, served_at - promoted_at), 2) if served_at else None,
        "slowest_answer_s": round(max(a.ended - a.began for a in window), 2) if window else None,
        "answers": dict(sorted(Counter(f"{a.what} {a.status}" for a in window).items())),
    }
    outcome.problems = [
        f"{a.what}: {a.status}" + ("" if a.is_problem else " (not a problem document)")
        for a in window
        if a.status >= 500 or a.status == 0
        if not (a.status == 503 and a.retry_after and a.is_problem)
    ]
    if served_at is None:
        outcome.problems.append(f"no write acknowledged within {SERVE_AGAIN_LIMIT_SECONDS}s of the crash")
    return outcome


def lost_writes(superuser_url: str, writes: Writes, before: float) -> tuple[int, list[str]]:
    """How many writes were acknowledged before ``before``, and the ids of those missing from the database."""
    plans = writes.acknowledged("plan", before)
    completions = writes.acknowledged("complete", before)
    with psycopg.connect(superuser_url) as conn:
        present = {row[0] for row in conn.execute(PLANS_PRESENT, (list(plans),)).fetchall()}
        present |= {row[0] for row in conn.execute(COMPLETIONS_PRESENT, (list(completions),)).fetchall()}
    return len(plans) + len(completions), sorted((plans | completions) - present)


class Dispatcher:
    """``python -m core_api.automation.dispatcher`` as a process, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._process = subprocess.Popen(
            [sys.executable, "-m", "core_api.automation.dispatcher"],
            env={**os.environ, **env, "LOG_LEVEL": "info", "LOG_FORMAT": "json"},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def events(self) -> Counter[str]:
        """The log events it wrote, by name."""
        names: Counter[str] = Counter()
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                names[str(json.loads(line).get("event"))] += 1
            except ValueError:
                continue
        return names

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        stop_process(self._process, 30)


def run_nightly_jobs(env: dict[str, str]) -> dict[str, str]:
    """Each nightly job as its own process; job → ``done`` and the counts it logged, or why it failed."""
    summaries: dict[str, str] = {}
    for job in LOCAL_JOBS:
        result = subprocess.run(
            [sys.executable, "-m", job],
            env={**os.environ, **env, "LOG_LEVEL": "info", "LOG_FORMAT": "json"},
            capture_output=True,
            text=True,
            timeout=JOB_LIMIT_SECONDS,
            check=False,
        )
        name = job.rsplit(".", 1)[1]
        summaries[name] = f"exit {result.returncode}: {result.stderr[-400:]}"
        for line in (result.stdout + result.stderr).splitlines():
            with contextlib.suppress(ValueError):
                logged = json.loads(line)
                if result.returncode == 0 and logged.get("event") == f"{name}.done":
                    counts = {k: v for k, v in logged.items() if k not in ("event", "level", "timestamp", "logger")}
                    summaries[name] = f"done {counts}"
    return summaries


def _wait_for(condition: Callable[[], bool], limit: float) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if condition():
            return round(time.monotonic() - began, 2)
        time.sleep(0.1)
    return None


@dataclass
class Outcome:
    """What the check found: its reports, in order, and every promise broken."""

    reports: list[Report] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, report: Report) -> None:
        self.reports.append(report)
        print(report, flush=True)


def _mode(synchronous: Synchronous | None) -> str:
    if synchronous is None:
        return "asynchronous"
    return (
        f"synchronous (method {synchronous.method}, number {synchronous.number}, "
        f"dataDurability {synchronous.data_durability})"
    )


def _prepare(base_url: str, superuser_url: str, orgs: list[Org], webhook_url: str) -> list[tuple[Org, int]]:
    """Each organization's patient enrolled in a one-session plan, and a webhook rule on completed sessions."""
    with (
        httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http,
        psycopg.connect(superuser_url, autocommit=True) as superuser,
    ):
        enrollments = [
            (org, int(enroll(cast(Client, http), superuser, org, sessions=1, weeks=52, frequency=14)["id"]))
            for org in orgs
        ]
        rule = {"event_type": "treatment_plan.session_completed", "action": "webhook", "webhook_url": webhook_url}
        for org in orgs:
            created = http.post("/v1/automation/rules", json=rule, headers=org.headers("admin"))
            if created.status_code != 201:
                raise RuntimeError(f"automation rule: {created.status_code} {created.text}")
    return enrollments


def _failover(
    cluster: ReplicatedPostgres, writes: Writes, superuser_url: str, primary: Instance, mode: str, outcome: Outcome
) -> Failover:
    """One failover under the writes, reported with the writes acknowledged and lost."""
    done = fail_over(cluster, primary, writes, mode)
    acknowledged, lost = lost_writes(superuser_url, writes, time.monotonic())
    outcome.add(
        Report(
            f"postgres failover, {mode}",
            {
                "from": done.old_primary,
                "to": done.new_primary,
                **done.figures,
                "writes_acknowledged": acknowledged,
                "acknowledged_writes_lost": len(lost),
            },
        )
    )
    outcome.failures += [f"failover ({mode}): {problem}" for problem in done.problems]
    done.lost = lost
    return done


def _after_failover(
    cluster: ReplicatedPostgres,
    writes: Writes,
    dispatcher: Dispatcher,
    receiver: WebhookReceiver,
    enrollments: list[tuple[Org, int]],
    crashed_at: float,
    outcome: Outcome,
) -> None:
    """The nightly jobs against the multi-host URLs, and the dispatcher that ran through the failover."""
    jobs_began = datetime.now(UTC)
    jobs = run_nightly_jobs({"DATABASE_URL": cluster.app_url, "MIGRATIONS_DATABASE_URL": cluster.owner_url})
    with psycopg.connect(cluster.multi_host_url("postgres")) as conn:
        row = conn.execute(WEEKS_WRITTEN, ([enrollment for _, enrollment in enrollments], jobs_began)).fetchone()
    weeks = int(row[0]) if row else 0
    completed = writes.acknowledged("complete")
    completed_after = writes.acknowledged("complete", since=crashed_at)
    delivered_in = _wait_for(lambda: all(receiver.entities[c] for c in completed), DELIVERY_LIMIT_SECONDS)
    outcome.add(
        Report(
            "after the failover",
            {
                **{f"job {name}": line for name, line in jobs.items()},
                "weekly_rows_written_by_the_job": weeks,
                "completions_acknowledged": len(completed),
                "of_them_after_the_crash": len(completed_after),
                "all_their_webhooks_delivered_within_s": delivered_in,
                "webhooks_received": sum(receiver.entities.values()),
                "dispatcher_passes_failed": dispatcher.events()["dispatcher.pass_failed"],
                "dispatcher_running": dispatcher.alive(),
            },
        )
    )
    outcome.failures += [f"job {name}: {line}" for name, line in jobs.items() if not line.startswith("done")]
    if weeks < len(enrollments):
        outcome.failures.append(f"adherence_rollforward wrote {weeks} week rows for {len(enrollments)} enrollments")
    if not completed_after:
        outcome.failures.append("no completion acknowledged after the failover: the dispatcher was not tried")
    if delivered_in is None:
        missing = sorted(c for c in completed if not receiver.entities[c])
        outcome.failures.append(f"webhooks of {len(missing)} acknowledged completions not delivered: {missing[:5]}")
    if not dispatcher.alive():
        outcome.failures.append("the dispatcher exited")


def _no_standby_left(cluster: ReplicatedPostgres, writes: Writes, outcome: Outcome) -> None:
    """The last instance standing switched back to the overlay's synchronous replication, whose standbys are
    all gone: for NO_STANDBY_SECONDS no write may be acknowledged, and every answer is a 503 problem (or
    none, for a request whose COMMIT waits for a standby until its client gives up)."""
    survivor = next(each for each in cluster.instances if each.is_running())
    survivor.set("synchronous_standby_names", cluster.standby_names(survivor))
    began = time.monotonic()
    time.sleep(NO_STANDBY_SECONDS)
    waiting = _waiting_for_standby(survivor)
    writes.stop()  # waits for the requests in flight: answered, or given up after REQUEST_TIMEOUT_SECONDS
    # Every answer from the switch on; a write counts as acknowledged only if it began after the switch.
    answers = [a for a in writes.snapshot() if a.ended >= began]
    acknowledged = [a for a in answers if a.acknowledged and a.began >= began]
    outcome.add(
        Report(
            "no standby left, synchronous",
            {
                "writes_for_s": NO_STANDBY_SECONDS,
                "answers": dict(sorted(Counter(f"{a.what} {a.status}" for a in answers).items())),
                "slowest_answer_s": round(max((a.ended - a.began for a in answers), default=0.0), 2),
                "commits_waiting_for_a_standby": waiting,
                f"given_up_by_the_client_after_{REQUEST_TIMEOUT_SECONDS:.0f}s": sum(1 for a in answers if not a.status),
                "writes_acknowledged": len(acknowledged),
            },
        )
    )
    if acknowledged:
        outcome.failures.append(f"{len(acknowledged)} writes acknowledged with no standby to confirm them")
    outcome.failures += [
        f"no standby left: {a.what} {a.status}"
        for a in answers
        if a.status >= 500 and not (a.status == 503 and a.retry_after and a.is_problem)
    ]


def _under_writes(cluster: ReplicatedPostgres, root: Path, keys: Path, outcome: Outcome) -> None:
    """core-api and the dispatcher on the replicated PostgreSQL, failed over under writes (twice, when the
    overlay's replication is synchronous: then again asynchronous, for comparison)."""
    superuser_url = cluster.multi_host_url("postgres")
    with psycopg.connect(superuser_url, autocommit=True) as superuser:
        orgs = [seed_organization(superuser, keys, f"Failover {n}") for n in range(ORGANIZATIONS)]
    env = core_api_env(cluster.app_url, keys, POOL_TIMEOUT_SECONDS) | AUTOMATION_ENV
    with WebhookReceiver() as receiver, running("core_api", env) as (base_url, _):
        enrollments = _prepare(base_url, superuser_url, orgs, receiver.url)
        dispatcher = Dispatcher(env, root / "dispatcher.log")
        writes = Writes(base_url, enrollments)
        writes.start()
        try:
            time.sleep(LOAD_BEFORE_SECONDS)
            first = _failover(cluster, writes, superuser_url, cluster.instances[0], _mode(cluster.synchronous), outcome)
            if cluster.synchronous and first.lost:
                outcome.failures.append(f"the failover lost {len(first.lost)} acknowledged writes: {first.lost[:5]}")
            if cluster.synchronous and first.figures["writes_begun_and_acknowledged_while_wal_stalled"]:
                outcome.failures.append("writes were acknowledged while no standby could receive their WAL")
            _after_failover(cluster, writes, dispatcher, receiver, enrollments, first.crashed_at, outcome)
            if cluster.synchronous:
                for instance in cluster.instances:
                    if instance.is_running():
                        instance.set("synchronous_standby_names", "")
                time.sleep(LOAD_BEFORE_SECONDS)
                new_primary = next(each for each in cluster.instances if each.name == first.new_primary)
                second = _failover(cluster, writes, superuser_url, new_primary, "asynchronous, for comparison", outcome)
                if not second.lost:
                    outcome.failures.append("the asynchronous failover lost nothing: the comparison shows nothing")
                _no_standby_left(cluster, writes, outcome)
        finally:
            writes.stop()
            dispatcher.stop()


def check(root: Path) -> Outcome:
    """The failovers on a fresh replicated PostgreSQL under ``root``, as the prod overlay configures it."""
    outcome = Outcome()
    keys = root / "keys"
    ensure_dev_keys(keys)
    ensure_telemetry_token_keys(keys)
    synchronous = prod_synchronous()
    cluster = ReplicatedPostgres(root / "postgres", prod_instances(), synchronous)
    began = time.monotonic()
    try:
        cluster.start()
        migrate(cluster.owner_url)
        print(
            f"setup: {len(cluster.instances)} instances, {_mode(synchronous)} as the prod overlay says, started "
            f"and migrated in {time.monotonic() - began:.1f}s",
            flush=True,
        )
        _under_writes(cluster, root, keys, outcome)
    finally:
        cluster.stop()
    return outcome


def main() -> bool:
    """Run the PostgreSQL failovers on a fresh replicated PostgreSQL; print their figures; whether all held."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cluster-check-postgres-") as temp:
        outcome = check(Path(temp))
    for failure in outcome.failures:
        print(f"FAILED: {failure}", flush=True)
    print(f"postgres: {len(outcome.reports)} reports in {time.monotonic() - began:.0f}s", flush=True)
    return not outcome.failures
