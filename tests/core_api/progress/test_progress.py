"""Progress and analytics reports: an enrollment's progress and analytics, the organization dashboard.

Sessions are run through the API; their times are then moved into the past as the superuser, so a
scenario spans weeks of an enrollment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest
from core_api.progress.service import performance_trend, streaks
from core_api.user_check import USER_IS_CURRENT
from psycopg import AsyncCursor

from tests.core_api.helpers.execution import MADRID, complete, enroll, start
from tests.core_api.helpers.responses import Client, Json, ok, problem
from tests.core_api.seed import Org

# The spec's pain trend, one (before, after) per completed session.
SPEC_PAIN = [(7, 5), (6, 4), (6, 4), (5, 3), (5, 3), (4, 3)]
# Durations averaging the spec's 1750 seconds.
DURATIONS = [1680, 1820, 1750, 1750, 1700, 1800]
QUAD_SET_POSE = [70.0, 72.0, 75.0, 80.0, 85.0, 88.0]  # improving
HEEL_SLIDES_POSE = [90.0, 90.0, 90.0, 80.0, 80.0, 80.0]  # declining


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MADRID)


def move_start(conn: psycopg.Connection, enrollment_id: int, start_date: date) -> None:
    """Let the enrollment have started on ``start_date`` (active since the day before)."""
    conn.execute(
        "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s, created_at = %s WHERE id = %s",
        (start_date, start_date + timedelta(days=28), local(start_date - timedelta(days=1), 12), enrollment_id),
    )


def run_session(
    client: Client,
    conn: psycopg.Connection,
    org: Org,
    enrollment_id: int,
    number: int,
    at: datetime,
    *,
    pain: tuple[int, int] = (5, 3),
    duration: int = 1800,
    logs: list[Json] | None = None,
    skip: bool = False,
) -> int:
    """Start session ``number``, record ``logs`` (one body per exercise), complete or skip it, and move it
    to have started at ``at`` (and ended ``duration`` seconds later)."""
    started = ok(start(client, org, enrollment_id, number, pain_level_before=pain[0]), 201)
    for log, body in zip(started["exercise_logs"], logs or [], strict=False):
        ok(client.put(f"/v1/patient-exercise-logs/{log['id']}", json=body, headers=org.headers("patient")))
    if skip:
        ok(
            client.post(
                f"/v1/patient-session-completions/{started['id']}/skip",
                json={"reason": "Too tired"},
                headers=org.headers("patient"),
            )
        )
        conn.execute(
            "UPDATE patient_session_completions SET started_at = %s, skipped_at = %s WHERE id = %s",
            (at, at + timedelta(minutes=1), started["id"]),
        )
    else:
        ok(complete(client, org, started["id"], pain_level_after=pain[1], perceived_difficulty=4))
        conn.execute(
            "UPDATE patient_session_completions SET started_at = %s, completed_at = %s, duration_seconds = %s "
            "WHERE id = %s",
            (at, at + timedelta(seconds=duration), duration, started["id"]),
        )
    return int(started["id"])


def exercise_logs(index: int) -> list[Json]:
    """Session ``index``'s logs: Quad Set done in full, Heel Slides with 8 of 10 reps."""
    return [
        {
            "actual_sets": 3,
            "actual_reps": 10,
            "video_watched": True,
            "video_watch_percentage": 90.0,
            "pose_data_captured": True,
            "pose_accuracy_score": QUAD_SET_POSE[index],
        },
        {
            "actual_sets": 3,
            "actual_reps": 8,
            "video_watched": True,
            "video_watch_percentage": 87.0,
            "pose_data_captured": True,
            "pose_accuracy_score": HEEL_SLIDES_POSE[index],
        },
    ]


def spec_scenario(client: Client, conn: psycopg.Connection, org: Org) -> tuple[Json, date]:
    """3 sessions a week for 4 weeks, started 12 local days ago (today is in week 2's last window): week 1
    has three completed sessions, week 2 two completed and one skipped. Returns the enrollment and its start."""
    enrollment = enroll(client, conn, org)
    start_date = datetime.now(MADRID).date() - timedelta(days=12)
    move_start(conn, enrollment["id"], start_date)
    # Week 1's windows open on days 0, 2, 4; week 2's on days 7, 9, 11.
    for index, day in enumerate([0, 2, 4, 7, 9]):
        run_session(
            client,
            conn,
            org,
            enrollment["id"],
            index % 3 + 1,
            local(start_date + timedelta(days=day), 9),
            pain=SPEC_PAIN[index],
            duration=DURATIONS[index],
            logs=exercise_logs(index),
        )
    run_session(client, conn, org, enrollment["id"], 3, local(start_date + timedelta(days=11), 9), skip=True)
    return enrollment, start_date


def progress(client: Client, org: Org, enrollment_id: int, role: str = "patient") -> Json:
    body: Json = ok(client.get(f"/v1/patient-treatment-plans/{enrollment_id}/progress", headers=org.headers(role)))
    return body


def analytics(client: Client, org: Org, enrollment_id: int, role: str = "specialist") -> Json:
    body: Json = ok(client.get(f"/v1/patient-treatment-plans/{enrollment_id}/analytics", headers=org.headers(role)))
    return body


# The spec's numbers ----------------------------------------------------------------------------------------


def test_progress_gives_the_specs_numbers(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment, start_date = spec_scenario(core_api, superuser, org)

    five = progress(core_api, org, enrollment["id"])
    assert (five["sessions_completed"], five["sessions_skipped"], five["sessions_remaining"]) == (5, 1, 6)
    assert five["completion_percentage"] == 41.67

    # The sixth session, today, in week 2's last window.
    sixth_at = datetime.now(UTC) - timedelta(hours=1)
    run_session(
        core_api,
        superuser,
        org,
        enrollment["id"],
        3,
        sixth_at,
        pain=SPEC_PAIN[5],
        duration=DURATIONS[5],
        logs=exercise_logs(5),
    )
    body = progress(core_api, org, enrollment["id"])
    assert body == {
        "patient_treatment_plan_id": enrollment["id"],
        "sessions_total": 12,
        "sessions_completed": 6,
        "sessions_skipped": 1,
        "sessions_remaining": 5,
        "completion_percentage": 50.0,
        "current_week": 2,
        "total_weeks": 4,
        "start_date": start_date.isoformat(),
        "end_date": (start_date + timedelta(days=28)).isoformat(),
        "days_remaining": 16,
        "streak": body["streak"],
        "pain_trend": [
            {"session": 1, "before": 7, "after": 5},
            {"session": 2, "before": 6, "after": 4},
            {"session": 3, "before": 6, "after": 4},
            {"session": 4, "before": 5, "after": 3},
            {"session": 5, "before": 5, "after": 3},
            {"session": 6, "before": 4, "after": 3},
        ],
        "average_session_duration_seconds": 1750,
        "average_completion_rate": 100.0,
        "average_video_watch_percentage": 88.5,
    }
    # Sessions on days 0, 2, 4, 7, 9 and today (day 12, or day 11 just after midnight): no two in a row.
    assert body["streak"]["best"] == 1


def test_analytics_weekly_adherence_comes_from_the_engine(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment, start_date = spec_scenario(core_api, superuser, org)

    body = analytics(core_api, org, enrollment["id"])

    assert body["adherence"]["weeks"] == [
        {"week": 1, "expected": 3, "completed": 3, "rate": 100.0, "verified": 0, "contradicted": 0},
        {"week": 2, "expected": 3, "completed": 2, "rate": 66.7, "verified": 0, "contradicted": 0},
    ]
    # Six slots offered (the third of week 2 declined), five compliant: floor(500 / 6).
    assert (body["adherence"]["adherence_percent"], body["adherence"]["noncompliance_percent"]) == (83, 16)
    sessions = {s["session_number"]: s["completions"] for s in body["sessions"]}
    assert sorted(sessions) == [1, 2, 3]
    assert [len(sessions[n]) for n in (1, 2, 3)] == [2, 2, 1]  # the skipped session 3 is not a completion
    first = sessions[1][0]
    assert first == {
        "completed_at": first["completed_at"],
        "duration_seconds": 1680,
        "exercises_completed": 2,
        "exercises_skipped": 0,
        "pain_level_before": 7,
        "pain_level_after": 5,
        "perceived_difficulty": 4,
        "evidence_state": "not_collected",  # the seeded patient gave no analytics consent
    }
    assert datetime.fromisoformat(first["completed_at"]) == local(start_date, 9) + timedelta(seconds=1680)


def test_exercise_performance_and_its_trend(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment, _ = spec_scenario(core_api, superuser, org)

    quad, heel = analytics(core_api, org, enrollment["id"])["exercise_performance"]

    assert quad == {
        "exercise_id": str(org.exercises[0]),
        "exercise_name": "Quad Set",
        "times_performed": 5,
        "times_skipped": 0,
        "average_completion_rate": 100.0,
        "average_video_watch_percentage": 90.0,
        "average_pose_accuracy": 76.4,  # 70, 72, 75, 80, 85
        "trend": "improving",  # later half 82.5 vs earlier 71.0
        "average_measured_watch_percentage": None,  # no evidence collected
        "average_mean_form_score": None,
    }
    assert heel["exercise_name"] == "Heel Slides"
    assert heel["average_completion_rate"] == 80.0  # 3 sets of 8 of 3 sets of 10 reps
    assert heel["average_pose_accuracy"] == 86.0
    assert heel["trend"] == "declining"  # 80, 80 vs 90, 90


def test_trend_rule() -> None:
    assert performance_trend([]) == "stable"
    assert performance_trend([50.0]) == "stable"
    assert performance_trend([80.0, 85.0]) == "improving"  # exactly the 5-point threshold
    assert performance_trend([80.0, 84.9]) == "stable"
    assert performance_trend([90.0, 0.0, 85.0]) == "declining"  # the middle score is left out
    assert performance_trend([70.0, 72.0, 71.0, 73.0]) == "stable"


# Streaks ---------------------------------------------------------------------------------------------------


def test_streak_counts_local_days_across_midnight(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    today = datetime.now(MADRID).date()
    move_start(superuser, enrollment["id"], today - timedelta(days=5))
    late = local(today - timedelta(days=2), 23, 30)
    early = local(today - timedelta(days=1), 0, 30)
    # One UTC date, two local ones: a UTC-day streak would be 1.
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()
    run_session(core_api, superuser, org, enrollment["id"], 1, late - timedelta(minutes=20), duration=1200)
    run_session(core_api, superuser, org, enrollment["id"], 2, early - timedelta(minutes=20), duration=1200)

    assert progress(core_api, org, enrollment["id"])["streak"] == {"current": 2, "best": 2}


def test_streak_rule() -> None:
    today = date(2026, 3, 1)
    days = {today - timedelta(days=n) for n in (1, 2, 6, 7, 8)}
    assert streaks(days, today) == streaks(days | {today - timedelta(days=1)}, today)
    assert (streaks(days, today).current, streaks(days, today).best) == (2, 3)
    # A day without a session ends the current streak the day after.
    assert streaks(days, today + timedelta(days=1)).current == 0
    assert streaks(set(), today).best == 0


# Access ----------------------------------------------------------------------------------------------------


def test_reports_are_for_staff_and_the_patient_themself(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    for report in ("progress", "analytics"):
        url = f"/v1/patient-treatment-plans/{enrollment['id']}/{report}"
        for role in ("specialist", "admin"):
            ok(core_api.get(url, headers=org.headers(role)))
        problem(core_api.get(url, headers=other_org.headers("admin")), 404)
        problem(core_api.get(url), 401)
    progress = f"/v1/patient-treatment-plans/{enrollment['id']}/progress"
    ok(core_api.get(progress, headers=org.headers("patient")))
    problem(core_api.get(progress, headers=org.headers("other_patient")), 404)
    problem(core_api.get("/v1/patient-treatment-plans/999999999/progress", headers=org.headers("admin")), 404)


def test_analytics_is_the_clinical_view_a_patient_gets_403(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    # The spec heads it "Specialist/Admin"; the patient's own view is /progress.
    enrollment = enroll(core_api, superuser, org)
    url = f"/v1/patient-treatment-plans/{enrollment['id']}/analytics"
    problem(core_api.get(url, headers=org.headers("patient")), 403)
    problem(core_api.get(url, headers=org.headers("other_patient")), 403)


def test_organization_dashboard_is_for_staff(core_api: Client, org: Org) -> None:
    problem(core_api.get("/v1/dashboards/organization", headers=org.headers("patient")), 403)
    ok(core_api.get("/v1/dashboards/organization", headers=org.headers("specialist")))
    bad = core_api.get(
        "/v1/dashboards/organization", params={"from": "2026-03-01", "to": "2026-02-01"}, headers=org.headers("admin")
    )
    assert problem(bad, 422)["errors"][0]["field"] == "query:from"
    problem(core_api.get("/v1/dashboards/organization", params={"since": "x"}, headers=org.headers("admin")), 422)


# Organization dashboard ------------------------------------------------------------------------------------


def test_organization_dashboard_numbers(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    active, _ = spec_scenario(core_api, superuser, org)
    done = enroll(core_api, superuser, org)
    move_start(superuser, done["id"], datetime.now(MADRID).date() - timedelta(days=3))
    yesterday = datetime.now(MADRID).date() - timedelta(days=1)
    run_session(core_api, superuser, org, done["id"], 1, local(yesterday - timedelta(days=1), 9), pain=(8, 6))
    run_session(core_api, superuser, org, done["id"], 2, local(yesterday, 9), pain=(6, 4))
    superuser.execute("UPDATE patient_treatment_plans SET status = 'completed' WHERE id = %s", (done["id"],))
    cancelled = enroll(core_api, superuser, org)
    superuser.execute("UPDATE patient_treatment_plans SET status = 'cancelled' WHERE id = %s", (cancelled["id"],))
    superuser.execute(
        "UPDATE service_plans SET price_cents = 4900, currency = 'EUR' WHERE id = %s", (org.service_plan,)
    )

    body = ok(core_api.get("/v1/dashboards/organization", headers=org.headers("admin")))

    assert (body["from_date"], body["to_date"]) == (None, None)
    assert body["pain_reduction"] == {
        "plans": 1,
        "average_pain_before": 8.0,
        "average_pain_after": 4.0,
        "average_reduction": 4.0,
    }
    # The active enrollment: six slots offered, five completed (the engine's floor(500 / 6) = 83).
    assert body["adherence"] == {
        "active_plans": 1,
        "average_adherence_percent": 83.0,
        "sessions_offered": 6,
        "sessions_completed": 5,
        "completion_rate": 83.3,
        "sessions_verified": 0,
        "sessions_contradicted": 0,
    }
    assert body["plan_completion"] == {"completed": 1, "expired": 0, "cancelled": 1, "completion_rate": 50.0}
    top = body["top_exercises"]
    # Eight logs each (six sessions started under one enrollment, two under the other).
    assert [(e["exercise_name"], e["times_prescribed"]) for e in top["most_prescribed"]] == [
        ("Heel Slides", 8),
        ("Quad Set", 8),
    ]
    assert [(e["exercise_name"], e["average_pose_accuracy"]) for e in top["best_performance"]] == [
        ("Heel Slides", 86.0),
        ("Quad Set", 76.4),
    ]
    assert [e["exercise_name"] for e in top["worst_performance"]] == ["Quad Set", "Heel Slides"]
    billing = body["revenue_per_plan"]
    assert sorted(row["enrollments"] for row in billing) == [1, 1, 1]
    assert {row["treatment_plan_id"] for row in billing} == {
        e["treatment_plan"]["id"] for e in (active, done, cancelled)
    }
    # The seeded patient's enrollments are billed through their service plan.
    assert {row["service_plan_name"] for row in billing} == {"Telerehab Plus"}
    # Its price, once per enrollment.
    assert [(row["revenue_cents"], row["currency"]) for row in billing] == [(4900, "EUR")] * 3

    later = ok(
        core_api.get(
            "/v1/dashboards/organization",
            params={"from": (datetime.now(MADRID).date() + timedelta(days=60)).isoformat()},
            headers=org.headers("admin"),
        )
    )
    assert later["adherence"]["active_plans"] == 0
    assert later["plan_completion"]["completion_rate"] is None


# A bounded number of queries -------------------------------------------------------------------------------


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the app sends while the test runs (every psycopg execute goes through a cursor)."""
    sent: list[str] = []
    original = AsyncCursor.execute

    async def counting(self: AsyncCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.decode() if isinstance(query, bytes) else str(query))
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(AsyncCursor, "execute", counting)
    return sent


def count(statements: list[str], client: Client, url: str, headers: dict[str, str]) -> int:
    statements.clear()
    ok(client.get(url, headers=headers))
    # The pool's liveness check of a connection on checkout sends an empty statement: not a query. The token's
    # user check runs once per user and AUTH_USER_CHECK_CACHE_SECONDS, not per request: not the report's either.
    return sum(1 for statement in statements if statement.strip() and statement != USER_IS_CURRENT)


def test_reports_run_a_bounded_number_of_queries(
    core_api: Client, org: Org, superuser: psycopg.Connection, statements: list[str]
) -> None:
    small = enroll(core_api, superuser, org)
    move_start(superuser, small["id"], datetime.now(MADRID).date() - timedelta(days=12))
    run_session(core_api, superuser, org, small["id"], 1, datetime.now(UTC) - timedelta(days=12), logs=exercise_logs(0))
    headers = org.headers("admin")
    dashboard = "/v1/dashboards/organization"
    before = {
        report: count(statements, core_api, f"/v1/patient-treatment-plans/{small['id']}/{report}", headers)
        for report in ("progress", "analytics")
    }
    dashboard_before = count(statements, core_api, dashboard, headers)

    large, _ = spec_scenario(core_api, superuser, org)
    after = {
        report: count(statements, core_api, f"/v1/patient-treatment-plans/{large['id']}/{report}", headers)
        for report in ("progress", "analytics")
    }

    assert after == before
    assert after["progress"] <= 5  # the tenant scope and at most four reads
    assert after["analytics"] <= 6  # and the measured figures
    assert count(statements, core_api, dashboard, headers) == dashboard_before <= 7


# Verified adherence (docs/adherence.md) --------------------------------------------------------------------

# Per completed session of the spec scenario (in order): its evidence state and, per exercise (Quad Set,
# Heel Slides), the log's state, measured watch percentage and mean form score, as the collector stores them.
EVIDENCE: list[tuple[str | None, list[tuple[str | None, float | None, float | None]]]] = [
    ("verified", [("verified", 80.0, 70.0), ("verified", 60.0, 90.0)]),
    ("contradicted", [("contradicted", 20.0, 50.0), ("contradicted", 30.0, None)]),
    ("partial", [("partial", 100.0, None), ("partial", 42.0, None)]),
    ("verified", [("verified", 90.0, 80.0), ("verified", 70.0, 60.0)]),
    ("pending", [("pending", None, None), ("pending", None, None)]),
]


def store_evidence(conn: psycopg.Connection, enrollment_id: int) -> None:
    """Write EVIDENCE into the completed sessions of the enrollment (by start) and their logs."""
    completions = conn.execute(
        "SELECT id FROM patient_session_completions WHERE patient_treatment_plan_id = %s AND status = 'completed' "
        "ORDER BY started_at",
        (enrollment_id,),
    ).fetchall()
    assert len(completions) == len(EVIDENCE)
    for (completion_id,), (state, logs) in zip(completions, EVIDENCE, strict=True):
        conn.execute("UPDATE patient_session_completions SET evidence_state = %s WHERE id = %s", (state, completion_id))
        for sort_order, (log_state, watched, form) in enumerate(logs):
            conn.execute(
                "UPDATE patient_exercise_logs SET evidence_state = %s, measured_watch_percentage = %s, "
                "mean_form_score = %s, evidence_collected_at = now() "
                "WHERE session_completion_id = %s AND sort_order = %s",
                (log_state, watched, form, completion_id, sort_order),
            )


def test_analytics_and_dashboard_show_measured_beside_reported(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment, _ = spec_scenario(core_api, superuser, org)
    store_evidence(superuser, enrollment["id"])

    body = analytics(core_api, org, enrollment["id"])

    assert body["engagement"] == {
        "avg_video_watch_percentage": 88.5,  # reported: 90 and 87, five sessions each
        "avg_pose_accuracy": 81.2,  # reported: (70 + 72 + 75 + 80 + 85 + 90 * 3 + 80 * 2) / 10
        "avg_measured_watch_percentage": 61.5,  # (80 + 60 + 20 + 30 + 100 + 42 + 90 + 70) / 8, pending left out
        "avg_mean_form_score": 70.0,  # (70 + 90 + 50 + 80 + 60) / 5
        "sessions_completed": 5,
        "sessions_verified": 2,
        "sessions_contradicted": 1,
    }
    by_completion = [c["evidence_state"] for session in body["sessions"] for c in session["completions"]]
    assert sorted(by_completion, key=str) == sorted(["verified", "contradicted", "partial", "verified", "pending"])
    quad, heel = body["exercise_performance"]
    assert (quad["average_measured_watch_percentage"], quad["average_mean_form_score"]) == (72.5, 66.7)
    assert (heel["average_measured_watch_percentage"], heel["average_mean_form_score"]) == (50.5, 75.0)
    assert [(w["completed"], w["verified"], w["contradicted"]) for w in body["adherence"]["weeks"]] == [
        (3, 1, 1),
        (2, 1, 0),
    ]

    dashboard = ok(core_api.get("/v1/dashboards/organization", headers=org.headers("admin")))
    adherence = dashboard["adherence"]
    assert (adherence["sessions_completed"], adherence["sessions_verified"], adherence["sessions_contradicted"]) == (
        5,
        2,
        1,
    )
    usage = {u["exercise_name"]: u for u in dashboard["top_exercises"]["most_prescribed"]}
    assert (usage["Quad Set"]["average_measured_watch_percentage"], usage["Quad Set"]["average_mean_form_score"]) == (
        72.5,
        66.7,
    )
