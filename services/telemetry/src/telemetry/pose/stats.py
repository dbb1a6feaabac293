"""Per-session pose statistics, computed by ClickHouse (``pose/queries.py``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts.pose_stats import (
    CameraCapability,
    ExerciseFormIssue,
    ExerciseFormIssues,
    FormIssueCount,
    Joint,
    JointRange,
    PhaseDuration,
    PoseBucket,
    PoseRepetition,
    PoseSessionStats,
    PoseTrendBucket,
)
from service_common.errors import NotFoundError

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.pose.queries import (
    JOINTS,
    devices_query,
    exercise_form_issues_query,
    form_issues_query,
    repetitions_query,
    summary_query,
    tempo_query,
    trend_query,
)
from telemetry.reads import from_row, period_hours, select_rows

MAX_EXERCISE_PERIOD_HOURS = 730 * 24
"""Longest period the per-exercise form issues may cover, as the same video's media statistics (pose frames
are kept six months, so a longer period finds no more)."""


async def pose_session_stats(
    store: ClickHouseStore, org_hash: str, actor_hash: str, session_id: uuid.UUID, bucket: PoseBucket
) -> PoseSessionStats:
    """Form, ROM, reps and devices of ``session_id`` over the frames ``actor_hash`` sent within
    ``org_hash``; frames other actors sent under the same ``session_id`` never count.
    :class:`NotFoundError` when there are no such frames."""
    summaries, trend, devices, repetitions, tempo, issues = await asyncio.gather(
        select_rows(store, summary_query(org_hash, actor_hash, session_id)),
        select_rows(store, trend_query(org_hash, actor_hash, session_id, bucket)),
        select_rows(store, devices_query(org_hash, actor_hash, session_id)),
        select_rows(store, repetitions_query(org_hash, actor_hash, session_id)),
        select_rows(store, tempo_query(org_hash, actor_hash, session_id)),
        select_rows(store, form_issues_query(org_hash, actor_hash, session_id)),
    )
    summary = summaries[0]
    frames = int(summary["session_frames"])
    if frames == 0:
        raise NotFoundError("No pose frames of this actor's session in your organization.")
    return from_row(
        PoseSessionStats,
        summary,
        "session_",
        session_id=str(session_id),
        bucket=bucket,
        trend=[from_row(PoseTrendBucket, row, bucket=int(row["trend_bucket"])) for row in trend],
        devices=[
            from_row(
                CameraCapability,
                row,
                camera_resolution=str(row["device_camera_resolution"]),
                share=int(row["frames"]) / frames,
            )
            for row in devices
        ],
        repetitions=_repetitions(repetitions, tempo),
        form_issues=[from_row(FormIssueCount, row) for row in issues],
    )


async def exercise_form_issues(
    store: ClickHouseStore, org_hash: str, media_id: str, period: str, limit: int
) -> ExerciseFormIssues:
    """The ``limit`` form issues reported in the most of ``org_hash``'s pose sessions of ``media_id`` whose
    frames arrived in the last ``period``; no issues when there are none."""
    rows = await select_rows(
        store, exercise_form_issues_query(org_hash, media_id, period_hours(period, MAX_EXERCISE_PERIOD_HOURS), limit)
    )
    if not rows:
        return ExerciseFormIssues(media_id=media_id, period=period, sessions=0, frames=0, issues=[])
    exercise, issues = rows[0], rows[1:]
    sessions = int(exercise["sessions"])
    return ExerciseFormIssues(
        media_id=media_id,
        period=period,
        sessions=sessions,
        frames=int(exercise["frames"]),
        issues=[from_row(ExerciseFormIssue, row, session_share=int(row["sessions"]) / sessions) for row in issues],
    )


def _repetitions(rows: list[dict[str, Any]], tempo: list[dict[str, Any]]) -> list[PoseRepetition]:
    phases: dict[int, list[PhaseDuration]] = {}
    for row in tempo:
        phases.setdefault(int(row["rep"]), []).append(
            PhaseDuration(phase=row["phase"], duration_ms=int(row["duration_ms"]))
        )
    return [
        from_row(
            PoseRepetition,
            row,
            joints=[_joint_range(joint, row) for joint in JOINTS],
            tempo=phases.get(int(row["rep"]), []),
        )
        for row in rows
    ]


def _joint_range(joint: Joint, row: dict[str, Any]) -> JointRange:
    frames = int(row[f"{joint}_frames"])
    if frames == 0:
        return JointRange(joint=joint, frames=0, min_angle_degrees=None, max_angle_degrees=None, rom_degrees=None)
    low, high = float(row[f"{joint}_min"]), float(row[f"{joint}_max"])
    return JointRange(joint=joint, frames=frames, min_angle_degrees=low, max_angle_degrees=high, rom_degrees=high - low)
