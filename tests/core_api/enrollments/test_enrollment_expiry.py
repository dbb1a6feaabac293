"""Expiry: an enrollment past its end date reads as expired on every route, whether or not its expiry has
been recorded, and the recording (history, audit, ``treatment_plan.expired``) happens once.

The database's clock cannot be moved, so these tests move the data instead: shifting an organization's
enrollment dates and instants back by ``n`` days is the clock moving ``n`` days forward. Patients live in
zones a day apart (Kiritimati, UTC+14, and Pago Pago, UTC-11), so the same instant is two different
"todays" and the end date is judged in each patient's own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from contracts.enrollments import EnrollmentStatus
from core_api.enrollments.expiry import expire_overdue
from core_api.enrollments.lifecycle import Action, IllegalTransition, TransitionNotPermitted, check_transition
from core_api.jobs.expire_enrollments import expire_all
from core_api.jobs.tenancy import owner_connection, set_tenant
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from tests.core_api.helpers.enrollments import change, history
from tests.core_api.helpers.execution import complete, start
from tests.core_api.helpers.execution import enroll as self_enroll
from tests.core_api.helpers.plans import published_plan
from tests.core_api.helpers.responses import Client, ok, problem
from tests.core_api.seed import Org, seed_organization
from tools.databases import PostgresUrls

S = EnrollmentStatus
ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Madrid")


def local_today(conn: psycopg.Connection, patient_id: int) -> date:
    row = conn.execute("SELECT (now() AT TIME ZONE time_zone)::date FROM patients WHERE id = %s", (patient_id,))
    found = row.fetchone()
    assert found is not None
    return found[0]  # type: ignore[no-any-return]


def advance_clock(conn: psycopg.Connection, organization_id: int, days: int) -> None:
    """Move the organization's clock ``days`` days forward: every date and instant of its enrollments and
    their history moves back as much."""
    shift = timedelta(days=days)
    conn.execute(
        "UPDATE patient_treatment_plans SET start_date = start_date - %(days)s, end_date = end_date - %(days)s, "
        "created_at = created_at - %(shift)s, updated_at = updated_at - %(shift)s WHERE organization_id = %(org)s",
        {"days": days, "shift": shift, "org": organization_id},
    )
    conn.execute(
        "UPDATE patient_treatment_plan_status_changes SET created_at = created_at - %(shift)s "
        "WHERE organization_id = %(org)s",
        {"shift": shift, "org": organization_id},
    )


def recorded(conn: psycopg.Connection, enrollment_id: int) -> tuple[str, int, int, int]:
    """The stored status, and how many expiry history rows, audit rows and outbox events it has."""
    row = conn.execute(
        "SELECT status, "
        "(SELECT count(*) FROM patient_treatment_plan_status_changes c "
        " WHERE c.patient_treatment_plan_id = p.id AND c.reason = 'end_date passed'), "
        "(SELECT count(*) FROM audit_log a WHERE a.entity_type = 'patient_treatment_plan' "
        " AND a.entity_id = p.id::text AND a.action = 'patient_treatment_plan.expired'), "
        "(SELECT count(*) FROM automation_events e WHERE e.entity_type = 'patient_treatment_plan' "
        " AND e.entity_id = p.id::text AND e.event_type = 'treatment_plan.expired') "
        "FROM patient_treatment_plans p WHERE id = %s",
        (enrollment_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def assign(client: Client, org: Org, plan_id: str, patient_id: int, start_date: date) -> Any:
    return client.post(
        "/v1/patient-treatment-plans",
        json={
            "patient_id": patient_id,
            "treatment_plan_id": plan_id,
            "start_date": start_date.isoformat(),
            "assigned_by_specialist_id": org.specialist,
        },
        headers=org.headers("specialist"),
    )


def statuses_everywhere(client: Client, org: Org, patients: list[int]) -> dict[str, dict[int, str]]:
    """Each enrollment's status as every route that shows one reports it (route → id → status). The lists
    come last: before issue 23 they recorded pending expiries, which hid the other routes' staleness."""
    staff = org.headers("admin")
    seen: dict[str, dict[int, str]] = {"today": {}, "export": {}, "patient's plans": {}, "list by status": {}}
    for patient in patients:
        today = ok(client.get(f"/v1/patients/{patient}/treatment-plans/today", headers=staff))
        seen["today"] |= {
            plan["patient_treatment_plan_id"]: plan["enrollment_status"] for plan in today["treatment_plans"]
        }
        export = ok(client.get(f"/v1/patients/{patient}/export", headers=staff))
        seen["export"] |= {item["id"]: item["status"] for item in export["enrollments"]}
    for status in S:
        page = ok(client.get("/v1/patient-treatment-plans", params={"status": status, "limit": 100}, headers=staff))
        seen["list by status"] |= {item["id"]: status.value for item in page["patient_treatment_plans"]}
    for patient in patients:
        plans = ok(client.get(f"/v1/patients/{patient}/treatment-plans", params={"limit": 100}, headers=staff))
        seen["patient's plans"] |= {item["id"]: item["status"] for item in plans["patient_treatment_plans"]}
    listed = ok(client.get("/v1/patient-treatment-plans", params={"limit": 100}, headers=staff))
    seen["list"] = {item["id"]: item["status"] for item in listed["patient_treatment_plans"]}
    return seen


def aggregates(client: Client, org: Org) -> dict[str, Any]:
    """The figures of the dashboard, the adherence stats and the organization's adherence page."""
    staff = org.headers("admin")
    dashboard = ok(client.get("/v1/dashboards/organization", headers=staff))
    stats = ok(client.get("/v1/adherence/stats", headers=staff))
    page = ok(client.get("/v1/adherence/weekly", params={"limit": 100}, headers=staff))
    return {
        "active plans (dashboard)": dashboard["adherence"]["active_plans"],
        "plan completion": {k: dashboard["plan_completion"][k] for k in ("completed", "expired", "cancelled")},
        "completion rate": dashboard["plan_completion"]["completion_rate"],
        "active enrollments (revenue)": sum(row["active_enrollments"] for row in dashboard["revenue_per_plan"]),
        "enrollments (revenue)": sum(row["enrollments"] for row in dashboard["revenue_per_plan"]),
        "active (adherence stats)": stats["active"],
        "active (adherence page)": sorted(row["patient_treatment_plan_id"] for row in page["rows"]),
    }


def expected_aggregates(statuses: dict[int, str]) -> dict[str, Any]:
    counts = Counter(statuses.values())
    finished = counts["completed"] + counts["expired"] + counts["cancelled"]
    active = sorted(id_ for id_, status in statuses.items() if status == "active")
    return {
        "active plans (dashboard)": len(active),
        "plan completion": {k: counts[k] for k in ("completed", "expired", "cancelled")},
        "completion rate": round(100 * counts["completed"] / finished, 1) if finished else None,
        "active enrollments (revenue)": len(active),
        "enrollments (revenue)": len(statuses),
        "active (adherence stats)": len(active),
        "active (adherence page)": active,
    }


# The scenario ---------------------------------------------------------------------------------------


def test_an_overdue_enrollment_is_expired_on_every_route_before_anyone_opens_it(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    plan = published_plan(core_api, superuser, org, type="in_clinic", duration_weeks=1)
    today = local_today(superuser, org.patient)
    ids = [ok(assign(core_api, org, plan["id"], org.patient, today), 201)["id"] for _ in range(3)]
    done, cancelled, overdue = ids
    ok(change(core_api, org, done, "completed"))
    ok(change(core_api, org, cancelled, "cancelled"))
    # The clock moves two weeks on: the one-week plan ended a week ago; nothing has recorded it.
    advance_clock(superuser, org.id, 14)

    figures = aggregates(core_api, org)
    assert figures == expected_aggregates({done: "completed", cancelled: "cancelled", overdue: "expired"})
    assert figures["completion rate"] == 33.3
    seen = statuses_everywhere(core_api, org, [org.patient, org.other_patient])
    for route, statuses in seen.items():
        assert statuses == {done: "completed", cancelled: "cancelled", overdue: "expired"}, route
    # Reads compute the status; they record nothing.
    assert recorded(superuser, overdue) == ("active", 0, 0, 0)

    # Opening it records the expiry, once; the nightly job then finds nothing left to do.
    detail = ok(core_api.get(f"/v1/patient-treatment-plans/{overdue}", headers=org.headers("patient")))
    assert detail["status"] == "expired"
    assert [entry["to_status"] for entry in detail["status_history"]] == ["expired"]
    assert recorded(superuser, overdue) == ("expired", 1, 1, 1)
    asyncio.run(expire_all(postgres.owner))
    ok(core_api.get(f"/v1/patient-treatment-plans/{overdue}", headers=org.headers("admin")))
    assert recorded(superuser, overdue) == ("expired", 1, 1, 1)
    assert aggregates(core_api, org) == figures


def test_the_job_records_each_expiry_once_with_its_event(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    plan = published_plan(core_api, superuser, org, type="in_clinic", duration_weeks=1)
    today = local_today(superuser, org.patient)
    paused = ok(assign(core_api, org, plan["id"], org.patient, today), 201)["id"]
    ok(change(core_api, org, paused, "paused"))
    advance_clock(superuser, org.id, 8)

    asyncio.run(expire_all(postgres.owner))
    asyncio.run(expire_all(postgres.owner))

    assert recorded(superuser, paused) == ("expired", 1, 1, 1)
    assert history(superuser, paused)[-1] == ("paused", "expired", "end_date passed", "system")
    row = superuser.execute(
        "SELECT payload FROM automation_events WHERE event_type = 'treatment_plan.expired' AND entity_id = %s",
        (str(paused),),
    ).fetchone()
    assert row is not None
    assert row[0] == {
        "patient_treatment_plan_id": paused,
        "from_status": "paused",
        "end_date": (today + timedelta(days=7 - 8)).isoformat(),
    }


def test_a_session_completed_after_the_end_date_does_not_complete_an_expired_plan(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = self_enroll(core_api, superuser, org, sessions=1, weeks=1, frequency=1)
    completion = ok(start(core_api, org, enrollment["id"], 1), 201)
    advance_clock(superuser, org.id, 9)

    finished = ok(complete(core_api, org, completion["id"]))

    assert finished["status"] == "completed"
    assert recorded(superuser, enrollment["id"]) == ("expired", 1, 1, 1)
    assert history(superuser, enrollment["id"]) == [("active", "expired", "end_date passed", "system")]


def test_a_change_refused_because_the_plan_expired_leaves_the_expiry_recorded(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    # Found by the moving-clock property below: the expiry was recorded in the refused change's transaction
    # and rolled back with it, so the enrollment stayed stored as active after a 409 that said it expired.
    plan = published_plan(core_api, superuser, org, type="in_clinic", duration_weeks=1)
    enrollment = ok(assign(core_api, org, plan["id"], org.patient, local_today(superuser, org.patient)), 201)["id"]
    advance_clock(superuser, org.id, 9)

    problem(change(core_api, org, enrollment, "paused"), 409)
    problem(core_api.post(f"/v1/patient-treatment-plans/{enrollment}/approve", headers=org.headers("specialist")), 409)

    assert recorded(superuser, enrollment) == ("expired", 1, 1, 1)
    assert history(superuser, enrollment) == [("active", "expired", "end_date passed", "system")]


# Assignment of a window already over ----------------------------------------------------------------------------


def test_assigning_a_window_already_over_is_refused_on_start_date(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    plan = published_plan(core_api, superuser, org, type="in_clinic", duration_weeks=1)
    superuser.execute("UPDATE patients SET time_zone = 'Pacific/Kiritimati' WHERE id = %s", (org.patient,))
    today = local_today(superuser, org.patient)

    body = problem(assign(core_api, org, plan["id"], org.patient, today - timedelta(days=8)), 422)
    assert [error["field"] for error in body["errors"]] == ["start_date"]
    assert str(today - timedelta(days=7)) in body["errors"][0]["message"]
    # The last start whose end date is today (in the patient's zone, a day ahead of most of the world).
    last = ok(assign(core_api, org, plan["id"], org.patient, today - timedelta(days=7)), 201)
    assert (last["status"], last["end_date"]) == ("active", today.isoformat())
    self_assigned = core_api.post(
        f"/v1/treatment-plans/{published_plan(core_api, superuser, org, visibility='library')['id']}/self-assign",
        json={"start_date": (today - timedelta(days=40)).isoformat()},
        headers=org.headers("patient"),
    )
    assert [error["field"] for error in problem(self_assigned, 422)["errors"]] == ["start_date"]


# Any sequence, any time --------------------------------------------------------------------------------------


@dataclass
class Model:
    """What the test expects: each enrollment's recorded status, end date (moved back by the clock) and
    patient, and each patient's today."""

    todays: dict[int, date]
    recorded: dict[int, str] = field(default_factory=dict)
    end_dates: dict[int, date] = field(default_factory=dict)
    patients: dict[int, int] = field(default_factory=dict)

    def now(self, enrollment_id: int) -> str:
        status = self.recorded[enrollment_id]
        overdue = self.end_dates[enrollment_id] < self.todays[self.patients[enrollment_id]]
        return "expired" if status in {"active", "paused"} and overdue else status

    def statuses(self) -> dict[int, str]:
        return {id_: self.now(id_) for id_ in self.recorded}


@dataclass
class Run:
    """One example: an organization of its own, two patients, a plan with and one without approval."""

    client: Client
    superuser: psycopg.Connection
    postgres: PostgresUrls
    org: Org
    plans: dict[bool, str]
    model: Model = field(default_factory=lambda: Model(todays={}))

    @property
    def patients(self) -> list[int]:
        return [self.org.patient, self.org.other_patient]

    def assign(self, which: int, offset: int, approval: bool) -> None:
        patient = self.patients[which]
        start_date = self.model.todays[patient] + timedelta(days=offset)
        response = assign(self.client, self.org, self.plans[approval], patient, start_date)
        if offset + 7 < 0:  # a one-week plan: its end date would be before the patient's today
            assert [error["field"] for error in problem(response, 422)["errors"]] == ["start_date"]
            return
        body = ok(response, 201)
        self.model.recorded[body["id"]] = "pending_approval" if approval else "active"
        self.model.end_dates[body["id"]] = date.fromisoformat(body["end_date"])
        self.model.patients[body["id"]] = patient

    def touch(self, which: int, action: Action | None, target: EnrollmentStatus = S.ACTIVE) -> None:
        """Open the enrollment (``action`` None), approve it or change its status, as a specialist."""
        if not self.model.recorded:
            return
        enrollment_id = list(self.model.recorded)[which % len(self.model.recorded)]
        current = self.model.now(enrollment_id)
        self.model.recorded[enrollment_id] = current  # each of these routes records a pending expiry first
        path = f"/v1/patient-treatment-plans/{enrollment_id}"
        if action is None:
            assert ok(self.client.get(path, headers=self.org.headers("specialist")))["status"] == current
            return
        if action is Action.APPROVE:
            response = self.client.post(f"{path}/approve", headers=self.org.headers("specialist"))
        else:
            response = change(self.client, self.org, enrollment_id, target)
        try:
            check_transition(S(current), target, action)
        except (IllegalTransition, TransitionNotPermitted):
            problem(response, 409)
        else:
            ok(response)
            self.model.recorded[enrollment_id] = target.value

    def clock(self, days: int) -> None:
        advance_clock(self.superuser, self.org.id, days)
        self.model.end_dates = {id_: end - timedelta(days=days) for id_, end in self.model.end_dates.items()}

    def job(self) -> None:
        asyncio.run(_expire_organization(self.postgres, self.org.id))
        self.model.recorded = self.model.statuses()

    def step(self, step: tuple[Any, ...]) -> None:
        kind, *arguments = step
        if kind == "assign":
            self.assign(*arguments)
        elif kind == "change":
            self.touch(arguments[0], Action.STATUS_CHANGE, arguments[1])
        elif kind == "approve":
            self.touch(arguments[0], Action.APPROVE)
        elif kind == "open":
            self.touch(arguments[0], None)
        elif kind == "clock":
            self.clock(arguments[0])
        else:
            self.job()


async def _expire_organization(postgres: PostgresUrls, organization_id: int) -> None:
    """The nightly job's work for one organization (the job itself goes through every organization)."""
    async with owner_connection(postgres.owner, "rehab_owner") as conn, conn.transaction():
        await set_tenant(conn, organization_id)
        await expire_overdue(conn)


CHANGES = st.sampled_from([S.PAUSED, S.ACTIVE, S.CANCELLED, S.COMPLETED])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("assign"), st.integers(0, 1), st.integers(-9, 2), st.booleans()),
        st.tuples(st.just("change"), st.integers(0, 7), CHANGES),
        st.tuples(st.just("approve"), st.integers(0, 7)),
        st.tuples(st.just("open"), st.integers(0, 7)),
        st.tuples(st.just("clock"), st.integers(1, 8)),
        st.tuples(st.just("job")),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(zones=st.tuples(st.sampled_from(ZONES), st.sampled_from(ZONES)), sequence=steps)
def test_every_route_and_aggregate_agrees_on_status_as_the_clock_moves(
    core_api: Client,
    superuser: psycopg.Connection,
    dev_keys: Path,
    postgres: PostgresUrls,
    zones: tuple[str, str],
    sequence: list[tuple[Any, ...]],
) -> None:
    """Assignments, status changes, approvals, opening, the job and the clock moving, in any order: after
    every step each route reports each enrollment's status as the model has it now, every aggregate equals
    the figure computed from those statuses, and every expiry the system recorded was recorded once."""
    org = seed_organization(superuser, dev_keys, "Moving clock")
    plans = {
        approval: published_plan(
            core_api, superuser, org, type="in_clinic", duration_weeks=1, requires_approval=approval
        )["id"]
        for approval in (False, True)
    }
    run = Run(core_api, superuser, postgres, org, plans)
    for zone, patient in zip(zones, run.patients, strict=True):
        superuser.execute("UPDATE patients SET time_zone = %s WHERE id = %s", (zone, patient))

    for step in sequence:
        run.model.todays = {patient: local_today(superuser, patient) for patient in run.patients}
        run.step(step)
        figures = aggregates(core_api, org)
        seen = statuses_everywhere(core_api, org, run.patients)
        if {patient: local_today(superuser, patient) for patient in run.patients} != run.model.todays:
            reject()  # a patient's midnight passed during the step: no single "now" to compare with
        expected = run.model.statuses()
        for route, statuses in seen.items():
            assert statuses == expected, (route, step)
        assert figures == expected_aggregates(expected), step

    for enrollment_id, status in run.model.recorded.items():
        stored, histories, audits, events = recorded(superuser, enrollment_id)
        assert stored == status
        assert histories == audits == events <= 1
