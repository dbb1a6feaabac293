"""Session execution: today's session, start, exercise logs, complete and skip."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from core_api.enrollments.weeks import plan_week
from core_api.execution.today import next_session_number

from tests.core_api.helpers.enrollments import automation_events
from tests.core_api.helpers.execution import (
    MADRID,
    audit_actions,
    complete,
    enroll,
    logged_in_full,
    skip,
    start,
    today,
)
from tests.core_api.helpers.responses import Client, Json, ok, problem
from tests.core_api.seed import Org

# The whole flow --------------------------------------------------------------------------------------------


def test_today_start_log_and_complete_a_session(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)

    [item] = today(core_api, org)["treatment_plans"]
    assert item["patient_treatment_plan_id"] == enrollment["id"]
    assert item["no_session_reason"] is None
    assert item["next_session"]["session_number"] == 1
    assert [e["sort_order"] for e in item["next_session"]["exercises"]] == [0, 1]
    assert item["progress"] | {"completion_percentage": 0} == {
        "sessions_completed": 0,
        "sessions_skipped": 0,
        "sessions_total": 12,
        "current_week": 1,
        "total_weeks": 4,
        "sessions_this_week": 0,
        "frequency_per_week": 3,
        "completion_percentage": 0,
    }

    started = ok(start(core_api, org, enrollment["id"], 1, pain_level_before=6), 201)
    assert (started["status"], started["session_number"], started["pain_level_before"]) == ("in_progress", 1, 6)
    assert started["exercises_total"] == 2
    first, second = started["exercise_logs"]
    assert (first["prescribed_mode"], first["prescribed_sets"], first["prescribed_reps"]) == ("reps", 3, 10)
    assert first["exercise"]["name"] == "Quad Set"
    assert first["actual_sets"] is None

    updated = ok(
        core_api.put(
            f"/v1/patient-exercise-logs/{first['id']}",
            json=logged_in_full(),
            headers=org.headers("patient"),
        )
    )
    assert (updated["actual_sets"], updated["video_watch_percentage"], updated["pose_accuracy_score"]) == (
        3,
        90.48,
        85.5,
    )
    skipped = ok(
        core_api.put(
            f"/v1/patient-exercise-logs/{second['id']}",
            json={"skipped": True, "skip_reason": "Too much pain in left knee"},
            headers=org.headers("patient"),
        )
    )
    assert (skipped["skipped"], skipped["skip_reason"]) == (True, "Too much pain in left knee")

    superuser.execute(
        "UPDATE patient_session_completions SET started_at = now() - interval '28 minutes' WHERE id = %s",
        (started["id"],),
    )
    done = ok(
        complete(core_api, org, started["id"], pain_level_after=4, perceived_difficulty=3, notes="Felt good overall")
    )
    assert (done["status"], done["exercises_completed"], done["exercises_skipped"]) == ("completed", 1, 1)
    assert 28 * 60 <= done["duration_seconds"] < 29 * 60
    assert (done["pain_level_after"], done["perceived_difficulty"]) == (4, 3)
    assert done["plan_progress"] == {
        "sessions_completed": 1,
        "sessions_skipped": 0,
        "sessions_total": 12,
        "completion_percentage": 8.33,
        "enrollment_status": "active",
    }
    form = superuser.execute(
        "SELECT form_template_id, status, patient_id FROM form_instances WHERE id = %s", (done["post_session_form_id"],)
    ).fetchone()
    assert form == (org.form_template, "pending", org.patient)
    events = superuser.execute(
        "SELECT event_type, payload ->> 'session_number' FROM automation_events "
        "WHERE entity_type = 'patient_session_completion' AND entity_id = %s",
        (str(started["id"]),),
    ).fetchall()
    assert events == [("treatment_plan.session_completed", "1")]
    assert audit_actions(superuser, "patient_session_completion", started["id"]) == [
        "patient_session_completion.started",
        "patient_session_completion.completed",
    ]
    assert audit_actions(superuser, "patient_exercise_log", second["id"]) == ["patient_exercise_log.skipped"]

    assert ok(core_api.get(f"/v1/patient-session-completions/{started['id']}", headers=org.headers("patient"))) == done
    logs = ok(
        core_api.get(
            f"/v1/patient-session-completions/{started['id']}/exercise-logs", headers=org.headers("specialist")
        )
    )
    assert [log["id"] for log in logs["exercise_logs"]] == [first["id"], second["id"]]

    [item] = today(core_api, org)["treatment_plans"]
    assert item["next_session"]["session_number"] == 2
    assert item["progress"]["sessions_this_week"] == 1


# The spec's shapes -----------------------------------------------------------------------------------------

SPEC_KEYS = ("patient_treatment_plan_id", "treatment_plan", "next_session", "progress")


def test_today_answers_the_spec_shape_at_the_top_level(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)

    body = today(core_api, org)
    [item] = body["treatment_plans"]
    assert {key: body[key] for key in SPEC_KEYS} == {key: item[key] for key in SPEC_KEYS}
    assert body["patient_treatment_plan_id"] == enrollment["id"]
    assert body["treatment_plan"]["name"] == enrollment["treatment_plan"]["name"]
    assert body["next_session"]["session_number"] == 1
    assert body["next_session"]["exercises"][0]["exercise"]["name"] == "Quad Set"
    assert body["progress"]["sessions_total"] == 12
    assert body["in_progress_session_completion_id"] is None


def test_the_enrollment_due_next_is_chosen_by_the_stated_rule(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    weekly = enroll(core_api, superuser, org, frequency=1)
    second = enroll(core_api, superuser, org)
    third = enroll(core_api, superuser, org)

    def due() -> int:
        body = today(core_api, org)
        assert {item["patient_treatment_plan_id"] for item in body["treatment_plans"]} == {
            weekly["id"],
            second["id"],
            third["id"],
        }
        due_id: int = body["patient_treatment_plan_id"]
        [item] = [item for item in body["treatment_plans"] if item["patient_treatment_plan_id"] == due_id]
        assert {key: body[key] for key in SPEC_KEYS} == {key: item[key] for key in SPEC_KEYS}
        return due_id

    # Same start date: the lowest id.
    assert due() == weekly["id"]
    # The earliest start date first.
    superuser.execute("UPDATE patient_treatment_plans SET start_date = start_date - 1 WHERE id = %s", (third["id"],))
    assert due() == third["id"]
    # An enrollment that has met its weekly frequency gives way to one still short of it.
    superuser.execute("UPDATE patient_treatment_plans SET start_date = start_date - 2 WHERE id = %s", (weekly["id"],))
    assert due() == weekly["id"]
    ok(complete(core_api, org, ok(start(core_api, org, weekly["id"], 1), 201)["id"]))
    assert due() == third["id"]
    # A session in progress comes first: the patient resumes it.
    started = ok(start(core_api, org, second["id"], 1), 201)
    assert due() == second["id"]
    assert today(core_api, org)["in_progress_session_completion_id"] == started["id"]


def test_nothing_due_is_a_200_with_the_spec_keys_null(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    body = today(core_api, org)
    assert {key: body[key] for key in SPEC_KEYS} == dict.fromkeys(SPEC_KEYS)
    assert body["treatment_plans"] == []

    enrollment = enroll(core_api, superuser, org)
    superuser.execute("UPDATE patient_treatment_plans SET status = 'paused' WHERE id = %s", (enrollment["id"],))
    body = today(core_api, org)
    assert {key: body[key] for key in SPEC_KEYS} == dict.fromkeys(SPEC_KEYS)
    assert body["in_progress_session_completion_id"] is None
    [item] = body["treatment_plans"]
    assert (item["patient_treatment_plan_id"], item["no_session_reason"]) == (enrollment["id"], "paused")


def test_start_answers_the_spec_names(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)

    for status in (201, 200):  # a new session, then the same one resumed
        started = ok(start(core_api, org, enrollment["id"], 1, pain_level_before=6), status)
        assert started["session_completion_id"] == started["id"]
        assert [e["exercise_log_id"] for e in started["exercises"]] == [log["id"] for log in started["exercise_logs"]]
        first = started["exercises"][0]
        assert (first["sort_order"], first["prescribed_mode"], first["prescribed_sets"]) == (0, "reps", 3)
        assert (first["prescribed_reps"], first["exercise_id"]) == (10, str(org.exercises[0]))
        assert first["exercise"]["name"] == "Quad Set"
    log = ok(
        core_api.put(
            f"/v1/patient-exercise-logs/{started['exercises'][0]['exercise_log_id']}",
            json={"actual_sets": 3},
            headers=org.headers("patient"),
        )
    )
    assert log["session_completion_id"] == started["session_completion_id"]


def test_patients_get_each_exercises_video_and_steps_from_the_frozen_version(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    superuser.execute(
        "UPDATE exercises SET video_url = 'https://videos.example/quad.mp4', "
        "video_thumbnail_url = 'https://videos.example/quad.jpg', "
        "instructions = E'1. Lie on your back\\n2) Tighten the thigh  \\n\\n- Hold for five seconds\\r\\n' "
        "WHERE id = %s",
        (org.exercises[0],),
    )
    enrollment = enroll(core_api, superuser, org)
    # Edits after publishing do not reach the enrollment's frozen version.
    superuser.execute(
        "UPDATE exercises SET video_url = 'https://videos.example/new.mp4', instructions = 'Changed' WHERE id = %s",
        (org.exercises[0],),
    )
    expected = {
        "name": "Quad Set",
        "video_url": "https://videos.example/quad.mp4",
        "video_thumbnail_url": "https://videos.example/quad.jpg",
        "instructions": ["Lie on your back", "Tighten the thigh", "Hold for five seconds"],
    }

    body = today(core_api, org)
    exercise = body["next_session"]["exercises"][0]["exercise"]
    assert {key: exercise[key] for key in expected} == expected
    assert body["next_session"]["exercises"][1]["exercise"]["instructions"] == []
    started = ok(start(core_api, org, enrollment["id"], 1), 201)
    exercise = started["exercises"][0]["exercise"]
    assert {key: exercise[key] for key in expected} == expected


# Idempotent start ------------------------------------------------------------------------------------------


def test_two_concurrent_starts_make_one_session(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    results: list[tuple[int, int]] = []

    def start_once() -> None:
        response = start(core_api, org, enrollment["id"], 1)
        results.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=start_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in results) == [200, 201]
    assert len({completion_id for _, completion_id in results}) == 1
    count = superuser.execute(
        "SELECT count(*) FROM patient_session_completions WHERE patient_treatment_plan_id = %s", (enrollment["id"],)
    ).fetchone()
    assert count == (1,)
    logs = superuser.execute(
        "SELECT count(*) FROM patient_exercise_logs l JOIN patient_session_completions c "
        "ON c.id = l.session_completion_id WHERE c.patient_treatment_plan_id = %s",
        (enrollment["id"],),
    ).fetchone()
    assert logs == (2,)
    [item] = today(core_api, org)["treatment_plans"]
    assert item["in_progress_session_completion_id"] == results[0][1]


# Rotation and weeks ----------------------------------------------------------------------------------------


def test_rotation_cycles_through_the_sessions(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    offered = []
    for _ in range(4):
        [item] = today(core_api, org)["treatment_plans"]
        number = item["next_session"]["session_number"]
        offered.append(number)
        completion = ok(start(core_api, org, enrollment["id"], number), 201)
        ok(complete(core_api, org, completion["id"]))
    assert offered == [1, 2, 3, 1]
    assert [next_session_number(done, 3) for done in range(7)] == [1, 2, 3, 1, 2, 3, 1]


def test_weeks_are_counted_in_the_patients_time_zone() -> None:
    start_date = datetime(2026, 3, 2).date()  # a Monday; week 2 starts on Monday 2026-03-09
    # 23:30 UTC on Sunday the 8th is already 00:30 on Monday the 9th in Madrid (UTC+1 in March).
    now = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    madrid = plan_week(start_date, now, MADRID)
    utc = plan_week(start_date, now, ZoneInfo("UTC"))
    assert (madrid.number, utc.number) == (2, 1)
    assert madrid.starts_at == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert utc.ends_at == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    # Before the start date there is no week yet; daylight saving time does not shift week bounds.
    assert plan_week(start_date, datetime(2026, 3, 1, 12, tzinfo=UTC), MADRID).number == 0
    dst = plan_week(datetime(2026, 3, 23).date(), datetime(2026, 3, 30, 10, tzinfo=UTC), MADRID)
    assert (dst.number, dst.starts_at) == (2, datetime(2026, 3, 29, 22, 0, tzinfo=UTC))


def test_sessions_this_week_use_local_midnight(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    local_today = datetime.now(MADRID).date()
    superuser.execute(
        "UPDATE patient_treatment_plans SET start_date = %s, end_date = %s WHERE id = %s",
        (local_today - timedelta(days=7), local_today + timedelta(days=21), enrollment["id"]),
    )
    just_after_midnight = datetime.combine(local_today, datetime.min.time(), tzinfo=MADRID) + timedelta(minutes=1)
    for minutes in (0, -2):  # 00:01 today counts for this week; 23:59 yesterday for last week
        completion = ok(start(core_api, org, enrollment["id"], 1), 201)
        ok(complete(core_api, org, completion["id"]))
        superuser.execute(
            "UPDATE patient_session_completions SET completed_at = %s WHERE id = %s",
            (just_after_midnight + timedelta(minutes=minutes), completion["id"]),
        )
    [item] = today(core_api, org)["treatment_plans"]
    assert (item["progress"]["current_week"], item["progress"]["sessions_this_week"]) == (2, 1)


def test_paused_pending_and_finished_enrollments_offer_no_session(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    for status, reason in (("paused", "paused"), ("pending_approval", "pending_approval"), ("completed", "completed")):
        superuser.execute("UPDATE patient_treatment_plans SET status = %s WHERE id = %s", (status, enrollment["id"]))
        [item] = today(core_api, org)["treatment_plans"]
        assert (item["next_session"], item["no_session_reason"], item["enrollment_status"]) == (None, reason, status)
        problem(start(core_api, org, enrollment["id"], 1), 409)
    superuser.execute(
        "UPDATE patient_treatment_plans SET status = 'active', start_date = start_date + 3 WHERE id = %s",
        (enrollment["id"],),
    )
    assert today(core_api, org)["treatment_plans"][0]["no_session_reason"] == "not_started"


# Conflicts and read-only logs ------------------------------------------------------------------------------


def test_completing_twice_and_writing_a_finished_sessions_log_are_conflicts(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    ok(complete(core_api, org, completion["id"]))

    problem(complete(core_api, org, completion["id"]), 409)
    log_id = completion["exercise_logs"][0]["id"]
    problem(
        core_api.put(f"/v1/patient-exercise-logs/{log_id}", json={"actual_sets": 1}, headers=org.headers("patient")),
        409,
    )
    problem(
        skip(core_api, org, completion["id"], reason="too late"),
        409,
    )
    counters = superuser.execute(
        "SELECT sessions_completed, sessions_skipped FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)
    ).fetchone()
    assert counters == (1, 0)


def test_an_unknown_session_number_is_404(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    problem(start(core_api, org, enrollment["id"], 4), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"actual_reps": -1},
        {"actual_sets": 101},
        {"video_watch_percentage": 100.5},
        {"pose_accuracy_score": -0.1},
        {"actual_sets": None},
        {"surprise": 1},
        {"completed_at": "2026-02-16T09:00:00"},
        {"started_at": "2026-02-16T09:05:00Z", "completed_at": "2026-02-16T09:00:00Z"},
        {"skip_reason": "no skip"},
    ],
)
def test_bad_log_updates_are_422(core_api: Client, org: Org, superuser: psycopg.Connection, body: Json) -> None:
    enrollment = enroll(core_api, superuser, org)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    log_id = completion["exercise_logs"][0]["id"]
    problem(core_api.put(f"/v1/patient-exercise-logs/{log_id}", json=body, headers=org.headers("patient")), 422)


def test_bad_start_and_complete_bodies_are_422(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    problem(start(core_api, org, enrollment["id"], 1, pain_level_before=11), 422)
    problem(start(core_api, org, enrollment["id"], 1, status="completed"), 422)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    problem(complete(core_api, org, completion["id"], pain_level_after=-1), 422)
    problem(complete(core_api, org, completion["id"], perceived_difficulty=0), 422)
    problem(complete(core_api, org, completion["id"], exercises_completed=9), 422)
    problem(
        skip(core_api, org, completion["id"], reason=" "),
        422,
    )


# Who may read and write ------------------------------------------------------------------------------------


def test_another_patient_and_another_organization_get_404(
    core_api: Client, org: Org, other_org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    log_id = completion["exercise_logs"][0]["id"]
    for headers in (org.headers("other_patient"), other_org.headers("specialist"), other_org.headers("patient")):
        assert start(core_api, org, enrollment["id"], 1).status_code == 200  # the owner still can
        problem(
            core_api.post(f"/v1/patient-treatment-plans/{enrollment['id']}/sessions/1/start", json={}, headers=headers),
            404,
        )
        problem(core_api.get(f"/v1/patient-session-completions/{completion['id']}", headers=headers), 404)
        problem(core_api.get(f"/v1/patient-session-completions/{completion['id']}/exercise-logs", headers=headers), 404)
        problem(core_api.put(f"/v1/patient-exercise-logs/{log_id}", json={"actual_sets": 1}, headers=headers), 404)
        problem(
            core_api.post(f"/v1/patient-session-completions/{completion['id']}/complete", json={}, headers=headers),
            404,
        )
        problem(core_api.get(f"/v1/patients/{org.patient}/treatment-plans/today", headers=headers), 404)
    problem(core_api.get(f"/v1/patients/{org.patient}/treatment-plans/today"), 401)


def test_staff_may_act_on_behalf_of_the_patient(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    enrollment = enroll(core_api, superuser, org)
    assert today(core_api, org, "specialist")["patient_id"] == org.patient
    completion = ok(start(core_api, org, enrollment["id"], 1, "specialist", pain_level_before=2), 201)
    log_id = completion["exercise_logs"][0]["id"]
    ok(core_api.put(f"/v1/patient-exercise-logs/{log_id}", json={"actual_sets": 2}, headers=org.headers("admin")))
    done = ok(complete(core_api, org, completion["id"], "specialist"))
    assert done["exercises_completed"] == 1
    roles = superuser.execute(
        "SELECT actor_role FROM audit_log WHERE entity_type = 'patient_session_completion' AND entity_id = %s "
        "ORDER BY id",
        (str(completion["id"]),),
    ).fetchall()
    assert roles == [("specialist",), ("specialist",)]


# Skipping and finishing the plan ---------------------------------------------------------------------------


def test_skipping_a_session_counts_it_and_keeps_the_rotation(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    skipped = ok(skip(core_api, org, completion["id"], reason="Not feeling well today"))
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "Not feeling well today")
    assert skipped["skipped_at"] is not None
    assert (skipped["plan_progress"]["sessions_skipped"], skipped["plan_progress"]["sessions_completed"]) == (1, 0)
    assert audit_actions(superuser, "patient_session_completion", completion["id"])[-1] == (
        "patient_session_completion.skipped"
    )
    [item] = today(core_api, org)["treatment_plans"]
    assert (item["next_session"]["session_number"], item["in_progress_session_completion_id"]) == (1, None)
    # A new session can start once the skipped one is closed.
    assert start(core_api, org, enrollment["id"], 1).status_code == 201


def test_completing_the_last_session_completes_the_enrollment(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org, sessions=2, weeks=1, frequency=2)
    results = []
    for number in (1, 2):
        completion = ok(start(core_api, org, enrollment["id"], number), 201)
        results.append(ok(complete(core_api, org, completion["id"])))
    assert results[0]["plan_progress"]["enrollment_status"] == "active"
    assert results[1]["plan_progress"] == {
        "sessions_completed": 2,
        "sessions_skipped": 0,
        "sessions_total": 2,
        "completion_percentage": 100.0,
        "enrollment_status": "completed",
    }
    events = [event for event, _ in automation_events(superuser, enrollment["id"])]
    assert events == ["treatment_plan.assigned", "treatment_plan.completed"]
    change = superuser.execute(
        "SELECT from_status, to_status FROM patient_treatment_plan_status_changes WHERE patient_treatment_plan_id = %s",
        (enrollment["id"],),
    ).fetchall()
    assert change == [("active", "completed")]
    assert "patient_treatment_plan.completed" in audit_actions(superuser, "patient_treatment_plan", enrollment["id"])
    [item] = today(core_api, org)["treatment_plans"]
    assert (item["next_session"], item["no_session_reason"]) == (None, "completed")
    problem(start(core_api, org, enrollment["id"], 1), 409)


def test_skipped_sessions_use_up_the_plan_and_nothing_more_is_offered(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org, sessions=2, weeks=1, frequency=2)
    for _ in range(2):
        started = ok(start(core_api, org, enrollment["id"], 1), 201)
        ok(skip(core_api, org, started["id"], reason="knee swollen"))
    [item] = [p for p in today(core_api, org)["treatment_plans"] if p["patient_treatment_plan_id"] == enrollment["id"]]
    assert (item["no_session_reason"], item["next_session"]) == ("all_sessions_done", None)
    assert problem(start(core_api, org, enrollment["id"], 1), 409)["detail"].endswith("all_sessions_done")
    counters = superuser.execute(
        "SELECT status, sessions_completed, sessions_skipped FROM patient_treatment_plans WHERE id = %s",
        (enrollment["id"],),
    ).fetchone()
    assert counters == ("active", 0, 2)


def test_a_resumption_after_the_last_session_was_completed_in_a_pause_completes_the_plan(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org, sessions=1, weeks=1, frequency=1)
    path = f"/v1/patient-treatment-plans/{enrollment['id']}/status"
    started = ok(start(core_api, org, enrollment["id"], 1), 201)
    ok(core_api.put(path, json={"status": "paused", "reason": "travel"}, headers=org.headers("patient")))
    ok(complete(core_api, org, started["id"]))
    paused = superuser.execute(
        "SELECT status, sessions_completed FROM patient_treatment_plans WHERE id = %s", (enrollment["id"],)
    ).fetchone()
    assert paused == ("paused", 1)

    resumed = ok(core_api.put(path, json={"status": "active", "reason": "back home"}, headers=org.headers("patient")))
    assert resumed["status"] == "completed"
    history = superuser.execute(
        "SELECT from_status, to_status FROM patient_treatment_plan_status_changes "
        "WHERE patient_treatment_plan_id = %s ORDER BY id",
        (enrollment["id"],),
    ).fetchall()
    assert history == [("active", "paused"), ("paused", "active"), ("active", "completed")]
    events = superuser.execute(
        "SELECT event_type FROM automation_events WHERE entity_id = %s AND event_type = 'treatment_plan.completed'",
        (str(enrollment["id"]),),
    ).fetchall()
    assert events == [("treatment_plan.completed",)]
