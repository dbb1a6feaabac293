"""Session evidence for tests: what the app reports for an exercise done, the telemetry a device sends for
it, and the evidence core-api stored."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.telemetry.helpers.payloads import media_events, pose_batch, pose_frame

DONE = {"actual_sets": 3, "actual_reps": 10, "video_watched": True, "video_watch_percentage": 100}
"""What the app reports for an exercise done: 3 sets of 10 (30 repetitions in all), the video watched."""
WATCHED = 97.5
"""The largest ``completion_percent`` of the sample media events: the measured share."""
FORM = 85.0
"""The sample frames' form score (0.85) on core-api's 0-100 scale."""

_COMPLETION_STATE = "SELECT evidence_state FROM patient_session_completions WHERE id = %s"
_LOG_STATES = (
    "SELECT evidence_state, measured_watch_percentage::float8, measured_reps, mean_form_score::float8, "
    "evidence IS NOT NULL FROM patient_exercise_logs WHERE session_completion_id = %s ORDER BY sort_order"
)


def watched_media(session_id: str) -> list[dict[str, Any]]:
    """The sample media events of one view, sent under the exercise log's ``session_id``."""
    return [event | {"session_id": session_id} for event in media_events()]


def counted_pose(session_id: str, reps: int) -> dict[str, Any]:
    """Ten pose frames under ``session_id`` whose repetition count climbs to ``reps``."""
    frames = [pose_frame(n) | {"rep_count": min(reps, 1 + n * reps // 9)} for n in range(10)]
    return pose_batch(*frames) | {"session_id": session_id}


def evidence_states(conn: psycopg.Connection, completion_id: int) -> tuple[str, list[tuple[Any, ...]]]:
    """The completion's evidence state and, per exercise log in order, (state, measured watch percentage,
    measured reps, mean form score, whether evidence is stored)."""
    row = conn.execute(_COMPLETION_STATE, (completion_id,)).fetchone()
    assert row is not None
    return row[0], conn.execute(_LOG_STATES, (completion_id,)).fetchall()
