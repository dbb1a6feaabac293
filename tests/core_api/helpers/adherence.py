"""Adherence scenarios for tests: an enrollment moved to start on a chosen day, and sessions written at
chosen instants, with SQL as the superuser."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

from tests.core_api.helpers.execution import MADRID
from tests.core_api.seed import Org


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = MADRID) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def place(conn: psycopg.Connection, enrollment_id: int, start_date: date, zone: ZoneInfo = MADRID) -> None:
    """Move a 4-week enrollment to start on ``start_date``, created an hour before its first window."""
    conn.execute(
        "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s, created_at = %s WHERE id = %s",
        (
            start_date,
            start_date + timedelta(days=28),
            local(start_date, 0, zone=zone) - timedelta(hours=1),
            enrollment_id,
        ),
    )


def session(
    conn: psycopg.Connection, org: Org, enrollment_id: int, started_at: datetime, status: str = "completed"
) -> int:
    """A session started at ``started_at`` and completed (or skipped) twenty minutes later; like every write
    the product makes that feeds the adherence engine, it touches the enrollment's ``updated_at``."""
    ended = started_at + timedelta(minutes=20)
    conn.execute("UPDATE patient_treatment_plans SET updated_at = now() WHERE id = %s", (enrollment_id,))
    row = conn.execute(
        "INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id, "
        "session_number, status, started_at, completed_at, skipped_at, duration_seconds, exercises_total) "
        "SELECT organization_id, patient_id, id, 1, %s, %s, %s, %s, %s, 2 FROM patient_treatment_plans "
        "WHERE id = %s RETURNING id",
        (
            status,
            started_at,
            ended if status == "completed" else None,
            ended if status == "skipped" else None,
            1200 if status == "completed" else None,
            enrollment_id,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])
