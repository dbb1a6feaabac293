"""Property tests of the enrollment lifecycle: the pure transition table, and the API that enforces it.

Whatever sequence of approvals and status changes is tried, the status only ever moves along the table,
final statuses stay final, every refused step is a 409 (or a 403 for a patient's move the table allows
but a patient may not make), and the counters stay within 0..sessions_total.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from contracts.enrollments import EnrollmentStatus
from core_api.enrollments.lifecycle import (
    FINAL_STATUSES,
    PATIENT_MOVES,
    TRANSITIONS,
    Action,
    IllegalTransition,
    TransitionNotPermitted,
    allowed_targets,
    check_transition,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.core_api.helpers.enrollments import assign
from tests.core_api.helpers.execution import complete, enroll, skip, start
from tests.core_api.helpers.plans import published_plan
from tests.core_api.helpers.responses import Client
from tests.core_api.seed import Org

statuses = st.sampled_from(list(EnrollmentStatus))
steps = st.lists(st.tuples(st.sampled_from(list(Action)), statuses, st.booleans()), max_size=25)


def attempt(current: EnrollmentStatus, action: Action, target: EnrollmentStatus, patient: bool) -> str:
    """What the table says of the step: ``ok``, ``illegal`` or ``forbidden``."""
    try:
        check_transition(current, target, action, patient=patient)
    except IllegalTransition:
        return "illegal"
    except TransitionNotPermitted:
        return "forbidden"
    return "ok"


@given(start=st.sampled_from([EnrollmentStatus.PENDING_APPROVAL, EnrollmentStatus.ACTIVE]), sequence=steps)
def test_no_sequence_leaves_the_table(
    start: EnrollmentStatus, sequence: list[tuple[Action, EnrollmentStatus, bool]]
) -> None:
    current = start
    for action, target, patient in sequence:
        outcome = attempt(current, action, target, patient)
        if outcome != "ok":
            continue
        assert target in TRANSITIONS[current]
        assert current not in FINAL_STATUSES
        if action is Action.APPROVE:
            assert (current, target) == (EnrollmentStatus.PENDING_APPROVAL, EnrollmentStatus.ACTIVE)
        elif current == EnrollmentStatus.PENDING_APPROVAL:
            assert target != EnrollmentStatus.ACTIVE, "only approval activates a pending enrollment"
        if patient:
            assert (current, target) in PATIENT_MOVES
        current = target


@given(current=statuses, target=statuses, action=st.sampled_from(list(Action)), patient=st.booleans())
def test_final_statuses_refuse_everything_and_refusals_name_the_way_out(
    current: EnrollmentStatus, target: EnrollmentStatus, action: Action, patient: bool
) -> None:
    outcome = attempt(current, action, target, patient)
    if outcome == "illegal":
        with pytest.raises(IllegalTransition) as refused:
            check_transition(current, target, action, patient=patient)
        assert refused.value.allowed == allowed_targets(current, Action.STATUS_CHANGE)
        assert target not in allowed_targets(current, action)
    elif outcome == "forbidden":
        assert patient
    else:
        assert current not in FINAL_STATUSES
    if current in FINAL_STATUSES:
        assert allowed_targets(current, action) == []


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    requires_approval=st.booleans(),
    sequence=st.lists(
        st.tuples(st.sampled_from(list(Action)), statuses, st.sampled_from(["admin", "specialist", "patient"])),
        max_size=8,
    ),
)
def test_the_api_follows_the_table(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    requires_approval: bool,
    sequence: list[tuple[Action, EnrollmentStatus, str]],
) -> None:
    plan = _plans(core_api, superuser, org)[requires_approval]
    response = assign(core_api, org, plan)
    assert response.status_code == 201, response.text
    enrollment_id = response.json()["id"]
    predicted = EnrollmentStatus.PENDING_APPROVAL if requires_approval else EnrollmentStatus.ACTIVE
    path = f"/v1/patient-treatment-plans/{enrollment_id}"
    for action, wanted, role in sequence:
        if action is Action.APPROVE:
            if role == "patient":
                continue  # a guard refuses patients before any rule runs; covered in test_enrollments
            response = core_api.post(f"{path}/approve", headers=org.headers(role))
            target = EnrollmentStatus.ACTIVE
        else:
            target = wanted
            response = core_api.put(
                f"{path}/status", json={"status": target, "reason": "property test"}, headers=org.headers(role)
            )
        outcome = attempt(predicted, action, target, role == "patient")
        if outcome == "ok":
            assert response.status_code == 200, response.text
            predicted = target
        elif outcome == "illegal":
            assert response.status_code == 409, response.text
            assert response.json()["allowed_transitions"] == allowed_targets(predicted, Action.STATUS_CHANGE)
        else:
            assert response.status_code == 403, response.text
        assert counters(superuser, enrollment_id)[0] == predicted


def counters(conn: psycopg.Connection, enrollment_id: int) -> tuple[str, int, int, int]:
    """The enrollment's status, sessions completed, skipped and total, after checking the counters stay
    within the total."""
    row = conn.execute(
        "SELECT status, sessions_completed, sessions_skipped, sessions_total "
        "FROM patient_treatment_plans WHERE id = %s",
        (enrollment_id,),
    ).fetchone()
    assert row is not None
    status, completed, skipped, total = row
    assert 0 <= completed <= total, row
    assert 0 <= skipped <= total, row
    assert completed + skipped <= total, row
    return status, completed, skipped, total


_PLANS: dict[int, dict[bool, str]] = {}


def _plans(client: Client, conn: psycopg.Connection, org: Org) -> dict[bool, Any]:
    """One published plan with and one without approval per organization, made once per example run."""
    if org.id not in _PLANS:
        _PLANS[org.id] = {
            flag: published_plan(client, conn, org, requires_approval=flag)["id"] for flag in (False, True)
        }
    return _PLANS[org.id]


# Sessions and status changes together ----------------------------------------------------------------------

SESSION_STEPS = st.lists(
    st.sampled_from(["complete", "skip", "start", "pause", "resume", "cancel"]), min_size=1, max_size=10
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=SESSION_STEPS)
@example(sequence=["skip", "skip", "skip"])
@example(sequence=["complete", "start", "pause", "complete", "resume", "complete"])
def test_sessions_and_status_changes_keep_counters_within_the_total(
    core_api: Client, org: Org, superuser: psycopg.Connection, sequence: list[str]
) -> None:
    """Starting, completing and skipping sessions mixed with pauses, resumptions and cancellation: the
    counters stay within 0..sessions_total, completed + skipped never pass it, the status moves only along
    the table, and the enrollment is completed exactly when its last session is."""
    enrollment = enroll(core_api, superuser, org, sessions=2, weeks=1, frequency=2)
    enrollment_id = enrollment["id"]
    path = f"/v1/patient-treatment-plans/{enrollment_id}"
    for step in sequence:
        if step in {"complete", "skip", "start"}:
            started = start(core_api, org, enrollment_id, 1)
            assert started.status_code in {200, 201, 409}, started.text
            if started.status_code != 409 and step != "start":
                completion_id = started.json()["id"]
                if step == "complete":
                    response = complete(core_api, org, completion_id)
                else:
                    response = skip(core_api, org, completion_id, reason="property test")
                assert response.status_code in {200, 409}, response.text
        else:
            target = {"pause": "paused", "resume": "active", "cancel": "cancelled"}[step]
            response = core_api.put(
                f"{path}/status", json={"status": target, "reason": "property test"}, headers=org.headers("specialist")
            )
            assert response.status_code in {200, 409}, response.text
        status, completed, _, total = counters(superuser, enrollment_id)
        current = EnrollmentStatus(status)
        # The history is one chain of legal moves from active to the current status (a resumption that
        # finds every session completed goes on to completed in the same request: two moves).
        history = superuser.execute(
            "SELECT from_status, to_status FROM patient_treatment_plan_status_changes "
            "WHERE patient_treatment_plan_id = %s ORDER BY id",
            (enrollment_id,),
        ).fetchall()
        chain = EnrollmentStatus.ACTIVE
        for from_status, to_status in history:
            assert EnrollmentStatus(from_status) == chain, history
            assert EnrollmentStatus(to_status) in TRANSITIONS[chain], history
            chain = EnrollmentStatus(to_status)
        assert chain == current, (history, current)
        if current == EnrollmentStatus.COMPLETED:
            assert completed == total
        elif current == EnrollmentStatus.ACTIVE:
            assert completed < total
