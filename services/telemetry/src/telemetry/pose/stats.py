"""Per-session pose statistics, computed by ClickHouse (``pose/queries.py``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts.telemetry import (
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
from telemetry.reads import number, period_hours, select_rows

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
    return PoseSessionStats(
        session_id=str(session_id),
        media_id=str(summary["session_media_id"]),
        frames=frames,
        duration_ms=int(summary["session_duration_ms"]),
        reps=int(summary["session_reps"]),
        average_form_score=number(summary["session_form_score"]),
        frames_without_body=int(summary["session_frames_without_body"]),
        average_rom_degrees=number(summary["session_rom_degrees"]),
        max_rom_degrees=number(summary["session_max_rom_degrees"]),
        average_pose_confidence=number(summary["session_pose_confidence"]),
        bucket=bucket,
        trend=[
            PoseTrendBucket(
                bucket=int(row["trend_bucket"]),
                start_ms=int(row["start_ms"]),
                frames=int(row["frames"]),
                reps=int(row["reps"]),
                average_form_score=number(row["average_form_score"]),
                average_rom_degrees=number(row["average_rom_degrees"]),
                max_rom_degrees=number(row["max_rom_degrees"]),
            )
            for row in trend
        ],
        devices=[
            CameraCapability(
                camera_resolution=str(row["device_camera_resolution"]),
                frames=int(row["frames"]),
                share=int(row["frames"]) / frames,
                average_processing_time_ms=float(row["average_processing_time_ms"]),
                median_processing_time_ms=float(row["median_processing_time_ms"]),
                p95_processing_time_ms=float(row["p95_processing_time_ms"]),
            )
            for row in devices
        ],
        repetitions=_repetitions(repetitions, tempo),
        form_issues=[
            FormIssueCount(issue=str(row["issue"]), frames=int(row["frames"]), reps=int(row["reps"])) for row in issues
        ],
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
        issues=[
            ExerciseFormIssue(
                issue=str(row["issue"]),
                sessions=int(row["sessions"]),
                session_share=int(row["sessions"]) / sessions,
                reps=int(row["reps"]),
                frames=int(row["frames"]),
            )
            for row in issues
        ],
    )


def _repetitions(rows: list[dict[str, Any]], tempo: list[dict[str, Any]]) -> list[PoseRepetition]:
    phases: dict[int, list[PhaseDuration]] = {}
    for row in tempo:
        phases.setdefault(int(row["rep"]), []).append(
            PhaseDuration(phase=row["phase"], duration_ms=int(row["duration_ms"]))
        )
    return [
        PoseRepetition(
            rep=int(row["rep"]),
            start_ms=int(row["start_ms"]),
            duration_ms=int(row["duration_ms"]),
            frames=int(row["frames"]),
            client_max_rom_degrees=number(row["client_max_rom_degrees"]),
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
