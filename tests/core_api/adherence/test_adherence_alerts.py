"""Adherence history and alerts: the trend endpoint, the below-threshold and pain alerts (at most one of
each kind per enrollment per plan week, as outbox events with their evidence) and the nightly roll-forward
job. Scenarios move an enrollment's dates back and recompute at chosen instants, as in
test_adherence_reports (tests/core_api/helpers/adherence.py)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from core_api.adherence.history import recompute_weekly
from core_api.db.tenancy import scoped_transaction
from core_api.jobs.adherence_rollforward import roll_all
from psycopg_pool import AsyncConnectionPool

from tests.core_api.helpers.adherence import local, place, session
from tests.core_api.helpers.execution import MADRID, complete, enroll, start
from tests.core_api.helpers.responses import Client, Json, ok, problem
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

Placed = tuple[int, date]
"""An enrollment id and its start date."""


def placed(core_api: Client, superuser: psycopg.Connection, org: Org, days_ago: int) -> Placed:
    """An enrollment of ``org``'s patient that started ``days_ago`` days ago, with no stored weeks."""
    enrollment = enroll(core_api, superuser, org)["id"]
    start_date = datetime.now(MADRID).date() - timedelta(days=days_ago)
    place(superuser, enrollment, start_date)
    superuser.execute("DELETE FROM weekly_adherence_reports WHERE patient_treatment_plan_id = %s", (enrollment,))
    return enrollment, start_date


@pytest.fixture
def three_weeks_in(core_api: Client, superuser: psycopg.Connection, org: Org) -> Placed:
    """An enrollment of ``org``'s patient that started 21 days ago, its first session done at 10:00 on day 0."""
    enrollment, start_date = placed(core_api, superuser, org, 21)
    session(superuser, org, enrollment, local(start_date, 10))
    return enrollment, start_date


def events(conn: psycopg.Connection, event_type: str, enrollment_id: int) -> list[tuple[int, Json]]:
    rows = conn.execute(
        "SELECT organization_id, payload FROM automation_events WHERE event_type = %s AND entity_id = %s "
        "AND entity_type = 'patient_treatment_plan' ORDER BY id",
        (event_type, str(enrollment_id)),
    ).fetchall()
    return [(organization_id, payload) for organization_id, payload in rows]


def trend(client: Client, org: Org, enrollment_id: int, role: str) -> Any:
    return client.get(f"/v1/patient-treatment-plans/{enrollment_id}/adherence/trend", headers=org.headers(role))


def below(conn: psycopg.Connection, enrollment_id: int) -> list[Json]:
    return [payload for _, payload in events(conn, "adherence.below_threshold", enrollment_id)]


async def recompute_on(
    postgres: PostgresUrls, org: Org, enrollment_id: int, start_date: date, *days: int, hour: int = 12
) -> None:
    """Recompute the enrollment's weeks as of ``hour`` o'clock (Madrid) on each of these days of the plan."""
    async with AsyncConnectionPool(postgres.app, min_size=1, max_size=1, open=False) as pool:
        for day in days:
            at = local(start_date + timedelta(days=day), hour)
            async with scoped_transaction(pool, organization_id=org.id, user_id=org.admin_user, role="admin") as conn:
                await recompute_weekly(conn, enrollment_id, at)


@pytest.mark.anyio
async def test_the_trend_is_the_stored_weekly_series(
    core_api: Client,
    org: Org,
    other_org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    three_weeks_in: Placed,
) -> None:
    enrollment, start_date = three_weeks_in
    await recompute_on(postgres, org, enrollment, start_date, 3, 8, 15)
    body: Json = ok(trend(core_api, org, enrollment, "patient"))
    assert body["patient_treatment_plan_id"] == enrollment
    assert [
        (
            week["week_number"],
            week["week_start"],
            week["adherence_percent"],
            week["noncompliance_percent"],
            week["final"],
        )
        for week in body["weeks"]
    ] == [
        (1, start_date.isoformat(), 33, 66, True),
        (2, (start_date + timedelta(days=7)).isoformat(), 0, 100, True),
        (3, (start_date + timedelta(days=14)).isoformat(), 0, 0, False),
    ]
    for role in ("admin", "specialist"):
        assert len(ok(trend(core_api, org, enrollment, role))["weeks"]) == 3
    for client_org, role in ((org, "other_patient"), (other_org, "admin"), (other_org, "patient")):
        response = trend(core_api, client_org, enrollment, role)
        assert response.status_code == 404, (role, response.text)
    assert trend(core_api, org, 999999999, "admin").status_code == 404

    fresh, _ = placed(core_api, superuser, org, 0)
    empty: Json = ok(trend(core_api, org, fresh, "admin"))
    assert empty == {"patient_treatment_plan_id": fresh, "weeks": []}


@pytest.mark.anyio
async def test_below_threshold_alerts_once_per_week_with_evidence(
    org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, three_weeks_in: Placed
) -> None:
    enrollment, start_date = three_weeks_in

    # Day 3: completed, unstarted (50 % < 80) but nothing missed yet: no alert.
    await recompute_on(postgres, org, enrollment, start_date, 3)
    assert below(superuser, enrollment) == []
    # Day 4: completed, expired, unstarted (33 %): one alert, however often the week is recomputed (day 8
    # finalizes week 1, still below: no second event).
    await recompute_on(postgres, org, enrollment, start_date, 4, 5, 8)
    [first] = below(superuser, enrollment)
    assert first == first | {
        "patient_treatment_plan_id": enrollment,
        "patient_id": org.patient,
        "week_number": 1,
        "week_start": start_date.isoformat(),
        "adherence_percent": 33,
        "noncompliance_percent": 33,
        "threshold_percent": 80,
        "compliant": 1,
        "noncompliant": 1,
    }
    # The next week alerts again once a session of it was missed.
    await recompute_on(postgres, org, enrollment, start_date, 11)
    alerts = below(superuser, enrollment)
    assert [(alert["week_number"], alert["adherence_percent"]) for alert in alerts] == [(1, 33), (2, 0)]
    stored = superuser.execute(
        "SELECT kind, week_start, organization_id, patient_id FROM adherence_alerts "
        "WHERE patient_treatment_plan_id = %s ORDER BY week_start",
        (enrollment,),
    ).fetchall()
    assert stored == [
        ("below_threshold", start_date, org.id, org.patient),
        ("below_threshold", start_date + timedelta(days=7), org.id, org.patient),
    ]


@pytest.mark.anyio
async def test_adherence_equal_to_the_threshold_does_not_alert(
    org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, three_weeks_in: Placed
) -> None:
    enrollment, start_date = three_weeks_in
    superuser.execute("UPDATE organizations SET adherence_threshold_percent = 33 WHERE id = %s", (org.id,))
    await recompute_on(postgres, org, enrollment, start_date, 4)
    assert below(superuser, enrollment) == []
    superuser.execute("UPDATE organizations SET adherence_threshold_percent = 34 WHERE id = %s", (org.id,))
    await recompute_on(postgres, org, enrollment, start_date, 4, hour=13)
    assert [alert["threshold_percent"] for alert in below(superuser, enrollment)] == [34]


def _finish(core_api: Client, org: Org, enrollment: int, number: int, pain: int) -> int:
    started = ok(start(core_api, org, enrollment, number), 201)
    ok(complete(core_api, org, started["id"], pain_level_after=pain))
    return int(started["id"])


def test_pain_of_seven_or_more_alerts(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    low = _finish(core_api, org, enrollment, 1, 6)
    assert events(superuser, "pain.alert", enrollment) == []
    high = _finish(core_api, org, enrollment, 2, 7)
    [(organization_id, evidence)] = events(superuser, "pain.alert", enrollment)
    assert organization_id == org.id
    assert evidence == evidence | {
        "reasons": ["high"],
        "session_completion_id": high,
        "pain_level_after": 7,
        "previous_session_completion_id": low,
        "previous_pain_level_after": 6,
        "rise": 1,
        "week_start": datetime.now(MADRID).date().isoformat(),
    }
    # Once per week: a third painful session the same week writes no second event.
    _finish(core_api, org, enrollment, 3, 9)
    assert len(events(superuser, "pain.alert", enrollment)) == 1


def test_a_pain_rise_of_two_alerts(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    first = _finish(core_api, org, enrollment, 1, 2)
    _finish(core_api, org, enrollment, 2, 3)  # a rise of 1: nothing
    assert events(superuser, "pain.alert", enrollment) == []
    third = _finish(core_api, org, enrollment, 3, 5)
    [(_, evidence)] = events(superuser, "pain.alert", enrollment)
    assert evidence["reasons"] == ["rise"]
    assert (evidence["session_completion_id"], evidence["pain_level_after"], evidence["rise"]) == (third, 5, 2)
    assert evidence["previous_session_completion_id"] not in (None, first, third)
    assert evidence["previous_pain_level_after"] == 3


def test_the_job_rolls_every_active_enrollment_of_every_organization(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    mine, start_date = placed(core_api, superuser, org, 7)
    session(superuser, org, mine, local(start_date, 10))
    theirs, _ = placed(core_api, superuser, other_org, 7)
    paused, _ = placed(core_api, superuser, org, 7)
    superuser.execute("UPDATE patient_treatment_plans SET status = 'paused' WHERE id = %s", (paused,))

    rolled = asyncio.run(roll_all(postgres.owner))
    assert rolled[org.id].enrollments >= 1
    assert rolled[other_org.id].enrollments >= 1

    def stored(enrollment: int) -> list[tuple[int, int, int]]:
        rows = superuser.execute(
            "SELECT organization_id, week_number, adherence_percent FROM weekly_adherence_reports "
            "WHERE patient_treatment_plan_id = %s ORDER BY week_start",
            (enrollment,),
        ).fetchall()
        return [(a, b, c) for a, b, c in rows]

    assert stored(mine) == [(org.id, 1, 33), (org.id, 2, stored(mine)[1][2])]
    assert [(o, w) for o, w, _ in stored(theirs)] == [(other_org.id, 1), (other_org.id, 2)]
    assert stored(theirs)[0][2] == 0
    assert stored(paused) == []
    # Last week closed below the threshold: each organization's alert is in its own outbox.
    assert [(o, e["week_number"]) for o, e in events(superuser, "adherence.below_threshold", mine)] == [(org.id, 1)]
    assert [(o, e["week_number"]) for o, e in events(superuser, "adherence.below_threshold", theirs)] == [
        (other_org.id, 1)
    ]
    # Running it again writes no new alert.
    asyncio.run(roll_all(postgres.owner))
    assert len(events(superuser, "adherence.below_threshold", mine)) == 1


def test_an_admin_sets_the_thresholds_with_an_audit_row(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    path = "/v1/organizations/current/settings"
    defaults = {"adherence_threshold_percent": 80, "evidence_min_watch_percent": 50, "evidence_rep_tolerance": 2}
    assert ok(core_api.get(path, headers=org.headers("specialist"))) == defaults
    body: Json = ok(core_api.put(path, json={"adherence_threshold_percent": 65}, headers=org.headers("admin")))
    assert body == defaults | {"adherence_threshold_percent": 65}
    # The evidence thresholds change only when given.
    changed = {"adherence_threshold_percent": 65, "evidence_min_watch_percent": 0, "evidence_rep_tolerance": 1000}
    assert ok(core_api.put(path, json=changed, headers=org.headers("admin"))) == changed
    assert ok(core_api.get(path, headers=org.headers("admin"))) == changed
    settings = (
        "SELECT adherence_threshold_percent, evidence_min_watch_percent, evidence_rep_tolerance FROM organizations "
        "WHERE id = %s"
    )
    assert superuser.execute(settings, (org.id,)).fetchone() == (65, 0, 1000)
    assert superuser.execute(settings, (other_org.id,)).fetchone() == (80, 50, 2)
    audit = superuser.execute(
        "SELECT before, after FROM audit_log WHERE action = 'organization.settings_updated' AND entity_id = %s "
        "ORDER BY id",
        (str(org.id),),
    ).fetchall()
    assert audit == [
        (defaults, defaults | {"adherence_threshold_percent": 65}),
        (defaults | {"adherence_threshold_percent": 65}, changed),
    ]
    for bad in ({"adherence_threshold_percent": 0}, {"adherence_threshold_percent": 101}, {}, {"other": 1}):
        assert core_api.put(path, json=bad, headers=org.headers("admin")).status_code == 422, bad
    for field, value in (
        ("evidence_min_watch_percent", 101),
        ("evidence_min_watch_percent", -1),
        ("evidence_rep_tolerance", 1001),
        ("evidence_rep_tolerance", "2"),
    ):
        bad_body = {"adherence_threshold_percent": 70, field: value}
        response = core_api.put(path, json=bad_body, headers=org.headers("admin"))
        assert [error["field"] for error in problem(response, 422)["errors"]] == [field], (field, value)
    for role in ("specialist", "patient"):
        response = core_api.put(path, json={"adherence_threshold_percent": 50}, headers=org.headers(role))
        assert response.status_code == 403
    assert core_api.get(path, headers=org.headers("patient")).status_code == 403
    assert superuser.execute(settings, (org.id,)).fetchone() == (65, 0, 1000)
