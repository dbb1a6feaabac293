"""SQL of consent records."""

from __future__ import annotations

from typing import Any

import msgspec
from contracts.consent import ConsentRecord
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_all, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.consent")


class Current(msgspec.Struct, frozen=True):
    analytics_level: int
    biometric: bool

    @property
    def pose_tracking_allowed(self) -> bool:
        """The camera may track poses: biometric consent, and analytics level 2 or above (spec README)."""
        return self.biometric and self.analytics_level >= 2


class FormStatement(msgspec.Struct, frozen=True):
    stated: bool
    """The form's answers were recorded as the patient's own statement."""
    latest: bool
    """And no own statement of the patient came after it."""


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


async def lock(conn: AsyncConnection, patient_id: int) -> None:
    """Serialize the writers of the patient's consent until the transaction ends."""
    await conn.execute(QUERIES.lock_patient_consent, {"patient_id": patient_id})


async def consent_form_responses(
    conn: AsyncConnection, patient_id: int, form_instance_id: int
) -> dict[str, Any] | None:
    """The answers of the patient's submitted consent form ``form_instance_id``; ``None`` if it is not one."""
    params = {"patient_id": patient_id, "form_instance_id": form_instance_id}
    row = await (await conn.execute(QUERIES.consent_form_responses, params)).fetchone()
    return None if row is None else dict(row[0] or {})


async def form_statement(conn: AsyncConnection, patient_id: int, form_instance_id: int) -> FormStatement:
    params = {"patient_id": patient_id, "form_instance_id": form_instance_id}
    found = await fetch_one(conn, QUERIES.form_statement, params, FormStatement)
    assert found is not None
    return found


async def stated_in_app(conn: AsyncConnection, patient_id: int) -> bool:
    return bool(await fetch_value(conn, QUERIES.stated_in_app, {"patient_id": patient_id}))
