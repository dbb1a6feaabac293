"""The stored columns of a session completion, as execution writes them and the progress reports read them."""

from __future__ import annotations

from datetime import datetime

import msgspec


class CompletionRow(msgspec.Struct, frozen=True):
    """A row of patient_session_completions (its id, session, state, times, counts and the patient's
    ratings)."""

    id: int
    session_number: int
    status: str
    started_at: datetime
    completed_at: datetime | None
    skipped_at: datetime | None
    duration_seconds: int | None
    exercises_total: int
    exercises_completed: int
    exercises_skipped: int
    pain_level_before: int | None
    pain_level_after: int | None
    perceived_difficulty: int | None
