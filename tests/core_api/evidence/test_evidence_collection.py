"""Verified adherence end to end: completions queue their evidence, the dispatcher's evidence pass asks the
real telemetry process (on the real ClickHouse server) in one call per batch, survives telemetry being down,
stores hand-computed states and figures once, refreshes once, and alerts once per week.

The patient's app is played by the test: it logs exercises through core-api (in process) and sends media
events and pose frames to telemetry under each log's ``telemetry_session_id``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from core_api.evidence.collect import Collector, CollectResult, collect_once, collect_organization
from core_api.jobs.adherence_rollforward import roll_all
from core_api.settings import EvidenceSettings
from core_api.telemetry_tokens import TelemetryTokenIssuer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.consent import consent
from tests.core_api.helpers.evidence import DONE, FORM, WATCHED, counted_pose, evidence_states, watched_media
from tests.core_api.helpers.execution import complete, enroll, start
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.helpers.two_services import TwoServices
from tests.core_api.seed import Org
from tools.databases import PostgresUrls


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def collect(postgres: PostgresUrls, dev_keys: Path, org: Org, telemetry_url: str) -> tuple[CollectResult, int]:
    """One evidence pass over ``org``'s due collections against ``telemetry_url`` (other tests' completions
    in the same database fall due too); what it did and how many requests telemetry got."""
    requests = 0

    async def count(_: httpx.Request) -> None:
        nonlocal requests
        requests += 1

    async def run() -> CollectResult:
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            postgres.app, min_size=1, max_size=2, open=False
        )
        await pool.open()
        try:
            async with httpx.AsyncClient(
                base_url=telemetry_url, timeout=10, event_hooks={"request": [count]}
            ) as client:
                issuer = TelemetryTokenIssuer(telemetry_token_settings(dev_keys))
                return await collect_organization(pool, Collector(EvidenceSettings(), issuer, client), org.id)
        finally:
            await pool.close()

    return asyncio.run(run()), requests


def make_due(conn: psycopg.Connection, org: Org) -> None:
    conn.execute("UPDATE evidence_collections SET due_at = now() WHERE organization_id = %s", (org.id,))


def perform(core_api: Client, org: Org, services: TwoServices, token: str, log: dict[str, Any], reps: int) -> None:
    """The exercise ``log`` reported done, with its video watched and its pose tracked counting ``reps``."""
    log_update(core_api, org, log, **DONE)
    session_id = log["telemetry_session_id"]
    assert services.send(token, "/v1/media/events", watched_media(session_id)).status_code == 202
    assert services.send(token, "/v1/pose/frames", counted_pose(session_id, reps)).status_code == 202


def wait_for_rows(services: TwoServices, actor_hash: str, table: str, count: int) -> None:
    deadline = time.monotonic() + 15
    while services.stored(table, actor_hash) < count:
        assert time.monotonic() < deadline, f"{table} never reached {count} rows"
        time.sleep(0.2)


def log_update(core_api: Client, org: Org, log: dict[str, Any], **body: Any) -> None:
    ok(core_api.put(f"/v1/patient-exercise-logs/{log['id']}", json=body, headers=org.headers("patient")))


def run_session(core_api: Client, org: Org, enrollment_id: int, number: int) -> dict[str, Any]:
    started: dict[str, Any] = ok(start(core_api, org, enrollment_id, number), 201)
    return started


def test_evidence_is_queued_collected_in_one_call_per_batch_retried_and_stored_once(
    core_api: Client,
    superuser: psycopg.Connection,
    org: Org,
    services: TwoServices,
    postgres: PostgresUrls,
    dev_keys: Path,
) -> None:
    ok(consent(core_api, org, analytics_level=2, biometric=True))
    telemetry = ok(core_api.post("/v1/telemetry/token", headers=org.headers("patient")))
    token, actor = telemetry["token"], telemetry["actor_hash"]
    enrollment = enroll(core_api, superuser, org, sessions=4)

    # 1: both exercises agree with telemetry → verified.
    first = run_session(core_api, org, enrollment["id"], 1)
    session_ids = {log["telemetry_session_id"] for log in first["exercise_logs"]}
    assert len(session_ids) == 2
    assert all(log["evidence_state"] is None for log in first["exercise_logs"])
    for log in first["exercise_logs"]:
        perform(core_api, org, services, token, log, reps=30)
    completed = ok(complete(core_api, org, first["id"]))
    assert completed["exercise_logs"][0]["evidence_state"] == "pending"

    # 2: the tracker counted 12 of the 30 reported repetitions → contradicted; the other exercise skipped.
    second = run_session(core_api, org, enrollment["id"], 2)
    reps_off, skipped = second["exercise_logs"]
    perform(core_api, org, services, token, reps_off, reps=12)
    log_update(core_api, org, skipped, skipped=True)
    ok(complete(core_api, org, second["id"]))

    # 3: no biometric consent: media alone verifies (frames the earlier token still sent do not count and are
    # not kept); nothing sent for the other exercise → partial.
    ok(consent(core_api, org, biometric=False))
    third = run_session(core_api, org, enrollment["id"], 3)
    media_only, nothing = third["exercise_logs"]
    perform(core_api, org, services, token, media_only, reps=3)
    log_update(core_api, org, nothing, **DONE)
    ok(complete(core_api, org, third["id"]))

    # 4: analytics level 0: no evidence may exist; nothing is queued.
    ok(consent(core_api, org, analytics_level=0))
    fourth = run_session(core_api, org, enrollment["id"], 4)
    for log in fourth["exercise_logs"]:
        log_update(core_api, org, log, **DONE)
    ok(complete(core_api, org, fourth["id"]))
    assert evidence_states(superuser, fourth["id"]) == (
        "not_collected",
        [("not_collected", None, None, None, False)] * 2,
    )

    queued = superuser.execute(
        "SELECT session_completion_id, due_at > now() + interval '100 seconds', attempts, collections_done "
        "FROM evidence_collections WHERE organization_id = %s ORDER BY 1",
        (org.id,),
    ).fetchall()
    assert queued == [(first["id"], True, 0, 0), (second["id"], True, 0, 0), (third["id"], True, 0, 0)]
    assert evidence_states(superuser, second["id"])[1] == [
        ("pending", None, None, None, False),
        ("not_collected",) + (None,) * 3 + (False,),
    ]

    wait_for_rows(services, actor, "media_events", 7 * 4)
    wait_for_rows(services, actor, "pose_tracking_frames", 10 * 4)

    # Nothing is due yet.
    assert collect(postgres, dev_keys, org, services.telemetry_url)[1] == 0

    # Telemetry down: one attempt for the batch, backed off, nothing stored.
    make_due(superuser, org)
    down, requests = collect(postgres, dev_keys, org, f"http://127.0.0.1:{closed_port()}")
    assert (down.failed, down.collected, down.calls, requests) == (3, 0, 1, 1)
    assert (
        superuser.execute(
            "SELECT attempts, due_at > now(), last_error FROM evidence_collections WHERE organization_id = %s",
            (org.id,),
        ).fetchall()
        == [(1, True, "telemetry unreachable")] * 3
    )
    assert evidence_states(superuser, first["id"])[0] == "pending"

    # Telemetry up: the three completions (five sessions) in one call.
    make_due(superuser, org)
    done, requests = collect(postgres, dev_keys, org, services.telemetry_url)
    assert (done.collected, done.failed, done.calls, requests, done.alerts) == (3, 0, 1, 1, 1)
    verified = ("verified", WATCHED, 30, FORM, True)
    expected = {
        first["id"]: ("verified", [verified, verified]),
        second["id"]: (
            "contradicted",
            [("contradicted", WATCHED, 12, FORM, True), ("not_collected", None, None, None, False)],
        ),
        third["id"]: ("partial", [("verified", WATCHED, None, None, True), ("partial", None, None, None, True)]),
    }
    assert {completion_id: evidence_states(superuser, completion_id) for completion_id in expected} == expected
    assert superuser.execute(
        "SELECT evidence -> 'pose' = 'null'::jsonb, evidence -> 'media' IS NOT NULL FROM patient_exercise_logs "
        "WHERE id = %s",
        (media_only["id"],),
    ).fetchone() == (True, True)
    kept = superuser.execute(
        "SELECT attempts, collections_done, due_at > now() + interval '3500 seconds' FROM evidence_collections "
        "WHERE organization_id = %s",
        (org.id,),
    ).fetchall()
    assert kept == [(0, 1, True)] * 3

    # The refresh: same figures, overwritten not appended; the rows go; the alert is not repeated.
    make_due(superuser, org)
    refreshed, requests = collect(postgres, dev_keys, org, services.telemetry_url)
    assert (refreshed.collected, requests, refreshed.alerts) == (3, 1, 0)
    assert {completion_id: evidence_states(superuser, completion_id) for completion_id in expected} == expected
    assert superuser.execute(
        "SELECT count(*) FROM evidence_collections WHERE organization_id = %s", (org.id,)
    ).fetchone() == (0,)
    assert superuser.execute(
        "SELECT count(*) FROM patient_exercise_logs WHERE session_completion_id = ANY(%s)", (list(expected),)
    ).fetchone() == (6,)
    alerts = superuser.execute(
        "SELECT entity_id, payload FROM automation_events WHERE organization_id = %s "
        "AND event_type = 'adherence.evidence_contradicted'",
        (org.id,),
    ).fetchall()
    assert alerts == [
        (
            str(enrollment["id"]),
            {
                "patient_treatment_plan_id": enrollment["id"],
                "patient_id": org.patient,
                "week_start": enrollment["start_date"],
                "week_number": 1,
                "session_completion_id": second["id"],
            },
        )
    ]

    # What the routes show.
    logs = ok(
        core_api.get(f"/v1/patient-session-completions/{second['id']}/exercise-logs", headers=org.headers("specialist"))
    )
    shown = logs["exercise_logs"][0]
    assert (
        shown["evidence_state"],
        shown["measured_watch_percentage"],
        shown["measured_reps"],
        shown["mean_form_score"],
    ) == (
        "contradicted",
        WATCHED,
        12,
        FORM,
    )
    assert shown["telemetry_session_id"] == reps_off["telemetry_session_id"]


def test_without_a_telemetry_url_collections_wait_and_the_nightly_job_makes_stale_ones_due(
    core_api: Client, superuser: psycopg.Connection, org: Org, postgres: PostgresUrls, dev_keys: Path
) -> None:
    ok(consent(core_api, org, analytics_level=2))
    enrollment = enroll(core_api, superuser, org)
    started = run_session(core_api, org, enrollment["id"], 1)
    ok(complete(core_api, org, started["id"]))

    async def off() -> CollectResult:
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            postgres.app, min_size=1, max_size=2, open=False
        )
        await pool.open()
        try:
            issuer = TelemetryTokenIssuer(telemetry_token_settings(dev_keys))
            return await collect_once(pool, Collector(EvidenceSettings(), issuer, None))
        finally:
            await pool.close()

    make_due(superuser, org)
    assert asyncio.run(off()) == CollectResult()
    assert superuser.execute(
        "SELECT attempts, leased_until FROM evidence_collections WHERE session_completion_id = %s", (started["id"],)
    ).fetchall() == [(0, None)]

    # A day later, still pending, in back-off and with its row gone missing: the nightly job queues it due now.
    superuser.execute(
        "UPDATE patient_session_completions SET completed_at = now() - interval '25 hours' WHERE id = %s",
        (started["id"],),
    )
    superuser.execute("DELETE FROM evidence_collections WHERE session_completion_id = %s", (started["id"],))
    rolled = asyncio.run(roll_all(postgres.owner))
    assert rolled[org.id].evidence_requeued == 1
    assert superuser.execute(
        "SELECT due_at <= now() FROM evidence_collections WHERE session_completion_id = %s", (started["id"],)
    ).fetchall() == [(True,)]

    # Once the patient's erasure is requested, the nightly job queues nothing of theirs again.
    ok(core_api.post(f"/v1/patients/{org.patient}/erasure", headers=org.headers("patient")), 202)
    superuser.execute("DELETE FROM evidence_collections WHERE session_completion_id = %s", (started["id"],))
    assert asyncio.run(roll_all(postgres.owner))[org.id].evidence_requeued == 0
