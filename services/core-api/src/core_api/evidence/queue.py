"""Queueing a completed session's evidence, in the completion's transaction (an outbox row).

The patient's consent at completion decides what evidence may exist: each log becomes ``pending`` or
``not_collected`` (:func:`core_api.evidence.rules.expected_state`), the completion takes its state over
them, and a pending completion gets a row in ``evidence_collections`` due after EVIDENCE_SETTLE_SECONDS,
which the dispatcher's evidence pass (``collect``) works through.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from core_api.consent import repository as consent
from core_api.evidence import repository as repo
from core_api.evidence.rules import allowed, completion_state, expected_state


async def queue_evidence(conn: AsyncConnection, completion_id: int, patient_id: int, settle_seconds: float) -> None:
    """Set the evidence states of the just completed session and queue its collection when one is due."""
    permitted = allowed(await consent.current(conn, patient_id))
    states = await repo.expect_log_evidence(
        conn,
        completion_id,
        skipped_state=expected_state(True, permitted),
        done_state=expected_state(False, permitted),
    )
    state = completion_state(states)
    await repo.queue_collection(
        conn,
        completion_id,
        state,
        pose_allowed=permitted.pose,
        settle_seconds=settle_seconds,
    )
