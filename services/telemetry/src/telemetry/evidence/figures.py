"""The session evidence of a batch of sessions from one ClickHouse query (``evidence/queries.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from contracts.media_event_data import MilestonePercent
from contracts.session_evidence import EvidenceSessionKey, MediaEvidence, PoseEvidence, SessionEvidence

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.evidence.queries import evidence_query
from telemetry.reads import from_row, select_rows

MILESTONES: tuple[int, ...] = get_args(MilestonePercent)
"""The watch milestones a player reports, in order (25, 50, 75, 95)."""


def _media(row: Mapping[str, Any]) -> MediaEvidence:
    top = int(row["media_top_milestone"])
    return from_row(
        MediaEvidence, row, "media_", milestones_reached=[milestone for milestone in MILESTONES if milestone <= top]
    )


async def session_evidence(
    store: ClickHouseStore, org_hash: str, sessions: Sequence[EvidenceSessionKey]
) -> list[SessionEvidence]:
    """The measured figures of each of ``sessions`` within ``org_hash``, in their order, from one query; a
    part is None when the session has no row of that kind. A ClickHouse failure becomes a 503."""
    pairs = [(session.actor_hash, session.session_id) for session in sessions]
    media: dict[tuple[str, uuid.UUID], MediaEvidence] = {}
    pose: dict[tuple[str, uuid.UUID], PoseEvidence] = {}
    for row in await select_rows(store, evidence_query(org_hash, pairs)):
        key = (str(row["key_actor_hash"]), uuid.UUID(str(row["key_session_id"])))
        if row["kind"] == "media":
            media[key] = _media(row)
        else:
            pose[key] = from_row(PoseEvidence, row, "pose_")
    return [
        SessionEvidence(actor_hash=key[0], session_id=key[1], media=media.get(key), pose=pose.get(key)) for key in pairs
    ]
