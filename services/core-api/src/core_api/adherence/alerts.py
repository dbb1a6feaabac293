"""Adherence alert rules: ``adherence.below_threshold`` for a stored week and ``pain.alert`` for a completed
session, each recorded at most once per enrollment, kind and plan week with its outbox event.
See docs/adherence.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection

from core_api.adherence import repository as repo
from core_api.adherence.loading import Enrollment
from core_api.automation import outbox
from core_api.enrollments.weeks import local_date, week_index, week_start
from core_api.time_zones import patient_zone

ALERT_EVENTS = {
    "below_threshold": "adherence.below_threshold",
    "pain": "pain.alert",
    "evidence_contradicted": "adherence.evidence_contradicted",  # core_api/evidence/alerts.py
}
PAIN_HIGH = 7
PAIN_RISE = 2


def session_week(start_date: date, time_zone: str, started_at: datetime) -> int:
    """The 0-based plan week of a session started at ``started_at``: the week containing that day in the
    patient's zone. A session's alerts (pain, contradicted evidence) belong to it."""
    return week_index(start_date, local_date(patient_zone(time_zone), started_at))


def week_alert(kind: str, enrollment_id: int, start_date: date, index: int, **evidence: Any) -> repo.Alert:
    """An alert of ``kind`` for the enrollment's 0-based plan week ``index``: ``evidence`` with the
    enrollment and the week's first day, which every alert's payload names."""
    first_day = week_start(start_date, index)
    payload = {"patient_treatment_plan_id": enrollment_id, "week_start": first_day.isoformat(), **evidence}
    return repo.Alert(id=enrollment_id, kind=kind, week_start=first_day, evidence=payload)


def threshold_alerts(enrollment: Enrollment, weeks: Iterable[int]) -> list[repo.Alert]:
    """``below_threshold`` alerts for the 0-based plan ``weeks`` whose adherence is strictly below the
    organization's threshold and that already missed a session (a noncompliant slot): a week whose
    first window is merely still open is not an alert."""
    row = enrollment.row
    alerts = []
    for index in weeks:
        _, summary = enrollment.week(index)
        if summary.adherence_percent < row.threshold_percent and summary.noncompliant > 0:
            alerts.append(
                week_alert(
                    "below_threshold",
                    row.id,
                    row.start_date,
                    index,
                    patient_id=row.patient_id,
                    week_number=index + 1,
                    adherence_percent=summary.adherence_percent,
                    noncompliance_percent=summary.noncompliance_percent,
                    threshold_percent=row.threshold_percent,
                    compliant=summary.compliant,
                    noncompliant=summary.noncompliant,
                    offered=summary.offered,
                    as_of=enrollment.as_of.isoformat(),
                )
            )
    return alerts


async def raise_alerts(conn: AsyncConnection, alerts: list[repo.Alert]) -> int:
    """Record the alerts and write the outbox event of each one that is new for its enrollment, kind and
    week; returns how many were new."""
    inserted = await repo.insert_alerts(conn, alerts)
    for alert in inserted:
        await outbox.fire(
            conn,
            alert.organization_id,
            ALERT_EVENTS[alert.kind],
            "patient_treatment_plan",
            alert.patient_treatment_plan_id,
            alert.evidence,
        )
    return len(inserted)


async def check_pain(conn: AsyncConnection, completion_id: int) -> None:
    """The pain rule on a completed session: pain after it of at least 7, or a rise of at least 2 over
    the enrollment's previous completed session, raises ``pain.alert`` (once per plan week)."""
    found = await repo.completion_pain(conn, completion_id)
    if found is None or found.pain_level_after is None:
        return
    pain = found.pain_level_after
    previous = found.previous_pain_level_after
    rise = None if previous is None else pain - previous
    reasons = [
        reason for reason, hit in (("high", pain >= PAIN_HIGH), ("rise", rise is not None and rise >= PAIN_RISE)) if hit
    ]
    if not reasons:
        return
    alert = week_alert(
        "pain",
        found.patient_treatment_plan_id,
        found.start_date,
        session_week(found.start_date, found.time_zone, found.started_at),
        reasons=reasons,
        session_completion_id=found.id,
        pain_level_after=pain,
        previous_session_completion_id=found.previous_id,
        previous_pain_level_after=previous,
        rise=rise,
    )
    await raise_alerts(conn, [alert])
