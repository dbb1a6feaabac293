"""``make run``'s job scheduler (tools/jobs.py) runs the CronJobs' expiry and roll-forward, as production does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.core_api.seed import seed_organization
from tools.databases import PostgresUrls
from tools.jobs import ROOT, local_jobs, parse_schedule


def test_the_schedules_are_the_cronjobs() -> None:
    jobs = {job.module: job for job in local_jobs()}
    assert {module: job.schedule for module, job in jobs.items()} == {
        "core_api.jobs.expire_enrollments": "15 2 * * *",
        "core_api.jobs.adherence_rollforward": "30 2 * * *",
    }
    expiry = jobs["core_api.jobs.expire_enrollments"]
    assert expiry.due(datetime(2026, 3, 29, 2, 15, 40, tzinfo=UTC))
    assert not expiry.due(datetime(2026, 3, 29, 2, 16, tzinfo=UTC))
    assert parse_schedule("*/20 1-2,5 * * 0") == (
        frozenset({0, 20, 40}),
        frozenset({1, 2, 5}),
        frozenset(range(1, 32)),
        frozenset(range(1, 13)),
        frozenset({0}),
    )
    with pytest.raises(ValueError, match="five fields"):
        parse_schedule("15 2 * *")
    with pytest.raises(ValueError, match="outside"):
        parse_schedule("75 2 * * *")


@pytest.mark.processes
def test_the_scheduler_runs_both_jobs_at_start_and_stops_on_sigterm(
    superuser: psycopg.Connection, postgres: PostgresUrls, dev_keys: Path
) -> None:
    org = seed_organization(superuser, dev_keys, "Scheduler")
    plan = superuser.execute(
        "INSERT INTO treatment_plans (organization_id, name, type, frequency_per_week, duration_weeks, published) "
        "VALUES (%s, 'Old plan', 'in_clinic', 1, 1, true) RETURNING id",
        (org.id,),
    ).fetchone()
    assert plan is not None
    version = superuser.execute(
        "INSERT INTO treatment_plan_versions (organization_id, treatment_plan_id, version, name, type, "
        "frequency_per_week, duration_weeks, sessions_count, snapshot) "
        "VALUES (%s, %s, 1, 'Old plan', 'in_clinic', 1, 1, 1, '{\"sessions\": []}') RETURNING id",
        (org.id, plan[0]),
    ).fetchone()
    assert version is not None
    overdue = date.today() - timedelta(days=10)
    enrollment = superuser.execute(
        "INSERT INTO patient_treatment_plans (organization_id, patient_id, treatment_plan_id, "
        "treatment_plan_version_id, treatment_plan_version, start_date, end_date, frequency_per_week, "
        "sessions_total, status) VALUES (%s, %s, %s, %s, 1, %s, %s, 1, 1, 'active') RETURNING id",
        (org.id, org.patient, plan[0], version[0], overdue - timedelta(days=7), overdue),
    ).fetchone()
    assert enrollment is not None

    env = {**os.environ, "DATABASE_URL": postgres.app, "MIGRATIONS_DATABASE_URL": postgres.owner}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "tools.jobs"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert scheduler.stdout is not None
    lines: list[str] = []
    try:
        # Both jobs run at start, in the file's order; readline returns "" if the scheduler exits early.
        while not lines or lines[-1] not in {"", "jobs: enrollment-expiry done\n"}:
            lines.append(scheduler.stdout.readline())
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.communicate(timeout=60)
    assert scheduler.returncode == 0
    assert "jobs: adherence-rollforward done\n" in lines
    assert lines[-1] == "jobs: enrollment-expiry done\n"
    row = superuser.execute("SELECT status FROM patient_treatment_plans WHERE id = %s", (enrollment[0],)).fetchone()
    assert row == ("expired",)
