"""The nightly roll-forward's bulk path (core_api/jobs/adherence_rollforward.py: three reads, the engine per
enrollment, reports built only for weeks not final, alerts offered only for weeks without one, one upsert)
writes exactly what ``recompute_weekly`` called for each active enrollment writes: the same week rows, alerts
and outbox events, night after night, on an organization of varied schedules, zones, histories and sessions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from core_api.adherence import repository as repo
from core_api.adherence.history import recompute_weekly
from core_api.jobs.adherence_rollforward import roll_organization
from core_api.jobs.tenancy import set_tenant
from psycopg import AsyncConnection

from tools.databases import PostgresUrls

# One organization, set-based: plans of 1 to 14 sessions a week over six weeks; patients in zones with
# daylight-saving changes, half-hour, 45-minute and +14 h offsets; enrollments started 0 to 50 days ago (so
# the current week is the first, a middle or the last one, or the plan has ended), some created after their
# start, a fifth paused and resumed; per window a session with probability 0.75, completed or skipped,
# started inside or after the window, finished before or after it closed (or after the instant computed
# at), a second session in some windows, and a session in progress in a quarter of the enrollments.
SEED = [
    "SELECT setseed(%(seed)s)",
    """
    INSERT INTO organizations (name, time_zone, adherence_threshold_percent) VALUES (%(name)s, 'Europe/Madrid', 60)
    """,
    """
    INSERT INTO treatment_plans (organization_id, name, type, frequency_per_week, duration_weeks, status, published)
    SELECT o.id, %(name)s || ' plan ' || f, 'telerehab', f, 6, 'active', true
    FROM organizations o, unnest(ARRAY[1, 2, 3, 5, 7, 10, 14]) AS f WHERE o.name = %(name)s
    """,
    """
    INSERT INTO treatment_plan_versions (organization_id, treatment_plan_id, version, name, type,
                                         frequency_per_week, duration_weeks, sessions_count, snapshot)
    SELECT t.organization_id, t.id, 1, t.name, t.type, t.frequency_per_week, t.duration_weeks, 3, '{}'
    FROM treatment_plans t JOIN organizations o ON o.id = t.organization_id WHERE o.name = %(name)s
    """,
    """
    INSERT INTO patients (organization_id, name, time_zone)
    SELECT o.id, 'Patient ' || i,
           (ARRAY['Europe/Madrid', 'America/New_York', 'UTC', 'Asia/Kolkata', 'Asia/Kathmandu',
                  'Australia/Lord_Howe', 'Pacific/Kiritimati'])[1 + i %% 7]
    FROM organizations o, generate_series(1, %(patients)s) AS i WHERE o.name = %(name)s
    """,
    """
    INSERT INTO patient_treatment_plans (organization_id, patient_id, treatment_plan_id, treatment_plan_version_id,
        treatment_plan_version, self_assigned, start_date, end_date, frequency_per_week, sessions_total, status,
        created_at, updated_at)
    SELECT p.organization_id, p.id, v.treatment_plan_id, v.id, 1, true, s.start_date, s.start_date + 7 * 6,
           v.frequency_per_week, v.frequency_per_week * 6, 'active',
           s.start_date::timestamp AT TIME ZONE p.time_zone
               + CASE WHEN p.id %% 13 = 0 THEN interval '3 days 5 hours' ELSE interval '-1 day' END,
           now() - interval '1 hour'
    FROM patients p
    JOIN organizations o ON o.id = p.organization_id AND o.name = %(name)s
    JOIN treatment_plan_versions v ON v.organization_id = o.id
         AND v.frequency_per_week = (ARRAY[1, 2, 3, 5, 7, 10, 14])[1 + ((p.id / 7) %% 7)::integer]
    CROSS JOIN LATERAL (SELECT current_date - (p.id * 17 %% 51)::integer AS start_date) s
    """,
    """
    INSERT INTO patient_treatment_plan_status_changes (organization_id, patient_id, patient_treatment_plan_id,
        from_status, to_status, reason, changed_by_role, created_at)
    SELECT ptp.organization_id, ptp.patient_id, ptp.id, c.from_status, c.to_status, 'test', 'admin',
           ptp.created_at + c.after + (ptp.id %% 9) * interval '1 day 7 hours'
    FROM patient_treatment_plans ptp
    JOIN organizations o ON o.id = ptp.organization_id AND o.name = %(name)s
    CROSS JOIN (VALUES ('active', 'paused', interval '2 days'), ('paused', 'active', interval '6 days 3 hours'))
         AS c (from_status, to_status, after)
    WHERE ptp.id %% 5 = 0
    """,
    """
    INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id,
        session_number, status, started_at, completed_at, skipped_at, duration_seconds, exercises_total,
        created_at, updated_at)
    SELECT organization_id, patient_id, id, 1, status, started_at,
           CASE WHEN status = 'completed' THEN started_at + finished_after END,
           CASE WHEN status = 'skipped' THEN started_at + interval '2 minutes' END,
           CASE WHEN status = 'completed' THEN 1500 END, 2, now() - interval '1 hour', now() - interval '1 hour'
    FROM (
        SELECT ptp.organization_id, ptp.patient_id, ptp.id,
               CASE WHEN random() < 0.2 THEN 'skipped' ELSE 'completed' END AS status,
               (ptp.start_date::timestamp + interval '1 week' * (slot.n / ptp.frequency_per_week)
                + interval '1 week' * (slot.n %% ptp.frequency_per_week) / ptp.frequency_per_week
                + interval '1 hour' * floor(random() * 40)) AT TIME ZONE pa.time_zone AS started_at,
               interval '1 minute' * floor(random() * 3000) AS finished_after
        FROM patient_treatment_plans ptp
        JOIN organizations o ON o.id = ptp.organization_id AND o.name = %(name)s
        JOIN patients pa ON pa.id = ptp.patient_id
        CROSS JOIN LATERAL generate_series(0, ptp.sessions_total - 1) AS slot (n)
        CROSS JOIN LATERAL generate_series(1, CASE WHEN random() < 0.2 THEN 2 ELSE 1 END) AS extra (k)
        WHERE random() < 0.75
    ) planned
    WHERE started_at < now() + interval '3 days'
    """,
    """
    INSERT INTO patient_session_completions (organization_id, patient_id, patient_treatment_plan_id,
        session_number, status, started_at, exercises_total)
    SELECT ptp.organization_id, ptp.patient_id, ptp.id, 2, 'in_progress',
           now() - interval '1 hour' * (ptp.id %% 40), 2
    FROM patient_treatment_plans ptp
    JOIN organizations o ON o.id = ptp.organization_id AND o.name = %(name)s
    WHERE ptp.id %% 4 = 0
    """,
]

WEEKS = """
SELECT patient_treatment_plan_id, week_start, week_number, closes_at, adherence_percent, noncompliance_percent,
       report, computed_at, fresh_until, time_zone, organization_id, patient_id
FROM weekly_adherence_reports WHERE organization_id = %(organization_id)s
ORDER BY patient_treatment_plan_id, week_start
"""
ALERTS = """
SELECT patient_treatment_plan_id, kind, week_start, evidence, organization_id, patient_id
FROM adherence_alerts WHERE organization_id = %(organization_id)s ORDER BY id
"""
EVENTS = """
SELECT event_type, entity_type, entity_id, payload FROM automation_events
WHERE organization_id = %(organization_id)s ORDER BY id
"""

THRESHOLD = "UPDATE organizations SET adherence_threshold_percent = %(threshold)s WHERE id = %(organization_id)s"

Snapshot = list[tuple[list[Any], list[Any], list[Any]]]
Night = Callable[[AsyncConnection, datetime], Awaitable[None]]


async def _bulk(conn: AsyncConnection, as_of: datetime) -> None:
    await roll_organization(conn, as_of)


async def _loop(conn: AsyncConnection, as_of: datetime) -> None:
    for enrollment in await repo.enrollments(conn, active_only=True):
        await recompute_weekly(conn, enrollment.id, as_of)


async def _nights(
    urls: PostgresUrls, organization_id: int, night: Night, nights: list[tuple[datetime, int]]
) -> Snapshot:
    """What ``night`` leaves in the organization's week rows, alerts and outbox events after each instant
    (with the organization's threshold set as given first), in one transaction (as the job's owner role
    and tenant) that is rolled back."""
    params = {"organization_id": organization_id}
    snapshots: Snapshot = []
    async with await AsyncConnection.connect(urls.owner) as conn, conn.transaction(force_rollback=True):
        await set_tenant(conn, organization_id)
        for as_of, threshold in nights:
            await conn.execute(THRESHOLD, {"threshold": threshold, "organization_id": organization_id})
            await night(conn, as_of)
            weeks, alerts, events = [
                await (await conn.execute(query, params)).fetchall() for query in (WEEKS, ALERTS, EVENTS)
            ]
            snapshots.append((weeks, alerts, events))
    return snapshots


@pytest.mark.anyio
@pytest.mark.parametrize("seed", [0.17, 0.71])
async def test_the_bulk_job_writes_what_the_per_enrollment_recompute_writes(
    postgres: PostgresUrls, superuser: psycopg.Connection, seed: float
) -> None:
    name = f"Rollforward {seed}"
    for statement in SEED:
        superuser.execute(statement.encode(), {"seed": seed, "name": name, "patients": 147})
    [(organization_id,)] = superuser.execute("SELECT id FROM organizations WHERE name = %s", (name,)).fetchall()
    # The first night fills both weeks; two days later the current week is refreshed and alerts exist
    # already; eight days later last night's current week is closed and finalized, then final; on the last
    # night a higher threshold makes final weeks alert.
    first = datetime.now(UTC)
    nights = [
        (first, 60),
        (first + timedelta(days=2, hours=5), 60),
        (first + timedelta(days=8), 60),
        (first + timedelta(days=9), 60),
        (first + timedelta(days=9, hours=1), 95),
    ]

    bulk = await _nights(postgres, organization_id, _bulk, nights)
    loop = await _nights(postgres, organization_id, _loop, nights)

    for night, (bulk_night, loop_night) in enumerate(zip(bulk, loop, strict=True)):
        for table, bulk_rows, loop_rows in zip(("weeks", "alerts", "events"), bulk_night, loop_night, strict=True):
            assert bulk_rows == loop_rows, f"night {night}: {table} differ"
    weeks, alerts, events = bulk[-1]
    # The data are varied enough to matter: many rows, final ones, alerts with their events.
    assert len(weeks) > 150
    assert any(row[7] >= row[3] for row in weeks)
    assert any(row[7] < row[3] for row in weeks)
    assert len(alerts) > 10
    assert len(events) == len(alerts)
    assert {row[9] for row in weeks} >= {"Asia/Kathmandu", "Australia/Lord_Howe", "America/New_York"}
