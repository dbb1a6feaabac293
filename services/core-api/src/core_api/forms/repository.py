"""SQL for form instances. Only queries here; the rules live in the service."""

from __future__ import annotations

from typing import Any

import msgspec
from contracts.forms import FormInstance
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_json, fetch_value

QUERIES = load_queries(__package__ or "core_api.forms")

_INSTANCES = msgspec.json.Decoder(list[FormInstance])
# The same document, with the instance row locked so two submissions run one after the other.
_LOCK_FORM_INSTANCE = QUERIES.get_form_instance + b"\nFOR UPDATE OF fi"


async def get_instance(conn: AsyncConnection, instance_id: int) -> FormInstance | None:
    """The instance with its template's questions, if the caller may see it."""
    return await fetch_json(conn, QUERIES.get_form_instance, {"id": instance_id}, FormInstance)


async def lock_instance(conn: AsyncConnection, instance_id: int) -> FormInstance | None:
    """Like ``get_instance``, holding the instance row's lock until the transaction ends."""
    return await fetch_json(conn, _LOCK_FORM_INSTANCE, {"id": instance_id}, FormInstance)


async def patient_exists(conn: AsyncConnection, patient_id: int) -> bool:
    """Whether the caller may see the patient (row-level security shows a patient only themself)."""
    return bool(await fetch_value(conn, QUERIES.patient_exists, {"id": patient_id}))


async def list_patient_instances(conn: AsyncConnection, params: Params) -> tuple[list[FormInstance], int]:
    """One page of the patient's instances, newest first, and how many match in all."""
    row = await (await conn.execute(QUERIES.list_patient_form_instances, params)).fetchone()
    assert row is not None
    total, items = row
    return _INSTANCES.decode(items), int(total)


async def submit(conn: AsyncConnection, instance_id: int, responses: dict[str, Any]) -> None:
    """Store the responses of a pending instance and mark it submitted."""
    await conn.execute(QUERIES.submit_form_instance, {"id": instance_id, "responses": Jsonb(responses)})
