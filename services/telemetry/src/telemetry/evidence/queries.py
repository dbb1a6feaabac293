"""ClickHouse SQL of the session evidence: one statement for a batch of sessions, media and pose together;
runs on ClickHouse 18.16 and chdb's 26.x alike, and in cluster mode over the Distributed tables.

A session is a pair (``actor_hash``, ``session_id``): any token of the organization may send rows under any
``session_id``, so rows another actor sent under the same id form a group of their own and never match a
requested pair. Each table is filtered by the organization (the first column of both sort keys) and by the
pairs, as a literal ``IN`` set: a literal set needs no ``GLOBAL`` on a Distributed table, and ClickHouse
uses it for the ``session_id`` of ``pose_tracking_frames``' sort key (on 18.16 a set built from a subquery
is not used for the index; measured in docs/telemetry.md). The session ids in the set are plain strings,
which ClickHouse converts to the column's UUID type once when it builds the set (18.16 and 26.x alike);
18.16 analyses each ``toUUID('…')`` literal as an expression of its own.

The two aggregates are joined by ``UNION ALL`` with a ``kind`` column; each branch fills the other kind's
columns with constants, so both have the same columns in the same order. The definitions of the figures
are in docs/telemetry.md, "Session evidence for core-api".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from telemetry.clickhouse.sql import Sql, render

_PAIR = "({actor_hash}, {session_id})"

# Aliases never repeat a column's name: ClickHouse would resolve such an alias inside the aggregate that
# defines it. Float32 columns are read as Float64 rounded to 3 decimals, so that 0.85 reads 0.85 and not
# 0.8500000238418579. milestone_percent, buffering_count and buffering_duration_ms are 0 on the events that
# do not report them; the running counts of heartbeats and session_end and the events of each stall are
# two sources of the same stalls, and the larger wins (a player that sends one kind only, a lost batch).
_EVIDENCE = """
SELECT
    'media' AS kind,
    actor_hash AS key_actor_hash,
    toString(session_id) AS key_session_id,
    count() AS media_events,
    round(toFloat64(max(watched_duration_seconds)), 3) AS media_watched_seconds,
    round(least(greatest(toFloat64(max(completion_percent)), 0.), 100.), 3) AS media_watch_percentage,
    maxIf(milestone_percent, event = 'milestone') AS media_top_milestone,
    countIf(event = 'session_end' AND completed = 1) > 0 AS media_completed,
    toUInt64(greatest(maxIf(buffering_count, event IN ('heartbeat', 'session_end')),
                      countIf(event = 'buffering_start'))) AS media_buffering_count,
    round(greatest(maxIf(buffering_duration_ms, event IN ('heartbeat', 'session_end')),
                   sumIf(buffering_duration_ms, event = 'buffering_end')) / 1000, 3) AS media_buffering_seconds,
    toUInt64(0) AS pose_frames,
    toUInt16(0) AS pose_reps_counted,
    CAST(NULL AS Nullable(Float64)) AS pose_mean_form_score,
    CAST(NULL AS Nullable(Float64)) AS pose_rom_min_degrees,
    CAST(NULL AS Nullable(Float64)) AS pose_rom_max_degrees,
    toUInt64(0) AS pose_low_visibility_frames
FROM media_events
WHERE org_hash = {org_hash} AND (actor_hash, session_id) IN {pairs}
GROUP BY actor_hash, session_id
UNION ALL
SELECT
    'pose' AS kind,
    actor_hash AS key_actor_hash,
    toString(session_id) AS key_session_id,
    toUInt64(0) AS media_events,
    0. AS media_watched_seconds,
    0. AS media_watch_percentage,
    toUInt8(0) AS media_top_milestone,
    toUInt8(0) AS media_completed,
    toUInt64(0) AS media_buffering_count,
    0. AS media_buffering_seconds,
    count() AS pose_frames,
    max(rep_count) AS pose_reps_counted,
    round(avg(form_score) * 100, 3) AS pose_mean_form_score,
    round(toFloat64(min(rom_degrees)), 3) AS pose_rom_min_degrees,
    round(toFloat64(max(rom_degrees)), 3) AS pose_rom_max_degrees,
    countIf(isNull(form_score)
            OR (notEmpty(landmark_visibility) AND arraySum(landmark_visibility) < 0.5 * length(landmark_visibility)))
        AS pose_low_visibility_frames
FROM pose_tracking_frames
WHERE org_hash = {org_hash} AND (actor_hash, session_id) IN {pairs}
GROUP BY actor_hash, session_id
"""


def evidence_query(org_hash: str, sessions: Sequence[tuple[str, uuid.UUID]]) -> Sql:
    """The media and pose aggregates of each (actor hash, session id) in ``sessions`` within ``org_hash``:
    one row per pair and kind that has rows, none for a pair without any."""
    pairs = [render(_PAIR, actor_hash=actor_hash, session_id=str(session_id)) for actor_hash, session_id in sessions]
    return render(_EVIDENCE, org_hash=org_hash, pairs=pairs)
