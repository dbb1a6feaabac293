"""The ``adherence.evidence_contradicted`` alert: a collection turned a completed session ``contradicted``.

Recorded like the other adherence alerts (``core_api.adherence.alerts.raise_alerts``), at most once per
enrollment and plan week (the week containing the session's start in the patient's zone), with its outbox
event in the collection's transaction.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from core_api.adherence.alerts import raise_alerts, session_week, week_alert
from core_api.adherence.repository import Alert
from core_api.evidence.repository import ClaimedCompletion


def contradicted_alert(completion: ClaimedCompletion) -> Alert:
    """The alert about ``completion`` for its plan week."""
    index = session_week(completion.start_date, completion.time_zone, completion.started_at)
    return week_alert(
        "evidence_contradicted",
        completion.patient_treatment_plan_id,
        completion.start_date,
        index,
        patient_id=completion.patient_id,
        week_number=index + 1,
        session_completion_id=completion.id,
    )


async def raise_contradicted(conn: AsyncConnection, completions: list[ClaimedCompletion]) -> int:
    """Raise the alert of each completion (deduplicated per enrollment and week); how many were new."""
    return await raise_alerts(conn, [contradicted_alert(each) for each in completions])
