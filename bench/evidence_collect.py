"""Collecting the evidence of 1,000 completed sessions (issue #21): batched calls against one call per
completion, through the dispatcher's own evidence pass and a real telemetry process.

- A throwaway PostgreSQL (pgserver in a temporary folder, migrated) seeded set-based: one organization,
  1,000 patients, one enrollment each, and one completed session each with three exercise logs
  (3,000 telemetry sessions), every completion's collection due now, as ``POST complete`` leaves it after
  the settle delay. Each log reports the video watched (90 %) and 1 set of 10 repetitions.
- A throwaway ClickHouse 18.16 server (as the tests start it) holding, for every exercise session, what
  telemetry would have measured: 8 media events (start, heartbeats, milestones to 75 %, end at 92 %) and
  60 pose frames counting up to 10 repetitions, under the patient's keyed hash; and ``python -m telemetry``
  as a real process on it, trusting core-api's telemetry key.
- Target: ``core_api.evidence.collect.collect_once`` as the dispatcher runs it, EVIDENCE_BATCH_SESSIONS 500
  (a pass claims up to 500 completions and asks about their logs 500 sessions a call). Baseline: the same
  code with one session a batch, which never splits a completion: one telemetry call per completion. The
  runs alternate target, baseline, baseline, target after a warm-up pass, the collections re-queued before each.
- Printed per run: wall time, telemetry calls, ClickHouse queries (``system.query_log``), and the check that
  every log collected came out ``verified`` with the hand-known figures. The baseline runs on the first
  PER_CALL_COMPLETIONS completions only (a call each costs about as much as a batch), compared per completion.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import psycopg
from clickhouse_driver import Client
from core_api.db.migrate import migrate
from core_api.evidence.collect import Collector, collect_once
from core_api.settings import EvidenceSettings, TelemetryTokenSettings
from core_api.telemetry_tokens import TelemetryTokenIssuer
from psycopg_pool import AsyncConnectionPool

from bench.services import start_service
from tools.databases import ClickHouseServer, PostgresUrls, free_port, start_local_postgres
from tools.tokens import TELEMETRY_HASH_KEY_FILE, TELEMETRY_SIGNING_KEY_FILE, ensure_telemetry_token_keys

COMPLETIONS = 1_000
PER_CALL_COMPLETIONS = 100
"""The baseline collects a sample (one call each takes about as long as a batch of 500 sessions), compared
per completion."""
LOGS_PER_COMPLETION = 3
FRAMES = 60
DATABASE = "evidence_bench"

SEED = f"""
INSERT INTO organizations (name, time_zone) VALUES ('Evidence Clinic', 'UTC');
INSERT INTO exercises (organization_id, name)
SELECT o.id, 'Exercise ' || n FROM organizations o, generate_series(1, {LOGS_PER_COMPLETION}) AS n;
INSERT INTO treatment_plans (organization_id, name, type, frequency_per_week, duration_weeks, status, published)
SELECT id, 'Plan', 'telerehab', 3, 12, 'active', true FROM organizations;
INSERT INTO treatment_plan_versions (organization_id, treatment_plan_id, version, name, type,
                                     frequency_per_week, duration_weeks, sessions_count, snapshot)
SELECT organization_id, id, 1, name, type, frequency_per_week, duration_weeks, 3, '{{}}' FROM treatment_plans;
INSERT INTO patients (organization_id, name)
SELECT o.id, 'Patient ' || i FROM organizations o, generate_series(1, {COMPLETIONS}) AS i;
INSERT INTO patient_treatment_plans (organization_id, patient_id, treatment_plan_id, treatment_plan_version_id,
    treatment_plan_version, self_assigned, start_date, end_date, frequency_per_week, sessions_total, status)
SELECT p.organization_id, p.id, v.treatment_plan_id, v.id, 1, true, current_date - 3, current_date + 81, 3, 36,
       'active'
FROM patients p CROSS JOIN treatment_plan_versions v;
INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id, session_number,
    status, started_at, completed_at, duration_seconds, exercises_total, exercises_completed, evidence_state,
    evidence_pose_allowed)
SELECT organization_id, patient_id, id, 1, 'completed', now() - interval '30 minutes',
       now() - interval '5 minutes', 1500, {LOGS_PER_COMPLETION}, {LOGS_PER_COMPLETION}, 'pending', true
FROM patient_treatment_plans;
INSERT INTO patient_exercise_logs (organization_id, patient_id, session_completion_id, exercise_id, sort_order,
    prescribed_mode, prescribed_sets, prescribed_reps, actual_sets, actual_reps, video_watched,
    video_watch_percentage, pose_data_captured, evidence_state)
SELECT c.organization_id, c.patient_id, c.id, e.id, e.n - 1, 'reps', 1, 10, 1, 10, true, 90, true, 'pending'
FROM patient_session_completions c
CROSS JOIN (SELECT id, row_number() OVER (ORDER BY name) AS n FROM exercises) e;
INSERT INTO evidence_collections (organization_id, patient_id, session_completion_id, due_at)
SELECT organization_id, patient_id, id, now() FROM patient_session_completions;
ANALYZE;
"""

# The first %(completions)s completions due now, the others tomorrow; every figure cleared.
REQUEUE = """
UPDATE evidence_collections
SET due_at = CASE WHEN session_completion_id <= (SELECT min(id) FROM patient_session_completions)
                                                + %(completions)s - 1
                  THEN now() ELSE now() + interval '1 day' END,
    collections_done = 0, attempts = 0, leased_until = NULL;
UPDATE patient_exercise_logs SET evidence_state = 'pending', measured_watch_percentage = NULL,
    measured_reps = NULL, mean_form_score = NULL, evidence = NULL, evidence_collected_at = NULL;
UPDATE patient_session_completions SET evidence_state = 'pending';
"""

SESSIONS = "SELECT patient_id, telemetry_session_id FROM patient_exercise_logs ORDER BY id"
RESULTS = """
SELECT count(*) FILTER (WHERE evidence_state = 'verified' AND measured_reps = 10
                          AND measured_watch_percentage = 92 AND mean_form_score = 80),
       count(*) FILTER (WHERE evidence_collected_at IS NOT NULL)
FROM patient_exercise_logs
"""
EVIDENCE_QUERIES = """
SELECT count() FROM system.query_log
WHERE type = 2 AND query LIKE '%pose_tracking_frames%' AND query LIKE '%media_events%'
  AND query NOT LIKE '%query_log%'
"""

_MEDIA = [
    ("session_start", 0.0, 0, 0),
    ("heartbeat", 20.0, 0, 0),
    ("milestone", 25.0, 25, 0),
    ("heartbeat", 40.0, 0, 0),
    ("milestone", 50.0, 50, 0),
    ("milestone", 75.0, 75, 0),
    ("heartbeat", 85.0, 0, 0),
    ("session_end", 92.0, 0, 0),
]


@dataclass
class Run:
    label: str
    seconds: float
    calls: int
    queries: int
    verified: int
    logs: int

    completions: int

    @property
    def per_completion_ms(self) -> float:
        return self.seconds * 1000 / self.completions

    def describe(self) -> str:
        return (
            f"  {self.label:<9} {self.completions:5d} completions {self.seconds * 1000:8.0f} ms "
            f"({self.per_completion_ms:6.2f} ms each)  {self.calls:5d} telemetry calls  "
            f"{self.queries:5d} ClickHouse queries  {self.verified}/{self.logs} logs verified"
        )


def _telemetry_rows(
    org_hash: str, sessions: list[tuple[str, uuid.UUID]]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What telemetry would hold for ``sessions``: (media rows, pose rows)."""
    start = datetime.now(UTC) - timedelta(minutes=20)
    media: list[tuple[object, ...]] = []
    pose: list[tuple[object, ...]] = []
    for actor_hash, session_id in sessions:
        batch = uuid.uuid4()
        for index, (event, percent, milestone, _) in enumerate(_MEDIA):
            media.append(
                (batch, org_hash, actor_hash, session_id, "video_1", "video", event,
                 start + timedelta(seconds=10 * index), percent, percent * 0.6, milestone,
                 int(event == "session_end"))
            )  # fmt: skip
        for frame in range(FRAMES):
            pose.append(
                (batch, org_hash, actor_hash, session_id, "video_1", frame, frame * 100, frame // 6 + 1, 0.8,
                 40.0 + frame, [0.9] * 33)
            )  # fmt: skip
    return media, pose


def _fill_clickhouse(url: str, org_hash: str, sessions: list[tuple[str, uuid.UUID]]) -> None:
    media, pose = _telemetry_rows(org_hash, sessions)
    client = Client.from_url(f"{url}/{DATABASE}")
    client.execute(
        "INSERT INTO media_events (batch_id, org_hash, actor_hash, session_id, media_id, media_type, event, "
        "event_time, completion_percent, watched_duration_seconds, milestone_percent, completed) VALUES",
        media,
    )
    client.execute(
        "INSERT INTO pose_tracking_frames (batch_id, org_hash, actor_hash, session_id, media_id, frame_number, "
        "elapsed_ms, rep_count, form_score, rom_degrees, landmark_visibility) VALUES",
        pose,
    )
    client.disconnect()


async def _collect_all(
    database_url: str, telemetry_url: str, issuer: TelemetryTokenIssuer, batch: int
) -> tuple[float, int]:
    """Run evidence passes until nothing is due; wall seconds and telemetry calls."""
    calls = 0
    settings = EvidenceSettings(batch_sessions=batch)
    async with (
        AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False) as pool,
        httpx.AsyncClient(base_url=telemetry_url, timeout=60, trust_env=False) as client,
    ):
        collector = Collector(settings, issuer, client)
        started = time.perf_counter()
        while True:
            done = await collect_once(pool, collector)
            if done.failures:
                raise RuntimeError(f"telemetry refused a batch: {done.failures[:3]}")
            calls += done.calls
            if done.collected == 0:
                return time.perf_counter() - started, calls


def _evidence_queries(clickhouse: Client) -> int:
    """The evidence queries ClickHouse has answered so far."""
    clickhouse.execute("SYSTEM FLUSH LOGS")
    return int(clickhouse.execute(EVIDENCE_QUERIES)[0][0])


def _measure(
    label: str,
    batch: int,
    completions: int,
    urls: PostgresUrls,
    clickhouse: Client,
    telemetry_url: str,
    issuer: TelemetryTokenIssuer,
) -> Run:
    with psycopg.connect(urls.superuser, autocommit=True) as conn:
        for statement in REQUEUE.split(";")[:-1]:
            conn.execute(statement, {"completions": completions})
    before = _evidence_queries(clickhouse)
    seconds, calls = asyncio.run(_collect_all(urls.app, telemetry_url, issuer, batch))
    queries = _evidence_queries(clickhouse) - before
    with psycopg.connect(urls.superuser) as conn:
        row = conn.execute(RESULTS).fetchone()
    assert row is not None
    return Run(label, seconds, calls, queries, int(row[0]), int(row[1]), completions)


def _seed(urls: PostgresUrls, issuer: TelemetryTokenIssuer) -> tuple[str, list[tuple[str, uuid.UUID]]]:
    """Seed PostgreSQL; the organization's keyed hash and every log's (patient hash, session id)."""
    migrate(urls.owner)
    with psycopg.connect(urls.superuser, autocommit=True) as conn:
        conn.execute(SEED)
        organization = conn.execute("SELECT id FROM organizations").fetchone()
        rows = conn.execute(SESSIONS).fetchall()
    assert organization is not None
    hashes: dict[int, str] = {}
    sessions = [(hashes.setdefault(p, issuer.keyed_hash("patient", p)), s) for p, s in rows]
    return issuer.keyed_hash("organization", int(organization[0])), sessions


def _report(runs: list[Run], load: str) -> str:
    batched = [r.per_completion_ms for r in runs if r.label == "batched"]
    per_call = [r.per_completion_ms for r in runs if r.label == "per-call"]
    ratio = statistics.median(per_call) / statistics.median(batched)
    lines = [
        f"Evidence collection of {COMPLETIONS:,} completions ({COMPLETIONS * LOGS_PER_COMPLETION:,} exercise "
        f"sessions) through a telemetry process on ClickHouse 18.16 (load {load}):",
        *(r.describe() for r in runs),
        f"  batched vs one call per completion, time per completion: {ratio:.1f}x; telemetry calls "
        f"{runs[0].calls} vs {runs[1].calls}, ClickHouse queries {runs[0].queries} vs {runs[1].queries}",
    ]
    return "\n".join(lines)


def run() -> str:
    load = "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as directory:
        root = Path(directory)
        keys = root / "keys"
        keys.mkdir()
        ensure_telemetry_token_keys(keys)
        issuer = TelemetryTokenIssuer(
            TelemetryTokenSettings(
                signing_key_file=str(keys / TELEMETRY_SIGNING_KEY_FILE),
                hash_key_file=str(keys / TELEMETRY_HASH_KEY_FILE),
            )
        )
        (keys / "jwks.json").write_bytes(msgspec.json.encode(issuer.jwks()))
        server, urls = start_local_postgres(root / "postgres")
        clickhouse = ClickHouseServer(root / "clickhouse")
        clickhouse.extra_config = (
            "<query_log><database>system</database><table>query_log</table>"
            "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>"
        )
        clickhouse.profile_settings = {"log_queries": "1"}
        try:
            org_hash, sessions = _seed(urls, issuer)
            clickhouse.start()
            env = {
                "CLICKHOUSE_URL": clickhouse.url,
                "CLICKHOUSE_HTTP_URL": clickhouse.http_url,
                "CLICKHOUSE_DATABASE": DATABASE,
                "SPOOL_DIR": str(root / "spool"),
                "AUTH_JWKS_FILE": str(keys / "jwks.json"),
                "AUTH_ISSUER": TelemetryTokenSettings().issuer,
                "AUTH_AUDIENCE": TelemetryTokenSettings().audience,
                "SERVER_WORKERS": "1",
                "LOG_LEVEL": "warning",
            }
            subprocess.run(
                [sys.executable, "-m", "telemetry.clickhouse.migrate"], env={**os.environ, **env}, check=True
            )
            _fill_clickhouse(clickhouse.url, org_hash, sessions)
            with start_service("telemetry", "telemetry", env, free_port(), root / "telemetry.log") as telemetry:
                if telemetry is None:
                    return "Evidence collection: telemetry did not start (see its log)"
                ch = Client.from_url(clickhouse.url)
                # Warm-up, not reported: telemetry's first verification fetches its keys, connections open.
                _measure("warm-up", 500, 10, urls, ch, telemetry.url, issuer)
                runs = [
                    _measure(label, batch, completions, urls, ch, telemetry.url, issuer)
                    for label, batch, completions in (
                        ("batched", 500, COMPLETIONS),
                        ("per-call", 1, PER_CALL_COMPLETIONS),
                        ("per-call", 1, PER_CALL_COMPLETIONS),
                        ("batched", 500, COMPLETIONS),
                    )
                ]
                ch.disconnect()
        finally:
            clickhouse.stop()
            server.cleanup()  # type: ignore[attr-defined]
    return _report(runs, load)


if __name__ == "__main__":
    print(run())
