"""The audit trail: one row per mutation, written in the mutation's own transaction.

If the change commits, its audit row commits with it; if it rolls back, so does the row. ``before`` and
``after`` are the entity as the API shows it, so a reviewer sees what a clinician saw. Free text a
patient typed is part of the clinical record and stays in PostgreSQL; it never goes to logs.
"""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from service_common.auth import Actor

RECORD = b"""
INSERT INTO audit_log (
    organization_id, actor_user_id, actor_role, action, entity_type, entity_id, before, after)
VALUES (%(organization_id)s, %(user_id)s, %(role)s, %(action)s, %(entity_type)s, %(entity_id)s,
        %(before)s, %(after)s)
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
