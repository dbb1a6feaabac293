"""Recording enrollment expiry: the rule every write that depends on an enrollment's status follows.

An active or paused enrollment whose end date is before the patient's today reads as expired wherever its
status is read (the SQL function ``enrollment_status_now``, migration 0015), whether or not the expiry was
recorded. Recording it (history row, audit row, ``treatment_plan.expired`` event, exactly once) is
:func:`expire_overdue`: the nightly job for everyone, and every write that depends on an enrollment's status
(status changes, approval, session starts, completions and skips, erasure) for the enrollments it is about
to change; status changes, approval, starts, completions and skips first in a transaction of their own
(:func:`record_expiry_first`), so that a write refused afterwards leaves the expiry recorded.
See docs/enrollments.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor

from core_api.db.tenancy import actor_transaction
from core_api.enrollments import repository as repo


async def expire_overdue(
    conn: AsyncConnection, *, enrollment_id: int | None = None, patient_id: int | None = None
) -> int:
    """Record the expiry of every enrollment visible in ``conn``'s tenant (narrowed to one enrollment or one
    patient when given) that reads as expired but is stored active or paused: its status, history row, audit
    row and ``treatment_plan.expired`` event, each once. Writes that depend on an enrollment's status call
    it before they lock the enrollment; the number recorded."""
    return await repo.expire_overdue(conn, enrollment_id=enrollment_id, patient_id=patient_id)


async def record_expiry_first(pool: AsyncConnectionPool, actor: Actor, enrollment_id: int) -> None:
    """Record the enrollment's pending expiry in a transaction of its own, committed before the write that
    depends on its status: the expiry happened whatever becomes of the write, so a write refused afterwards
    (409 for a change an expired plan does not allow) leaves it recorded, as the nightly job would. The write
    calls :func:`expire_overdue` again in its own transaction, which records nothing more unless the
    patient's midnight passed in between."""
    async with actor_transaction(pool, actor) as conn:
        await expire_overdue(conn, enrollment_id=enrollment_id)


@asynccontextmanager
async def status_write(pool: AsyncConnectionPool, actor: Actor, enrollment_id: int) -> AsyncIterator[AsyncConnection]:
    """The transaction of a write that depends on the enrollment's status: its pending expiry is recorded
    first on its own (:func:`record_expiry_first`), then again inside, before the write locks anything."""
    await record_expiry_first(pool, actor, enrollment_id)
    async with actor_transaction(pool, actor) as conn:
        await expire_overdue(conn, enrollment_id=enrollment_id)
        yield conn
