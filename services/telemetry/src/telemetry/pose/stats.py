"""Per-session pose statistics, computed by ClickHouse (``pose/queries.py``)."""

from __future__ import annotations

import asyncio
import uuid

from contracts.telemetry import CameraCapability, PoseBucket, PoseSessionStats, PoseTrendBucket
from service_common.errors import NotFoundError

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.pose.queries import devices_query, summary_query, trend_query
from telemetry.reads import number, select_rows


async def pose_session_stats(
    store: ClickHouseStore, org_hash: str, actor_hash: str, session_id: uuid.UUID, bucket: PoseBucket
) -> PoseSessionStats:
    """Form, ROM, reps and devices of ``session_id`` over the frames ``actor_hash`` sent within
    ``org_hash``; frames other actors sent under the same ``session_id`` never count.
    :class:`NotFoundError` when there are no such frames."""
    summaries, trend, devices = await asyncio.gather(
        select_rows(store, summary_query(org_hash, actor_hash, session_id)),
        select_rows(store, trend_query(org_hash, actor_hash, session_id, bucket)),
        select_rows(store, devices_query(org_hash, actor_hash, session_id)),
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
        average_pose_confidence=float(summary["session_pose_confidence"]),
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
    )
