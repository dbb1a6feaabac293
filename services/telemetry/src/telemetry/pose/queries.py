"""ClickHouse SQL for the pose read routes; runs on ClickHouse 18.16 and chdb's 26.x alike.

The session queries read one actor's frames of one session of one organization: the range
``(org_hash, session_id)`` of the sort key ``(org_hash, session_id, frame_number)``, filtered on
``actor_hash``. Any token of the organization can send frames under any ``session_id``, so frames another
actor sent under the same id must never count. ``form_score`` and ``rom_degrees`` are Nullable (no body
in view): ``avg`` and ``max`` skip NULLs and give NULL when every frame is NULL. The exercise query reads
every actor's frames of one ``media_id`` in the organization over a period, and count sessions as
(``actor_hash``, ``session_id``) pairs. The ``*_query`` functions fill the templates' placeholders with
:func:`telemetry.clickhouse.sql.render`.
"""

from __future__ import annotations

import uuid

from contracts.pose_stats import Joint

from telemetry.clickhouse.sql import Sql, render

_SESSION = "org_hash = {org_hash} AND actor_hash = {actor_hash} AND session_id = {session_id}"

# Aggregates without GROUP BY: one row even for a session without frames (then frames = 0). The column
# session_<name> is the field <name> of a PoseSessionStats.
_SUMMARY = """
SELECT
    count() AS session_frames,
    any(media_id) AS session_media_id,
    if(session_frames > 0, max(elapsed_ms) - min(elapsed_ms), 0) AS session_duration_ms,
    max(rep_count) AS session_reps,
    avg(form_score) AS session_average_form_score,
    countIf(isNull(form_score)) AS session_frames_without_body,
    avg(rom_degrees) AS session_average_rom_degrees,
    max(rom_degrees) AS session_max_rom_degrees,
    avg(pose_confidence) AS session_average_pose_confidence
FROM pose_tracking_frames
WHERE {session}
"""

# One row per minute or per repetition, in order.
_TREND = """
SELECT
    {bucket} AS trend_bucket,
    min(elapsed_ms) AS start_ms,
    count() AS frames,
    max(rep_count) AS reps,
    avg(form_score) AS average_form_score,
    avg(rom_degrees) AS average_rom_degrees,
    max(rom_degrees) AS max_rom_degrees
FROM pose_tracking_frames
WHERE {session}
GROUP BY trend_bucket
ORDER BY trend_bucket
"""

BUCKETS = {"minute": Sql("intDiv(elapsed_ms, 60000)"), "rep": Sql("rep_count")}
"""Trend bucket → the expression grouping frames into it."""

# Device capability: frames and processing time per camera resolution.
_DEVICES = """
SELECT
    camera_resolution AS device_camera_resolution,
    count() AS frames,
    avg(processing_time_ms) AS average_processing_time_ms,
    quantileExact(0.5)(processing_time_ms) AS median_processing_time_ms,
    quantileExact(0.95)(processing_time_ms) AS p95_processing_time_ms
FROM pose_tracking_frames
WHERE {session}
GROUP BY camera_resolution
ORDER BY frames DESC, device_camera_resolution
"""


# Joints whose angle the server measures: joint → (end point, vertex, other end point), BlazePose indices
# (11/12 shoulders, 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles; left first).
JOINTS: dict[Joint, tuple[int, int, int]] = {
    "left_knee": (23, 25, 27),
    "right_knee": (24, 26, 28),
    "left_hip": (11, 23, 25),
    "right_hip": (12, 24, 26),
    "left_shoulder": (13, 11, 23),
    "right_shoulder": (14, 12, 24),
    "left_elbow": (11, 13, 15),
    "right_elbow": (12, 14, 16),
}


def _world(axis: str, landmark: int) -> str:
    # ClickHouse arrays count from 1, BlazePose landmarks from 0.
    return f"arrayElement(world_landmark_{axis}, {landmark + 1})"


def _joint_columns(joint: str, end: int, vertex: int, other: int) -> str:
    """The angle at ``vertex`` between the world-landmark vectors to ``end`` and ``other``, in degrees, and
    whether the frame gives it (world landmarks up to the joint's highest index, both vectors non-zero)."""
    first = [f"({_world(axis, end)} - {_world(axis, vertex)})" for axis in "xyz"]
    second = [f"({_world(axis, other)} - {_world(axis, vertex)})" for axis in "xyz"]
    dot = " + ".join(f"{a} * {b}" for a, b in zip(first, second, strict=True))
    first_norm = "sqrt(" + " + ".join(f"{a} * {a}" for a in first) + ")"
    second_norm = "sqrt(" + " + ".join(f"{b} * {b}" for b in second) + ")"
    angle = f"acos(greatest(-1., least(1., ({dot}) / ({first_norm} * {second_norm})))) * 180 / pi()"
    valid = f"length(world_landmark_x) > {max(end, vertex, other)} AND {first_norm} > 0 AND {second_norm} > 0"
    return f"{angle} AS {joint}_angle,\n        {valid} AS {joint}_valid"


def _joint_ranges(joint: str) -> str:
    return (
        f"countIf({joint}_valid) AS {joint}_frames, "
        f"minIf({joint}_angle, {joint}_valid) AS {joint}_min, "
        f"maxIf({joint}_angle, {joint}_valid) AS {joint}_max"
    )


# One row per repetition (rep_count), in order: frames, the device's largest rom_degrees, and per joint the
# frames that give its angle and the angle's extremes (minIf/maxIf give 0 over no frames: *_frames says
# whether there were any). Angles in Float64 from the Float32 world coordinates.
_REPETITIONS = (
    """
SELECT
    rep_count AS rep,
    min(elapsed_ms) AS start_ms,
    max(elapsed_ms) - min(elapsed_ms) AS duration_ms,
    count() AS frames,
    max(rom_degrees) AS client_max_rom_degrees,
    """
    + ",\n    ".join(_joint_ranges(joint) for joint in JOINTS)
    + """
FROM (
    SELECT
        rep_count,
        elapsed_ms,
        rom_degrees,
        """
    + ",\n        ".join(_joint_columns(joint, *points) for joint, points in JOINTS.items())
    + """
    FROM pose_tracking_frames
    WHERE {session}
)
GROUP BY rep_count
ORDER BY rep_count
"""
)

# Tempo: per repetition, each frame's step to the next frame of the repetition (in elapsed_ms order) is
# time spent in the frame's phase; the steps of a repetition add up to its duration_ms.
_TEMPO = """
SELECT rep, phase, sum(step_ms) AS duration_ms
FROM (
    SELECT
        rep_count AS rep,
        arraySort(groupArray(elapsed_ms)) AS times,
        arraySort((p, t) -> t, groupArray(toString(active_exercise_phase)), groupArray(elapsed_ms)) AS phases
    FROM pose_tracking_frames
    WHERE {session}
    GROUP BY rep_count
)
ARRAY JOIN
    arraySlice(phases, 1, length(phases) - 1) AS phase,
    arrayMap(i -> arrayElement(times, i + 1) - arrayElement(times, i), arraySlice(arrayEnumerate(times), 1,
        length(times) - 1)) AS step_ms
GROUP BY rep, phase
ORDER BY rep, duration_ms DESC, phase
"""

# The session's most common form issues: frames and repetitions that reported each code.
_FORM_ISSUES = """
SELECT issue, count() AS frames, uniqExact(rep_count) AS reps
FROM pose_tracking_frames
ARRAY JOIN form_issues AS issue
WHERE {session}
GROUP BY issue
ORDER BY frames DESC, issue
LIMIT 10
"""


# One exercise video of one organization over a period: every actor's frames whose batch named the media
# and that arrived in the last {hours} hours. Reads the organization's range of the sort key.
_EXERCISE = "org_hash = {org_hash} AND media_id = {media_id} AND received_at >= now() - INTERVAL {hours} HOUR"

# Per issue code: the frames that reported it (arrayDistinct: a code a frame lists twice counts once), the
# repetitions (actor, session, rep_count) and the sessions (actor, session) with such a frame. Every frame
# also counts under the code '' (never a valid code), whose row comes first and holds the exercise's own
# sessions and frames: one read, so the shares never see frames the totals missed. No rows without frames.
_EXERCISE_FORM_ISSUES = """
SELECT
    issue,
    uniqExact(actor_hash, session_id) AS sessions,
    uniqExact(actor_hash, session_id, rep_count) AS reps,
    count() AS frames
FROM pose_tracking_frames
ARRAY JOIN arrayPushFront(arrayDistinct(form_issues), '') AS issue
WHERE {exercise}
GROUP BY issue
ORDER BY issue != '', sessions DESC, frames DESC, issue
LIMIT {rows}
"""


def _session(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    return render(_SESSION, org_hash=org_hash, actor_hash=actor_hash, session_id=session_id)


def summary_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    """Frames, duration, reps, mean form score and ROM of one actor's session."""
    return render(_SUMMARY, session=_session(org_hash, actor_hash, session_id))


def trend_query(org_hash: str, actor_hash: str, session_id: uuid.UUID, bucket: str) -> Sql:
    """Form score, ROM and reps of one actor's session per ``bucket`` (``minute`` or ``rep``)."""
    return render(_TREND, bucket=BUCKETS[bucket], session=_session(org_hash, actor_hash, session_id))


def devices_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    """Frames and processing time per camera resolution of one actor's session."""
    return render(_DEVICES, session=_session(org_hash, actor_hash, session_id))


def repetitions_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    """Per repetition of one actor's session: frames, duration, the device's largest ROM and each joint's
    angle extremes from the world landmarks."""
    return render(_REPETITIONS, session=_session(org_hash, actor_hash, session_id))


def tempo_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    """Per repetition and movement phase of one actor's session: the time spent in the phase."""
    return render(_TEMPO, session=_session(org_hash, actor_hash, session_id))


def form_issues_query(org_hash: str, actor_hash: str, session_id: uuid.UUID) -> Sql:
    """The ten form issues of one actor's session reported in the most frames."""
    return render(_FORM_ISSUES, session=_session(org_hash, actor_hash, session_id))


def _exercise(org_hash: str, media_id: str, hours: int) -> Sql:
    return render(_EXERCISE, org_hash=org_hash, media_id=media_id, hours=hours)


def exercise_form_issues_query(org_hash: str, media_id: str, hours: int, limit: int) -> Sql:
    """The sessions and frames of one exercise video in ``org_hash`` over the last ``hours`` (the row of
    issue ``''``), then the ``limit`` form issues reported in the most sessions, with their repetitions and
    frames."""
    return render(_EXERCISE_FORM_ISSUES, exercise=_exercise(org_hash, media_id, hours), rows=limit + 1)
