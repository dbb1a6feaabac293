"""The ``adherence.evidence_contradicted`` alert: a collection turned a completed session ``contradicted``.

Recorded like the other adherence alerts (``core_api.adherence.alerts.raise_alerts``), at most once per
enrollment and plan week (the week containing the session's start in the patient's zone), with its outbox
event in the collection's transaction.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from core_api.adherence.alerts import raise_alerts
from core_api.adherence.repository import Alert
from core_api.enrollments.weeks import local_date, week_index, week_start
from core_api.evidence.repository import ClaimedCompletion
from core_api.time_zones import patient_zone


def contradicted_alert(completion: ClaimedCompletion) -> Alert:
    """The alert about ``completion`` for its plan week."""
    index = week_index(completion.start_date, local_date(patient_zone(completion.time_zone), completion.started_at))
    first_day = week_start(completion.start_date, index)
    return Alert(
        id=completion.patient_treatment_plan_id,
        kind="evidence_contradicted",
        week_start=first_day,
        evidence={
            "patient_treatment_plan_id": completion.patient_treatment_plan_id,
            "patient_id": completion.patient_id,
            "week_start": first_day.isoformat(),
            "week_number": index + 1,
            "session_completion_id": completion.id,
        },
    )


async def raise_contradicted(conn: AsyncConnection, completions: list[ClaimedCompletion]) -> int:
    """Raise the alert of each completion (deduplicated per enrollment and week); how many were new."""
    return await raise_alerts(conn, [contradicted_alert(each) for each in completions])
