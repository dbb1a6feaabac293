"""The audit trail: one row per mutation, and per staff read of a patient's data, in that transaction.

If the change commits, its audit row commits with it; if it rolls back, so does the row. ``before`` and
``after`` are the entity as the API shows it, so a reviewer sees what a clinician saw. Free text a
patient typed is part of the clinical record and stays in PostgreSQL; it never goes to logs.

The table is append-only and hash-chained per organization (migration 0010, docs/audit.md): each insert
waits for the organization's chain lock, which it holds until its transaction ends, so record as late in
the transaction as the logic allows. When a patient's identity is erased, the payloads of the rows about
them are erased too (``audit_log_erase_payloads``); the rows and the chain remain.
"""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from service_common.auth.actor import Actor

RECORD = b"""
INSERT INTO audit_log (
    organization_id, actor_user_id, actor_role, action, entity_type, entity_id, before, after)
VALUES (%(organization_id)s, %(user_id)s, %(role)s, %(action)s, %(entity_type)s, %(entity_id)s,
        %(before)s, %(after)s)
"""
# A read names the patient whose data it showed: given, or the patient of the enrollment given.
RECORD_READ = b"""
INSERT INTO audit_log (
    organization_id, actor_user_id, actor_role, action, entity_type, entity_id, patient_id)
VALUES (%(organization_id)s, %(user_id)s, %(role)s, %(action)s, %(entity_type)s, %(entity_id)s,
        coalesce(%(patient_id)s::bigint,
                 (SELECT patient_id FROM patient_treatment_plans WHERE id = %(enrollment_id)s::bigint)))
"""


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(msgspec.to_builtins(value))


async def record(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append an audit row for ``action`` on the entity, by ``actor``, inside ``conn``'s transaction."""
    await conn.execute(
        RECORD,
        {
            "organization_id": actor.organization_id,
            "user_id": actor.user_id,
            "role": actor.role,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "before": _json(before),
            "after": _json(after),
        },
    )


async def record_system(
    conn: AsyncConnection,
    organization_id: int,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    after: Any = None,
) -> None:
    """Append an audit row for a change no user made (the automation dispatcher, a job): role ``system``."""
    await conn.execute(
        RECORD,
        {
            "organization_id": organization_id,
            "user_id": None,
            "role": "system",
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "before": None,
            "after": _json(after),
        },
    )


async def record_read(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    patient_id: int | None = None,
    enrollment_id: int | None = None,
) -> None:
    """Append an access row (``action`` is ``<what>.read``) for a staff member's read of a patient's data:
    ids only, no payload. The patient is ``patient_id``, else the patient of ``enrollment_id``. A patient
    reading their own data is not recorded: HIPAA access logging is about who else saw it."""
    if actor.role == "patient":
        return
    await conn.execute(
        RECORD_READ,
        {
            "organization_id": actor.organization_id,
            "user_id": actor.user_id,
            "role": actor.role,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "patient_id": patient_id,
            "enrollment_id": enrollment_id,
        },
    )
