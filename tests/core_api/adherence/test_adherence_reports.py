"""Adherence reports through the API: event stream, weekly report, the organization's page and stats, and
the weekly history rows. Scenarios are built by moving an enrollment's dates back with SQL and writing
its sessions and status history at chosen instants; reports are always computed as of now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from core_api.adherence.history import recompute_weekly
from core_api.db.tenancy import scoped_transaction
from psycopg_pool import AsyncConnectionPool

from tests.core_api.helpers.adherence import local, place, session
from tests.core_api.helpers.execution import MADRID, complete, enroll, start
from tests.core_api.helpers.responses import Client, Json, ok
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

NEW_YORK = ZoneInfo("America/New_York")


def status_change(conn: psycopg.Connection, enrollment_id: int, from_status: str, to_status: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO patient_treatment_plan_status_changes (organization_id, patient_id, patient_treatment_plan_id, "
        "from_status, to_status, reason, changed_by_role, created_at) "
        "SELECT organization_id, patient_id, id, %s, %s, 'test', 'admin', %s "
        "FROM patient_treatment_plans WHERE id = %s",
        (from_status, to_status, at, enrollment_id),
    )


def report(client: Client, org: Org, enrollment_id: int, role: str = "admin", **params: str) -> Json:
    body: Json = ok(
        client.get(f"/v1/patient-treatment-plans/{enrollment_id}/adherence", params=params, headers=org.headers(role))
    )
    return body


def weekly(client: Client, org: Org, enrollment_id: int, role: str = "admin", **params: str) -> Json:
    body: Json = ok(
        client.get(
            f"/v1/patient-treatment-plans/{enrollment_id}/adherence/weekly", params=params, headers=org.headers(role)
        )
    )
    return body


def states(week: Json) -> list[str]:
    return [slot["state"] for slot in week["slots"]]


def test_weekly_rates_a_paused_week_and_the_event_stream(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    start_date = datetime.now(MADRID).date() - timedelta(days=21)
    place(superuser, enrollment, start_date)
    # Week 1: one session in each window. Week 2: two of three. Week 3: paused throughout.
    firsts = [session(superuser, org, enrollment, local(start_date + timedelta(days=d), 10)) for d in (0, 2, 4)]
    for d in (7, 9):
        session(superuser, org, enrollment, local(start_date + timedelta(days=d), 10))
    status_change(superuser, enrollment, "active", "paused", local(start_date + timedelta(days=14), 0))
    status_change(superuser, enrollment, "paused", "active", local(start_date + timedelta(days=21), 0))

    body = report(core_api, org, enrollment)
    week1, week2, week3, week4 = body["weeks"]
    assert states(week1) == ["completed"] * 3
    assert [slot["completion_id"] for slot in week1["slots"]] == firsts
    assert (week1["summary"]["adherence_percent"], week1["summary"]["rate"]) == (100, 100.0)
    assert states(week2) == ["completed", "completed", "expired"]
    assert week2["summary"] | {"rate": 66.7, "adherence_percent": 66} == week2["summary"]
    assert (week2["summary"]["noncompliance_percent"], week2["summary"]["noncompliance_rate"]) == (33, 33.3)
    assert states(week3) == ["not_applicable"] * 3
    assert (week3["summary"]["offered"], week3["summary"]["adherence_percent"]) == (0, 100)
    assert states(week4) == ["unstarted", "not_yet_available", "not_yet_available"]
    # 5 compliant, 1 noncompliant, 1 unknown offered.
    assert (body["summary"]["adherence_percent"], body["summary"]["rate"]) == (71, 71.4)
    assert body["below_threshold"] is True  # the default threshold is 80
    first = week1["slots"][0]
    assert first["opens_at_local"] == local(start_date, 0).isoformat()
    assert datetime.fromisoformat(first["opens_at"]) == local(start_date, 0)
    assert first["opens_at"].endswith("Z") or first["opens_at"].endswith("+00:00")

    second_week = weekly(core_api, org, enrollment, date=(start_date + timedelta(days=8)).isoformat())
    assert (second_week["week"], second_week["week_start"]) == (2, (start_date + timedelta(days=7)).isoformat())
    assert [len(day["slots"]) for day in second_week["days"]] == [1, 0, 1, 0, 1, 0, 0]
    assert [s["state"] for day in second_week["days"] for s in day["slots"]] == ["completed", "completed", "expired"]
    assert (second_week["summary"]["adherence_percent"], second_week["summary"]["rate"]) == (66, 66.7)
    assert second_week["next_slot_date"] is None

    before = weekly(core_api, org, enrollment, date=(start_date - timedelta(days=3)).isoformat())
    assert before["week"] is None
    assert before["next_slot_date"] == start_date.isoformat()
    assert all(day["slots"] == [] for day in before["days"])
    assert (
        weekly(core_api, org, enrollment, date=(start_date + timedelta(days=40)).isoformat())["next_slot_date"] is None
    )

    current = weekly(core_api, org, enrollment, role="patient")
    assert current["week"] == 4


def test_a_session_late_in_the_local_day_counts_for_that_window(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    superuser.execute("UPDATE patients SET time_zone = 'America/New_York' WHERE id = %s", (org.patient,))
    start_date = datetime.now(NEW_YORK).date() - timedelta(days=14)
    place(superuser, enrollment, start_date, NEW_YORK)
    # 23:30 on the first window's last day (day 1) in New York is already day 2 in UTC.
    late = local(start_date + timedelta(days=1), 23, 30, NEW_YORK)
    assert late.astimezone(UTC).date() == start_date + timedelta(days=2)
    completion = session(superuser, org, enrollment, late)

    body = report(core_api, org, enrollment)
    assert body["time_zone"] == "America/New_York"
    first_week = body["weeks"][0]
    assert states(first_week) == ["completed", "expired", "expired"]
    assert first_week["slots"][0]["completion_id"] == completion
    assert (
        first_week["slots"][0]["closes_at_local"] == local(start_date + timedelta(days=2), 0, zone=NEW_YORK).isoformat()
    )


def test_a_skipped_session_declines_its_slot(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    start_date = datetime.now(MADRID).date() - timedelta(days=7)
    place(superuser, enrollment, start_date)
    skipped = session(superuser, org, enrollment, local(start_date + timedelta(days=2), 9), status="skipped")
    first_week = report(core_api, org, enrollment)["weeks"][0]
    assert states(first_week) == ["expired", "declined", "expired"]
    assert first_week["slots"][1]["completion_id"] == skipped


def test_who_may_read_an_enrollments_report(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    for role in ("admin", "specialist", "patient"):
        assert report(core_api, org, enrollment, role=role)["patient_treatment_plan_id"] == enrollment
    for client_org, role in ((org, "other_patient"), (other_org, "admin"), (other_org, "patient")):
        for path in ("adherence", "adherence/weekly"):
            response = core_api.get(
                f"/v1/patient-treatment-plans/{enrollment}/{path}", headers=client_org.headers(role)
            )
            assert response.status_code == 404, (role, path, response.text)
    assert core_api.get(f"/v1/patient-treatment-plans/{enrollment}/adherence").status_code == 401
    refused = core_api.get(
        f"/v1/patient-treatment-plans/{enrollment}/adherence",
        params={"as_of": "2026-01-01"},
        headers=org.headers("admin"),
    )
    assert refused.status_code == 422


def _org_scenario(core_api: Client, org: Org, superuser: psycopg.Connection) -> tuple[list[int], date]:
    """Three enrollments of the patient started a week ago: last week 3/3, 1/3 and 2/3; the first one
    assigned by the seeded specialist."""
    start_date = datetime.now(MADRID).date() - timedelta(days=7)
    ids = []
    for done in (3, 1, 2):
        enrollment = enroll(core_api, superuser, org)["id"]
        place(superuser, enrollment, start_date)
        for d in (0, 2, 4)[:done]:
            session(superuser, org, enrollment, local(start_date + timedelta(days=d), 10))
        ids.append(enrollment)
    superuser.execute(
        "UPDATE patient_treatment_plans SET assigned_by_specialist_id = %s WHERE id = %s", (org.specialist, ids[0])
    )
    return ids, start_date


def test_the_organization_page_sorts_filters_and_flags_strictly_below_the_threshold(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    (full, third, two_thirds), start_date = _org_scenario(core_api, org, superuser)
    superuser.execute("UPDATE organizations SET adherence_threshold_percent = 66 WHERE id = %s", (org.id,))
    week = start_date.isoformat()

    def page(role: str = "admin", **params: Any) -> Json:
        body: Json = ok(
            core_api.get("/v1/adherence/weekly", params={"week": week, **params}, headers=org.headers(role))
        )
        return body

    body = page()
    assert body["threshold_percent"] == 66
    assert [row["patient_treatment_plan_id"] for row in body["rows"]] == [third, two_thirds, full]
    assert [row["summary"]["adherence_percent"] for row in body["rows"]] == [33, 66, 100]
    assert [row["summary"]["rate"] for row in body["rows"]] == [33.3, 66.7, 100.0]
    assert [row["below_threshold"] for row in body["rows"]] == [True, False, False]
    assert (body["total"], body["limit"], body["total_pages"]) == (3, 25, 1)
    assert [len(day["slots"]) for day in body["rows"][0]["days"]] == [1, 0, 1, 0, 1, 0, 0]
    assert body["rows"][0]["week"] == 1

    assert [r["patient_treatment_plan_id"] for r in page(min_percent=50)["rows"]] == [two_thirds, full]
    assert [r["patient_treatment_plan_id"] for r in page(max_percent=66)["rows"]] == [third, two_thirds]
    second = page(limit=1, page=2)
    assert ([r["patient_treatment_plan_id"] for r in second["rows"]], second["total_pages"]) == ([two_thirds], 3)
    assert page(q="jane")["total"] == 3
    assert page(q="nobody")["total"] == 0

    # A specialist sees only the enrollments they assigned; an admin may filter by specialist.
    assert [r["patient_treatment_plan_id"] for r in page(role="specialist")["rows"]] == [full]
    assert page(role="specialist", specialist_id=org.specialist + 1000)["total"] == 0
    assert [r["patient_treatment_plan_id"] for r in page(specialist_id=org.specialist)["rows"]] == [full]

    # Paused enrollments are not active: they leave the page.
    superuser.execute("UPDATE patient_treatment_plans SET status = 'paused' WHERE id = %s", (third,))
    assert page()["total"] == 2

    assert core_api.get("/v1/adherence/weekly", headers=org.headers("patient")).status_code == 403
    assert core_api.get("/v1/adherence/weekly", params={"bogus": "1"}, headers=org.headers("admin")).status_code == 422


def test_stats_count_enrollments_strictly_below_the_threshold(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    _org_scenario(core_api, org, superuser)
    # To date (this week's first window open): 3/4 = 75, 1/4 = 25, 2/4 = 50.
    superuser.execute("UPDATE organizations SET adherence_threshold_percent = 75 WHERE id = %s", (org.id,))
    stats: Json = ok(core_api.get("/v1/adherence/stats", headers=org.headers("admin")))
    assert (stats["active"], stats["compliant"], stats["noncompliant"], stats["threshold_percent"]) == (3, 1, 2, 75)
    assert sum(plan["active"] for plan in stats["plans"]) == 3
    assert sorted((plan["compliant"], plan["noncompliant"]) for plan in stats["plans"]) == [(0, 1), (0, 1), (1, 0)]
    mine: Json = ok(core_api.get("/v1/adherence/stats", headers=org.headers("specialist")))
    assert (mine["active"], mine["compliant"]) == (1, 1)
    theirs: Json = ok(core_api.get("/v1/adherence/stats", headers=other_org.headers("admin")))
    assert theirs["active"] == 0
    assert core_api.get("/v1/adherence/stats", headers=org.headers("patient")).status_code == 403


def test_session_writes_store_the_current_weeks_report(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    started = ok(start(core_api, org, enrollment, 1), 201)
    ok(complete(core_api, org, started["id"]))
    rows = superuser.execute(
        "SELECT week_number, adherence_percent, report->'summary'->>'compliant', patient_id, organization_id "
        "FROM weekly_adherence_reports WHERE patient_treatment_plan_id = %s",
        (enrollment,),
    ).fetchall()
    assert rows == [(1, 100, "1", org.patient, org.id)]


@pytest.mark.anyio
async def test_weekly_history_is_kept_and_final_once_the_week_is_past(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    start_date = datetime.now(MADRID).date() - timedelta(days=21)
    place(superuser, enrollment, start_date)
    session(superuser, org, enrollment, local(start_date, 10))

    def stored() -> dict[int, tuple[int, datetime]]:
        rows = superuser.execute(
            "SELECT week_number, adherence_percent, computed_at FROM weekly_adherence_reports "
            "WHERE patient_treatment_plan_id = %s",
            (enrollment,),
        ).fetchall()
        return {week: (percent, computed) for week, percent, computed in rows}

    async with AsyncConnectionPool(postgres.app, min_size=1, max_size=1, open=False) as pool:

        async def recompute(at: datetime) -> None:
            async with scoped_transaction(pool, organization_id=org.id, user_id=org.admin_user, role="admin") as conn:
                await recompute_weekly(conn, enrollment, at)

        mid_first = local(start_date + timedelta(days=3), 12)
        await recompute(mid_first)  # week 1 so far: completed, unstarted
        assert stored() == {1: (50, mid_first)}

        mid_second = local(start_date + timedelta(days=8), 12)
        await recompute(mid_second)  # week 1 finalized (completed, expired, expired), week 2 current
        assert stored() == {1: (33, mid_second), 2: (0, mid_second)}

        # A session recorded late for week 1 changes nothing stored for it once it is final.
        session(superuser, org, enrollment, local(start_date + timedelta(days=2), 10))
        mid_third = local(start_date + timedelta(days=15), 12)
        await recompute(mid_third)
        assert stored() == {1: (33, mid_second), 2: (0, mid_third), 3: (0, mid_third)}


def test_the_organization_page_reads_stored_weeks_and_recomputes_only_stale_ones(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)["id"]
    start_date = datetime.now(MADRID).date() - timedelta(days=10)  # today is day 3 of plan week 2
    place(superuser, enrollment, start_date)
    superuser.execute("DELETE FROM weekly_adherence_reports WHERE patient_treatment_plan_id = %s", (enrollment,))
    last_week, this_week = start_date, start_date + timedelta(days=7)

    def shown(week: date) -> tuple[Any, int]:
        body: Json = ok(
            core_api.get("/v1/adherence/weekly", params={"week": week.isoformat()}, headers=org.headers("admin"))
        )
        [row] = [row for row in body["rows"] if row["patient_treatment_plan_id"] == enrollment]
        return row["week"], row["summary"]["adherence_percent"]

    def stored(week_start: date) -> tuple[int, datetime, datetime, datetime, str]:
        row = superuser.execute(
            "SELECT adherence_percent, computed_at, closes_at, fresh_until, time_zone FROM weekly_adherence_reports "
            "WHERE patient_treatment_plan_id = %s AND week_start = %s",
            (enrollment, week_start),
        ).fetchone()
        assert row is not None, f"no stored row for {week_start}"
        return row

    def tamper(week_start: date, percent: int) -> None:
        """Overwrite the stored numbers, to see whether the page reads them or computes."""
        superuser.execute(
            "UPDATE weekly_adherence_reports SET adherence_percent = %s, "
            "report = jsonb_set(report, '{summary,adherence_percent}', to_jsonb(%s::int)) "
            "WHERE patient_treatment_plan_id = %s AND week_start = %s",
            (percent, percent, enrollment, week_start),
        )

    # Missing rows are computed and stored by the read itself: the current week is open (expired,
    # unstarted, not yet available) and fresh until its open window closes at local midnight of day 4.
    assert shown(this_week) == (2, 0)
    percent, computed_at, closes_at, fresh_until, zone = stored(this_week)
    assert (percent, zone) == (0, "Europe/Madrid")
    assert computed_at < fresh_until == local(this_week + timedelta(days=4), 0) < closes_at
    # A fresh row is read, not recomputed.
    tamper(this_week, 7)
    assert shown(this_week) == (2, 7)
    # A session written since makes it stale: recomputed (completed, unstarted) and stored again.
    session(superuser, org, enrollment, local(this_week, 10))
    assert shown(this_week) == (2, 50)
    recomputed_percent, recomputed_at, *_ = stored(this_week)
    assert (recomputed_percent, recomputed_at > computed_at) == (50, True)
    # So does the clock passing a window boundary, and the patient moving to another zone.
    tamper(this_week, 7)
    superuser.execute(
        "UPDATE weekly_adherence_reports SET fresh_until = now() - interval '1 second' "
        "WHERE patient_treatment_plan_id = %s AND week_start = %s",
        (enrollment, this_week),
    )
    assert shown(this_week) == (2, 50)
    tamper(this_week, 7)
    superuser.execute("UPDATE patients SET time_zone = 'America/New_York' WHERE id = %s", (org.patient,))
    assert shown(this_week)[1] != 7
    assert stored(this_week)[4] == "America/New_York"
    superuser.execute("UPDATE patients SET time_zone = 'Europe/Madrid' WHERE id = %s", (org.patient,))

    # A past week is stored final (computed after it closed) and then kept as history: a session recorded
    # for it later does not change what the page shows.
    assert shown(last_week) == (1, 0)
    percent, computed_at, closes_at, _, _ = stored(last_week)
    assert computed_at >= closes_at
    tamper(last_week, 42)
    session(superuser, org, enrollment, local(last_week, 10))
    assert shown(last_week) == (1, 42)

    # A week outside the plan has no row: nothing offered, 100 percent, seven empty days.
    before: Json = ok(
        core_api.get(
            "/v1/adherence/weekly",
            params={"week": (start_date - timedelta(days=7)).isoformat()},
            headers=org.headers("admin"),
        )
    )
    [row] = [row for row in before["rows"] if row["patient_treatment_plan_id"] == enrollment]
    assert (row["week"], row["summary"]["adherence_percent"], row["below_threshold"]) == (None, 100, False)
    assert [day["slots"] for day in row["days"]] == [[]] * 7
    assert row["days"][0]["date"] == (start_date - timedelta(days=7)).isoformat()
    count = superuser.execute(
        "SELECT count(*) FROM weekly_adherence_reports WHERE patient_treatment_plan_id = %s AND week_start < %s",
        (enrollment, start_date),
    ).fetchone()
    assert count == (0,)


def test_reports_and_the_organization_page_count_verified_and_contradicted_sessions(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    (full, third, two_thirds), start_date = _org_scenario(core_api, org, superuser)
    week = start_date.isoformat()

    def page(**params: Any) -> list[tuple[int, int, int]]:
        body: Json = ok(
            core_api.get("/v1/adherence/weekly", params={"week": week, **params}, headers=org.headers("admin"))
        )
        return [
            (row["patient_treatment_plan_id"], row["sessions_verified"], row["sessions_contradicted"])
            for row in body["rows"]
        ]

    # The first read stores the week's rows; nothing was collected yet.
    assert page() == [(third, 0, 0), (two_thirds, 0, 0), (full, 0, 0)]
    # The collector writes the states afterwards, without touching the enrollments: the stored rows of
    # `third` and `two_thirds` stay fresh and are not recomputed, yet show the states now. A second
    # session in an already completed window decides nothing: its state is not counted.
    extra = session(superuser, org, full, local(start_date, 11))
    states_by_enrollment: dict[int, list[str | None]] = {
        full: ["verified", "contradicted", None],
        third: ["verified"],
        two_thirds: ["pending", "partial"],
    }
    for enrollment, states_of in states_by_enrollment.items():
        ids = superuser.execute(
            "SELECT id FROM patient_session_completions WHERE patient_treatment_plan_id = %s AND id <> %s "
            "ORDER BY started_at",
            (enrollment, extra),
        ).fetchall()
        for (completion_id,), state in zip(ids, states_of, strict=True):
            superuser.execute(
                "UPDATE patient_session_completions SET evidence_state = %s WHERE id = %s", (state, completion_id)
            )
    superuser.execute("UPDATE patient_session_completions SET evidence_state = 'contradicted' WHERE id = %s", (extra,))

    assert page() == [(third, 1, 0), (two_thirds, 0, 0), (full, 1, 1)]
    assert page(has_contradicted="true") == [(full, 1, 1)]
    assert page(has_contradicted="false") == [(third, 1, 0), (two_thirds, 0, 0)]
    assert page(has_contradicted="true", max_percent=50) == []
    response = core_api.get(
        "/v1/adherence/weekly", params={"has_contradicted": "sometimes"}, headers=org.headers("admin")
    )
    assert response.status_code == 422
    assert "has_contradicted" in response.text

    stream = report(core_api, org, full)
    assert [(w["sessions_verified"], w["sessions_contradicted"]) for w in stream["weeks"]] == [(1, 1), (0, 0)] + [
        (0, 0)
    ] * 2
    assert (stream["sessions_verified"], stream["sessions_contradicted"], stream["summary"]["compliant"]) == (1, 1, 3)
    first_week = weekly(core_api, org, full, date=week)
    assert (first_week["sessions_verified"], first_week["sessions_contradicted"]) == (1, 1)
    trend: Json = ok(core_api.get(f"/v1/patient-treatment-plans/{full}/adherence/trend", headers=org.headers("admin")))
    first_stored = trend["weeks"][0]
    assert (first_stored["week_number"], first_stored["sessions_verified"], first_stored["sessions_contradicted"]) == (
        1,
        1,
        1,
    )
    # The stored copy of the report leaves the counts out: they are counted when shown.
    stored = superuser.execute(
        "SELECT report ? 'sessions_verified' OR report ? 'sessions_contradicted' FROM weekly_adherence_reports "
        "WHERE patient_treatment_plan_id = %s AND week_start = %s",
        (full, start_date),
    ).fetchone()
    assert stored == (False,)
