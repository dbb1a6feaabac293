"""SQL of consent records."""

from __future__ import annotations

from typing import Any

import msgspec
from contracts.consent import ConsentRecord
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all, fetch_one

QUERIES = load_queries(__package__ or "core_api.domain.consent")


class Current(msgspec.Struct, frozen=True):
    analytics_level: int
    biometric: bool

    @property
    def pose_tracking_allowed(self) -> bool:
        """The camera may track poses: biometric consent, and analytics level 2 or above (spec README)."""
        return self.biometric and self.analytics_level >= 2


async def patient_visible(conn: AsyncConnection, patient_id: int) -> bool:
    row = await (await conn.execute(QUERIES.patient_visible, {"patient_id": patient_id})).fetchone()
    return bool(row and row[0])


async def current(conn: AsyncConnection, patient_id: int) -> Current:
    found = await fetch_one(conn, QUERIES.current_consent, {"patient_id": patient_id}, Current)
    assert found is not None
    return found


async def history(conn: AsyncConnection, patient_id: int) -> list[ConsentRecord]:
    return await fetch_all(conn, QUERIES.consent_history, {"patient_id": patient_id}, ConsentRecord)


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(QUERIES.insert_consent, values)


async def is_evidence(conn: AsyncConnection, patient_id: int, form_instance_id: int) -> bool:
    params = {"patient_id": patient_id, "form_instance_id": form_instance_id}
    row = await (await conn.execute(QUERIES.consent_evidence, params)).fetchone()
    return bool(row and row[0])
