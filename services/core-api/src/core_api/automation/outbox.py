"""Automation triggers (``treatment_plan.assigned``, ``treatment_plan.activated``, ...) as an outbox.

A trigger is a row in ``automation_events`` written in the transaction of the change that fires it, so it
exists exactly when the change commits; a dispatcher delivers pending rows later.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

INSERT_EVENT = b"""
INSERT INTO automation_events (organization_id, event_type, entity_type, entity_id, payload)
VALUES (%(organization_id)s, %(event_type)s, %(entity_type)s, %(entity_id)s, %(payload)s)
"""


async def fire(
    conn: AsyncConnection,
    organization_id: int,
    event_type: str,
    entity_type: str,
    entity_id: object,
    payload: Any,
) -> None:
    """Queue ``event_type`` about the entity inside ``conn``'s transaction."""
    await conn.execute(
        INSERT_EVENT,
        {
            "organization_id": organization_id,
            "event_type": event_type,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "payload": Jsonb(payload),
        },
    )
