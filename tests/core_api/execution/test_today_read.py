"""Today's session reads everything in one statement (``today`` in execution/queries.sql). Until issue #20
it took three (the patient's zone, the enrollments, the consent); those three are kept here as the
reference, and on a variety of enrollments, sessions and consents both readings must give the same rows
and, through the same rules, a byte-identical response."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import msgspec
import psycopg
import pytest
from core_api.consent.repository import QUERIES as CONSENT_QUERIES
from core_api.consent.repository import Current
from core_api.db.tenancy import SET_SCOPE
from core_api.execution.repository import QUERIES, TodayEnrollment, TodayRead
from core_api.execution.today import plan_sessions, today_sessions
from core_api.time_zones import patient_zone

from tests.core_api.helpers.execution import MADRID, enroll
from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

# The reads of today's session before they became one statement.
FORMER_PATIENT_TIME_ZONE = "SELECT time_zone FROM patients WHERE id = %(patient_id)s AND deleted_at IS NULL"
FORMER_TODAY_ENROLLMENTS = """
SELECT ptp.id, ptp.treatment_plan_id, v.name AS plan_name, v.duration_weeks,
       (v.snapshot -> 'sessions')::text AS sessions_json, s.status, ptp.start_date, ptp.end_date,
       ptp.frequency_per_week, ptp.sessions_total, ptp.sessions_completed, ptp.sessions_skipped,
       (SELECT c.id FROM patient_session_completions c
        WHERE c.patient_treatment_plan_id = ptp.id AND c.status = 'in_progress') AS in_progress_id,
       coalesce((SELECT array_agg(c.completed_at ORDER BY c.completed_at) FROM patient_session_completions c
                 WHERE c.patient_treatment_plan_id = ptp.id AND c.status = 'completed'), '{}') AS completed_at
FROM patient_treatment_plans ptp
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN patients pa ON pa.id = ptp.patient_id
CROSS JOIN LATERAL (SELECT enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) AS status) s
WHERE ptp.patient_id = %(patient_id)s
ORDER BY s.status = 'active' DESC, ptp.created_at DESC, ptp.id DESC
LIMIT 50
"""


def _scope(conn: psycopg.Connection, org: Org, user_id: int, role: str, patient_id: int | None) -> None:
    conn.execute(
        SET_SCOPE,
        {
            "organization_id": str(org.id),
            "user_id": str(user_id),
            "role": role,
            "patient_id": "" if patient_id is None else str(patient_id),
            "platform_admin": "false",
        },
    )


def former_read(conn: psycopg.Connection, patient_id: int) -> TodayRead | None:
    zone = conn.execute(FORMER_PATIENT_TIME_ZONE, {"patient_id": patient_id}).fetchone()
    if zone is None:
        return None
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        rows = cursor.execute(FORMER_TODAY_ENROLLMENTS, {"patient_id": patient_id}).fetchall()
        consent = cursor.execute(CONSENT_QUERIES.current_consent, {"patient_id": patient_id}).fetchone()
    enrollments = [
        msgspec.convert(
            {name: value for name, value in row.items() if name != "sessions_json"}
            | {"sessions": plan_sessions(row["sessions_json"])},
            TodayEnrollment,
        )
        for row in rows
    ]
    return TodayRead(time_zone=zone[0], consent=msgspec.convert(consent, Current), enrollments=enrollments)


def one_statement_read(conn: psycopg.Connection, patient_id: int) -> TodayRead | None:
    row = conn.execute(QUERIES.today, {"patient_id": patient_id}).fetchone()
    return None if row is None else msgspec.json.decode(row[0], type=TodayRead)


def response(read: TodayRead, patient_id: int, now: datetime) -> bytes:
    return msgspec.json.encode(
        today_sessions(
            patient_id,
            read.enrollments,
            now,
            patient_zone(read.time_zone),
            pose_allowed=read.consent.pose_tracking_allowed,
        )
    )


@pytest.fixture
def app_conn(postgres: PostgresUrls) -> Iterator[psycopg.Connection]:
    """A connection as the app role, row-level security applying, in UTC as the service's pool sets it."""
    with psycopg.connect(postgres.app) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.commit()
        yield conn


def assert_same(app_conn: psycopg.Connection, org: Org, patient_id: int, *, role: str = "patient") -> TodayRead | None:
    """Both readings, as ``role`` of ``org`` (the patient themself, or staff), agree: rows and response."""
    user_id = {"patient": org.patient_user, "specialist": org.specialist_user}[role]
    with app_conn.transaction():
        _scope(app_conn, org, user_id, role, org.patient if role == "patient" else None)
        former, new = former_read(app_conn, patient_id), one_statement_read(app_conn, patient_id)
    assert new == former
    if new is not None and former is not None:
        # Around the patient's local midnights and plan weeks as well as now.
        for now in (
            datetime.now(UTC),
            datetime.now(UTC) + timedelta(days=3, hours=7),
            datetime.now(UTC) - timedelta(days=9),
        ):
            assert response(new, patient_id, now) == response(former, patient_id, now)
    return new


def _completion(superuser: psycopg.Connection, enrollment: int, number: int, status: str, at: datetime | None) -> None:
    superuser.execute(
        "INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id, "
        "session_number, status, exercises_total, started_at, completed_at, duration_seconds, skipped_at, skip_reason) "
        "SELECT organization_id, patient_id, id, %(number)s, %(status)s, 2, coalesce(%(at)s, now()), "
        "CASE WHEN %(status)s = 'completed' THEN %(at)s END, CASE WHEN %(status)s = 'completed' THEN 600 END, "
        "CASE WHEN %(status)s = 'skipped' THEN %(at)s END, "
        "CASE WHEN %(status)s = 'skipped' THEN 'Tired' END FROM patient_treatment_plans WHERE id = %(id)s",
        {"id": enrollment, "number": number, "status": status, "at": at},
    )


def _consent(superuser: psycopg.Connection, org: Org, kind: str, level: int | None, granted: bool) -> None:
    superuser.execute(
        "INSERT INTO patient_consents (organization_id, patient_id, kind, analytics_level, granted, "
        "recorded_by_role, source) VALUES (%s, %s, %s, %s, %s, 'patient', 'patient')",
        (org.id, org.patient, kind, level, granted),
    )


def test_one_statement_reads_what_the_three_read(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection, app_conn: psycopg.Connection
) -> None:
    # No enrollment and no consent record.
    nothing = assert_same(app_conn, org, org.patient)
    assert nothing is not None
    assert nothing.enrollments == []
    assert nothing.consent == Current(0, False)

    local_today = datetime.now(MADRID).date()
    enrollments = [
        enroll(core_api, superuser, org, sessions=n, weeks=n + 1, frequency=n)["id"] for n in (1, 2, 3, 4, 3)
    ]
    steps: list[Callable[[], object]] = [
        lambda: None,
        # One session in progress, completed ones this week, last week and in an earlier plan week, and a skip.
        partial(_completion, superuser, enrollments[0], 1, "in_progress", None),
        *(
            partial(_completion, superuser, enrollments[1], n, "completed", datetime.now(UTC) - timedelta(days=days))
            for n, days in ((1, 0), (2, 1), (1, 8), (2, 15))
        ),
        partial(_completion, superuser, enrollments[2], 1, "skipped", datetime.now(UTC) - timedelta(hours=2)),
        # Counters as the service keeps them, one plan used up, one expired by its end date, one paused,
        # one not started yet, one finished; created at different times (the order).
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET sessions_completed = 2, sessions_skipped = 1 WHERE id = %s",
            (enrollments[1],),
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET sessions_total = 3, sessions_completed = 2, sessions_skipped = 1 "
            "WHERE id = %s",
            (enrollments[2],),
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s WHERE id = %s",
            (local_today - timedelta(days=40), local_today - timedelta(days=1), enrollments[3]),
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET status = 'paused' WHERE id = %s", (enrollments[4],)
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s WHERE id = %s",
            (local_today + timedelta(days=2), local_today + timedelta(days=30), enrollments[0]),
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET created_at = created_at - interval '1 day' * (id %% 3) "
            "WHERE patient_id = %s",
            (org.patient,),
        ),
        lambda: superuser.execute(
            "UPDATE patient_treatment_plans SET status = 'completed' WHERE id = %s", (enrollments[1],)
        ),
        # Consent: analytics only, both (pose tracking allowed), biometric withdrawn again.
        partial(_consent, superuser, org, "analytics", 2, True),
        partial(_consent, superuser, org, "biometric", None, True),
        partial(_consent, superuser, org, "analytics", 3, True),
        partial(_consent, superuser, org, "biometric", None, False),
        # Another time zone for the patient.
        lambda: superuser.execute("UPDATE patients SET time_zone = 'Pacific/Auckland' WHERE id = %s", (org.patient,)),
        lambda: superuser.execute(
            "UPDATE patients SET time_zone = 'America/Los_Angeles' WHERE id = %s", (org.patient,)
        ),
    ]
    seen_poses, seen_statuses = set(), set()
    for step in steps:
        step()
        read = assert_same(app_conn, org, org.patient)
        staff_read = assert_same(app_conn, org, org.patient, role="specialist")
        assert read is not None
        assert staff_read == read
        seen_poses.add(read.consent.pose_tracking_allowed)
        seen_statuses |= {enrollment.status for enrollment in read.enrollments}
    assert seen_poses == {False, True}
    assert {"active", "paused", "expired", "completed"} <= seen_statuses

    # Not visible: another patient of the organization to a patient, the patient to another organization,
    # and a deleted patient: no row either way.
    assert assert_same(app_conn, org, org.other_patient) is None
    with app_conn.transaction():
        _scope(app_conn, other_org, other_org.specialist_user, "specialist", None)
        assert former_read(app_conn, org.patient) is None
        assert one_statement_read(app_conn, org.patient) is None
    superuser.execute("UPDATE patients SET deleted_at = now() WHERE id = %s", (org.patient,))
    assert assert_same(app_conn, org, org.patient, role="specialist") is None
