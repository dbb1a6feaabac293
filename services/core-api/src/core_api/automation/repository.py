"""SQL of automations: rules, the delivery list, and the dispatcher's fan-out, claim and outcome writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from contracts.automation import AutomationDelivery, AutomationRule
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_all, fetch_one

QUERIES = load_queries(__package__ or "core_api.automation")

_DELIVERIES = msgspec.json.Decoder(list[AutomationDelivery])


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery this dispatcher holds the lease of, with what it needs to carry it out."""

    id: int
    attempts: int
    rule_id: int
    action: str
    webhook_url: str | None
    signing_secret: str | None
    form_template_id: int | None
    event_id: int
    event_type: str
    entity_type: str
    entity_id: str
    payload: str
    """The event's payload as JSON text, sent as is."""
    event_created_at: datetime


async def insert_rule(conn: AsyncConnection, params: Params) -> AutomationRule:
    rule = await fetch_one(conn, QUERIES.insert_rule, params, AutomationRule)
    assert rule is not None
    return rule


async def count_rules_locked(conn: AsyncConnection) -> int:
    """The organization's rules, counted under a lock held to commit (so the cap holds under concurrency)."""
    await conn.execute(QUERIES.lock_rules)
    row = await (await conn.execute(QUERIES.count_rules)).fetchone()
    assert row is not None
    return int(row[0])


async def list_rules(conn: AsyncConnection) -> list[AutomationRule]:
    return await fetch_all(conn, QUERIES.list_rules, {}, AutomationRule)


async def get_rule(conn: AsyncConnection, rule_id: int) -> AutomationRule | None:
    return await fetch_one(conn, QUERIES.get_rule, {"id": rule_id}, AutomationRule)


async def set_rule_enabled(conn: AsyncConnection, rule_id: int, enabled: bool) -> AutomationRule | None:
    return await fetch_one(conn, QUERIES.set_rule_enabled, {"id": rule_id, "enabled": enabled}, AutomationRule)


async def delete_rule(conn: AsyncConnection, rule_id: int) -> bool:
    return (await conn.execute(QUERIES.delete_rule, {"id": rule_id})).rowcount == 1


async def cancel_stopped(conn: AsyncConnection, rule_id: int | None = None) -> int:
    """Cancel the pending deliveries of disabled or deleted rules (of one rule, or of all); how many."""
    return (await conn.execute(QUERIES.cancel_stopped, {"rule_id": rule_id})).rowcount


async def form_template_usable(conn: AsyncConnection, template_id: int) -> bool:
    row = await (await conn.execute(QUERIES.form_template_usable, {"id": template_id})).fetchone()
    return bool(row and row[0])


async def list_deliveries(conn: AsyncConnection, params: Params) -> tuple[list[AutomationDelivery], int]:
    row = await (await conn.execute(QUERIES.list_deliveries, {"id": None} | dict(params))).fetchone()
    assert row is not None
    total, items = row
    return _DELIVERIES.decode(items), int(total)


async def get_delivery(conn: AsyncConnection, delivery_id: int) -> AutomationDelivery | None:
    filters = {"status": None, "rule_id": None, "event_type": None, "id": delivery_id, "limit": 1, "offset": 0}
    items, _ = await list_deliveries(conn, filters)
    return items[0] if items else None


async def requeue(conn: AsyncConnection, delivery_id: int) -> bool:
    cursor = await conn.execute(QUERIES.requeue, {"id": delivery_id})
    return cursor.rowcount == 1


# Dispatcher ---------------------------------------------------------------------------------------------


async def organizations_with_work(conn: AsyncConnection) -> list[int]:
    rows = await (await conn.execute(QUERIES.organizations_with_work)).fetchall()
    return [row[0] for row in rows]


async def fan_out(conn: AsyncConnection, limit: int) -> int:
    """Turn up to ``limit`` new events into deliveries; returns how many events were handled."""
    cursor = await conn.execute(QUERIES.fan_out, {"limit": limit})
    return cursor.rowcount


async def expire_exhausted(conn: AsyncConnection, max_attempts: int) -> int:
    return (await conn.execute(QUERIES.expire_exhausted, {"max_attempts": max_attempts})).rowcount


async def claim_due(conn: AsyncConnection, limit: int, lease_seconds: float, max_attempts: int) -> list[Claimed]:
    params = {"limit": limit, "lease_seconds": lease_seconds, "max_attempts": max_attempts}
    async with conn.cursor(row_factory=dict_row) as cursor:
        rows = await (await cursor.execute(QUERIES.claim_due, params)).fetchall()
    return sorted((msgspec.convert(row, Claimed) for row in rows), key=lambda claimed: claimed.event_id)


async def lock_claimed(conn: AsyncConnection, claimed: Claimed) -> bool:
    """Lock the delivery if this dispatcher still holds it; False when another took it over."""
    params = {"id": claimed.id, "attempts": claimed.attempts}
    return await (await conn.execute(QUERIES.lock_claimed, params)).fetchone() is not None


async def mark_delivered(conn: AsyncConnection, claimed: Claimed, status_code: int | None) -> bool:
    params = {"id": claimed.id, "attempts": claimed.attempts, "status_code": status_code}
    return (await conn.execute(QUERIES.mark_delivered, params)).rowcount == 1


async def mark_failed(
    conn: AsyncConnection,
    claimed: Claimed,
    *,
    status_code: int | None,
    error: str,
    backoff_seconds: float,
    max_attempts: int,
) -> bool:
    params: dict[str, Any] = {
        "id": claimed.id,
        "attempts": claimed.attempts,
        "status_code": status_code,
        "error": error,
        "backoff_seconds": backoff_seconds,
        "max_attempts": max_attempts,
    }
    return (await conn.execute(QUERIES.mark_failed, params)).rowcount == 1


async def event_patient(conn: AsyncConnection, payload: str) -> int | None:
    row = await (await conn.execute(QUERIES.event_patient, {"payload": payload})).fetchone()
    return None if row is None else row[0]


async def give_form(conn: AsyncConnection, claimed: Claimed, patient_id: int) -> int | None:
    """The new form instance's id; None when this delivery already gave it."""
    params = {"patient_id": patient_id, "form_template_id": claimed.form_template_id, "delivery_id": claimed.id}
    row = await (await conn.execute(QUERIES.give_form, params)).fetchone()
    return None if row is None else row[0]
