"""GDPR erasure: gone at once from every request and report, identity stripped by the retention job, clinical
records deleted after their retention period; and nothing identifiable left in PostgreSQL afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import msgspec
import psycopg
import pytest
from clickhouse_driver import Client as ClickHouseClient
from core_api.jobs.retention import Report, run, telemetry_settle_seconds
from core_api.settings import PrivacySettings, Settings
from litestar.testing import TestClient

from tests.core_api.helpers.consent import consent
from tests.core_api.helpers.execution import complete, enroll, start
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.helpers.two_services import TwoServices
from tests.core_api.seed import Org
from tests.telemetry.helpers.payloads import ERROR_REPORT, pose_batch, pose_frame
from tools.databases import PostgresUrls


def erase(client: Client, org: Org, role: str = "admin", patient: int | None = None) -> Any:
    return client.post(f"/v1/patients/{patient or org.patient}/erasure", headers=org.headers(role))


def retention(postgres: PostgresUrls, core_api: TestClient[Any], **privacy: Any) -> dict[int, Report]:
    base: Settings = core_api.app.state.settings
    settings = msgspec.structs.replace(base, privacy=PrivacySettings(**{"erasure_grace_days": 0, **privacy}))
    return asyncio.run(run(postgres.owner, settings))


def settle_telemetry(superuser: psycopg.Connection, core_api: Client, patient_id: int) -> None:
    """Date the patient's erasure request back by the telemetry settle time, as if that much had passed."""
    superuser.execute(
        "UPDATE patient_erasures SET requested_at = requested_at - make_interval(secs => %s) WHERE patient_id = %s",
        (telemetry_settle_seconds(core_api.app.state.settings), patient_id),
    )


@pytest.fixture
def marked(core_api: Client, org: Org, superuser: psycopg.Connection) -> dict[str, Any]:
    """The seeded patient renamed through the API to unique markers (so the audit trail has seen them), with
    an enrollment, a completed session with notes, and consent given."""
    marker = uuid.uuid4().hex[:10]
    name, email = f"Zelda Quux {marker}", f"zelda.{marker}@example.org"
    ok(
        core_api.put(
            f"/v1/patients/{org.patient}",
            json={"name": name, "email": email, "time_zone": "Europe/Madrid", "date_of_birth": "1980-04-02"},
            headers=org.headers("admin"),
        )
    )
    enrollment = enroll(core_api, superuser, org)
    started = ok(start(core_api, org, enrollment["id"], 1, pain_level_before=5), 201)
    ok(complete(core_api, org, started["id"], pain_level_after=2, notes=f"Ask {name} about the stairs"))
    ok(consent(core_api, org, analytics_level=3, biometric=True, reason=f"{name} agreed on the phone"))
    sessions = [
        row[0]
        for row in superuser.execute(
            "SELECT telemetry_session_id FROM patient_exercise_logs WHERE session_completion_id = %s", (started["id"],)
        ).fetchall()
    ]
    return {"name": name, "email": email, "enrollment": enrollment, "completion": started, "sessions": sessions}


def store_evidence(conn: psycopg.Connection, completion_id: int) -> None:
    """What the evidence collector stores for the session: telemetry's answer and figures on its first log,
    the second log still pending, and the collection kept for its later refresh."""
    conn.execute(
        "UPDATE patient_exercise_logs "
        "SET evidence_state = CASE sort_order WHEN 0 THEN 'contradicted' ELSE 'pending' END, "
        "measured_watch_percentage = CASE sort_order WHEN 0 THEN 40 END, "
        "measured_reps = CASE sort_order WHEN 0 THEN 3 END, mean_form_score = CASE sort_order WHEN 0 THEN 55 END, "
        'evidence = CASE sort_order WHEN 0 THEN \'{"actor_hash": "abc", "pose": {"rom_max_degrees": 80}}\'::jsonb END '
        "WHERE session_completion_id = %s",
        (completion_id,),
    )
    conn.execute(
        "INSERT INTO evidence_collections "
        "(organization_id, patient_id, session_completion_id, due_at, collections_done) "
        "SELECT organization_id, patient_id, id, now() + interval '1 hour', 1 FROM patient_session_completions "
        "WHERE id = %s",
        (completion_id,),
    )


def collections(conn: psycopg.Connection, completion_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM evidence_collections WHERE session_completion_id = %s", (completion_id,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def rows_mentioning(conn: psycopg.Connection, text: str) -> dict[str, int]:
    """Every public table with a row whose text form contains ``text``: a search of the whole database."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    ]
    found = {}
    for table in tables:
        row = conn.execute(
            psycopg.sql.SQL("SELECT count(*) FROM {} t WHERE t::text ILIKE %s").format(psycopg.sql.Identifier(table)),
            (f"%{text}%",),
        ).fetchone()
        if row and row[0]:
            found[table] = row[0]
    return found


def test_an_erased_patient_is_gone_at_once(
    core_api: Client, org: Org, superuser: psycopg.Connection, marked: dict[str, Any]
) -> None:
    status = ok(erase(core_api, org), 202)
    assert (status["patient_id"], status["identity_erased_at"]) == (org.patient, None)

    assert core_api.get(f"/v1/patients/{org.patient}", headers=org.headers("admin")).status_code == 404
    listed = ok(core_api.get("/v1/patients", params={"limit": 100}, headers=org.headers("admin")))["patients"]
    assert org.patient not in {p["id"] for p in listed}
    enrollment_id = marked["enrollment"]["id"]
    path = f"/v1/patient-treatment-plans/{enrollment_id}"
    assert core_api.get(path, headers=org.headers("specialist")).status_code == 404
    assert core_api.get(f"{path}/progress", headers=org.headers("specialist")).status_code == 404
    enrollments = ok(core_api.get("/v1/patient-treatment-plans", headers=org.headers("admin")))
    assert enrollment_id not in {e["id"] for e in enrollments["patient_treatment_plans"]}
    page = ok(core_api.get("/v1/adherence/weekly", headers=org.headers("admin")))
    assert enrollment_id not in {row["patient_treatment_plan_id"] for row in page["rows"]}
    # Nothing more is collected: the patient gets no telemetry token, consent dropped to nothing.
    # 404 while the process still remembers the patient's user as checked, 401 once it looks again.
    assert core_api.post("/v1/telemetry/token", headers=org.headers("patient")).status_code in (401, 404)
    levels = superuser.execute(
        "SELECT kind, granted FROM patient_consents WHERE patient_id = %s ORDER BY id DESC LIMIT 2", (org.patient,)
    ).fetchall()
    assert sorted(levels) == [("analytics", False), ("biometric", False)]
    # The open enrollment was cancelled, with its history row.
    row = superuser.execute("SELECT status FROM patient_treatment_plans WHERE id = %s", (enrollment_id,)).fetchone()
    assert row == ("cancelled",)
    # A second request finds no patient; the admin follows the erasure.
    assert erase(core_api, org).status_code == 404
    followed = ok(core_api.get(f"/v1/patients/{org.patient}/erasure", headers=org.headers("admin")))
    assert followed["requested_at"] == status["requested_at"]
    assert core_api.get(f"/v1/patients/{org.patient}/erasure", headers=org.headers("specialist")).status_code == 403


def test_a_patient_may_erase_themself_but_not_another(core_api: Client, org: Org) -> None:
    assert erase(core_api, org, "patient", patient=org.other_patient).status_code == 404
    assert erase(core_api, org, "specialist").status_code == 403
    ok(erase(core_api, org, "patient"), 202)


def test_after_the_retention_job_nothing_identifies_the_patient(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    marked: dict[str, Any],
) -> None:
    assert rows_mentioning(superuser, marked["email"])  # the markers are there before
    store_evidence(superuser, marked["completion"]["id"])
    ok(erase(core_api, org), 202)
    # Nothing more is collected from telemetry for the patient.
    assert collections(superuser, marked["completion"]["id"]) == 0
    settle_telemetry(superuser, core_api, org.patient)
    reports = retention(postgres, core_api)
    assert reports[org.id].identities_erased == 1
    assert reports[org.id].telemetry_pending == 1  # no telemetry URL configured here

    for marker in (marked["name"], marked["email"]):
        assert rows_mentioning(superuser, marker) == {}, marker
    patient = superuser.execute(
        "SELECT name, email, date_of_birth, user_id FROM patients WHERE id = %s", (org.patient,)
    ).fetchone()
    assert patient == ("Erased patient", None, None, None)
    # The clinical record stays, pseudonymous: scores and dates, no free text.
    completion = superuser.execute(
        "SELECT pain_level_before, pain_level_after, notes FROM patient_session_completions WHERE id = %s",
        (marked["completion"]["id"],),
    ).fetchone()
    assert completion == (5, 2, None)
    # Telemetry's answer (the keyed hash, biometric detail) and the link to telemetry sessions go; the
    # measured figures stay, like the reported ones.
    logs = superuser.execute(
        "SELECT evidence, telemetry_session_id = ANY(%s), measured_watch_percentage, measured_reps, "
        "mean_form_score, evidence_state FROM patient_exercise_logs WHERE session_completion_id = %s "
        "ORDER BY sort_order",
        (marked["sessions"], marked["completion"]["id"]),
    ).fetchall()
    assert logs == [(None, False, 40, 3, 55, "contradicted"), (None, False, None, None, None, "pending")]
    # Running again changes nothing.
    assert retention(postgres, core_api)[org.id].identities_erased == 0


def test_finished_enrollments_past_the_clinical_retention_period_are_deleted(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, marked: dict[str, Any]
) -> None:
    enrollment_id = marked["enrollment"]["id"]
    fresh = enroll(core_api, superuser, org)
    store_evidence(superuser, marked["completion"]["id"])
    superuser.execute(
        "UPDATE patient_treatment_plans SET status = 'completed', updated_at = now() - interval '8 years' "
        "WHERE id = %s",
        (enrollment_id,),
    )
    report = retention(postgres, core_api)[org.id]
    assert report.enrollments_deleted == 1
    assert report.rows_deleted["session_completions"] == 1
    assert report.rows_deleted["exercise_logs"] == 2
    assert report.rows_deleted["evidence_collections"] == 1
    assert collections(superuser, marked["completion"]["id"]) == 0
    for table, column in [
        ("patient_treatment_plans", "id"),
        ("patient_session_completions", "patient_treatment_plan_id"),
        ("patient_treatment_plan_status_changes", "patient_treatment_plan_id"),
        ("weekly_adherence_reports", "patient_treatment_plan_id"),
    ]:
        row = superuser.execute(
            psycopg.sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                psycopg.sql.Identifier(table), psycopg.sql.Identifier(column)
            ),
            (enrollment_id,),
        ).fetchone()
        assert row == (0,), table
    kept = superuser.execute("SELECT status FROM patient_treatment_plans WHERE id = %s", (fresh["id"],)).fetchone()
    assert kept == ("active",)


def test_the_retention_job_has_telemetry_delete_the_erased_patients_rows(
    services: TwoServices, org: Org, other_org: Org, core_api: Client, postgres: PostgresUrls
) -> None:
    telemetry_url, database = services.telemetry_url, services.database
    tokens = {}
    for clinic in (org, other_org):
        tokens[clinic.id] = services.token(clinic, analytics_level=2, biometric=True)
        assert services.send(tokens[clinic.id]["token"], "/v1/errors/report", ERROR_REPORT).status_code == 202
        batch = pose_batch(pose_frame(1), pose_frame(2))
        assert services.send(tokens[clinic.id]["token"], "/v1/pose/frames", batch).status_code == 202
    erased, kept = tokens[org.id]["actor_hash"], tokens[other_org.id]["actor_hash"]
    assert services.stored("pose_tracking_frames", erased) == 2
    # Only core-api's service tokens may erase: a patient's own token is refused.
    refused = httpx.delete(
        f"{telemetry_url}/v1/actors/{erased}", headers={"Authorization": f"Bearer {tokens[org.id]['token']}"}
    )
    assert refused.status_code == 403

    ok(erase(core_api, org), 202)
    # Within a token lifetime of the request, the token issued before it may still send: telemetry waits.
    report = retention(postgres, core_api, telemetry_url=telemetry_url)[org.id]
    assert (report.identities_erased, report.telemetry_erased, report.telemetry_pending) == (1, 0, 0)
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        settle_telemetry(conn, core_api, org.patient)
    report = retention(postgres, core_api, telemetry_url=telemetry_url)[org.id]
    assert (report.identities_erased, report.telemetry_erased, report.telemetry_pending) == (0, 1, 0)

    client = ClickHouseClient.from_url(services.clickhouse.url)
    tables = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports")

    def remaining(actor_hash: str) -> int:
        return sum(
            int(client.execute(f"SELECT count() FROM {database}.{t} WHERE actor_hash = %(a)s", {"a": actor_hash})[0][0])
            for t in tables
        )

    deadline = time.monotonic() + 30
    while remaining(erased) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert remaining(erased) == 0
    assert remaining(kept) == 3  # the other organization's patient keeps everything
    status = ok(core_api.get(f"/v1/patients/{org.patient}/erasure", headers=org.headers("admin")))
    assert status["telemetry_erased_at"] is not None
