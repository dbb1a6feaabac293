"""SQL of verified adherence: queueing collections, claiming them, storing what telemetry measured."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec
from contracts.exercise_logs import EvidenceState
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all
from core_api.evidence.rules import LogEvidence
from core_api.settings import EvidenceSettings

QUERIES = load_queries(__package__ or "core_api.evidence")
_encoder = msgspec.json.Encoder()


class ClaimedCompletion(msgspec.Struct, frozen=True):
    """A completion whose collection this dispatcher holds, with what its rules need."""

    id: int
    patient_id: int
    patient_treatment_plan_id: int
    evidence_state: EvidenceState | None
    pose_allowed: bool
    started_at: datetime
    start_date: date
    time_zone: str
    evidence_min_watch_percent: int
    evidence_rep_tolerance: int


class ClaimedLog(msgspec.Struct, frozen=True):
    """A log evidence is collected for, with what the app reported."""

    id: int
    session_completion_id: int
    telemetry_session_id: UUID
    skipped: bool
    video_watched: bool
    video_watch_percentage: float | None
    actual_sets: int | None
    actual_reps: int | None


class Claimed(msgspec.Struct, frozen=True):
    id: int
    session_completion_id: int


class Claim(msgspec.Struct, frozen=True):
    """The collections one claim leased, and until when: the lease also tells this claim's rows from a
    later one's, should it end before the work is done."""

    leased_until: datetime | None
    rows: list[Claimed]


class _ClaimedRow(Claimed, frozen=True):
    leased_until: datetime


# Queueing ---------------------------------------------------------------------------------------------------


async def expect_log_evidence(
    conn: AsyncConnection, completion_id: int, *, skipped_state: EvidenceState, done_state: EvidenceState
) -> list[EvidenceState]:
    """Give the completion's logs their states (one for skipped exercises, one for the others); the states."""
    params = {"completion_id": completion_id, "skipped_state": skipped_state, "done_state": done_state}
    rows = await (await conn.execute(QUERIES.expect_log_evidence, params)).fetchall()
    return [EvidenceState(row[0]) for row in rows]


async def queue_collection(
    conn: AsyncConnection, completion_id: int, state: EvidenceState, *, pose_allowed: bool, settle_seconds: float
) -> None:
    params = {
        "completion_id": completion_id,
        "state": state,
        "pose_allowed": pose_allowed,
        "settle_seconds": settle_seconds,
    }
    await conn.execute(QUERIES.queue_collection, params)


# Collecting -------------------------------------------------------------------------------------------------


async def organizations_due(conn: AsyncConnection) -> list[int]:
    return [row[0] for row in await (await conn.execute(QUERIES.organizations_due)).fetchall()]


async def claim_due(conn: AsyncConnection, limit: int, lease_seconds: float) -> Claim:
    """Lease up to ``limit`` due collections (one statement: one lease end for all of them)."""
    rows = await fetch_all(conn, QUERIES.claim_due, {"limit": limit, "lease_seconds": lease_seconds}, _ClaimedRow)
    return Claim(
        leased_until=rows[0].leased_until if rows else None,
        rows=[Claimed(id=row.id, session_completion_id=row.session_completion_id) for row in rows],
    )


async def claimed_completions(conn: AsyncConnection, ids: list[int]) -> list[ClaimedCompletion]:
    return await fetch_all(conn, QUERIES.claimed_completions, {"ids": ids}, ClaimedCompletion)


async def claimed_logs(conn: AsyncConnection, ids: list[int]) -> list[ClaimedLog]:
    return await fetch_all(conn, QUERIES.claimed_logs, {"ids": ids}, ClaimedLog)


async def store_log_evidence(conn: AsyncConnection, figures: list[tuple[int, LogEvidence, str | None]]) -> None:
    """Overwrite the figures of each (log id, evidence, telemetry's answer as JSON) in one statement."""
    params = {
        "id": [log_id for log_id, _, _ in figures],
        "state": [each.state.value for _, each, _ in figures],
        "watch_percentage": [each.measured_watch_percentage for _, each, _ in figures],
        "reps": [each.measured_reps for _, each, _ in figures],
        "form_score": [each.mean_form_score for _, each, _ in figures],
        "evidence": [answer for _, _, answer in figures],
    }
    await conn.execute(QUERIES.store_log_evidence, params)


async def store_completion_states(conn: AsyncConnection, states: dict[int, EvidenceState]) -> None:
    params = {"id": list(states), "state": [state.value for state in states.values()]}
    await conn.execute(QUERIES.store_completion_states, params)


async def finish_collections(
    conn: AsyncConnection, ids: list[int], leased_until: datetime | None, settings: EvidenceSettings
) -> None:
    params = {"ids": ids, "leased_until": leased_until, "refresh_seconds": settings.refresh_seconds}
    await conn.execute(QUERIES.finish_collections, params)


async def fail_collections(
    conn: AsyncConnection, ids: list[int], leased_until: datetime | None, error: str, settings: EvidenceSettings
) -> None:
    params = {
        "ids": ids,
        "leased_until": leased_until,
        "error": error,
        "backoff_base_seconds": settings.backoff_base_seconds,
        "backoff_max_seconds": settings.backoff_max_seconds,
    }
    await conn.execute(QUERIES.fail_collections, params)


def encode_answer(answer: msgspec.Struct | None) -> str | None:
    """Telemetry's answer for a session as the ``evidence`` column stores it."""
    return None if answer is None else _encoder.encode(answer).decode()


# Nightly ----------------------------------------------------------------------------------------------------


async def requeue_stale(conn: AsyncConnection) -> int:
    """Make the collections of completions still pending a day after completion due now; how many."""
    return len(await (await conn.execute(QUERIES.requeue_stale)).fetchall())
